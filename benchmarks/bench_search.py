"""Registration time, and enumerate / regex latency over 100,000 artifacts, on a real server.

    ./run bench search [--artifacts 100000] [--database-url URL]

Starts the emulator and `./run serve` (SQLite + files by default), registers real fixture
artifacts over HTTP to time registration, seeds the rest of the registry straight into the
database (registering 100,000 artifacts over HTTP would time the emulator, not the search), then
times enumerate and regex requests and reads the server's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from common import ROOT, peak_rss_mib, registry_server, summary_ms
from sqlalchemy import insert
from tests.emulator.fixtures import github_repos, hf_datasets, hf_models
from tests.emulator.server import running_emulator

from tmr.storage.database import make_engine
from tmr.storage.tables import ArtifactRow

WORDS = [
    "model",
    "transformer",
    "dataset",
    "training",
    "fine-tuned",
    "evaluation",
    "benchmark",
    "accuracy",
    "tokenizer",
    "vision",
    "language",
    "speech",
    "audio",
    "classification",
    "generation",
    "retrieval",
    "embedding",
    "quantized",
    "license",
    "apache",
    "mit",
    "research",
    "license",
    "weights",
    "safetensors",
    "pytorch",
    "inference",
    "latency",
    "checkpoint",
    "multilingual",
    "summarization",
    "translation",
    "detection",
    "segmentation",
    "diffusion",
    "adapter",
    "lora",
    "instruct",
    "chat",
]


def readme(rng: random.Random, i: int) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 400)))
    return f"---\nlicense: mit\n---\n# artifact-{i}\n\n{body}\n"


def seed(database_url: str, count: int, start_seq: int) -> float:
    """Insert `count` artifacts in batches; returns seconds taken."""
    rng = random.Random(461)
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    batch: list[dict[str, object]] = []
    types = ("model", "dataset", "code")
    with engine.begin() as conn:
        for i in range(count):
            batch.append(
                {
                    "id": f"9{start_seq + i:012d}",
                    "type": types[i % 3],
                    "name": f"bench-{types[i % 3]}-{i}",
                    "url": f"https://example.com/bench/{i}",
                    "source": "url",
                    "readme": readme(rng, i),
                    "card": {},
                    "upstream": {},
                    "notes": [],
                    "size_bytes": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(ArtifactRow), batch)
                batch.clear()
        if batch:
            conn.execute(insert(ArtifactRow), batch)
    engine.dispose()
    return time.perf_counter() - started


def timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary data dir")
    parser.add_argument("--repeat", type=int, default=30, help="requests per regex pattern")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "search.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tmr-bench-"))
    database_url = args.database_url or f"sqlite:///{work / 'data' / 'tmr.sqlite3'}"
    results: dict[str, object] = {"artifacts": args.artifacts, "database": database_url.split(":")[0]}
    with running_emulator() as emulator:
        env = {
            "TMR_DATA_DIR": str(work / "data"),
            "TMR_DATABASE_URL": database_url,
            "HF_ENDPOINT": emulator.url,
            "GITHUB_API_URL": emulator.url + "/github",
        }
        with (
            registry_server(env, work / "server.log") as server,
            httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client,
        ):
            # 1. Registration over HTTP, real fixture repositories, one at a time.
            register: dict[str, list[float]] = {"model": [], "dataset": [], "code": []}
            plan = [("model", f.url) for f in hf_models()] + [("dataset", f.url) for f in hf_datasets()]
            plan += [("code", f.url) for f in github_repos()]
            for type_, url in plan:
                seconds, response = timed(client, "POST", f"/artifact/{type_}", json={"url": url})
                if response.status_code == 201:
                    register[type_].append(seconds)
            results["register"] = {t: summary_ms(v) for t, v in register.items() if v}
            results["register_all"] = summary_ms([s for v in register.values() for s in v])

            # 2. Seed the registry up to the target size.
            registered = sum(len(v) for v in register.values())
            results["seed_s"] = round(seed(database_url, args.artifacts - registered, 10_000_000), 1)
            if client.get("/health").json()["models"] < args.artifacts // 3 - 50:
                raise RuntimeError("seeding did not reach the target size")

            # 3. Enumerate: first pages, pages deep in the registry, filtered and named queries.
            rng = random.Random(7)
            enumerate_times: list[float] = []
            for i in range(300):
                body: list[dict[str, object]] = [{"name": "*"}]
                params = None
                if i % 3 == 1:
                    params = {"offset": str(rng.randint(1, args.artifacts - 200))}
                elif i % 3 == 2:
                    body = [{"name": "*", "types": [rng.choice(["model", "dataset", "code"])]}]
                    params = {"offset": str(rng.randint(1, args.artifacts - 1000))}
                seconds, response = timed(client, "POST", "/artifacts", json=body, params=params)
                if response.status_code != 200 or len(response.json()) != 100:
                    raise RuntimeError(f"enumerate failed: {response.text[:200]}")
                enumerate_times.append(seconds)
            named = [
                timed(
                    client,
                    "POST",
                    "/artifacts",
                    json=[{"name": f"bench-code-{rng.randrange(2, args.artifacts, 3)}"}],
                )[0]
                for _ in range(100)
            ]
            results["enumerate"] = summary_ms(enumerate_times)
            results["enumerate_by_name"] = summary_ms(named)

            # 4. Regex over names and READMEs.
            patterns = {
                "name_exact": "^bench-model-4242$",
                "readme_phrase": "quantized lora adapter",
                "alternation": ".*?(audience|bert).*",
                "no_match": "zebra-crossing-[0-9]+",
                "catastrophic": "(a+)+$",
                "class_heavy": "[A-Z][a-z]+ [0-9]{4}",
            }
            regex: dict[str, object] = {}
            all_regex: list[float] = []
            for label, pattern in patterns.items():
                times = []
                for _ in range(args.repeat):
                    seconds, response = timed(client, "POST", "/artifact/byRegEx", json={"regex": pattern})
                    # A catastrophic pattern is refused (400) before any scan: its figure is the
                    # time that refusal takes.
                    expected = (400,) if label == "catastrophic" else (200, 404)
                    if response.status_code not in expected:
                        raise RuntimeError(f"regex {label}: {response.status_code} {response.text[:200]}")
                    times.append(seconds)
                regex[label] = {
                    **summary_ms(times),
                    "matches": len(response.json()) if response.status_code == 200 else 0,
                }
                all_regex += times
            results["regex"] = regex
            results["regex_all"] = summary_ms(all_regex)

            # 5. Concurrency: 8 clients enumerating and searching at once.
            def mixed(i: int) -> float:
                if i % 4 == 0:
                    return timed(
                        client, "POST", "/artifact/byRegEx", json={"regex": "^bench-dataset-1[0-9]{3}$"}
                    )[0]
                return timed(
                    client, "POST", "/artifacts", json=[{"name": "*"}], params={"offset": str(i * 97)}
                )[0]

            with ThreadPoolExecutor(8) as pool:
                results["mixed_concurrent_8"] = summary_ms(list(pool.map(mixed, range(400))))
            results["server_peak_rss_mib"] = peak_rss_mib(server.process.pid)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
