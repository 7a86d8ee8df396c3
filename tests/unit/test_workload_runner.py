"""The workload's clients over a mock transport: counts, bodies, failures, redirects, tokens and
the time limit, without a server."""

from __future__ import annotations

import asyncio

import httpx

from tmr.workload.interfaces import Target
from tmr.workload.models import Measurement
from tmr.workload.runner import HttpRunner

URL = "http://registry.test/download/42"


def _run(
    handler: httpx.MockTransport, target: Target, interval: float = 1.0
) -> tuple[Measurement, list[tuple[int, int]]]:
    reports: list[tuple[int, int]] = []

    async def report(done: int, failed: int) -> None:
        reports.append((done, failed))

    measurement = asyncio.run(HttpRunner(handler, report_interval_s=interval).run(target, report))
    return measurement, reports


def test_every_request_is_sent_once_with_its_clients_token_and_read_whole() -> None:
    seen: list[tuple[str, str | None, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(
            (str(request.url), request.headers.get("x-authorization"), request.url.params.get("parts", ""))
        )
        return httpx.Response(200, content=b"x" * 1000)

    target = Target(
        URL, {"parts": "config"}, ("bearer a", "bearer b", "bearer c"), requests=10, time_limit_s=60
    )
    measurement, _ = _run(httpx.MockTransport(handler), target)
    assert len(seen) == 10
    assert {token for _, token, _ in seen} <= {"bearer a", "bearer b", "bearer c"}
    assert {parts for _, _, parts in seen} == {"config"}
    assert measurement.bytes == 10_000
    assert len(measurement.latencies_s) == 10
    assert measurement.errors == 0


def test_failures_are_counted_and_the_first_one_kept() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls % 2:
            return httpx.Response(409, json={"detail": "unsafe files"})
        return httpx.Response(200, content=b"ok")

    measurement, _ = _run(httpx.MockTransport(handler), Target(URL, {}, ("t",), requests=6, time_limit_s=60))
    assert measurement.errors == 3
    assert measurement.first_error.startswith("HTTP 409")
    assert "unsafe files" in measurement.first_error
    assert measurement.bytes == 6


def test_network_errors_are_failures_not_crashes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    measurement, _ = _run(
        httpx.MockTransport(handler), Target(URL, {}, ("t", "u"), requests=4, time_limit_s=60)
    )
    assert measurement.errors == 4
    assert "ConnectError" in measurement.first_error


def test_a_redirect_is_followed_once_without_the_registry_token() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("x-authorization")))
        if request.url.host == "registry.test":
            return httpx.Response(
                307, headers={"Location": "https://bucket.s3.test/packages/p.zip?X-Amz-Signature=s"}
            )
        return httpx.Response(200, content=b"z" * 50)

    measurement, _ = _run(
        httpx.MockTransport(handler), Target(URL, {}, ("bearer t",), requests=2, time_limit_s=60)
    )
    assert seen == [("registry.test", "bearer t"), ("bucket.s3.test", None)] * 2
    assert measurement.bytes == 100
    assert measurement.errors == 0


def test_the_time_limit_stops_requests_in_flight_without_counting_them() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    measurement, reports = _run(
        httpx.MockTransport(handler),
        Target(URL, {}, ("t", "u"), requests=100, time_limit_s=0.3),
        interval=0.05,
    )
    assert measurement.done == 0
    assert measurement.errors == 0
    assert reports
    assert all(r == (0, 0) for r in reports)
