"""The catalogue at scale: enumerate, by-name and regex latency at 10k, 100k and 1M artifacts on
SQLite and PostgreSQL, and registration throughput with 8 concurrent clients.

    ./run bench search [--sizes 10000,100000,1000000] [--backend sqlite|postgres|both]
                       [--profile DIR] [--label TEXT]

Per backend: the Hub emulator (serving as many distinct models as the registration phase needs)
and `./run serve` on a fresh registry (SQLite + files, or a fresh PostgreSQL database + SeaweedFS,
dropped afterwards). The catalogue grows size by size, seeded straight into the database in bulk
(benchmarks/search_seed.py: registering a million artifacts over HTTP would time the emulator,
not the search). At each size, one client times, as the admin and as a regular user (whose
listings carry the visibility clause):

- enumerate (`POST /artifacts`): the first page, deep pages (a random starting cursor, then the
  `offset` each answer returns), type-filtered and two-type pages the same way, name-filtered
  queries (a hit and a miss); and `GET /artifact/byName`;
- regex (`POST /artifact/byRegEx`) over names and READMEs: a selective name pattern, a pattern
  with a required literal (the prefilter path) and one with none (a full scan), each repeated,
  with the server's peak RSS (VmHWM, reset before each pattern).

Each enumerate shape is sent once untimed first (warm-up); on PostgreSQL the seeding ends with
VACUUM ANALYZE, as autovacuum would have long before a registry reached that size.

After the first size, 8 clients register distinct models over HTTP (`POST /artifact/model`, from
the emulator) for artifacts/s and latency. `--profile DIR` records the server with py-spy during
the deep enumerate, regex and registration phases (the figures of a profiled run are perturbed;
use them for the profile, not the tables). Answers are checked (status, page sizes, the cursor's
order, the regex results against the seeded data); timings are only reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from bench_download import backend_env
from common import ROOT, peak_rss_mib, registry_server, summary_ms
from download_procs import reset_peak_rss
from search_profile import report, sampled
from search_seed import RARE, name_of, rare_words_of, seed, type_of
from sqlalchemy import func, select
from tests.emulator.fixtures import Fixtures, hf_model
from tests.emulator.server import running_emulator

from tmr.storage.database import make_engine
from tmr.storage.tables import ArtifactRow

USER_PASSWORD = "Bench-search-" + secrets.token_hex(8)
PAGE = 100


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(client: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)
    return time.perf_counter() - started, response


def seeded_index(artifact_id: str) -> int | None:
    """The seed index of a seeded artifact's id (`9` + 12 digits), None for a registered one."""
    return int(artifact_id[1:]) if len(artifact_id) == 13 and artifact_id.startswith("9") else None


def resident_mib(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MiB: the base a scan's peak grows from."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def count_rows(database_url: str) -> tuple[int, int]:
    """(artifacts, highest seq) straight from the database."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            n, top = conn.execute(select(func.count(), func.max(ArtifactRow.seq))).one()
    finally:
        engine.dispose()
    return int(n), int(top or 0)


# -- enumerate --------------------------------------------------------------------------------


def check_page(items: list[dict[str, Any]], types: set[str] | None, private_hidden: bool) -> None:
    for item in items:
        index = seeded_index(item["id"])
        if index is None:
            continue
        if item["name"] != name_of(index) or item["type"] != type_of(index):
            raise RuntimeError(f"enumerate returned {item} for seeded artifact {index}")
        if types and item["type"] not in types:
            raise RuntimeError(f"a {item['type']} on a page filtered to {types}")
        if private_hidden and index % 50 == 49:
            raise RuntimeError(f"a regular user was shown private artifact {item['id']}")


def walk(
    client: httpx.Client,
    body: list[dict[str, Any]],
    start: int | None,
    pages: int,
    times: list[float],
    private_hidden: bool,
) -> None:
    """`pages` pages from cursor `start`, each next one from the `offset` header of the last."""
    offset = None if start is None else str(start)
    types = {t for q in body for t in q.get("types", [])} or None
    seen_last = -1
    for _ in range(pages):
        seconds, response = timed(
            client, "POST", "/artifacts", json=body, params=None if offset is None else {"offset": offset}
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"enumerate {body} from {offset}: {response.status_code} {response.text[:200]}"
            )
        items = response.json()
        check_page(items, types, private_hidden)
        times.append(seconds)
        offset = response.headers.get("offset")
        if offset is None:
            break
        if len(items) != PAGE or int(offset) <= seen_last:
            raise RuntimeError(f"page of {len(items)} items with next cursor {offset} after {seen_last}")
        seen_last = int(offset)


def enumerate_phase(
    client: httpx.Client, top_seq: int, seeded: int, samples: int, private_hidden: bool, seed_: int
) -> dict[str, object]:
    rng = random.Random(seed_)
    kinds: dict[str, list[float]] = {
        k: [] for k in ("first_page", "deep", "type", "two_types", "name_hit", "name_miss", "by_name")
    }
    # Warm-up, untimed: one request of each shape (the principal's first token check, each
    # statement's first compilation and plan).
    untimed: list[float] = []
    walk(client, [{"name": "*"}], None, 1, untimed, private_hidden)
    walk(client, [{"name": "*"}], top_seq // 2, 1, untimed, private_hidden)
    walk(client, [{"name": "*", "types": ["code"]}], top_seq // 2, 1, untimed, private_hidden)
    walk(
        client,
        [{"name": "*", "types": ["dataset"]}, {"name": "*", "types": ["code"]}],
        1,
        1,
        untimed,
        private_hidden,
    )
    client.post("/artifacts", json=[{"name": name_of(0)}]).raise_for_status()
    client.get(f"/artifact/byName/{name_of(0)}").raise_for_status()
    for _ in range(samples // 4):
        walk(client, [{"name": "*"}], None, 1, kinds["first_page"], private_hidden)
    while len(kinds["deep"]) < samples:
        walk(client, [{"name": "*"}], rng.randrange(top_seq), 5, kinds["deep"], private_hidden)
    while len(kinds["type"]) < samples:
        body = [{"name": "*", "types": [rng.choice(["model", "dataset", "code"])]}]
        walk(client, body, rng.randrange(top_seq), 5, kinds["type"], private_hidden)
    while len(kinds["two_types"]) < samples:
        body = [{"name": "*", "types": ["dataset"]}, {"name": "*", "types": ["code"]}]
        walk(client, body, rng.randrange(top_seq), 5, kinds["two_types"], private_hidden)
    for _ in range(samples):
        index = rng.randrange(seeded)
        seconds, response = timed(client, "POST", "/artifacts", json=[{"name": name_of(index)}])
        found = {i["id"] for i in response.json()} if response.status_code == 200 else set()
        visible = private_hidden is False or index % 50 != 49
        if response.status_code != 200 or (visible and f"9{index:012d}" not in found):
            raise RuntimeError(f"name query {name_of(index)}: {response.status_code} {response.text[:200]}")
        kinds["name_hit"].append(seconds)
        seconds, response = timed(client, "POST", "/artifacts", json=[{"name": f"no-such-{index}"}])
        if response.status_code != 200 or response.json():
            raise RuntimeError(f"name miss: {response.status_code} {response.text[:200]}")
        kinds["name_miss"].append(seconds)
        index = rng.randrange(seeded) // 2 * 2  # the first of the pair: public whoever asks
        seconds, response = timed(client, "GET", f"/artifact/byName/{name_of(index)}")
        if response.status_code != 200 or f"9{index:012d}" not in {i["id"] for i in response.json()}:
            raise RuntimeError(f"byName {name_of(index)}: {response.status_code} {response.text[:200]}")
        kinds["by_name"].append(seconds)
    return {k: summary_ms(v) for k, v in kinds.items()}


# -- regex ------------------------------------------------------------------------------------


def regex_patterns(seeded: int) -> dict[str, tuple[str, Callable[[int], bool] | None]]:
    """Label -> (pattern, which seeded indexes it must find, when the benchmark can tell)."""
    target = seeded // 3 // 2 * 2
    rare = (RARE[4321], RARE[17])
    run_id = re.compile(r"[a-f]{4}[0-9]{4}\.")
    return {
        "selective_name": (f"^{re.escape(name_of(target))}$", lambda i: name_of(i) == name_of(target)),
        "required_literal": (
            rf"\b({rare[0]}|{rare[1]})\b",
            lambda i: any(w in rare for w in rare_words_of(i)),
        ),
        # No literal of three characters: every README goes through RE2 (a hex run id shape).
        "no_literal": (run_id.pattern, None),
    }


def regex_phase(
    client: httpx.Client, pid: int, seeded: int, repeat: int, profile: Path | None
) -> dict[str, object]:
    out: dict[str, object] = {}
    for label, (pattern, expected) in regex_patterns(seeded).items():
        reset = reset_peak_rss(pid)
        rss_before = resident_mib(pid)
        times: list[float] = []
        found: set[str] = set()
        with sampled(pid, None if profile is None else profile.with_name(f"{profile.stem}-{label}.txt")):
            for _ in range(repeat):
                seconds, response = timed(client, "POST", "/artifact/byRegEx", json={"regex": pattern})
                if response.status_code not in (200, 404):
                    raise RuntimeError(f"regex {label}: {response.status_code} {response.text[:200]}")
                times.append(seconds)
                found = {i["id"] for i in response.json()} if response.status_code == 200 else set()
        if expected is not None:
            want = {f"9{i:012d}" for i in range(seeded) if expected(i) and i % 50 != 49}
            got = {i for i in found if seeded_index(i) is not None}
            missing = want - got
            if missing:
                raise RuntimeError(
                    f"regex {label} missed {len(missing)} seeded artifacts, e.g. {sorted(missing)[:3]}"
                )
        out[label] = {
            "pattern": pattern,
            **summary_ms(times),
            "matches": len(found),
            "rss_before_mib": rss_before,
            "peak_rss_mib": peak_rss_mib(pid),
            "peak_is_of_this_pattern": reset,
        }
    return out


# -- registration -----------------------------------------------------------------------------


def registration_fixtures(count: int) -> Fixtures:
    """`count` distinct small models, varied cards, for the registration phase."""
    repos = []
    for i in range(count):
        meta = {"license": ["mit", "apache-2.0"][i % 2], "tags": ["bench", f"group-{i % 7}"]}
        body = f"# reg-model-{i}\n\nA model registered by the search benchmark, number {i}.\n"
        repos.append(hf_model(f"benchreg/reg-model-{i}", meta=meta, body=body))
    return Fixtures(hf=repos)


def registration_phase(
    server_url: str, headers: dict[str, str], count: int, clients: int, pid: int, profile: Path | None
) -> dict[str, object]:
    latencies: list[float] = []
    lock = threading.Lock()
    statuses: dict[int, int] = {}

    def one_client(k: int) -> None:
        with httpx.Client(base_url=server_url, headers=headers, timeout=300) as client:
            for i in range(k, count, clients):
                url = f"https://huggingface.co/benchreg/reg-model-{i}"
                seconds, response = timed(client, "POST", "/artifact/model", json={"url": url})
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 201:
                        latencies.append(seconds)

    with sampled(pid, profile):
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one_client, range(clients)))
        wall = time.perf_counter() - started
    if statuses.get(201, 0) != count:
        raise RuntimeError(f"registration answered {statuses}")
    return {
        "clients": clients,
        "artifacts": count,
        "wall_s": round(wall, 2),
        "artifacts_per_s": round(count / wall, 2),
        **summary_ms(latencies),
    }


# -- one backend ------------------------------------------------------------------------------


def regular_user(client: httpx.Client, server_url: str) -> dict[str, str]:
    """Headers of a non-admin user who may search: their listings carry the visibility clause."""
    name = f"bench-reader-{secrets.token_hex(3)}"
    body = {
        "user": {"name": name, "is_admin": False},
        "secret": {"password": USER_PASSWORD},
        "permissions": ["search"],
    }
    client.post("/users", json=body).raise_for_status()
    response = httpx.put(
        f"{server_url}/authenticate", json={k: body[k] for k in ("user", "secret")}, timeout=30
    )
    response.raise_for_status()
    return {"X-Authorization": response.json()}


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"tmr-bench-search-{backend}-"))
    try:
        return _run_backend(backend, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # a million-artifact SQLite file is 1.7 GB


def _run_backend(backend: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    out: dict[str, object] = {"sizes": {}}
    with (
        backend_env(backend, work) as storage,
        running_emulator(fixtures=registration_fixtures(args.register)) as emulator,
    ):
        database_url = storage.get("TMR_DATABASE_URL") or f"sqlite:///{work / 'data' / 'tmr.sqlite3'}"
        env = {**storage, "TMR_DATABASE_URL": database_url, **emulator.env()}
        with (
            registry_server(env, work / "server.log") as server,
            httpx.Client(base_url=server.url, headers=server.headers, timeout=600) as admin,
        ):
            pid = server.process.pid
            user = httpx.Client(base_url=server.url, headers=regular_user(admin, server.url), timeout=600)
            seeded = 0
            for n, size in enumerate(args.sizes):
                existing, _ = count_rows(database_url)
                add = max(0, size - existing)
                log(f"{backend}: seeding {add} artifacts (to {size})")
                seconds = seed(database_url, seeded, add)
                seeded += add
                total, top_seq = count_rows(database_url)
                log(f"{backend}: {total} artifacts, seeded in {seconds:.1f} s")
                figures: dict[str, object] = {"artifacts": total, "seed_s": round(seconds, 1)}
                profile = args.profile / f"{backend}-{size}" if args.profile else None
                admin.post("/artifacts", json=[{"name": "*"}]).raise_for_status()  # warm-up
                for who, client, hidden in (("admin", admin, False), ("user", user, True)):
                    log(f"{backend} {size}: enumerate as {who}")
                    with sampled(
                        pid, profile.with_name(f"{profile.name}-enumerate-{who}.txt") if profile else None
                    ):
                        figures[f"enumerate_{who}"] = enumerate_phase(
                            client, top_seq, seeded, args.samples, hidden, seed_=size
                        )
                log(f"{backend} {size}: regex x{args.repeat}")
                figures["regex"] = regex_phase(
                    user,
                    pid,
                    seeded,
                    args.repeat,
                    profile.with_name(f"{profile.name}-regex") if profile else None,
                )
                out["sizes"][str(size)] = figures  # type: ignore[index]
                print(json.dumps({backend: {size: figures}}, indent=1), flush=True)
                if n == 0 and args.register:
                    log(f"{backend}: registering {args.register} models with {args.clients} clients")
                    out["register"] = {
                        "at_artifacts": total,
                        **registration_phase(
                            server.url,
                            server.headers,
                            args.register,
                            args.clients,
                            pid,
                            profile.with_name(f"{profile.name}-register.txt") if profile else None,
                        ),
                    }
                    print(json.dumps({backend: {"register": out["register"]}}, indent=1), flush=True)
            user.close()
    if args.profile:
        out["profiles"] = {
            p.name: report(p) for p in sorted(args.profile.glob(f"{backend}-*.txt")) if p.stat().st_size
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated catalogue sizes")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per enumerate kind")
    parser.add_argument("--repeat", type=int, default=5, help="requests per regex pattern")
    parser.add_argument("--register", type=int, default=240, help="models registered (0: skip)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent registration clients")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the server into this directory")
    parser.add_argument("--label", default="", help="a note kept in the JSON (e.g. before/after)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "search.json")
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]

    results: dict[str, object] = {
        "label": args.label,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "settings": {k: str(v) for k, v in vars(args).items()},
    }
    for backend in backends:
        started = time.perf_counter()
        results[backend] = run_backend(backend, args)
        results[backend]["wall_s"] = round(time.perf_counter() - started, 1)  # type: ignore[index]
        log(f"{backend}: done in {results[backend]['wall_s']} s")  # type: ignore[index]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(table(results))
    log(f"wrote {args.out}")


def table(results: dict[str, Any]) -> str:
    """Markdown table: p50/p99 ms per page and regex time per backend and size."""
    lines = [
        "| backend | artifacts | first page | deep (admin) | deep (user) | type | two types | name | byName "
        "| regex selective | regex literal | regex full scan | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend in ("sqlite", "postgres"):
        for _size, f in results.get(backend, {}).get("sizes", {}).items():
            a, u, r = f["enumerate_admin"], f["enumerate_user"], f["regex"]

            def pp(s: dict[str, float]) -> str:
                return f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f}"

            rss = max(v["peak_rss_mib"] for v in r.values())
            lines.append(
                f"| {backend} | {f['artifacts']} | {pp(u['first_page'])} | {pp(a['deep'])} | {pp(u['deep'])} "
                f"| {pp(u['type'])} | {pp(u['two_types'])} | {pp(u['name_hit'])} | {pp(u['by_name'])} "
                f"| {pp(r['selective_name'])} | {pp(r['required_literal'])} | {pp(r['no_literal'])} | {rss} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
