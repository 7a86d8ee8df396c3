"""The load generator of the download benchmark: wrk (a C client that is not the bottleneck), or,
when wrk cannot be had, a Python asyncio client, which is slower and says so in its results.

Both do the same thing: N connections each fetch the URL back to back for a fixed time; only
requests completed within that time count; every request's latency is from sending the request to
the last byte of the body.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common import percentile

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk_download.lua"
WRK_MARKER = "WRK_JSON "
MB = 1_000_000


@dataclass
class LoadResult:
    client: str
    connections: int
    duration_s: float
    requests: int
    bytes: int
    errors: dict[str, int]
    latency_ms: dict[str, float]  # min, mean, stdev, p50, p90, p99, max
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    machine_busy: float = 0.0  # share of all cores busy during the run (0..1)
    other_cpu_s: float = 0.0  # the machine's busy time less the server's and the client's
    problems: list[str] = field(default_factory=list)

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            **asdict(self),
            "requests_per_s": round(self.requests_per_s, 2),
            "mb_per_s": round(self.mb_per_s, 1),
        }


def latency_summary_ms(seconds: list[float]) -> dict[str, float]:
    """wrk's latency figures (min, mean, stdev, p50, p90, p99, max) from latencies in seconds."""
    if not seconds:
        return dict.fromkeys(("min", "mean", "stdev", "p50", "p90", "p99", "max"), float("nan"))

    def at(q: float) -> float:
        return round(percentile(seconds, q) * 1000, 2)

    return {
        "min": at(0.0),
        "mean": round(statistics.fmean(seconds) * 1000, 2),
        "stdev": round(statistics.pstdev(seconds) * 1000, 2),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": at(1.0),
    }


def parse_wrk_output(stdout: str, connections: int, client: str = "wrk") -> LoadResult:
    """The result of a wrk run from the JSON line that `wrk_download.lua` prints when it is done."""
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            data = json.loads(line[len(WRK_MARKER) :])
            break
    else:
        raise ValueError(f"no {WRK_MARKER.strip()} line in wrk's output:\n{stdout[-2000:]}")
    latency = {k: round(float(v) / 1000, 2) for k, v in data["latency_us"].items()}
    return LoadResult(
        client=client,
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        bytes=int(data["bytes"]),
        errors={k: int(v) for k, v in data["errors"].items()},
        latency_ms=latency,
    )


def check_result(result: LoadResult, body_length: int, header_allowance: int = 4096) -> list[str]:
    """What makes a run invalid: any error, no request at all, or byte counts that cannot be
    `requests` complete responses of `body_length` bytes. wrk counts the bytes of requests still
    in flight when time runs out, hence the allowance of one partial response per connection."""
    problems = [f"{count} {kind} error(s)" for kind, count in result.errors.items() if count]
    if result.requests == 0:
        problems.append("no request completed")
    if result.bytes < result.requests * body_length:
        problems.append(f"{result.bytes} bytes received, fewer than {result.requests} full responses")
    ceiling = (result.requests + result.connections) * (body_length + header_allowance)
    if result.bytes > ceiling:
        problems.append(f"{result.bytes} bytes received, more than {result.requests} responses can hold")
    return problems


def wrk_version(wrk: str) -> str:
    first = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.splitlines()
    return first[0].split("[")[0].strip() if first else "wrk"


def run_wrk(
    wrk: str, url: str, auth: str | None, connections: int, threads: int, duration_s: float, timeout_s: float
) -> tuple[LoadResult, str]:
    """One wrk run; returns the result (with wrk's own CPU time) and wrk's text output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration_s:g}s",
            "--timeout",
            f"{timeout_s:g}s",
            "--latency",
            "-s",
            str(LUA_SCRIPT),
            url,
        ],
        capture_output=True,
        text=True,
        env={"WRK_AUTH": auth or "", "PATH": "/usr/bin:/bin"},
        timeout=duration_s + timeout_s + 60,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    result = parse_wrk_output(done.stdout, connections, wrk_version(wrk))
    result.client_cpu_s = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    return result, done.stdout


def run_python(
    url: str, auth: str | None, connections: int, duration_s: float, timeout_s: float, body_length: int
) -> LoadResult:
    """The fallback client: `connections` asyncio tasks, each with its own keep-alive connection."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(_python_load(url, auth, connections, duration_s, timeout_s, body_length))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.client_cpu_s = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    return result


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-cased names) of an HTTP/1.1 response head."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _python_load(
    url: str, auth: str | None, connections: int, duration_s: float, timeout_s: float, body_length: int
) -> LoadResult:
    """Plain asyncio streams rather than httpx: httpx's async client read one nginx-served
    25 MB package at about 160 MB/s in all here, a tenth of what asyncio streams manage, and a
    client that slow measures itself. Responses must carry Content-Length (both servers send it)."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    request = f"GET {target.path or '/'}{'?' + target.query if target.query else ''} HTTP/1.1\r\nHost: {target.netloc}\r\n"
    request += f"X-Authorization: {auth}\r\n" if auth else ""
    payload = (request + "\r\n").encode("latin-1")
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "status": 0, "timeout": 0, "length": 0}
    received = 0
    started = time.perf_counter()
    deadline = started + duration_s

    async def fetch_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, int, bool]:
        nonlocal received
        writer.write(payload)
        status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
        remaining = int(headers.get("content-length", "-1"))
        if remaining < 0:
            raise ValueError("no Content-Length")
        length = 0
        while remaining:
            block = await reader.read(min(remaining, 1 << 20))
            if not block:
                raise ConnectionError("connection closed inside the body")
            remaining -= len(block)
            length += len(block)
            received += len(block)
        return status, length, headers.get("connection", "").lower() == "close"

    async def fetch_until_deadline() -> None:
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while time.perf_counter() < deadline:
            if streams is None:
                try:
                    streams = await asyncio.open_connection(host, port, limit=1 << 20)
                except OSError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.1)
                    continue
            sent = time.perf_counter()
            try:
                status, length, close = await asyncio.wait_for(fetch_once(*streams), timeout_s)
            except TimeoutError:
                errors["timeout"] += 1
                streams[1].close()
                streams = None
                continue
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                errors["read"] += 1
                streams[1].close()
                streams = None
                continue
            if close:
                streams[1].close()
                streams = None
            if time.perf_counter() > deadline:
                break
            if status != 200:
                errors["status"] += 1
            elif length != body_length:
                errors["length"] += 1
            latencies.append(time.perf_counter() - sent)
        if streams is not None:
            streams[1].close()

    tasks = [asyncio.create_task(fetch_until_deadline()) for _ in range(connections)]
    await asyncio.wait(tasks, timeout=duration_s + 1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = min(time.perf_counter(), deadline) - started
    latency = latency_summary_ms(latencies)
    return LoadResult(
        "python (asyncio streams)", connections, elapsed, len(latencies), received, errors, latency
    )
