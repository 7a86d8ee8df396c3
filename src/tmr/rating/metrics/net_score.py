"""net_score: one number summarising the rating, a weighted mean of the sub-scores.

    net_score = Σ w_m · v_m / Σ w_m   over the metrics m that apply

* A value below 0 (-1: reviewedness without a readable repository) means "not applicable": the
  metric and its weight are left out and the other weights renormalise, so a model is neither
  rewarded nor punished for evidence that cannot exist.
* A metric missing from the mapping, or NaN, counts 0: a metric that failed to produce a value
  must not raise the score by disappearing. Values above 1 are clamped.
* size_score enters as the mean of its four devices: a model usable on more classes of hardware
  is usable by more of the company.
* Keys that are not metrics (name, category, latencies) are ignored.

The weights favour what decides whether the company may and can use a model safely: the licence
first, then whether it can be adopted (ramp-up), checked (claims, reproducibility) and traced (data
and code), then the health of upstream maintenance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from tmr.rating.metrics.common import clamp01

WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "license": 0.15,
        "ramp_up_time": 0.12,
        "performance_claims": 0.10,
        "dataset_and_code_score": 0.10,
        "reproducibility": 0.10,
        "bus_factor": 0.08,
        "dataset_quality": 0.08,
        "code_quality": 0.08,
        "reviewedness": 0.07,
        "size_score": 0.07,
        "tree_score": 0.05,
    }
)


def _value(raw: float | Mapping[str, float] | None) -> float | None:
    """The metric's value in [0, 1], or None when it does not apply."""
    if raw is None:
        return 0.0
    if isinstance(raw, Mapping):
        devices = [float(v) for v in raw.values()]
        return sum(clamp01(v) for v in devices) / len(devices) if devices else 0.0
    value = float(raw)
    if math.isnan(value):
        return 0.0
    return None if value < 0 else clamp01(value)


def compute(scores: Mapping[str, float | Mapping[str, float]]) -> float:
    applicable = {name: _value(scores.get(name)) for name in WEIGHTS}
    total = sum(WEIGHTS[name] for name, value in applicable.items() if value is not None)
    if total <= 0:
        return 0.0
    return clamp01(
        sum(WEIGHTS[name] * value for name, value in applicable.items() if value is not None) / total
    )
