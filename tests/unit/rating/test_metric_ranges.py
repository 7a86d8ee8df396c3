"""Properties every metric must hold on any evidence, and the good/bare comparison metric by metric."""

import math

import pytest
from hypothesis import HealthCheck, given, settings

from tests.unit.rating.fixtures import bare_model, good_model, random_evidence
from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics import category, net_score, registry, reviewedness, size_score

SCALARS = dict(registry.all_metrics())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_evidence)
def test_every_metric_stays_in_range(evidence: ModelEvidence) -> None:
    values: dict[str, float | dict[str, float]] = {}
    for name, metric in SCALARS.items():
        value = metric(evidence)
        assert isinstance(value, float)
        assert not math.isnan(value)
        if name == "reviewedness" and value == reviewedness.NOT_APPLICABLE:
            assert evidence.repository is None or evidence.repository.pulls is None
        else:
            assert 0.0 <= value <= 1.0, name
        values[name] = value
    sizes = size_score.compute(evidence)
    assert set(sizes) == {"raspberry_pi", "jetson_nano", "desktop_pc", "aws_server"}
    assert all(0.0 <= v <= 1.0 for v in sizes.values())
    values["size_score"] = sizes
    assert 0.0 <= net_score.compute(values) <= 1.0
    label = category.compute(evidence)
    assert isinstance(label, str)
    assert label


@pytest.mark.parametrize("name", sorted(SCALARS))
def test_good_model_scores_strictly_higher_than_bare(name: str) -> None:
    assert SCALARS[name](good_model()) > SCALARS[name](bare_model())


def test_good_model_net_score_is_higher() -> None:
    def net(evidence: ModelEvidence) -> float:
        scores: dict[str, float | dict[str, float]] = {n: m(evidence) for n, m in SCALARS.items()}
        scores["size_score"] = size_score.compute(evidence)
        return net_score.compute(scores)

    assert net(good_model()) > 0.8
    assert net(bare_model()) < 0.2


def test_metrics_are_pure() -> None:
    evidence = good_model()
    for metric in SCALARS.values():
        assert metric(evidence) == metric(evidence)
