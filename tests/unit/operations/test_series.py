from datetime import UTC, datetime, timedelta

from tmr.observability import histogram
from tmr.observability.models import EVENTS_ROUTE, MinuteRecord
from tmr.observability.series import minute_series, route_totals, total

FIRST = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def record(minute: int, instance: str, route: str, latencies: list[float], status: int = 200) -> MinuteRecord:
    counts: dict[int, int] = {}
    for ms in latencies:
        counts[histogram.bucket_of(ms)] = counts.get(histogram.bucket_of(ms), 0) + 1
    return MinuteRecord(
        minute=FIRST + timedelta(minutes=minute),
        instance=instance,
        route=route,
        requests=len(latencies),
        errors=len(latencies) if status >= 400 else 0,
        server_errors=len(latencies) if status >= 500 else 0,
        latency_ms_sum=sum(latencies),
        latency=counts,
    )


def test_every_minute_of_the_window_is_present_oldest_first() -> None:
    records = [record(1, "a", "GET /x", [10.0]), record(7, "a", "GET /x", [10.0])]  # 7: outside
    series = minute_series(records, FIRST, 5)
    assert [m.minute for m in series] == [FIRST + timedelta(minutes=i) for i in range(5)]
    assert [m.counts.requests for m in series] == [0, 1, 0, 0, 0]
    assert series[0].counts.latency.p50_ms is None
    assert series[0].counts.error_rate == 0.0


def test_instances_and_routes_add_up_per_minute() -> None:
    records = [
        record(0, "a", "GET /x", [10.0] * 3),
        record(0, "b", "GET /x", [10.0]),
        record(0, "b", "POST /y", [400.0], status=500),
        MinuteRecord(FIRST, "a", EVENTS_ROUTE, downloads=2, bytes_served=300, registrations={"model": 1}),
        MinuteRecord(FIRST, "b", EVENTS_ROUTE, downloads=1, bytes_served=50, registrations={"model": 1}),
    ]
    (minute,) = minute_series(records, FIRST, 1)
    assert minute.by_route == {"GET /x": 4, "POST /y": 1}  # the events row is no route
    counts = minute.counts
    assert (counts.requests, counts.errors, counts.server_errors) == (5, 1, 1)
    assert counts.error_rate == 0.2
    assert (counts.downloads, counts.bytes_served, dict(counts.registrations)) == (3, 350, {"model": 2})
    assert counts.latency.mean_ms == (40.0 + 400.0) / 5
    p50, p99 = counts.latency.p50_ms, counts.latency.p99_ms
    assert p50 is not None
    assert p99 is not None
    assert p50 < 12 < 300 < p99


def test_route_totals_are_busiest_first() -> None:
    records = [
        record(0, "a", "GET /b", [1.0]),
        record(0, "a", "GET /a", [1.0]),
        record(1, "b", "GET /c", [1.0, 1.0]),
        MinuteRecord(FIRST, "a", EVENTS_ROUTE, downloads=9),
    ]
    assert [(r.route, r.counts.requests) for r in route_totals(records)] == [
        ("GET /c", 2),
        ("GET /a", 1),
        ("GET /b", 1),
    ]
    assert total(records).requests == 4
    assert total(records).downloads == 9
