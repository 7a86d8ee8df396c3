"""The workload's clients: concurrent HTTP clients fetching one package from this registry.

It is a client of the registry itself, never of an upstream, hence httpx outside `tmr.sources`
(ruff's banned-api is lifted for this module alone, see pyproject.toml). Each client has its own
connection and its own token and fetches until the shared request count is reached or the time
limit passes; a request still in flight at the limit is dropped (neither counted nor failed).
Every body is read to its end and counted. A redirect (the presigned S3 URL of a package, on
deployments that answer downloads that way) is followed once, without the registry's token.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx

from tmr.workload.interfaces import ProgressReport, Target
from tmr.workload.models import Measurement

REDIRECTS = (301, 302, 303, 307, 308)
DETAIL_CHARS = 300


@dataclass
class _Tally:
    """Shared by the clients of one run; asyncio runs them on one thread, so no lock is needed."""

    requests: int
    claimed: int = 0
    latencies_s: list[float] = field(default_factory=list)
    bytes: int = 0
    errors: int = 0
    first_error: str | None = None

    def claim(self) -> bool:
        if self.claimed >= self.requests:
            return False
        self.claimed += 1
        return True

    def fail(self, message: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = message[:DETAIL_CHARS]

    @property
    def done(self) -> int:
        return len(self.latencies_s) + self.errors


class HttpRunner:
    """Implements `tmr.workload.interfaces.Runner` with httpx. `transport` replaces the network
    (an in-process ASGI app, for tests); None sends real HTTP requests."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport | None = None, *, report_interval_s: float = 1.0
    ) -> None:
        self._transport = transport
        self._interval = report_interval_s

    async def run(self, target: Target, report: ProgressReport) -> Measurement:
        tally = _Tally(target.requests)
        started = time.perf_counter()
        reporter = asyncio.create_task(self._report(tally, report))
        try:
            # The time limit: in-flight requests are cancelled with their clients.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(target.time_limit_s):
                    await asyncio.gather(*(self._client(target, token, tally) for token in target.tokens))
        finally:
            elapsed = time.perf_counter() - started
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        return Measurement(
            latencies_s=tuple(tally.latencies_s),
            bytes=tally.bytes,
            elapsed_s=elapsed,
            errors=tally.errors,
            first_error=tally.first_error,
        )

    async def _report(self, tally: _Tally, report: ProgressReport) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await report(tally.done, tally.errors)

    async def _client(self, target: Target, token: str, tally: _Tally) -> None:
        async with httpx.AsyncClient(
            transport=self._transport,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=httpx.Timeout(target.time_limit_s),
            follow_redirects=False,
        ) as client:
            while tally.claim():
                sent = time.perf_counter()
                try:
                    size, problem = await _fetch(client, target, token)
                except httpx.HTTPError as exc:
                    tally.fail(f"{type(exc).__name__}: {exc}")
                    continue
                if problem is not None:
                    tally.fail(problem)
                    continue
                tally.latencies_s.append(time.perf_counter() - sent)
                tally.bytes += size


async def _read(response: httpx.Response) -> int:
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
    return size


async def _fetch(client: httpx.AsyncClient, target: Target, token: str) -> tuple[int, str | None]:
    """Body bytes read, and what went wrong (None: a 200 read to its end)."""
    request = client.build_request(
        "GET", target.url, params=target.params, headers={"X-Authorization": token}
    )
    response = await client.send(request, stream=True)
    try:
        location = response.headers.get("location")
        if response.status_code in REDIRECTS and location:
            await response.aread()
            await response.aclose()
            # The presigned URL carries its own signature: the registry's token stays home.
            response = await client.send(
                client.build_request("GET", response.url.join(location)), stream=True
            )
        if response.status_code != 200:
            detail = (await response.aread())[:DETAIL_CHARS].decode("utf-8", "replace")
            return 0, f"HTTP {response.status_code}: {detail}".strip()
        size = await _read(response)
        expected = response.headers.get("content-length")
        encoded = "content-encoding" in response.headers  # then the length is of the encoded bytes
        if not encoded and expected is not None and expected.isdigit() and int(expected) != size:
            return size, f"short body: {size} of {expected} bytes"
        return size, None
    finally:
        await response.aclose()
