"""The workload's statistics on known samples, and two runs compared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tmr.workload.models import Measurement, RunStatus, WorkloadParams, WorkloadResults, WorkloadRun
from tmr.workload.stats import compare, nearest_rank, summarise


def test_summary_of_known_samples() -> None:
    # 100 requests of 10..1000 ms, 5 MB each, in 4 seconds, plus 2 failures.
    latencies = tuple(i / 100 for i in range(1, 101))
    results = summarise(
        Measurement(latencies_s=latencies, bytes=500_000_000, elapsed_s=4.0, errors=2, first_error="HTTP 503")
    )
    assert results.mean_ms == pytest.approx(505.0)
    assert results.median_ms == pytest.approx(505.0)  # the mean of the 50th and 51st samples
    assert results.p99_ms == pytest.approx(990.0)  # nearest rank: the 99th of 100
    assert results.throughput_mb_s == pytest.approx(125.0)  # 500 MB in 4 s
    assert results.requests_per_s == pytest.approx(25.0)  # successful ones only
    assert (results.errors, results.first_error, results.bytes) == (2, "HTTP 503", 500_000_000)


def test_odd_count_median_and_unsorted_samples() -> None:
    results = summarise(Measurement(latencies_s=(0.3, 0.1, 0.2), bytes=3, elapsed_s=1.0, errors=0))
    assert results.median_ms == pytest.approx(200.0)
    assert results.mean_ms == pytest.approx(200.0)
    assert results.p99_ms == pytest.approx(300.0)


@pytest.mark.parametrize(
    ("samples", "percentile", "expected"),
    [
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0], 99, 2.0),
        (list(range(1, 201)), 99, 198),
        (list(range(1, 1001)), 99, 990),
        ([3.0, 1.0, 2.0], 0, 1.0),
    ],
)
def test_nearest_rank_is_a_measured_sample(samples: list[float], percentile: float, expected: float) -> None:
    assert nearest_rank(samples, percentile) == expected


def test_no_successful_request_has_no_latency() -> None:
    results = summarise(Measurement(latencies_s=(), bytes=0, elapsed_s=2.0, errors=5, first_error="boom"))
    assert (results.mean_ms, results.median_ms, results.p99_ms) == (None, None, None)
    assert results.throughput_mb_s == 0.0
    assert results.requests_per_s == 0.0
    assert nearest_rank([], 99) is None


def test_a_run_that_took_no_time_has_zero_rates() -> None:
    results = summarise(Measurement(latencies_s=(0.001,), bytes=10, elapsed_s=0.0, errors=0))
    assert (results.throughput_mb_s, results.requests_per_s) == (0.0, 0.0)


def _run(run_id: str, results: WorkloadResults | None) -> WorkloadRun:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return WorkloadRun(
        id=run_id,
        started_by="admin",
        started_at=at,
        deadline_at=at,
        artifact_id="1",
        artifact_name="bert",
        params=WorkloadParams(2, 10, 30),
        status=RunStatus.FINISHED if results else RunStatus.FAILED,
        results=results,
    )


def _results(mb_s: float, rps: float, mean: float, median: float, p99: float, errors: int) -> WorkloadResults:
    return WorkloadResults(
        bytes=1,
        elapsed_s=1.0,
        throughput_mb_s=mb_s,
        requests_per_s=rps,
        mean_ms=mean,
        median_ms=median,
        p99_ms=p99,
        errors=errors,
    )


def test_comparison_says_how_much_and_which_way() -> None:
    first = _run("1", _results(100.0, 50.0, 20.0, 18.0, 40.0, 0))
    second = _run("2", _results(112.0, 50.1, 25.0, 18.0, 30.0, 3))
    changes = {c.name: c for c in compare(first, second).changes}
    assert changes["Throughput"].change_pct == pytest.approx(12.0)
    assert changes["Throughput"].verdict == "better"
    assert changes["Requests per second"].verdict == "same"  # within half a per cent
    assert changes["Mean latency"].change_pct == pytest.approx(25.0)
    assert changes["Mean latency"].verdict == "worse"  # slower
    assert changes["Median latency"].verdict == "same"
    assert changes["p99 latency"].change_pct == pytest.approx(-25.0)
    assert changes["p99 latency"].verdict == "better"
    # From no failure to three: no percentage of zero, but still worse.
    assert changes["Failed requests"].change_pct is None
    assert changes["Failed requests"].verdict == "worse"


def test_a_run_without_results_is_not_comparable() -> None:
    comparison = compare(_run("1", None), _run("2", _results(1, 1, 1, 1, 1, 0)))
    assert all(c.change_pct is None and c.verdict == "" and c.first is None for c in comparison.changes)
