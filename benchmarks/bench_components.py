"""Components of the download path, each measured on the same workload in one run on one machine.

    ./run bench components [--runs 2] [--duration 10] [--connections 100] [--models 500]
                           [--big-mib 24] [--only ROW ...] [--out bench-results/components.json]

The workload is `./run bench download`'s (its functions, imported): 500 uploaded models, wrk with
100 connections fetching the ~25 MB package, each configuration warmed up once and then measured
`--runs` times alternating with nginx serving the same bytes, the median reported. One factor
changes per row against the baseline (SQLite, files, the default server, one worker):

- metadata: PostgreSQL (files still on the filesystem);
- blobs: S3 (SeaweedFS) proxied through the registry, and presigned redirects (wrk does not follow
  a 307, so the 307s and the presigned GETs from SeaweedFS are loaded separately, as in
  bench_download);
- server: stock uvicorn, granian (when importable), 2 workers, the package cache off;
- PostgreSQL + S3 together (the scaled-out deployment).

Rows that share stores share one fill: the registry is restarted with the row's settings over the
same data. Last, the Lambda handler (`tmr.aws.handler`, Mangum) is called in this process with API
Gateway events over the SQLite + S3 data: GET /health, an authenticated enumeration, and the big
package's download (a presigned 307: Lambda cannot return more than 6 MB), sequentially, as one
Lambda container serves one request at a time. Prints one markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_download import (
    Measured,
    Target,
    add_arguments,
    alternate,
    backend_env,
    build_packages,
    check_statuses,
    download_statuses,
    fetch_to,
    fill,
    first_downloads,
    log,
    median_of,
    pick_client,
    problems_of,
    ratio,
    registry_targets,
    run_in_workdir,
    sha256_file,
    stop_if_invalid,
    store_pids,
    summarise,
)
from common import ROOT, percentile, registry_server
from download_nginx import NGINX_PACKAGES, apt_install, running_nginx
from download_packages import ModelPackage


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    group: str  # rows of one group share a fill (the same stores)
    env: dict[str, str]
    note: str = ""


GROUPS = ("sqlite+files", "postgres+files", "sqlite+s3", "postgres+s3")


def rows(granian: bool) -> list[Row]:
    listed = [
        Row("baseline: SQLite, files, sendfile server, 1 worker", "sqlite+files", {}),
        Row(
            "server: stock uvicorn (uvloop, bytes through Python)", "sqlite+files", {"TMR_SERVER": "uvicorn"}
        ),
    ]
    if granian:
        listed.append(Row("server: granian", "sqlite+files", {"TMR_SERVER": "granian"}))
    listed += [
        Row("workers: 2", "sqlite+files", {"TMR_WORKERS": "2"}),
        Row("package cache off", "sqlite+files", {"TMR_PACKAGE_CACHE_BYTES": "0"}),
        Row("metadata: PostgreSQL", "postgres+files", {}),
        Row("blobs: S3 (SeaweedFS), proxied", "sqlite+s3", {}),
        Row(
            "blobs: S3, presigned redirect",
            "sqlite+s3",
            {"TMR_DOWNLOAD_REDIRECT": "presigned", "TMR_DOWNLOAD_REDIRECT_EXPIRES_S": "3600"},
            "bytes from SeaweedFS; the 307 measured separately",
        ),
        Row("PostgreSQL + S3 proxied", "postgres+s3", {}),
    ]
    return listed


@contextlib.contextmanager
def group_env(group: str, work: Path) -> Iterator[dict[str, str]]:
    """The stores of a group: backend_env's SQLite + files or PostgreSQL + S3, mixed as asked."""
    metadata, blobs = group.split("+")
    if group == "sqlite+files":
        with backend_env("sqlite", work) as env:
            yield env
        return
    with backend_env("postgres", work) as env:
        mixed = dict(env)
        if metadata == "sqlite":
            del mixed["TMR_DATABASE_URL"]
        if blobs == "files":
            mixed["TMR_BLOB_STORE"] = "filesystem"
        yield mixed


@dataclass
class RowResult:
    row: Row
    runs: dict[str, list[Measured]]
    package: dict[str, object]
    statuses: dict[int, int]

    def bytes_label(self) -> str:
        return next(label for label in self.runs if label != "nginx" and label != "tmr 307")

    def summary(self) -> dict[str, object]:
        """The row's figures: the bytes' server (the registry, or SeaweedFS behind a presigned
        redirect) against nginx, medians of the runs."""
        summaries = {label: summarise(measured) for label, measured in self.runs.items()}
        data = self.bytes_label()
        main, nginx = summaries[data], summaries["nginx"]
        registry = summaries["tmr 307" if "tmr 307" in summaries else "tmr"]
        mb = median_of(main, "mb_per_s")
        result: dict[str, object] = {
            "mb_per_s": mb,
            "mb_per_s_min": main["mb_per_s"]["min"],  # type: ignore[index]
            "mb_per_s_max": main["mb_per_s"]["max"],  # type: ignore[index]
            "p99_ms": median_of(main, "p99_ms"),
            "tmr_cpu_s_per_gb": median_of(registry, "server_cpu_s_per_gb") if data == "tmr" else None,
            "store_cpu_s_per_gb": median_of(main, "store_cpu_s_per_gb")
            if data == "tmr"
            else median_of(main, "server_cpu_s_per_gb"),
            "peak_rss_tree_sum_mib": registry["peak_rss_tree_sum_mib"],
            "nginx_mb_per_s": median_of(nginx, "mb_per_s"),
            "nginx_p99_ms": median_of(nginx, "p99_ms"),
            "ratio_throughput": ratio(mb, median_of(nginx, "mb_per_s")),
            "ratio_p99": ratio(median_of(main, "p99_ms"), median_of(nginx, "p99_ms")),
            "others_cpu_s_max": max(m.result.other_cpu_s for ms in self.runs.values() for m in ms),
        }
        if "tmr 307" in summaries:
            result["redirect_requests_per_s"] = median_of(registry, "requests_per_s")
            result["redirect_p99_ms"] = median_of(registry, "p99_ms")
            result["redirect_tmr_cpu_ms_per_request"] = median_of(registry, "server_cpu_ms_per_request")
        return result


def measure_row(
    row: Row,
    group: dict[str, str],
    work: Path,
    packages: list[ModelPackage],
    big_index: int,
    ids: list[str] | None,
    args: argparse.Namespace,
    wrk: str | None,
    nginx_binary: str,
) -> tuple[RowResult, list[str]]:
    """Start the registry with the row's settings (filling it when `ids` is None), check the big
    package, then alternate it with nginx. Returns the row and the artifact ids."""
    log(f"== {row.name}")
    log_path = work / f"server-{len(list(work.glob('server-*.log')))}.log"
    with (
        registry_server({**group, **row.env}, log_path) as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        auth = server.login()
        client.headers.update(auth)
        if ids is None:
            ids, upload = fill(client, packages, big_index, args)
            log(f"filled in {upload['total_s']} s")
        path = f"/download/{ids[big_index]}"
        package, package_file = first_downloads(
            client, path, packages[big_index], work / "package", exact=True
        )
        presigned = row.env.get("TMR_DOWNLOAD_REDIRECT") == "presigned"
        length = int(str(package["bytes"]))
        targets = registry_targets(
            client, server.url, path, auth["X-Authorization"], server.process.pid, length, presigned
        )
        targets[0].store_pids = store_pids(group)
        with running_nginx(nginx_binary, package_file, workers=2) as nginx:
            nginx_target = Target(
                "nginx", f"{nginx.url}/{package_file.name}", None, nginx.process.pid, length
            )
            before = download_statuses(server.log_path)
            runs = alternate([*targets, nginx_target], args, wrk)
            statuses = check_statuses(
                before, download_statuses(server.log_path), 307 if presigned else 200, runs[targets[0].label]
            )
    return RowResult(row, runs, package, statuses), ids


# --- the Lambda handler, in process --------------------------------------------------------------


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values` set (tmr.aws reads its settings there, boto3 its credentials)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def timed_calls(
    call: Callable[[], dict[str, Any]], check: Callable[[dict[str, Any]], None], seconds: float
) -> dict[str, object]:
    """`call` back to back for `seconds` (at least 20 times): requests/s, p50/p99, CPU per call."""
    latencies: list[float] = []
    cpu_started, started = time.process_time(), time.perf_counter()
    while time.perf_counter() - started < seconds or len(latencies) < 20:
        t0 = time.perf_counter()
        answer = call()
        latencies.append(time.perf_counter() - t0)
        check(answer)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "calls": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "cpu_ms_per_call": round(cpu / len(latencies) * 1000, 2),
    }


def lambda_in_process(
    group: dict[str, str], work: Path, big_id: str, digest: str, seconds: float
) -> dict[str, object]:
    """tmr.aws.handler over the group's stores (its server stopped), with API Gateway HTTP API
    events, in this process; its log lines go to a file, as they would go to CloudWatch."""
    from tests.feature.test_lambda import LambdaContext, body_json, header, http_api_event
    from tests.support import auth_request

    import tmr.aws as aws

    env = {
        **group,
        "AWS_LAMBDA_FUNCTION_NAME": "tmr-bench",  # what Lambda sets: EMF metrics in the log lines
        "TMR_ALLOW_DEFAULT_ADMIN_PASSWORD": "true",
        "TMR_DOWNLOAD_REDIRECT": "presigned",
        "LOG_LEVEL": "1",
    }
    results: dict[str, object] = {}
    with environment(env), (work / "lambda.log").open("w") as sink, contextlib.redirect_stderr(sink):
        runtime = aws.LambdaRuntime()
        context = LambdaContext()

        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            return runtime.handle(event, context)

        def status(expected: int) -> Callable[[dict[str, Any]], None]:
            def check(answer: dict[str, Any]) -> None:
                if answer["statusCode"] != expected:
                    raise RuntimeError(
                        f"the handler answered {answer['statusCode']}, not {expected}: {answer.get('body', '')[:300]}"
                    )

            return check

        started = time.perf_counter()
        status(200)(invoke(http_api_event("GET", "/health")))
        results["cold_start_ms"] = round((time.perf_counter() - started) * 1000, 1)
        login = invoke(http_api_event("PUT", "/authenticate", auth_request()))
        status(200)(login)
        auth = {"X-Authorization": str(body_json(login))}
        redirect = invoke(http_api_event("GET", f"/download/{big_id}", headers=auth))
        status(307)(redirect)
        location = header(redirect, "location")
        if location is None:
            raise RuntimeError("the handler's 307 has no Location")
        fetched = work / "lambda-download.zip"
        with httpx.Client(timeout=600) as plain:
            fetch_to(plain, location, {}, fetched)
        if sha256_file(fetched) != digest:
            raise RuntimeError("the presigned URL the handler gave serves different bytes")
        results["health"] = timed_calls(
            lambda: invoke(http_api_event("GET", "/health")), status(200), seconds
        )
        results["enumerate"] = timed_calls(
            lambda: invoke(http_api_event("POST", "/artifacts", [{"name": "*"}], auth)), status(200), seconds
        )
        results["download_307"] = timed_calls(
            lambda: invoke(http_api_event("GET", f"/download/{big_id}", headers=auth)), status(307), seconds
        )
        runtime.close()
    return results


# --- the run ------------------------------------------------------------------------------------


def fill_only(
    group: dict[str, str], work: Path, packages: list[ModelPackage], big_index: int, args: argparse.Namespace
) -> tuple[list[str], str]:
    """Fill the group's stores when none of its rows ran (the Lambda rows still need the data)."""
    with (
        registry_server(group, work / "server-fill.log") as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        client.headers.update(server.login())
        ids, _ = fill(client, packages, big_index, args)
        package, _ = first_downloads(
            client, f"/download/{ids[big_index]}", packages[big_index], work / "package", True
        )
    return ids, str(package["sha256"])


def fmt(value: object, spec: str = "{:.0f}") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return spec.format(value)


def markdown(rows_done: list[RowResult], lambda_result: dict[str, object] | None, granian: bool) -> str:
    header = (
        "| configuration | MB/s median (min-max) | p99 ms | tmr CPU s/GB | store CPU s/GB | tmr peak RSS MiB "
        "| nginx MB/s | ratio MB/s | ratio p99 | others' CPU s (max) | notes |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for done in rows_done:
        s = done.summary()
        note = done.row.note
        if "redirect_requests_per_s" in s:
            note = (
                f"{note}; tmr 307s: {fmt(s['redirect_requests_per_s'], '{:.0f}')}/s, p99 "
                f"{fmt(s['redirect_p99_ms'])} ms, {fmt(s['redirect_tmr_cpu_ms_per_request'], '{:.1f}')} CPU ms each"
            )
        lines.append(
            f"| {done.row.name} | {fmt(s['mb_per_s'])} ({fmt(s['mb_per_s_min'])}-{fmt(s['mb_per_s_max'])}) "
            f"| {fmt(s['p99_ms'])} | {fmt(s['tmr_cpu_s_per_gb'], '{:.2f}')} | {fmt(s['store_cpu_s_per_gb'], '{:.2f}')} "
            f"| {fmt(s['peak_rss_tree_sum_mib'])} | {fmt(s['nginx_mb_per_s'])} | {fmt(s['ratio_throughput'], '{:.2f}')} "
            f"| {fmt(s['ratio_p99'], '{:.2f}')} | {fmt(s['others_cpu_s_max'], '{:.1f}')} | {note} |"
        )
    if not granian:
        lines.append(
            "| server: granian | not measured: granian is not importable in .venv | | | | | | | | | |"
        )
    if lambda_result is not None:
        for key, what in (
            ("health", "GET /health"),
            ("enumerate", "POST /artifacts (first page of 100), authenticated"),
            ("download_307", "GET /download (presigned 307)"),
        ):
            r = lambda_result[key]
            assert isinstance(r, dict)
            lines.append(
                f"| Lambda handler in process: {what} | - | {fmt(r['p99_ms'], '{:.1f}')} | - | - | - | - | - | - | - "
                f"| {r['requests_per_s']} req/s one at a time, p50 {r['p50_ms']} ms, {r['cpu_ms_per_call']} CPU ms/call |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, duration=10.0, runs=2)
    parser.add_argument("--only", nargs="*", default=[], help="rows whose name contains one of these")
    parser.add_argument("--lambda-seconds", type=float, default=3.0, help="per Lambda request kind; 0 skips")
    parser.add_argument("--out", "--json", type=Path, default=ROOT / "bench-results" / "components.json")
    args = parser.parse_args()
    args.fill = "upload"
    run_in_workdir("tmr-bench-components-", lambda work: run(args, work))


def run(args: argparse.Namespace, work: Path) -> None:
    started = time.perf_counter()
    wrk = pick_client(args.client)
    nginx_binary = apt_install("nginx", NGINX_PACKAGES)
    granian = importlib.util.find_spec("granian") is not None
    selected = [
        r for r in rows(granian) if not args.only or any(o.lower() in r.name.lower() for o in args.only)
    ]
    packages, big_index = build_packages(args.models, args.big_mib, tuple(args.small_kib), work / "build")
    log(
        f"{len(selected)} configurations, {args.runs} runs of {args.duration:g} s each against nginx alternately"
    )
    done: list[RowResult] = []
    lambda_result: dict[str, object] | None = None
    for group in GROUPS:
        group_rows = [r for r in selected if r.group == group]
        wants_lambda = group == "sqlite+s3" and args.lambda_seconds > 0
        if not group_rows and not wants_lambda:
            continue
        group_work = work / group.replace("+", "-")
        with group_env(group, group_work) as env:
            ids: list[str] | None = None
            for row in group_rows:
                result, ids = measure_row(
                    row, env, group_work, packages, big_index, ids, args, wrk, nginx_binary
                )
                done.append(result)
                s = result.summary()
                log(
                    f"{row.name}: {s['mb_per_s']} MB/s (nginx {s['nginx_mb_per_s']}), p99 {s['p99_ms']} ms; "
                    f"{time.perf_counter() - started:.0f} s so far"
                )
            if wants_lambda:
                log("== Lambda handler in process")
                if ids is None or not done or done[-1].row.group != group:
                    ids, digest = fill_only(env, group_work, packages, big_index, args)
                else:
                    digest = str(done[-1].package["sha256"])
                lambda_result = lambda_in_process(
                    env, group_work, ids[big_index], digest, args.lambda_seconds
                )
    table = markdown(done, lambda_result, granian)
    results = {
        "workload": {
            "models": args.models,
            "package_bytes": done[0].package["bytes"] if done else None,
            "connections": args.connections,
            "duration_s": args.duration,
            "runs": args.runs,
            "warmup_s": args.warmup,
            "client": "wrk" if wrk else "python",
            "cores": os.cpu_count(),
        },
        "rows": [
            {
                "name": d.row.name,
                "group": d.row.group,
                "env": d.row.env,
                "summary": d.summary(),
                "package": d.package,
                "server_log_statuses": d.statuses,
                "runs": {label: [m.to_json() for m in ms] for label, ms in d.runs.items()},
            }
            for d in done
        ],
        "granian_importable": granian,
        "lambda_in_process": lambda_result,
        "table_markdown": table,
        "total_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print()
    print(
        f"Components: one {args.big_mib:g} MiB-weights package, {args.connections} connections, median of "
        f"{args.runs} runs of {args.duration:g} s alternating with nginx; {os.cpu_count()} cores; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print(table)
    print(f"results: {args.out}")
    stop_if_invalid([p for d in done for p in problems_of(d.runs, f"{d.row.name}, ")])


if __name__ == "__main__":
    main()
