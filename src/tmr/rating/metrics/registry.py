"""The metrics the rating engine runs, by the names the contract gives them.

`all_metrics()` lists every scalar metric as (name, function of the evidence), in the contract's
order. `size_score` (a mapping per device), `category` (a string) and `net_score` (a function of the
other scores) have other shapes and are exposed beside the list. The engine times each call.

`license` and `reproducibility` live in their own modules (other owners), imported by name when the
list is built, so this module and its tests do not depend on them at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from functools import partial

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics import (
    bus_factor,
    category,
    code_quality,
    dataset_and_code,
    dataset_quality,
    net_score,
    performance_claims,
    ramp_up_time,
    reviewedness,
    size_score,
    tree_score,
)

Metric = Callable[[ModelEvidence], float]

SIZE_SCORE: Callable[[ModelEvidence], dict[str, float]] = size_score.compute
CATEGORY: Callable[[ModelEvidence], str] = category.compute
NET_SCORE = net_score.compute
NET_SCORE_WEIGHTS = net_score.WEIGHTS


def own_metrics(now: datetime | None = None) -> tuple[tuple[str, Metric], ...]:
    """The scalar metrics of this package (all but license and reproducibility).

    `now` is the time the evidence was read; code_quality uses it to judge how recently the code
    was pushed (without it, that signal is left out)."""
    return (
        ("ramp_up_time", ramp_up_time.compute),
        ("bus_factor", bus_factor.compute),
        ("performance_claims", performance_claims.compute),
        ("dataset_and_code_score", dataset_and_code.compute),
        ("dataset_quality", dataset_quality.compute),
        ("code_quality", partial(code_quality.compute, now=now)),
        ("reviewedness", reviewedness.compute),
        ("tree_score", tree_score.compute),
    )


def all_metrics(now: datetime | None = None) -> tuple[tuple[str, Metric], ...]:
    """Every scalar metric of a rating, in the contract's order."""
    own = dict(own_metrics(now))
    order = (
        "ramp_up_time",
        "bus_factor",
        "performance_claims",
        "license",
        "dataset_and_code_score",
        "dataset_quality",
        "code_quality",
        "reproducibility",
        "reviewedness",
        "tree_score",
    )
    metrics = {**own, "license": _external("license"), "reproducibility": _external("reproducibility")}
    return tuple((name, metrics[name]) for name in order)


def _external(name: str) -> Metric:
    """`compute` of the metric module `tmr.rating.metrics.<name>`."""
    module = importlib.import_module(f"tmr.rating.metrics.{name}")
    compute: Metric = module.compute
    return compute
