import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmr.observability import histogram


def histogram_of(latencies: list[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for ms in latencies:
        index = histogram.bucket_of(ms)
        counts[index] = counts.get(index, 0) + 1
    return counts


def exact(latencies: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def test_buckets_are_log_spaced_from_half_a_millisecond_to_minutes() -> None:
    bounds = histogram.BOUNDS_MS
    assert bounds[0] == 0.5
    assert bounds[-1] >= 120_000  # two minutes still has its own bucket
    ratios = {round(b / a, 9) for a, b in itertools.pairwise(bounds)}
    assert ratios == {round(2**0.25, 9)}
    assert len(bounds) + 1 == histogram.BUCKETS


def test_bucket_of_places_each_latency_under_its_upper_bound() -> None:
    assert histogram.bucket_of(0.0) == 0
    assert histogram.bucket_of(-3.0) == 0
    assert histogram.bucket_of(float("nan")) == 0
    assert histogram.bucket_of(0.5) == 0  # bounds are inclusive
    assert histogram.bucket_of(0.50001) == 1
    assert histogram.bucket_of(10**9) == histogram.BUCKETS - 1  # the open last bucket
    for ms in (0.7, 3.0, 42.0, 999.0, 65_000.0):
        lower, upper = histogram.bucket_range(histogram.bucket_of(ms))
        assert lower < ms <= upper


def test_percentiles_of_an_empty_histogram_are_none() -> None:
    assert histogram.percentile({}, 0.5) is None
    assert histogram.percentile({3: 0}, 0.99) is None


def test_percentiles_come_from_the_bucket_holding_the_rank() -> None:
    latencies = [10.0] * 90 + [100.0] * 9 + [2000.0]
    counts = histogram_of(latencies)
    for q, value in ((0.5, 10.0), (0.95, 100.0), (0.99, 100.0), (1.0, 2000.0)):
        estimate = histogram.percentile(counts, q)
        assert estimate is not None
        lower, upper = histogram.bucket_range(histogram.bucket_of(value))
        assert lower - 1e-3 <= estimate <= upper + 1e-3  # estimates are rounded to the microsecond


@given(
    st.lists(st.floats(min_value=0.01, max_value=200_000.0), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.95, 0.99]),
)
def test_an_estimate_lies_in_the_bucket_of_the_exact_percentile(latencies: list[float], q: float) -> None:
    estimate = histogram.percentile(histogram_of(latencies), q)
    assert estimate is not None
    lower, upper = histogram.bucket_range(histogram.bucket_of(exact(latencies, q)))
    assert lower - 1e-3 <= estimate <= upper + 1e-3


@given(
    st.lists(st.floats(min_value=0.01, max_value=5_000.0), max_size=100),
    st.lists(st.floats(min_value=0.01, max_value=5_000.0), max_size=100),
)
def test_merging_instances_equals_counting_everything_in_one(a: list[float], b: list[float]) -> None:
    merged = histogram.merged([histogram_of(a), histogram_of(b)])
    assert merged == histogram_of(a + b)
    for q in (0.5, 0.95, 0.99):
        assert histogram.percentile(merged, q) == histogram.percentile(histogram_of(a + b), q)


def test_merged_percentiles_are_not_averages_of_percentiles() -> None:
    fast = histogram_of([5.0] * 99)  # one instance answers quickly
    slow = histogram_of([800.0])  # another served one slow request
    p99 = histogram.percentile(histogram.merged([fast, slow]), 0.99)
    assert p99 is not None
    assert p99 < 10  # 99 of 100 requests were fast: the merged p99 says so
    p100 = histogram.percentile(histogram.merged([fast, slow]), 1.0)
    assert p100 is not None
    assert p100 > 600


def test_json_round_trip_and_malformed_data() -> None:
    counts = histogram_of([1.0, 1.0, 50.0])
    encoded = histogram.to_json(counts)
    assert all(isinstance(k, str) for k in encoded)
    assert histogram.from_json(encoded) == counts
    assert histogram.from_json(None) == {}
    assert histogram.from_json([1, 2]) == {}
    assert histogram.from_json({"x": 1, "3": "two", "-1": 4, "9999": 1, "2": 0, "5": 2}) == {5: 2}


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_relative_error_is_within_one_bucket(q: float) -> None:
    latencies = [float(ms) for ms in range(1, 1001)]
    estimate = histogram.percentile(histogram_of(latencies), q)
    assert estimate is not None
    assert abs(estimate - exact(latencies, q)) / exact(latencies, q) < histogram.GROWTH - 1
