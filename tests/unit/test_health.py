import pytest

from tmr.errors import InvalidInput
from tmr.observability.health import api_component, overall, timeline, upstream_component
from tmr.observability.metrics import RequestMetrics, RequestSample
from tmr.search.service import decode_cursor

NOW = 1_800_000_000.0


def sample(
    at: float, status: int = 200, latency: float = 0.01, route: str = "GET /health", client: str = "a"
) -> RequestSample:
    return RequestSample(at, route, status, latency, client, None)


def test_window_summary_counts_only_the_window() -> None:
    metrics = RequestMetrics()
    metrics.record(sample(NOW - 7200))  # outside a 60-minute window
    for i in range(99):
        metrics.record(sample(NOW - 60 + i * 0.1, latency=0.010, client=f"c{i % 3}"))
    metrics.record(sample(NOW - 1, status=503, latency=2.0, route="POST /artifacts"))
    summary = metrics.summarize(metrics.window(3600, NOW))
    assert summary.total == 100
    assert summary.server_errors == 1
    assert summary.per_route == {"GET /health": 99, "POST /artifacts": 1}
    assert summary.unique_clients == 4
    assert summary.p50_ms == pytest.approx(10.0)
    assert summary.p99_ms == pytest.approx(2000.0)


@pytest.mark.parametrize(("errors", "status"), [(0, "ok"), (10, "degraded"), (50, "critical")])
def test_api_status_follows_the_5xx_rate(errors: int, status: str) -> None:
    metrics = RequestMetrics()
    for i in range(100):
        metrics.record(sample(NOW - 10, status=500 if i < errors else 200))
    component = api_component(metrics, 60, include_timeline=False, now=NOW)
    assert component["status"] == status
    assert bool(component["issues"]) is (status != "ok")
    assert "timeline" not in component


def test_timeline_buckets_cover_the_window() -> None:
    samples = [sample(NOW - 30), sample(NOW - 30), sample(NOW - 3500)]
    buckets = timeline(samples, NOW - 3600, NOW, buckets=30)
    assert len(buckets) == 30
    assert buckets[-1]["value"] == pytest.approx(2 / 2.0)  # two requests in a two-minute bucket
    assert sum(b["value"] for b in buckets) == pytest.approx(3 / 2.0)


def test_upstream_status() -> None:
    assert upstream_component("u", "U", 0, 0, None, None, 60, NOW)["status"] == "unknown"
    assert upstream_component("u", "U", 5, 0, NOW - 5, None, 60, NOW)["status"] == "ok"
    failing = upstream_component("u", "U", 5, 1, NOW - 50, (NOW - 5, "boom"), 60, NOW)
    assert failing["status"] == "degraded"
    # General words only: the failure's own text (a URL, a host) is not for a public report.
    assert failing["issues"][0]["summary"] == "U did not answer after retries"
    recovered = upstream_component("u", "U", 6, 1, NOW - 1, (NOW - 5, "boom"), 60, NOW)
    assert recovered["status"] == "ok"
    old = upstream_component("u", "U", 5, 1, None, (NOW - 7200, "boom"), 60, NOW)
    assert old["status"] == "ok"


def test_overall_is_the_worst() -> None:
    assert overall([{"status": "ok"}, {"status": "degraded"}]) == "degraded"
    assert overall([{"status": "ok"}, {"status": "critical"}, {"status": "unknown"}]) == "critical"
    assert overall([]) == "unknown"


def test_cursor_decoding() -> None:
    assert decode_cursor(None) is None
    assert decode_cursor("") is None
    assert decode_cursor(" 42 ") == 42
    for bad in ("-1", "abc", "1.5"):
        with pytest.raises(InvalidInput):
            decode_cursor(bad)


# -- clocks: no assumption about their origin or their value ---------------------------------------


class Clocks:
    """`time` for the metrics module: a monotonic clock a few seconds after boot, and a wall clock."""

    def __init__(self) -> None:
        self.mono = 3.0
        self.wall = NOW

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall


def test_uptime_counts_on_the_monotonic_clock_not_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from tmr.observability import metrics as metrics_module

    clocks = Clocks()
    monkeypatch.setattr(metrics_module, "time", clocks)
    metrics = RequestMetrics()
    clocks.mono += 42.5
    clocks.wall -= 3600  # the wall clock is set an hour back meanwhile
    for now in (clocks.wall, NOW + 86_400):  # whatever `now` the caller reads
        assert api_component(metrics, 60, include_timeline=False, now=now)["metrics"]["uptime_s"] == 42.5


def test_a_window_ending_at_time_zero_is_a_window() -> None:
    # `now` is a value of whatever clock the samples carry; 0.0 is not "no value".
    metrics = RequestMetrics()
    metrics.record(sample(-30.0))
    metrics.record(sample(-7200.0))
    assert [s.at for s in metrics.window(3600, now=0.0)] == [-30.0]


def test_an_upstream_event_at_time_zero_is_an_event() -> None:
    success_at_zero = upstream_component("u", "U", 1, 0, 0.0, None, 60, 30.0)
    assert success_at_zero["last_event_at"] == "1970-01-01T00:00:00Z"
    failure_at_zero = upstream_component("u", "U", 1, 1, None, (0.0, "boom"), 60, 30.0)
    assert failure_at_zero["status"] == "degraded"
    assert failure_at_zero["last_event_at"] == "1970-01-01T00:00:00Z"
    recovered = upstream_component("u", "U", 2, 1, 10.0, (0.0, "boom"), 60, 30.0)
    assert recovered["status"] == "ok"
