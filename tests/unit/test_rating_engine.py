"""The rating engine over stand-in metrics: each metric's value and latency land in the contract's
fields, a failing metric is recorded (never scored), and unsafe weights zero the net score."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.unit.rating.fixtures import bare_model, good_model
from tmr.rating.engine import DEVICES, SAFETY_FIELD, RatingEngine, RatingResult, default_engine
from tmr.rating.evidence import FileFact, ModelEvidence

SIZES = {"raspberry_pi": 0.2, "jetson_nano": 0.4, "desktop_pc": 0.8, "aws_server": 1.0}


def _boom(evidence: ModelEvidence) -> Any:
    raise ValueError("no card")


def _engine(**changes: Any) -> RatingEngine:
    options: dict[str, Any] = {
        "scalar_metrics": [("bus_factor", lambda e: 0.25), ("license", lambda e: 1)],
        "size_metric": lambda e: SIZES,
        "category_metric": lambda e: "MODEL",
        "net_score": lambda scores: sum(scores.values()) / len(scores),
        "workers": 2,
    }
    options.update(changes)
    return RatingEngine(**options)


def test_values_scores_and_net_score() -> None:
    result = _engine().rate(bare_model())
    fields = result.fields
    assert fields["name"] == "someone/bare"
    assert fields["bus_factor"] == 0.25
    assert fields["license"] == 1.0
    assert isinstance(fields["license"], float)
    assert fields["size_score"] == SIZES
    assert fields["category"] == "MODEL"
    # size counts as the mean over devices: (0.25 + 1 + 0.6) / 3
    assert fields["net_score"] == pytest.approx(1.85 / 3)
    assert fields[SAFETY_FIELD] == {"unsafe": False, "unsafe_files": []}
    assert not result.failed
    assert result.errors == {}
    for name in ("bus_factor", "license", "size_score", "net_score"):
        assert fields[f"{name}_latency"] >= 0.0


def test_a_failing_metric_is_recorded_and_zeroed() -> None:
    seen: list[dict[str, float]] = []

    def net(scores: dict[str, float]) -> float:
        seen.append(scores)
        return 0.5

    result = _engine(scalar_metrics=[("bus_factor", _boom)], net_score=net).rate(bare_model())
    assert result.failed
    assert result.errors == {"bus_factor": "ValueError: no card"}
    assert result.fields["bus_factor"] == 0.0
    assert seen == [{"size_score": pytest.approx(0.6)}]


def test_a_failing_size_metric_scores_zero_on_every_device() -> None:
    result = _engine(size_metric=_boom).rate(bare_model())
    assert result.fields["size_score"] == dict.fromkeys(DEVICES, 0.0)
    assert result.errors == {"size_score": "ValueError: no card"}


def test_category_failure_or_blank_is_unknown() -> None:
    failed = _engine(category_metric=_boom).rate(bare_model())
    assert failed.fields["category"] == "unknown"
    assert failed.errors == {"category": "ValueError: no card"}
    blank = _engine(category_metric=lambda e: "").rate(bare_model())
    assert blank.fields["category"] == "unknown"
    assert blank.errors == {}


def test_net_score_failure_is_recorded() -> None:
    def net(scores: dict[str, float]) -> float:
        raise ZeroDivisionError("division by zero")

    result = _engine(net_score=net).rate(bare_model())
    assert result.fields["net_score"] == 0.0
    assert result.errors == {"net_score": "ZeroDivisionError: division by zero"}


def test_unsafe_weights_zero_the_net_score_and_name_the_files() -> None:
    files = (
        FileFact("model.bin", 10, "weights", unsafe=True, reasons=("imports os.system",)),
        FileFact("model.safetensors", 10, "weights"),
    )
    result = _engine().rate(dataclasses.replace(bare_model(), files=files))
    assert result.fields["net_score"] == 0.0
    assert result.fields[SAFETY_FIELD] == {
        "unsafe": True,
        "unsafe_files": [{"path": "model.bin", "reasons": ["imports os.system"]}],
    }


def test_result_failed_follows_its_errors() -> None:
    assert RatingResult(fields={}).failed is False
    assert RatingResult(fields={}, errors={"x": "y"}).failed is True


def test_default_engine_rates_a_good_model_above_a_bare_one() -> None:
    engine = default_engine()
    good = engine.rate(good_model())
    bare = engine.rate(bare_model())
    assert good.errors == {}
    assert bare.errors == {}
    assert good.fields["net_score"] > bare.fields["net_score"]
    assert set(good.fields["size_score"]) == set(DEVICES)
