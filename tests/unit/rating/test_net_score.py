import math

import pytest

from tmr.rating.metrics import net_score

ALL_ONE = dict.fromkeys(net_score.WEIGHTS, 1.0)


def test_weights_sum_to_one_and_name_every_metric() -> None:
    assert sum(net_score.WEIGHTS.values()) == pytest.approx(1.0)
    assert set(net_score.WEIGHTS) == {
        "ramp_up_time", "bus_factor", "performance_claims", "license", "dataset_and_code_score",
        "dataset_quality", "code_quality", "reproducibility", "reviewedness", "tree_score", "size_score",
    }  # fmt: skip


def test_weighted_mean() -> None:
    assert net_score.compute(ALL_ONE) == pytest.approx(1.0)
    assert net_score.compute(dict.fromkeys(net_score.WEIGHTS, 0.0)) == 0.0
    only_license = {**dict.fromkeys(net_score.WEIGHTS, 0.0), "license": 1.0}
    assert net_score.compute(only_license) == pytest.approx(net_score.WEIGHTS["license"])


@pytest.mark.parametrize("name", sorted(net_score.WEIGHTS))
def test_every_metric_moves_the_score(name: str) -> None:
    half = dict.fromkeys(net_score.WEIGHTS, 0.5)
    assert (
        net_score.compute({**half, name: 1.0})
        > net_score.compute(half)
        > net_score.compute({**half, name: 0.0})
    )


def test_not_applicable_is_left_out_and_weights_renormalise() -> None:
    scores = {**dict.fromkeys(net_score.WEIGHTS, 0.5), "license": 1.0, "reviewedness": -1.0}
    w = net_score.WEIGHTS
    expected = (w["license"] * 1.0 + 0.5 * (1 - w["license"] - w["reviewedness"])) / (1 - w["reviewedness"])
    assert net_score.compute(scores) == pytest.approx(expected)
    assert net_score.compute({**ALL_ONE, "reviewedness": -1.0}) == pytest.approx(1.0)
    assert net_score.compute(dict.fromkeys(net_score.WEIGHTS, -1.0)) == 0.0


def test_missing_or_nan_counts_zero_and_extras_are_ignored() -> None:
    missing = {k: v for k, v in ALL_ONE.items() if k != "license"}
    assert net_score.compute(missing) == pytest.approx(1 - net_score.WEIGHTS["license"])
    assert net_score.compute({**ALL_ONE, "license": math.nan}) == pytest.approx(
        1 - net_score.WEIGHTS["license"]
    )
    assert net_score.compute({**ALL_ONE, "ramp_up_time_latency": 99.0, "bogus": 5.0}) == pytest.approx(1.0)
    assert net_score.compute({**ALL_ONE, "license": 7.0}) == pytest.approx(1.0)


def test_size_score_enters_as_the_mean_of_its_devices() -> None:
    devices = {"raspberry_pi": 0.0, "jetson_nano": 0.0, "desktop_pc": 1.0, "aws_server": 1.0}
    as_mapping = net_score.compute({**ALL_ONE, "size_score": devices})
    as_mean = net_score.compute({**ALL_ONE, "size_score": 0.5})
    assert as_mapping == pytest.approx(as_mean)
    assert as_mapping == pytest.approx(1 - net_score.WEIGHTS["size_score"] / 2)
