import sys
import types

import pytest

from tests.unit.rating.fixtures import NOW, good_model
from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics import code_quality, registry

CONTRACT_ORDER = [
    "ramp_up_time", "bus_factor", "performance_claims", "license", "dataset_and_code_score",
    "dataset_quality", "code_quality", "reproducibility", "reviewedness", "tree_score",
]  # fmt: skip


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """license and reproducibility are other engineers' modules: stand-ins keep these tests apart."""
    for name, value in (("license", 0.25), ("reproducibility", 0.75)):
        module = types.ModuleType(f"tmr.rating.metrics.{name}")

        def compute(evidence: ModelEvidence, value: float = value) -> float:
            return value

        module.compute = compute  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"tmr.rating.metrics.{name}", module)


def test_own_metrics_run_on_evidence() -> None:
    names = [name for name, _ in registry.own_metrics()]
    assert names == [n for n in CONTRACT_ORDER if n not in ("license", "reproducibility")]
    for _name, metric in registry.own_metrics():
        assert -1.0 <= metric(good_model()) <= 1.0


@pytest.mark.usefixtures("stand_ins")
def test_all_metrics_in_contract_order_with_external_modules() -> None:
    metrics = registry.all_metrics()
    assert [name for name, _ in metrics] == CONTRACT_ORDER
    values = {name: metric(good_model()) for name, metric in metrics}
    assert values["license"] == 0.25
    assert values["reproducibility"] == 0.75


def test_now_reaches_code_quality() -> None:
    metric = dict(registry.own_metrics(now=NOW))["code_quality"]
    assert metric(good_model()) == code_quality.compute(good_model(), now=NOW)
    assert metric(good_model()) != code_quality.compute(good_model())


def test_non_scalar_metrics_are_exposed() -> None:
    assert registry.CATEGORY(good_model()) == "nlp/text-classification"
    assert set(registry.SIZE_SCORE(good_model())) == {
        "raspberry_pi",
        "jetson_nano",
        "desktop_pc",
        "aws_server",
    }
    assert registry.NET_SCORE(dict.fromkeys(registry.NET_SCORE_WEIGHTS, 1.0)) == pytest.approx(1.0)
