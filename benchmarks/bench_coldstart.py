"""Lambda cold start: the deployment package, unpacked, started in a clean CPython 3.12 again and
again until it answers its first /health.

    ./run bench coldstart [--runs 5] [--out bench-results/coldstart.json]

Builds build/lambda/tmr-lambda.zip (or reuses it when its inputs did not change), unpacks it, and
starts the same child process tests/e2e/test_lambda_package.py drives (`-I -S`, only the package
on sys.path, in the Lambda runtime's environment, so `import tmr.aws` builds the registry as
Lambda's init phase would) over the emulator, a fresh PostgreSQL database and a SeaweedFS prefix
of its own from scripts/services.sh. The first start migrates the empty database and is reported
on its own; the median is over the next `--runs` starts, on a current schema: the steady state
of a fleet. Lambda gives the init phase 10 s; the figure to watch is "first /health".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from common import ROOT
from tests import services
from tests.e2e.test_lambda_package import Child, delete_prefix, lambda_environment, load_builder
from tests.emulator.server import running_emulator
from tests.feature.test_lambda import body_json, http_api_event

INIT_PHASE_LIMIT_S = 10.0  # what Lambda allows the init phase


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def load_services() -> None:
    """`scripts/services.sh start`, then its env file into this process (as `source` would)."""
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    for line in (ROOT / ".services" / "env").read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line.removeprefix("export ").partition("=")
            os.environ[key] = value.strip().strip("'\"")


def cold_start(python: str, package_dir: Path, env: dict[str, str], log_path: Path) -> dict[str, float]:
    """One container: seconds from spawning the interpreter to each milestone."""
    child = Child(python, package_dir, env, log_path)
    try:
        health = child.invoke(http_api_event("GET", "/health"))
    finally:
        child.close()
    if health["statusCode"] != 200 or body_json(health)["status"] != "ok":
        raise RuntimeError(f"/health answered {health['statusCode']}: {log_path.read_text()[-3000:]}")
    ready = child.ready
    return {
        "interpreter_s": ready["started"] - child.spawned,
        "modules_s": ready["modules"] - child.spawned,
        "import_tmr_aws_s": ready["imported"] - child.spawned,
        "first_health_s": health["_at"] - child.spawned,
    }


def rounded(sample: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 3) for key, value in sample.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed cold starts on a current schema")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "coldstart.json")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    builder = load_builder()
    python = builder.find_python312()
    if python is None:
        raise SystemExit(f"bench: {builder.PYTHON312_HINT}")
    started = time.perf_counter()
    package = builder.build(python=python, if_stale=True)
    log(
        f"package {'reused' if package.reused else 'built'} in {time.perf_counter() - started:.1f} s: "
        f"{package.manifest['size_bytes']:,} bytes zipped"
    )
    load_services()
    work = Path(tempfile.mkdtemp(prefix="tmr-bench-coldstart-"))
    unpacked = work / "task"
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(unpacked)
    with (
        running_emulator() as emulator,
        services.fresh_postgres_database("tmr_bench_coldstart") as database_url,
    ):
        env = lambda_environment(
            unpacked, work / "home", database_url, services.require("s3"), emulator.env()
        )
        try:
            first = cold_start(python, unpacked, env, work / "cold-first.log")
            log(f"first start (migrates an empty database): first /health {first['first_health_s']:.3f} s")
            samples = []
            for run in range(args.runs):
                samples.append(cold_start(python, unpacked, env, work / f"cold-{run}.log"))
                log(f"start {run + 1}/{args.runs}: first /health {samples[-1]['first_health_s']:.3f} s")
        finally:
            delete_prefix(env)
    medians = {key: round(statistics.median(s[key] for s in samples), 3) for key in samples[0]}
    results = {
        "python": python,
        "runs": len(samples),
        "median": medians,
        "samples": [rounded(s) for s in samples],
        "first_start_migrating": rounded(first),
        "init_phase_limit_s": INIT_PHASE_LIMIT_S,
        "package_sha256": package.manifest["sha256"],
        "bytecode": package.manifest["bytecode"],
        "stores": "PostgreSQL 15 + SeaweedFS (local), registry built in the init phase",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{os.cpu_count()} cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"lambda cold start (median of {len(samples)}): interpreter {medians['interpreter_s']} s, "
        f"modules imported {medians['modules_s']} s, import tmr.aws done {medians['import_tmr_aws_s']} s, "
        f"first /health {medians['first_health_s']} s (Lambda's init phase allows {INIT_PHASE_LIMIT_S:g} s)"
    )
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
