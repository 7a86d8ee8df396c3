"""The ingest verdict in words: each metric beside its threshold, the net score first and the
weights' safety last, failures and unsafe files spelled out."""

from __future__ import annotations

from tmr.rating.engine import SAFETY_FIELD
from tmr.web.verdict import MetricVerdict, failing_lines, label, rating_lines


def test_labels_are_the_artifact_pages_or_derived_from_the_name() -> None:
    assert label("net_score") == "Net score"
    assert label(SAFETY_FIELD) == "Weights safety"
    assert label("category") == "Category"
    assert label("brand_new_metric") == "Brand new metric"


def test_rating_lines_order_values_and_verdicts() -> None:
    rating = {
        "name": "acme/bert",
        "category": "MODEL",
        "bus_factor": 0.3,
        "bus_factor_latency": 0.01,
        SAFETY_FIELD: {"unsafe": False, "unsafe_files": []},
        "net_score": 0.75,
        "reviewedness": -1,
        "size_score": {"raspberry_pi": 0.1, "jetson_nano": 0.5, "desktop_pc": 1, "aws_server": 1.0},
    }
    lines = rating_lines(rating, {"bus_factor": 0.3})
    assert lines == [
        MetricVerdict("net_score", "Net score", "0.75", "at least 0.50", True),
        MetricVerdict("bus_factor", "Bus factor", "0.30", "at least 0.50", False),
        MetricVerdict("reviewedness", "Reviewedness", "not applicable", "at least 0.50", None),
        MetricVerdict(
            "size_score",
            "Size score",
            "Raspberry Pi 0.10, Jetson Nano 0.50, Desktop PC 1.00, AWS server 1.00",
            "at least 0.50 on one device",
            True,
        ),
        MetricVerdict(SAFETY_FIELD, "Weights safety", "safe", "no weights file runs code when loaded", True),
    ]


def test_a_failure_only_the_gate_knows_gets_a_line() -> None:
    # The engine stores "unknown" for a category it could not compute; the gate names it failed.
    rating = {"name": "x", "category": "unknown", "net_score": 0.9}
    lines = rating_lines(rating, {"category": "failed: ValueError: bad"})
    assert [(v.name, v.score, v.passes, v.details) for v in lines] == [
        ("net_score", "0.90", True, ()),
        ("category", "could not be computed", False, ("ValueError: bad",)),
    ]


def test_failing_lines_spell_out_unsafe_files() -> None:
    unsafe = {
        "unsafe": True,
        "unsafe_files": [
            {"path": "a.bin", "reasons": ["imports os", "calls exec"]},
            {"path": "b.pt", "reasons": []},
            "not a mapping",
        ],
    }
    [line] = failing_lines({SAFETY_FIELD: unsafe})
    assert line.score == "3 unsafe files"
    assert line.details == ("a.bin: imports os; calls exec", "b.pt: unsafe")
    assert line.passes is False
    [one] = failing_lines({SAFETY_FIELD: {"unsafe": True, "unsafe_files": [{"path": "c.pkl"}]}})
    assert one.score == "1 unsafe file"


def test_failure_without_a_reason_and_other_values() -> None:
    lines = failing_lines({"license": "failed", "net_score": 0.1, "odd": None})
    assert [(v.name, v.score, v.details) for v in lines] == [
        ("net_score", "0.10", ()),
        ("license", "could not be computed", ("no reason given",)),
        ("odd", "None", ()),
    ]


def test_a_failing_metric_missing_from_the_rating_still_gets_its_line() -> None:
    # The gate may name a metric the stored rating lacks (its computation failed before storing).
    rating = {"name": "x", "net_score": 0.4}
    lines = rating_lines(rating, {"license": 0.0})
    assert [(v.name, v.passes) for v in lines] == [("net_score", True), ("license", False)]
