"""The upstream client's clock handling: Retry-After dates are read as HTTP says (GMT, and a
malformed one is not a crash), and the last success and failure stay in the order they happened
whatever the wall clock does, since /health/components orders them by their stamps."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import httpx
import pytest

from tmr.errors import UpstreamUnavailable
from tmr.observability.health import upstream_component
from tmr.sources import http
from tmr.sources.http import UpstreamClient


class WallClock:
    """`time` for the http module: a wall clock the test sets, and sleeps it records."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    fake = WallClock(1_700_000_000.0)
    monkeypatch.setattr(http, "time", fake)
    return fake


def scripted(*statuses: int, headers: dict[str, str] | None = None) -> UpstreamClient:
    answers: Iterator[int] = iter(statuses)

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), headers=headers, json={})

    return UpstreamClient("Up", "https://up.test", retries=0, transport=httpx.MockTransport(handler))


def retry_after(value: str) -> float | None:
    return http._retry_after(httpx.Response(503, headers={"Retry-After": value}))


def test_retry_after_in_seconds_and_as_an_http_date(clock: WallClock) -> None:
    assert retry_after("7") == 7.0
    in_30_s = email.utils.formatdate(clock.now + 30, usegmt=True)  # "... GMT"
    assert retry_after(in_30_s) == pytest.approx(30.0)
    assert retry_after(email.utils.formatdate(clock.now - 30, usegmt=True)) == 0.0  # already past


@pytest.fixture
def west_of_utc() -> Iterator[None]:
    """This host's local time 8 hours behind UTC (a POSIX zone: no tz database needed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "XST+8")
        time.tzset()
        assert time.timezone == 8 * 3600
        yield
    time.tzset()


def test_a_retry_after_date_without_a_zone_is_utc_not_local_time(clock: WallClock, west_of_utc: None) -> None:
    in_30_s = email.utils.formatdate(clock.now + 30).replace("+0000", "-0000")  # "zone unknown"
    assert retry_after(in_30_s) == pytest.approx(30.0)  # not 8 h 30 s


@pytest.mark.parametrize("value", ["soon", "Wed, 32 Foo 2015 99:99:99 GMT", "1.5"])
def test_a_malformed_retry_after_is_ignored_not_a_crash(clock: WallClock, value: str) -> None:
    assert retry_after(value) is None
    client = UpstreamClient(
        "Up",
        "https://up.test",
        retries=1,
        backoff_s=0.25,
        transport=httpx.MockTransport(lambda _r: httpx.Response(503, headers={"Retry-After": value})),
    )
    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        client.request("GET", "/x")
    assert len(clock.slept) == 1  # retried after its own backoff
    assert 0.125 <= clock.slept[0] <= 0.25


def test_a_recovery_after_the_wall_clock_stepped_back_is_still_a_recovery(clock: WallClock) -> None:
    client = scripted(503, 200)
    with pytest.raises(UpstreamUnavailable):
        client.request("GET", "/x")
    clock.now -= 3600  # NTP sets the clock an hour back
    assert client.request("GET", "/x").status_code == 200
    assert client.last_failure is not None
    assert client.last_success_at is not None
    assert client.last_success_at > client.last_failure[0]
    health = upstream_component(
        "up", "Up", client.calls, client.failures, client.last_success_at, client.last_failure, 60, clock.now
    )
    assert health["status"] == "ok"


def test_a_failure_in_the_same_clock_tick_as_a_success_is_the_latest(clock: WallClock) -> None:
    client = scripted(200, 503)  # the clock does not move between them (a coarse clock)
    assert client.request("GET", "/x").status_code == 200
    with pytest.raises(UpstreamUnavailable):
        client.request("GET", "/x")
    health = upstream_component(
        "up", "Up", client.calls, client.failures, client.last_success_at, client.last_failure, 60, clock.now
    )
    assert health["status"] == "degraded"
    # The detail stays with the client (and the log); the public report says only what failed.
    assert client.last_failure is not None
    assert client.last_failure[1] == "https://up.test/x: HTTP 503"
    assert health["issues"][0]["summary"] == "Up did not answer after retries"
