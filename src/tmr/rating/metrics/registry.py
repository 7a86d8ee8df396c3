"""The scalar metrics the rating engine runs, by the names the contract gives them.

`all_metrics()` lists each as (name, function of the evidence), in the contract's order.
`size_score` (a mapping per device), `category` (a string) and `net_score` (a function of the
other scores) have other shapes; the engine takes them from their modules.
"""

from __future__ import annotations

from collections.abc import Callable

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics import (
    bus_factor,
    code_quality,
    dataset_and_code,
    dataset_quality,
    license,
    performance_claims,
    ramp_up_time,
    reproducibility,
    reviewedness,
    tree_score,
)

Metric = Callable[[ModelEvidence], float]


def all_metrics() -> tuple[tuple[str, Metric], ...]:
    """Every scalar metric of a rating, in the contract's order."""
    return (
        ("ramp_up_time", ramp_up_time.compute),
        ("bus_factor", bus_factor.compute),
        ("performance_claims", performance_claims.compute),
        ("license", license.compute),
        ("dataset_and_code_score", dataset_and_code.compute),
        ("dataset_quality", dataset_quality.compute),
        ("code_quality", code_quality.compute),
        ("reproducibility", reproducibility.compute),
        ("reviewedness", reviewedness.compute),
        ("tree_score", tree_score.compute),
    )
