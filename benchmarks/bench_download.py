"""Download throughput: 100 clients fetching one ~25 MB model package from a registry of 500
models, and nginx serving the identical bytes from disk as the reference.

    ./run bench download [--duration 20] [--connections 100] [--backend sqlite|postgres]
                         [--client auto|wrk|python] [--out bench-results/download.json]

Starts `./run serve` (SQLite + files by default; `--backend postgres` uses PostgreSQL + SeaweedFS
from scripts/services.sh), uploads 500 Hugging Face-layout zips through
`POST /artifact/model/upload` (one ~25 MB, the rest a few KB to a few hundred KB), downloads the
big package once to warm it and keep its bytes, then runs the same load against the registry and
against nginx (Debian's, installed when missing) serving those bytes: wrk with N connections for
a fixed time, after a warm-up. Prints requests/s, MB/s (10^6 bytes), latency (mean, p50, p99,
max) for both, their ratios, and the peak resident memory (VmHWM) of both servers during the load.
Every response must be a 200 of the full length, or the benchmark fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import ROOT, registry_server, summary_ms
from download_load import LoadResult, check_result, run_python, run_wrk
from download_nginx import NGINX_PACKAGES, ToolMissing, apt_install, running_nginx
from download_packages import MiB, ModelPackage, build_model, small_weight_sizes
from download_procs import (
    cpu_seconds,
    machine_cpu_seconds,
    process_tree,
    reset_tree_peak_rss,
    tree_peak_rss,
)


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def build_packages(count: int, big_mib: float, small_kib: tuple[int, int]) -> tuple[list[ModelPackage], int]:
    """`count` packages, the big one in the middle (so the registry is not empty around it)."""
    sizes = small_weight_sizes(count - 1, small_kib[0] * 1024, small_kib[1] * 1024, seed=500)
    big_index = count // 2
    sizes.insert(big_index, int(big_mib * MiB))
    packages = []
    for i, size in enumerate(sizes):
        name = "bench-download-big" if i == big_index else f"bench-download-{i:03d}"
        packages.append(build_model(name, size, seed=i))
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
    """Upload every package through `POST /artifact/model/upload`."""
    return _create_all(
        packages,
        concurrency,
        lambda package: client.post(
            "/artifact/model/upload",
            params={"name": package.name, "version": package.version},
            content=package.zip_bytes,
            headers={"Content-Type": "application/zip"},
        ),
        "upload of",
    )


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


def fetch(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[bytes, httpx.Headers, float]:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    return response.content, response.headers, seconds


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
        with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        repos.append(
            hf_model(f"bench/{package.name}", readme=files.pop("README.md"), weights=None, files=files)
        )
    with running_emulator(fixtures=Fixtures(hf=repos)) as emulator:
        yield emulator.env()


def check_package(data: bytes, package: ModelPackage, exact: bool) -> None:
    """The downloaded zip holds the uploaded files byte for byte (and, when `exact`, no others)."""
    with (
        zipfile.ZipFile(io.BytesIO(data)) as downloaded,
        zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as sent,
    ):
        if downloaded.testzip() is not None:
            raise RuntimeError("the downloaded package has a corrupt member")
        got = {name: hashlib.sha256(downloaded.read(name)).hexdigest() for name in downloaded.namelist()}
        want = {name: hashlib.sha256(sent.read(name)).hexdigest() for name in sent.namelist()}
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


def measure(
    label: str,
    url: str,
    auth: str | None,
    server_pid: int,
    body_length: int,
    args: argparse.Namespace,
    wrk: str | None,
) -> tuple[LoadResult, dict[str, object]]:
    """Warm up, then one measured run; the server tree's CPU time and VmHWM during that run."""
    log(f"{label}: warm-up {args.warmup:g} s, then {args.duration:g} s with {args.connections} connections")

    def load(seconds: float) -> LoadResult:
        if wrk is not None:
            result, _ = run_wrk(wrk, url, auth, args.connections, args.threads, seconds, args.timeout)
            return result
        return run_python(url, auth, args.connections, seconds, args.timeout, body_length)

    if args.warmup > 0:
        load(args.warmup)
    tree = process_tree(server_pid)
    reset = reset_tree_peak_rss(server_pid)
    cpu_before, machine_before = cpu_seconds(tree), machine_cpu_seconds()
    result = load(args.duration)
    busy = machine_cpu_seconds() - machine_before
    result.server_cpu_s = round(cpu_seconds(tree) - cpu_before, 2)
    # Loopback network work (softirq) may be charged to the client's getrusage as well as to
    # /proc/stat's softirq column, hence the clamp: "other" is an estimate, good to spot a busy box.
    result.other_cpu_s = round(max(0.0, busy - result.server_cpu_s - result.client_cpu_s), 2)
    result.machine_busy = round(busy / (result.duration_s * (os.cpu_count() or 1)), 3)
    if result.other_cpu_s > 0.05 * args.duration * (os.cpu_count() or 1):
        log(f"{label}: other processes used {result.other_cpu_s:.1f} CPU s during the run: it may be skewed")
    result.problems = check_result(result, body_length)
    peak = tree_peak_rss(server_pid)
    memory = {
        "peak_rss_mib": peak.main_mib,
        "peak_rss_tree_sum_mib": peak.sum_mib,
        "processes": len(peak.by_pid),
        "peak_is_of_this_run": reset,
    }
    return result, memory


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


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def table(tmr: LoadResult, nginx: LoadResult) -> str:
    rows = [
        ("requests/s", lambda r: f"{r.requests_per_s:.1f}"),
        ("MB/s", lambda r: f"{r.mb_per_s:.1f}"),
        ("requests", lambda r: str(r.requests)),
        ("mean ms", lambda r: f"{r.latency_ms['mean']:.1f}"),
        ("p50 ms", lambda r: f"{r.latency_ms['p50']:.1f}"),
        ("p99 ms", lambda r: f"{r.latency_ms['p99']:.1f}"),
        ("max ms", lambda r: f"{r.latency_ms['max']:.1f}"),
        ("errors", lambda r: str(sum(r.errors.values()))),
        ("server CPU s", lambda r: f"{r.server_cpu_s:.1f}"),
        ("client CPU s", lambda r: f"{r.client_cpu_s:.1f}"),
        ("others' CPU s", lambda r: f"{r.other_cpu_s:.1f}"),
        ("machine busy", lambda r: f"{r.machine_busy:.0%}"),
    ]
    lines = [f"| {'':14} | {'tmr':>12} | {'nginx':>12} |", f"|{'-' * 16}|{'-' * 14}|{'-' * 14}|"]
    lines += [f"| {name:14} | {cell(tmr):>12} | {cell(nginx):>12} |" for name, cell in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--big-mib", type=float, default=24.0, help="weights of the big model (MiB)")
    parser.add_argument("--small-kib", type=int, nargs=2, default=(2, 400), metavar=("MIN", "MAX"))
    parser.add_argument("--upload-concurrency", type=int, default=8)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of measured load per server")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measurement")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout (s)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
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
        help="an extra environment variable for the registry (repeatable), e.g. MALLOC_ARENA_MAX=2",
    )
    parser.add_argument("--out", "--json", type=Path, default=ROOT / "bench-results" / "download.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tmr-bench-download-"))
    try:
        run(args, work)
    except BaseException:
        log(f"failed: the server log and data are kept in {work}")
        raise
    shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    wrk = pick_client(args.client)
    nginx_binary = apt_install("nginx", NGINX_PACKAGES)
    client_name = "wrk" if wrk else "python (asyncio streams): the client may be the bottleneck"

    log(f"building {args.models} model packages in {work}")
    started = time.perf_counter()
    packages, big_index = build_packages(args.models, args.big_mib, tuple(args.small_kib))
    big = packages[big_index]
    log(
        f"built in {time.perf_counter() - started:.1f} s: big package {big.size / 1e6:.1f} MB, "
        f"the rest {sum(p.size for p in packages) / 1e6 - big.size / 1e6:.1f} MB in all"
    )
    results: dict[str, object] = {
        "models": args.models,
        "backend": args.backend,
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "client": client_name,
        "fill": args.fill,
        "server_env": extra_env,
        "cores": os.cpu_count(),
    }
    with (
        backend_env(args.backend, work) as env,
        emulator_for(packages, args.fill) as upstream,
        registry_server({**env, **upstream, **extra_env}, work / "server.log") as server,
        httpx.Client(base_url=server.url, timeout=300) as client,
    ):
        auth = server.login()
        client.headers.update(auth)

        # 1. Fill the registry through the upload route (or, as a fallback, from the emulator).
        log(f"{args.fill}: {args.models} packages, {args.upload_concurrency} at a time")
        started = time.perf_counter()
        if args.fill == "upload":
            ids, seconds = upload_all(client, packages, args.upload_concurrency)
        else:
            ids, seconds = register_all(client, packages, args.upload_concurrency)
        total = time.perf_counter() - started
        small = [s for i, s in enumerate(seconds) if i != big_index]
        results["upload"] = {
            "route": "POST /artifact/model/upload"
            if args.fill == "upload"
            else "POST /artifact/model (emulator)",
            "total_s": round(total, 1),
            "small": summary_ms(small),
            "big_s": round(seconds[big_index], 2),
            "big_mb_per_s": round(big.size / 1e6 / seconds[big_index], 1),
            "big_package_mb": round(big.size / 1e6, 2),
        }
        models = client.get("/health").json().get("models")
        if models is not None and models < args.models:
            raise RuntimeError(f"the registry holds {models} models after {args.models} uploads")
        results["server_peak_rss_mib_after_uploads"] = tree_peak_rss(server.process.pid).main_mib

        # 2. The package once cold (an uploaded package mirrors nothing; an emulator one mirrors its
        # weights), then again, when the registry may announce its sha256.
        path = f"/download/{ids[big_index]}"
        data, headers, cold = fetch(client, path, {})
        check_package(data, big, exact=args.fill == "upload")
        data2, headers2, warm = fetch(client, path, {})
        digest = hashlib.sha256(data).hexdigest()
        announced = headers2.get("X-Package-SHA256") or headers.get("X-Package-SHA256")
        if data2 != data or (announced and announced != digest):
            raise RuntimeError(f"the package is not stable: sha256 {digest}, announced {announced}")
        length = len(data)
        results["package"] = {
            "bytes": length,
            "sha256": digest,
            "announced_sha256": bool(announced),
            "first_download_ms": round(cold * 1000, 1),
            "second_download_ms": round(warm * 1000, 1),
        }
        package_file = work / "package" / "model.zip"
        package_file.parent.mkdir()
        package_file.write_bytes(data)
        log(
            f"package: {length} bytes, sha256 {digest[:16]}…, first GET {cold * 1000:.0f} ms, second {warm * 1000:.0f} ms"
        )

        # 3. The registry under load.
        statuses_before = download_statuses(server.log_path)
        tmr, tmr_memory = measure(
            "tmr", server.url + path, auth["X-Authorization"], server.process.pid, length, args, wrk
        )
        statuses = download_statuses(server.log_path) - statuses_before
        if set(statuses) - {200}:
            tmr.problems.append(f"the server answered downloads with {dict(statuses)}")
        results["tmr"] = {**tmr.to_json(), **tmr_memory, "server_log_statuses": dict(statuses)}

    # 4. nginx serving the same bytes.
    with running_nginx(nginx_binary, package_file, workers=2) as nginx, httpx.Client(timeout=60) as plain:
        served, _, _ = fetch(plain, f"{nginx.url}/model.zip", {})
        if hashlib.sha256(served).hexdigest() != digest:
            raise RuntimeError("nginx serves different bytes")
        reference, nginx_memory = measure(
            "nginx", f"{nginx.url}/model.zip", None, nginx.process.pid, length, args, wrk
        )
        results["nginx"] = {**reference.to_json(), **nginx_memory}

    results["ratio_tmr_over_nginx"] = {
        "throughput": ratio(tmr.mb_per_s, reference.mb_per_s),
        "p99_latency": ratio(tmr.latency_ms["p99"], reference.latency_ms["p99"]),
        "mean_latency": ratio(tmr.latency_ms["mean"], reference.latency_ms["mean"]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))

    upload = results["upload"]
    assert isinstance(upload, dict)
    print()
    print(
        f"Download of one {length / 1e6:.1f} MB package, {args.connections} connections, {args.duration:g} s each "
        f"({args.models} models, {args.backend}, client: {client_name}, {os.cpu_count()} cores)"
    )
    print(table(tmr, reference))
    ratios = results["ratio_tmr_over_nginx"]
    assert isinstance(ratios, dict)
    print(f"tmr / nginx: throughput {ratios['throughput']}, p99 latency {ratios['p99_latency']}")
    print(
        f"peak RSS during the load: tmr {tmr_memory['peak_rss_mib']} MiB "
        f"(tree sum {tmr_memory['peak_rss_tree_sum_mib']} MiB), nginx master+workers "
        f"{nginx_memory['peak_rss_tree_sum_mib']} MiB; tmr after the uploads "
        f"{results['server_peak_rss_mib_after_uploads']} MiB"
    )
    print(
        f"uploads: {args.models} in {upload['total_s']} s ({args.upload_concurrency} at a time); small p50 "
        f"{upload['small']['p50_ms']} ms, p99 {upload['small']['p99_ms']} ms; big {upload['big_package_mb']} MB "
        f"in {upload['big_s']} s ({upload['big_mb_per_s']} MB/s)"
    )
    print(f"results: {args.out}")
    problems = [f"tmr: {p}" for p in tmr.problems] + [f"nginx: {p}" for p in reference.problems]
    if problems:
        raise SystemExit("benchmark invalid:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
