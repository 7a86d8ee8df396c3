"""The ingest gate: which of a rating's metrics keep a public model out of the registry.

Every non-latency metric must be at least 0.5 (-1, "not applicable", does not count against it),
`size_score` must fit at least one device at 0.5, a failed metric always keeps the model out,
and so does a weights file that imports code on load.
"""

from __future__ import annotations

from typing import Any

from tmr.artifacts.interfaces import StoredRating
from tmr.rating.engine import DEVICES, SAFETY_FIELD

GATE = 0.5


def gate_failures(rating: StoredRating) -> dict[str, Any]:
    """The metrics that keep a model out, with their values (a failed metric always does)."""
    failing: dict[str, Any] = {name: "failed: " + error for name, error in rating.errors.items()}
    safety = rating.rating.get(SAFETY_FIELD)
    if isinstance(safety, dict) and safety.get("unsafe"):
        failing["safety"] = safety
    for name, value in rating.rating.items():
        if name.endswith("_latency") or name in ("name", "category") or name in failing:
            continue
        if name == "size_score" and isinstance(value, dict):
            low = {d: v for d, v in value.items() if d in DEVICES and v < GATE}
            if len(low) == len(DEVICES):  # fitting no device at all keeps it out
                failing[name] = value
        elif isinstance(value, int | float) and value != -1 and value < GATE:
            failing[name] = value
    return failing
