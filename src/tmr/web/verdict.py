"""The ingest gate's verdict as people read it: each metric beside its threshold, passing or not.

Which metrics fail is the gate's own answer (`rating.gate.gate_failures`, or the failing metrics a
refusal carries); this module only words it, so the page can never judge differently from the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tmr.rating.engine import DEVICES, SAFETY_FIELD
from tmr.rating.gate import GATE
from tmr.web.ratings import DEVICE_LABELS
from tmr.web.ratings import LABELS as RATING_LABELS

# The names the artifact page gives the metrics and devices, so both pages say the same.
LABELS = {**RATING_LABELS, "category": "Category", SAFETY_FIELD: "Weights safety"}
_NOT_METRICS = {"name", "category"}


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One line of the verdict. `passes` is None for a metric that does not count (-1)."""

    name: str
    label: str
    score: str
    threshold: str
    passes: bool | None
    details: tuple[str, ...] = ()


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _number(value: float) -> str:
    return f"{value:.2f}"


def _threshold(name: str) -> str:
    if name == "size_score":
        return f"at least {_number(GATE)} on one device"
    if name == SAFETY_FIELD:
        return "no weights file runs code when loaded"
    return f"at least {_number(GATE)}"


def _line(name: str, value: Any, passes: bool | None) -> MetricVerdict:
    """A metric's value in words: a score, a score per device, a failure, or the unsafe files."""
    details: tuple[str, ...] = ()
    if isinstance(value, str) and value.startswith("failed"):
        score = "could not be computed"
        details = (value.removeprefix("failed").lstrip(": ") or "no reason given",)
    elif name == SAFETY_FIELD and isinstance(value, Mapping):
        files = value.get("unsafe_files") or []
        score = f"{len(files)} unsafe file{'s' if len(files) != 1 else ''}" if value.get("unsafe") else "safe"
        details = tuple(
            f"{f.get('path')}: {'; '.join(str(r) for r in f.get('reasons') or []) or 'unsafe'}"
            for f in files
            if isinstance(f, Mapping)
        )
    elif isinstance(value, Mapping):
        score = ", ".join(
            f"{DEVICE_LABELS.get(d, d)} {_number(float(value[d]))}"
            for d in DEVICES
            if isinstance(value.get(d), int | float)
        )
    elif isinstance(value, int | float) and value == -1:
        score = "not applicable"
        passes = None
    elif isinstance(value, int | float):
        score = _number(float(value))
    else:
        score = str(value)
    return MetricVerdict(name, label(name), score, _threshold(name), passes, details)


def _ordered(names: list[str]) -> list[str]:
    """The net score first and the weights' safety last; the rest in the rating's own order."""
    return sorted(names, key=lambda n: (n != "net_score", n == SAFETY_FIELD))


def failing_lines(failing: Mapping[str, Any]) -> list[MetricVerdict]:
    """The failing metrics of a refusal (`Disqualified.details["failing_metrics"]`)."""
    return [_line(name, failing[name], False) for name in _ordered(list(failing))]


def rating_lines(rating: Mapping[str, Any], failing: Mapping[str, Any]) -> list[MetricVerdict]:
    """Every metric of a rating against its threshold, the net score first; `failing` is the
    gate's answer for this rating."""
    names = [n for n in rating if n not in _NOT_METRICS and not n.endswith("_latency")]
    names += [n for n in failing if n not in names]  # e.g. a category that failed to compute
    lines = []
    for name in _ordered(names):
        value = failing[name] if name in failing else rating[name]
        lines.append(_line(name, value, name not in failing))
    return lines
