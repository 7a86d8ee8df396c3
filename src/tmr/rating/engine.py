"""The rating engine: every metric over one evidence record, concurrently, each timed.

A metric that raises does not sink the others: the rating records which metric failed and why,
and the API answers 500 for it, as the contract asks, instead of inventing a value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tmr.rating.evidence import ModelEvidence
from tmr.rating.metrics import category, net_score, registry, size_score

log = logging.getLogger("tmr.rating")
ENGINE_VERSION = 2  # 2: the safety verdict of the weights
DEVICES = ("raspberry_pi", "jetson_nano", "desktop_pc", "aws_server")
SAFETY_FIELD = "safety"  # stored with the rating; not one of the contract's 26 fields

Metric = Callable[[ModelEvidence], Any]


@dataclass(frozen=True, slots=True)
class RatingResult:
    """The contract's ModelRating fields plus the failures, if any."""

    fields: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def _timed(metric: Metric, evidence: ModelEvidence) -> tuple[Any, float, str | None]:
    started = time.perf_counter()
    try:
        value = metric(evidence)
    except Exception as exc:  # a failing metric is reported, never silently scored
        log.warning("metric %s failed: %s", getattr(metric, "__module__", metric), exc)
        return None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
    return value, time.perf_counter() - started, None


class RatingEngine:
    def __init__(
        self,
        scalar_metrics: Sequence[tuple[str, Metric]],
        size_metric: Metric,
        category_metric: Callable[[ModelEvidence], str],
        net_score: Callable[[dict[str, float]], float],
        workers: int = 8,
    ) -> None:
        self._scalars = list(scalar_metrics)
        self._size = size_metric
        self._category = category_metric
        self._net = net_score
        self._workers = workers

    def rate(self, evidence: ModelEvidence) -> RatingResult:
        started = time.perf_counter()
        jobs: list[tuple[str, Metric]] = [*self._scalars, ("size_score", self._size)]
        with ThreadPoolExecutor(max_workers=min(self._workers, len(jobs))) as pool:
            outcomes = dict(
                zip(
                    [name for name, _ in jobs],
                    pool.map(lambda job: _timed(job[1], evidence), jobs),
                    strict=True,
                )
            )
        fields: dict[str, Any] = {"name": evidence.name}
        errors: dict[str, str] = {}
        scores: dict[str, float] = {}
        for name, (value, latency, error) in outcomes.items():
            fields[f"{name}_latency"] = round(latency, 6)
            if error is not None:
                errors[name] = error
                fields[name] = dict.fromkeys(DEVICES, 0.0) if name == "size_score" else 0.0
                continue
            if name == "size_score":
                fields[name] = {d: float(value[d]) for d in DEVICES}
                scores[name] = sum(fields[name].values()) / len(DEVICES)
            else:
                fields[name] = float(value)
                scores[name] = fields[name]
        category, _latency, category_error = _timed(self._category, evidence)
        fields["category"] = category if isinstance(category, str) and category else "unknown"
        if category_error:
            errors["category"] = category_error
        try:
            fields["net_score"] = float(self._net(scores))
        except Exception as exc:
            errors["net_score"] = f"{type(exc).__name__}: {exc}"
            fields["net_score"] = 0.0
        # Beside the contract's fields: weights that import code on load make the model untrustworthy
        # whatever its other scores, so its net score is 0 and the rating says which files and why.
        unsafe = evidence.unsafe_files
        fields[SAFETY_FIELD] = {
            "unsafe": bool(unsafe),
            "unsafe_files": [{"path": f.path, "reasons": list(f.reasons)} for f in unsafe],
        }
        if unsafe:
            fields["net_score"] = 0.0
        # net_score depends on every other metric: its latency is the whole rating's.
        fields["net_score_latency"] = round(time.perf_counter() - started, 6)
        return RatingResult(fields=fields, errors=errors)


def default_engine() -> RatingEngine:
    """The engine over the registry's metric set (tmr.rating.metrics)."""
    return RatingEngine(
        scalar_metrics=registry.all_metrics(),
        size_metric=size_score.compute,
        category_metric=category.compute,
        net_score=net_score.compute,
    )
