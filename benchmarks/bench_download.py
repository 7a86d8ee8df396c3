"""Download throughput: 100 clients fetching one ~25 MB model package from a registry of 500
models, and nginx serving the identical bytes from disk as the reference.

    ./run bench download [--runs 3] [--duration 20] [--connections 100] [--big-mib 24]
                         [--backend sqlite|postgres] [--client auto|wrk|python]
                         [--server-env NAME=VALUE] [--out bench-results/download.json]

Starts `./run serve` (SQLite + files by default; `--backend postgres` uses PostgreSQL + SeaweedFS
from scripts/services.sh), uploads 500 Hugging Face-layout zips through
`POST /artifact/model/upload` (one ~25 MB, the rest a few KB to a few hundred KB), downloads the
big package twice (the cold first download and the second are timed, and both checked byte for
byte), then puts the same load on the registry and on nginx (Debian's, installed when missing)
serving those bytes: wrk with N connections for a fixed time, each server warmed up once, then
measured alternately `--runs` times (tmr, nginx, tmr, nginx, ...) so that drift on the machine
hits both. Prints per metric the median and the min-max over the runs, each run, the ratios
tmr/nginx of the medians and of each pair, and the peak resident memory of both servers.
Every response must be a 200 of the full length, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from common import ROOT, registry_server, summary_ms
from download_load import LoadResult, check_result, run_python, run_wrk
from download_nginx import NGINX_PACKAGES, ToolMissing, apt_install, running_nginx
from download_packages import MiB, ModelPackage, build_model, build_model_file, small_weight_sizes
from download_procs import (
    cpu_seconds,
    machine_cpu_seconds,
    process_tree,
    reset_tree_peak_rss,
    tree_cpu_seconds,
    tree_peak_rss,
)

# A big package above this is built on disk and never held in memory whole.
ON_DISK_MIB = 64.0


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def build_packages(
    count: int, big_mib: float, small_kib: tuple[int, int], directory: Path
) -> tuple[list[ModelPackage], int]:
    """`count` packages, the big one in the middle (so the registry is not empty around it); the
    big one is a file in `directory` when it is larger than ON_DISK_MIB."""
    sizes = small_weight_sizes(count - 1, small_kib[0] * 1024, small_kib[1] * 1024, seed=500)
    big_index = count // 2
    packages = [build_model(f"bench-download-{i:03d}", size, seed=i) for i, size in enumerate(sizes)]
    name, weights = "bench-download-big", int(big_mib * MiB)
    if big_mib > ON_DISK_MIB:
        directory.mkdir(parents=True, exist_ok=True)
        big = build_model_file(name, weights, big_index, directory / "big-upload.zip")
    else:
        big = build_model(name, weights, seed=big_index)
    packages.insert(big_index, big)
    return packages, big_index


def _create_all(
    packages: list[ModelPackage],
    concurrency: int,
    create: Callable[[ModelPackage], httpx.Response],
    what: str,
) -> tuple[list[str], list[float]]:
    """Create every package's artifact with `create`, `concurrency` at a time; their ids and
    seconds, in order. Anything but 201 stops the benchmark."""

    def one(package: ModelPackage) -> tuple[str, float]:
        started = time.perf_counter()
        response = create(package)
        seconds = time.perf_counter() - started
        if response.status_code != 201:
            raise RuntimeError(
                f"{what} {package.name} answered {response.status_code}: {response.text[:500]}"
            )
        return str(response.json()["metadata"]["id"]), seconds

    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(one, packages))
    return [i for i, _ in done], [s for _, s in done]


def upload_all(
    client: httpx.Client, packages: list[ModelPackage], concurrency: int
) -> tuple[list[str], list[float]]:
    """Upload every package through `POST /artifact/model/upload` (a file-backed one streamed)."""

    def upload(package: ModelPackage) -> httpx.Response:
        with package.open() as body:
            return client.post(
                "/artifact/model/upload",
                params={"name": package.name, "version": package.version},
                content=body if package.path is not None else body.read(),
                headers={"Content-Type": "application/zip", "Content-Length": str(package.size)},
            )

    return _create_all(packages, concurrency, upload, "upload of")


def register_all(
    client: httpx.Client, packages: list[ModelPackage], concurrency: int
) -> tuple[list[str], list[float]]:
    """The fallback fill (`--fill emulator`): register each package's repository from the Hub
    emulator with `POST /artifact/model`; the weights are mirrored on the first download."""
    return _create_all(
        packages,
        concurrency,
        lambda package: client.post(
            "/artifact/model", json={"url": f"https://huggingface.co/bench/{package.name}"}
        ),
        "registering",
    )


@dataclass(frozen=True, slots=True)
class Fetched:
    length: int
    headers: httpx.Headers
    seconds: float  # request sent to last byte written (to the page cache)
    redirected_to: str | None  # the Location followed, when the registry answered 307


def fetch_to(
    client: httpx.Client, url: str, headers: dict[str, str], dest: Path, follow: bool = False
) -> Fetched:
    """GET `url` (relative to the client's base URL, with its X-Authorization) into the file
    `dest`, streamed; with `follow`, a 307 (a presigned redirect) is followed and counted in the
    time. curl does it when installed: httpx reads about 300 MB/s here, which would time the client
    rather than the server on a 1 GB package."""
    full = str(client.base_url.join(url)) if str(client.base_url) else url
    sent = {k: v for k, v in client.headers.items() if k.lower() == "x-authorization"} | headers
    curl = shutil.which("curl")
    if curl is not None:
        return _curl_fetch(curl, full, sent, dest, follow)
    started = time.perf_counter()
    redirected: str | None = None
    target = full
    while True:
        with client.stream("GET", target, headers=sent if redirected is None else {}) as response:
            if follow and redirected is None and response.status_code in (302, 303, 307):
                redirected = target = response.headers["Location"]
                continue
            if response.status_code != 200:
                response.read()
                raise RuntimeError(f"GET {target} answered {response.status_code}: {response.text[:300]}")
            length = 0
            with dest.open("wb") as out:
                for block in response.iter_raw(1 << 20):
                    out.write(block)
                    length += len(block)
            return Fetched(length, response.headers, time.perf_counter() - started, redirected)


def _curl_fetch(curl: str, url: str, headers: dict[str, str], dest: Path, follow: bool) -> Fetched:
    """`fetch_to` with curl: its own time_total (request to last byte), the last response's headers."""
    head = dest.with_name(dest.name + ".headers")
    command = [
        curl,
        "-sS",
        "-o",
        str(dest),
        "-D",
        str(head),
        "-w",
        "%{http_code} %{size_download} %{time_total} %{num_redirects} %{url_effective}",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, *(["-L"] if follow else []), url], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"curl {url} failed with {done.returncode}: {done.stderr[-500:]}")
    status, size, seconds, redirects, effective = done.stdout.split(" ", 4)
    blocks = [block for block in head.read_text(errors="replace").split("\r\n\r\n") if block.strip()]
    head.unlink()
    if status != "200":
        raise RuntimeError(f"GET {url} answered {status}: {dest.read_bytes()[:300]!r}")
    fields = [tuple(line.split(":", 1)) for line in blocks[-1].splitlines()[1:] if ":" in line]
    response_headers = httpx.Headers([(name.strip(), value.strip()) for name, value in fields])
    return Fetched(int(float(size)), response_headers, float(seconds), effective if int(redirects) else None)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def emulator_for(packages: list[ModelPackage], fill: str) -> Iterator[dict[str, str]]:
    """The Hub emulator serving every package as a repository (`--fill emulator`), or nothing."""
    if fill != "emulator":
        yield {}
        return
    from tests.emulator.fixtures import Fixtures, hf_model
    from tests.emulator.server import running_emulator

    repos = []
    for package in packages:
        with package.open() as body, zipfile.ZipFile(body) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        repos.append(
            hf_model(f"bench/{package.name}", readme=files.pop("README.md"), weights=None, files=files)
        )
    with running_emulator(fixtures=Fixtures(hf=repos)) as emulator:
        yield emulator.env()


def _member_digests(archive: zipfile.ZipFile) -> dict[str, str]:
    digests = {}
    for name in archive.namelist():
        digest = hashlib.sha256()
        with archive.open(name) as member:
            while block := member.read(1 << 20):
                digest.update(block)
        digests[name] = digest.hexdigest()
    return digests


def check_package(downloaded: Path, package: ModelPackage, exact: bool) -> None:
    """The downloaded zip holds the uploaded files byte for byte (and, when `exact`, no others);
    members are hashed a MiB at a time, so a 1 GB package is checked in little memory."""
    with zipfile.ZipFile(downloaded) as got_zip, package.open() as sent, zipfile.ZipFile(sent) as sent_zip:
        got, want = _member_digests(got_zip), _member_digests(sent_zip)
    if not exact:
        got = {name: digest for name, digest in got.items() if name in want}
    if got != want:
        raise RuntimeError(f"the downloaded package differs from the upload: {sorted(got)} vs {sorted(want)}")


def download_statuses(log_path: Path) -> Counter[int]:
    """Statuses of the download requests in the server's JSON request log."""
    statuses: Counter[int] = Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        if '"/download/' not in line:
            continue
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if str(entry.get("route", "")).startswith("/download/"):
                statuses[int(entry["status"])] += 1
    return statuses


@dataclass
class Target:
    """One thing put under load: a URL, the process tree serving it (measured for CPU and peak
    memory), and what each answer must be. `store_pids` are further processes whose CPU the run
    also reports (SeaweedFS behind a registry on S3)."""

    label: str
    url: str
    auth: str | None
    server_pid: int
    body_length: int
    store_pids: list[int] = field(default_factory=list)


@dataclass
class Measured:
    result: LoadResult
    memory: dict[str, object]
    store_cpu_s: float = 0.0

    def metrics(self) -> dict[str, float]:
        """The figures compared across runs and servers."""
        r = self.result
        gigabytes = r.bytes / 1e9
        return {
            "mb_per_s": round(r.mb_per_s, 1),
            "requests_per_s": round(r.requests_per_s, 1),
            "mean_ms": r.latency_ms["mean"],
            "p50_ms": r.latency_ms["p50"],
            "p99_ms": r.latency_ms["p99"],
            "max_ms": r.latency_ms["max"],
            "server_cpu_s": r.server_cpu_s,
            "server_cpu_s_per_gb": round(r.server_cpu_s / gigabytes, 3) if gigabytes > 0.01 else float("nan"),
            "server_cpu_ms_per_request": round(r.server_cpu_s * 1000 / r.requests, 2)
            if r.requests
            else float("nan"),
            "store_cpu_s": self.store_cpu_s,
            "store_cpu_s_per_gb": round(self.store_cpu_s / gigabytes, 3)
            if gigabytes > 0.01
            else float("nan"),
            "client_cpu_s": r.client_cpu_s,
            "other_cpu_s": r.other_cpu_s,
            "machine_busy": r.machine_busy,
        }

    def to_json(self) -> dict[str, object]:
        return {
            **self.result.to_json(),
            **self.memory,
            "store_cpu_s": self.store_cpu_s,
            "metrics": self.metrics(),
        }


def load_once(target: Target, seconds: float, args: argparse.Namespace, wrk: str | None) -> LoadResult:
    if wrk is not None:
        result, _ = run_wrk(
            wrk, target.url, target.auth, args.connections, args.threads, seconds, args.timeout
        )
        return result
    return run_python(target.url, target.auth, args.connections, seconds, args.timeout, target.body_length)


def measure(target: Target, args: argparse.Namespace, wrk: str | None, warmup_s: float = 0.0) -> Measured:
    """One measured run (after `warmup_s` of unmeasured load): the server tree's CPU time and
    VmHWM during that run, and what else the machine did meanwhile."""
    if warmup_s > 0:
        log(f"{target.label}: warm-up {warmup_s:g} s")
        load_once(target, warmup_s, args, wrk)
    tree = process_tree(target.server_pid)
    reset = reset_tree_peak_rss(target.server_pid)
    cpu_before, store_before, machine_before = (
        cpu_seconds(tree),
        tree_cpu_seconds(target.store_pids),
        machine_cpu_seconds(),
    )
    result = load_once(target, args.duration, args, wrk)
    busy = machine_cpu_seconds() - machine_before
    store_cpu = round(tree_cpu_seconds(target.store_pids) - store_before, 2)
    result.server_cpu_s = round(cpu_seconds(tree) - cpu_before, 2)
    # Loopback network work (softirq) may be charged to the client's getrusage as well as to
    # /proc/stat's softirq column, hence the clamp: "other" is an estimate, good to spot a busy box.
    result.other_cpu_s = round(max(0.0, busy - result.server_cpu_s - result.client_cpu_s - store_cpu), 2)
    result.machine_busy = round(busy / (result.duration_s * (os.cpu_count() or 1)), 3)
    if result.other_cpu_s > 0.05 * args.duration * (os.cpu_count() or 1):
        log(
            f"{target.label}: other processes used {result.other_cpu_s:.1f} CPU s during the run: it may be skewed"
        )
    result.problems = check_result(result, target.body_length)
    peak = tree_peak_rss(target.server_pid)
    memory: dict[str, object] = {
        "peak_rss_mib": peak.main_mib,
        "peak_rss_tree_sum_mib": peak.sum_mib,
        "processes": len(peak.by_pid),
        "peak_is_of_this_run": reset,
    }
    measured = Measured(result, memory, store_cpu)
    m = measured.metrics()
    log(
        f"{target.label}: {m['mb_per_s']:.0f} MB/s, p99 {m['p99_ms']:.0f} ms, server CPU {m['server_cpu_s']:.1f} s, "
        f"others' CPU {m['other_cpu_s']:.1f} s"
    )
    return measured


def alternate(targets: list[Target], args: argparse.Namespace, wrk: str | None) -> dict[str, list[Measured]]:
    """Each target warmed up once (`args.warmup`), then `args.runs` rounds measuring every target
    in turn (tmr, nginx, tmr, nginx, ...): a slow drift of the machine hits all of them alike."""
    runs: dict[str, list[Measured]] = {target.label: [] for target in targets}
    for round_number in range(args.runs):
        for target in targets:
            log(
                f"run {round_number + 1}/{args.runs}: {target.label}, {args.duration:g} s, {args.connections} connections"
            )
            warmup = args.warmup if round_number == 0 else 0.0
            runs[target.label].append(measure(target, args, wrk, warmup))
    return runs


def summarise(runs: list[Measured]) -> dict[str, object]:
    """Per metric the median and the min and max over the runs; peak memory is the max of all."""
    metrics = [run.metrics() for run in runs]
    summary: dict[str, object] = {}
    for name in metrics[0]:
        values = [m[name] for m in metrics]
        summary[name] = {
            "median": round(statistics.median(values), 3),
            "min": min(values),
            "max": max(values),
        }
    summary["peak_rss_mib"] = max(float(str(run.memory["peak_rss_mib"])) for run in runs)
    summary["peak_rss_tree_sum_mib"] = max(float(str(run.memory["peak_rss_tree_sum_mib"])) for run in runs)
    return summary


def median_of(summary: dict[str, object], metric: str) -> float:
    entry = summary[metric]
    assert isinstance(entry, dict)
    return float(entry["median"])


def ratios(tmr: list[Measured], nginx: list[Measured]) -> dict[str, object]:
    """tmr/nginx for throughput and latency: of the medians, and of each (tmr, nginx) pair."""
    a, b = summarise(tmr), summarise(nginx)
    pairs = [
        {
            "throughput": ratio(t.result.mb_per_s, n.result.mb_per_s),
            "p99_latency": ratio(t.result.latency_ms["p99"], n.result.latency_ms["p99"]),
        }
        for t, n in zip(tmr, nginx, strict=False)
    ]
    return {
        "throughput": ratio(median_of(a, "mb_per_s"), median_of(b, "mb_per_s")),
        "p99_latency": ratio(median_of(a, "p99_ms"), median_of(b, "p99_ms")),
        "mean_latency": ratio(median_of(a, "mean_ms"), median_of(b, "mean_ms")),
        "per_pair": pairs,
    }


@contextlib.contextmanager
def backend_env(backend: str, work: Path) -> Iterator[dict[str, str]]:
    """The registry's storage settings: SQLite + files in `work`, or a fresh PostgreSQL database
    and an S3 prefix of its own on the services of scripts/services.sh (removed afterwards)."""
    common = {"TMR_DATA_DIR": str(work / "data"), "TMR_TOKEN_MAX_USES": str(10**9)}
    if backend == "sqlite":
        yield common
        return
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    services: dict[str, str] = {}
    for line in (ROOT / ".services" / "env").read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line.removeprefix("export ").partition("=")
            services[key] = value.strip().strip("'\"")
    from sqlalchemy import create_engine, text  # only this backend needs them

    base_url = services["TMR_TEST_POSTGRES_URL"]
    database = f"tmr_bench_download_{secrets.token_hex(4)}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {database}"))
    prefix = f"bench-download-{secrets.token_hex(4)}/"
    env = {
        **common,
        "TMR_DATABASE_URL": base_url.rsplit("/", 1)[0] + "/" + database,
        "TMR_BLOB_STORE": "s3",
        "S3_BUCKET": services["TMR_TEST_S3_BUCKET"],
        "S3_ENDPOINT_URL": services["TMR_TEST_S3_ENDPOINT"],
        "TMR_S3_PREFIX": prefix,
        "AWS_ACCESS_KEY_ID": services["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": services["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": services.get("AWS_REGION", "us-east-1"),
    }
    try:
        yield env
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()
        _delete_prefix(env, prefix)


def _delete_prefix(env: dict[str, str], prefix: str) -> None:
    import boto3  # only the postgres backend needs it

    s3 = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env["S3_BUCKET"], Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=env["S3_BUCKET"], Delete={"Objects": keys})


def pick_client(choice: str) -> str | None:
    """wrk's path, or None for the Python client (only when allowed: `auto` or `python`)."""
    if choice == "python":
        return None
    try:
        return apt_install("wrk", ("wrk",))
    except ToolMissing as exc:
        if choice == "wrk":
            raise
        log(f"wrk is unavailable ({exc}); falling back to the Python client, which may be the bottleneck")
        return None


def service_pids(program: bytes) -> list[int]:
    """Processes whose program is named `program` (b"weed": SeaweedFS, run as `weed mini` by
    scripts/services.sh; b"postgres": PostgreSQL's postmaster, whose backends rename themselves
    "postgres: ..." and are counted as its tree), to charge their CPU to a run as the store's."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                if argv and argv[0].rsplit(b"/", 1)[-1] == program:
                    found.append(int(entry.name))
    return found


def seaweedfs_pids() -> list[int]:
    return service_pids(b"weed")


def store_pids(env: dict[str, str]) -> list[int]:
    """The store processes behind a registry with `env`: SeaweedFS for S3 blobs, PostgreSQL's."""
    pids = []
    if env.get("TMR_BLOB_STORE") == "s3" or (
        env.get("S3_BUCKET") and env.get("TMR_BLOB_STORE") != "filesystem"
    ):
        pids += seaweedfs_pids()
    if env.get("TMR_DATABASE_URL", "").startswith("postgres"):
        pids += service_pids(b"postgres")
    return pids


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


TABLE_ROWS: list[tuple[str, str, str]] = [
    # (label, metric, format)
    ("MB/s", "mb_per_s", "{:.0f}"),
    ("requests/s", "requests_per_s", "{:.1f}"),
    ("mean ms", "mean_ms", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.0f}"),
    ("p99 ms", "p99_ms", "{:.0f}"),
    ("max ms", "max_ms", "{:.0f}"),
    ("server CPU s", "server_cpu_s", "{:.1f}"),
    ("server CPU s/GB", "server_cpu_s_per_gb", "{:.2f}"),
    ("server CPU ms/request", "server_cpu_ms_per_request", "{:.1f}"),
    ("store CPU s", "store_cpu_s", "{:.1f}"),
    ("client CPU s", "client_cpu_s", "{:.1f}"),
    ("others' CPU s", "other_cpu_s", "{:.1f}"),
    ("machine busy", "machine_busy", "{:.0%}"),
]


def table(summaries: dict[str, dict[str, object]]) -> str:
    """Markdown: one column per server, each cell "median (min-max)"."""

    def cell(summary: dict[str, object], metric: str, fmt: str) -> str:
        entry = summary[metric]
        assert isinstance(entry, dict)
        low, high = fmt.format(entry["min"]), fmt.format(entry["max"])
        median = fmt.format(entry["median"])
        return median if low == high else f"{median} ({low}-{high})"

    names = list(summaries)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, metric, fmt in TABLE_ROWS:
        lines.append(f"| {label} | " + " | ".join(cell(summaries[n], metric, fmt) for n in names) + " |")
    lines.append(
        "| peak RSS MiB (tree sum, max of runs) | "
        + " | ".join(f"{summaries[n]['peak_rss_tree_sum_mib']}" for n in names)
        + " |"
    )
    return "\n".join(lines)


def problems_of(runs: dict[str, list[Measured]], prefix: str = "") -> list[str]:
    """What made any run invalid, named by server and run."""
    return [
        f"{prefix}{label} run {i + 1}: {p}"
        for label, ms in runs.items()
        for i, m in enumerate(ms)
        for p in m.result.problems
    ]


def stop_if_invalid(problems: list[str]) -> None:
    """Fail the command, after everything was printed, when any run was invalid."""
    if problems:
        raise SystemExit("benchmark invalid:\n  " + "\n  ".join(problems))


def runs_lines(runs: dict[str, list[Measured]]) -> list[str]:
    """Each run, in the order measured."""
    lines = []
    count = max(len(v) for v in runs.values())
    for i in range(count):
        cells = []
        for label, measured in runs.items():
            if i < len(measured):
                m = measured[i].metrics()
                cells.append(
                    f"{label} {m['mb_per_s']:.0f} MB/s p99 {m['p99_ms']:.0f} ms CPU {m['server_cpu_s']:.1f} s "
                    f"(others {m['other_cpu_s']:.1f} s)"
                )
        lines.append(f"  run {i + 1}: " + "; ".join(cells))
    return lines


def add_arguments(parser: argparse.ArgumentParser, duration: float, runs: int) -> None:
    """The options shared with bench_components.py."""
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--big-mib", type=float, default=24.0, help="weights of the big model (MiB)")
    parser.add_argument("--small-kib", type=int, nargs=2, default=(2, 400), metavar=("MIN", "MAX"))
    parser.add_argument("--upload-concurrency", type=int, default=8)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=float, default=duration, help="seconds of each measured run")
    parser.add_argument("--runs", type=int, default=runs, help="measured runs per server, alternating")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of load before a server's first run"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout (s)")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, duration=20.0, runs=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--fill",
        choices=["upload", "emulator"],
        default="upload",
        help="how models enter the registry: the upload route, or registration from the Hub emulator",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the registry (repeatable), e.g. TMR_WORKERS=2",
    )
    parser.add_argument("--out", "--json", type=Path, default=ROOT / "bench-results" / "download.json")
    args = parser.parse_args()
    run_in_workdir("tmr-bench-download-", lambda work: run(args, work))


def run_in_workdir(prefix: str, body: Callable[[Path], None]) -> None:
    """`body` in a fresh temporary directory, removed after success and kept (and named) after a
    failure, so its server logs and data can be read."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        body(work)
    except BaseException:
        log(f"failed: the server logs and data are kept in {work}")
        raise
    shutil.rmtree(work, ignore_errors=True)


def fill(
    client: httpx.Client, packages: list[ModelPackage], big_index: int, args: argparse.Namespace
) -> tuple[list[str], dict[str, object]]:
    """Every package into the registry (upload, or the emulator fallback); ids and timings."""
    log(f"{args.fill}: {len(packages)} packages, {args.upload_concurrency} at a time")
    started = time.perf_counter()
    if args.fill == "upload":
        ids, seconds = upload_all(client, packages, args.upload_concurrency)
    else:
        ids, seconds = register_all(client, packages, args.upload_concurrency)
    total = time.perf_counter() - started
    big = packages[big_index]
    small = [s for i, s in enumerate(seconds) if i != big_index]
    models = client.get("/health").json().get("models")
    if models is not None and models < len(packages):
        raise RuntimeError(f"the registry holds {models} models after {len(packages)} uploads")
    return ids, {
        "route": "POST /artifact/model/upload"
        if args.fill == "upload"
        else "POST /artifact/model (emulator)",
        "total_s": round(total, 1),
        "small": summary_ms(small),
        "big_s": round(seconds[big_index], 2),
        "big_mb_per_s": round(big.size / 1e6 / seconds[big_index], 1),
        "big_package_mb": round(big.size / 1e6, 2),
    }


def first_downloads(
    client: httpx.Client, path: str, big: ModelPackage, directory: Path, exact: bool
) -> tuple[dict[str, object], Path]:
    """The package's cold first download (nothing cached or materialised yet) and the second, both
    timed (request to last byte written to the page cache), checked against the upload and each
    other; presigned redirects are followed. The first one's file is kept for nginx."""
    directory.mkdir(parents=True, exist_ok=True)
    first_file, second_file = directory / "model.zip", directory / "second.zip"
    first = fetch_to(client, path, {}, first_file, follow=True)
    second = fetch_to(client, path, {}, second_file, follow=True)
    check_package(first_file, big, exact=exact)
    digest, digest2 = sha256_file(first_file), sha256_file(second_file)
    second_file.unlink()
    announced = second.headers.get("X-Package-SHA256") or first.headers.get("X-Package-SHA256")
    if digest2 != digest or (announced and announced != digest):
        raise RuntimeError(
            f"the package is not stable: sha256 {digest} then {digest2}, announced {announced}"
        )
    info: dict[str, object] = {
        "bytes": first.length,
        "sha256": digest,
        "announced_sha256": bool(announced),
        "first_download_ms": round(first.seconds * 1000, 1),
        "first_download_mb_per_s": round(first.length / 1e6 / first.seconds, 1),
        "second_download_ms": round(second.seconds * 1000, 1),
        "second_download_mb_per_s": round(second.length / 1e6 / second.seconds, 1),
        "redirected": first.redirected_to is not None,
    }
    log(
        f"package: {first.length} bytes, sha256 {digest[:16]}…, first GET {first.seconds * 1000:.0f} ms "
        f"({info['first_download_mb_per_s']} MB/s), second {second.seconds * 1000:.0f} ms "
        f"({info['second_download_mb_per_s']} MB/s)"
    )
    return info, first_file


def registry_targets(
    client: httpx.Client, server_url: str, path: str, auth: str, server_pid: int, length: int, presigned: bool
) -> list[Target]:
    """What to load on the registry. Proxied or from disk: the download URL. With presigned
    redirects wrk cannot follow the 307 (it does not follow redirects), so the two halves of a
    client's download are loaded separately: the registry answering 307s, and SeaweedFS serving a
    presigned URL (obtained once; every request of the run reuses it)."""
    url = server_url + path
    if not presigned:
        return [Target("tmr", url, auth, server_pid, length)]
    answer = client.get(path, follow_redirects=False)
    if answer.status_code != 307:
        raise RuntimeError(f"expected a presigned 307, got {answer.status_code}: {answer.text[:300]}")
    weed = seaweedfs_pids()
    if not weed:
        raise RuntimeError("no SeaweedFS process found to measure")
    return [
        Target("tmr 307", url, auth, server_pid, 0),
        Target("S3 presigned GET", answer.headers["Location"], None, weed[0], length),
    ]


def check_statuses(
    before: Counter[int], after: Counter[int], expected: int, measured: list[Measured]
) -> dict[int, int]:
    """The downloads the server logged during the runs: all `expected`, or the last run says why."""
    statuses = after - before
    if set(statuses) - {expected}:
        measured[-1].result.problems.append(f"the server answered downloads with {dict(statuses)}")
    return dict(statuses)


def run(args: argparse.Namespace, work: Path) -> None:
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    presigned = extra_env.get("TMR_DOWNLOAD_REDIRECT") == "presigned"
    if presigned:
        extra_env.setdefault("TMR_DOWNLOAD_REDIRECT_EXPIRES_S", "3600")  # outlives every run
    wrk = pick_client(args.client)
    nginx_binary = apt_install("nginx", NGINX_PACKAGES)
    client_name = "wrk" if wrk else "python (asyncio streams): the client may be the bottleneck"

    log(f"building {args.models} model packages in {work}")
    started = time.perf_counter()
    packages, big_index = build_packages(args.models, args.big_mib, tuple(args.small_kib), work / "build")
    big = packages[big_index]
    log(
        f"built in {time.perf_counter() - started:.1f} s: big package {big.size / 1e6:.1f} MB"
        f"{' (on disk)' if big.path else ''}, the rest {sum(p.size for p in packages) / 1e6 - big.size / 1e6:.1f} MB"
    )
    results: dict[str, object] = {
        "models": args.models,
        "backend": args.backend,
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "runs": args.runs,
        "client": client_name,
        "fill": args.fill,
        "server_env": extra_env,
        "cores": os.cpu_count(),
    }
    with (
        backend_env(args.backend, work) as env,
        emulator_for(packages, args.fill) as upstream,
        registry_server({**env, **upstream, **extra_env}, work / "server.log") as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        auth = server.login()
        client.headers.update(auth)
        ids, results["upload"] = fill(client, packages, big_index, args)
        results["server_peak_rss_mib_after_uploads"] = tree_peak_rss(server.process.pid).main_mib
        path = f"/download/{ids[big_index]}"
        package, package_file = first_downloads(client, path, big, work / "package", args.fill == "upload")
        results["package"] = package
        length = int(str(package["bytes"]))
        targets = registry_targets(
            client, server.url, path, auth["X-Authorization"], server.process.pid, length, presigned
        )
        targets[0].store_pids = store_pids(env)
        with running_nginx(nginx_binary, package_file, workers=2) as nginx:
            if sha256_file(nginx.directory / "www" / package_file.name) != package["sha256"]:
                raise RuntimeError("nginx serves different bytes")
            nginx_target = Target(
                "nginx", f"{nginx.url}/{package_file.name}", None, nginx.process.pid, length
            )
            statuses_before = download_statuses(server.log_path)
            runs = alternate([*targets, nginx_target], args, wrk)
            results["server_log_statuses"] = check_statuses(
                statuses_before,
                download_statuses(server.log_path),
                307 if presigned else 200,
                runs[targets[0].label],
            )

    summaries = {label: summarise(measured) for label, measured in runs.items()}
    bytes_target = targets[-1].label  # the registry, or SeaweedFS when redirected
    results["servers"] = {
        label: {"summary": summaries[label], "runs": [m.to_json() for m in measured]}
        for label, measured in runs.items()
    }
    results["ratio_tmr_over_nginx"] = ratios(runs[bytes_target], runs["nginx"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))

    upload = results["upload"]
    assert isinstance(upload, dict)
    print()
    print(
        f"Download of one {length / 1e6:.1f} MB package, {args.connections} connections, {args.runs} runs of "
        f"{args.duration:g} s per server, alternating ({args.models} models, {args.backend}, client: {client_name}, "
        f"{os.cpu_count()} cores); median (min-max) of the runs"
    )
    print(table(summaries))
    print("\n".join(runs_lines(runs)))
    r = results["ratio_tmr_over_nginx"]
    assert isinstance(r, dict)
    pairs = ", ".join(f"{p['throughput']}/{p['p99_latency']}" for p in r["per_pair"])
    print(
        f"{bytes_target} / nginx: throughput {r['throughput']}, p99 latency {r['p99_latency']} (of the medians); "
        f"per pair throughput/p99: {pairs}"
    )
    if presigned:
        print(
            "presigned: a client's download is the 307 from tmr then the GET from SeaweedFS; wrk loaded "
            "each half separately (see docs/benchmarks.md), so add their latencies for a download's"
        )
    print(
        f"package: first (cold) GET {package['first_download_ms']} ms ({package['first_download_mb_per_s']} MB/s), "
        f"second {package['second_download_ms']} ms ({package['second_download_mb_per_s']} MB/s)"
    )
    tmr_summary = summaries[targets[0].label]
    print(
        f"peak RSS during the load (max of runs): tmr {tmr_summary['peak_rss_mib']} MiB "
        f"(tree sum {tmr_summary['peak_rss_tree_sum_mib']} MiB), nginx master+workers "
        f"{summaries['nginx']['peak_rss_tree_sum_mib']} MiB; tmr after the uploads "
        f"{results['server_peak_rss_mib_after_uploads']} MiB"
    )
    print(
        f"uploads: {args.models} in {upload['total_s']} s ({args.upload_concurrency} at a time); small p50 "
        f"{upload['small']['p50_ms']} ms, p99 {upload['small']['p99_ms']} ms; big {upload['big_package_mb']} MB "
        f"in {upload['big_s']} s ({upload['big_mb_per_s']} MB/s)"
    )
    print(f"results: {args.out}")
    stop_if_invalid(problems_of(runs))


if __name__ == "__main__":
    main()
