from tests.unit.rating.fixtures import bare_model, good_model
from tmr.rating.metrics import license, registry, reproducibility

CONTRACT_ORDER = [
    "ramp_up_time", "bus_factor", "performance_claims", "license", "dataset_and_code_score",
    "dataset_quality", "code_quality", "reproducibility", "reviewedness", "tree_score",
]  # fmt: skip


def test_all_metrics_in_contract_order() -> None:
    metrics = dict(registry.all_metrics())
    assert list(metrics) == CONTRACT_ORDER
    assert metrics["license"] is license.compute
    assert metrics["reproducibility"] is reproducibility.compute


def test_every_metric_runs_on_evidence() -> None:
    for name, metric in registry.all_metrics():
        for evidence in (good_model(), bare_model()):
            assert -1.0 <= metric(evidence) <= 1.0, name
