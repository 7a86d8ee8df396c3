"""Component health for /health/components, from real request metrics and live store checks.

The report is public (no sign-in), so a failure is told in general words ("metadata store
unreachable"); the exception itself, which can name a database host, user or bucket, goes to the
server's log only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tmr.errors import DiskFull
from tmr.observability.disks import FolderState
from tmr.observability.metrics import RequestMetrics, RequestSample

log = logging.getLogger("tmr.health")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def probe(check: Callable[[], None], what: str) -> tuple[str, float, str | None]:
    """Run a store check: (status, latency in ms, a public summary of the failure). The summary
    names only `what` failed; the exception is logged, never returned."""
    started = time.perf_counter()
    try:
        check()
    except DiskFull:
        log.warning("health probe failed: %s: disk full", what, exc_info=True)
        return "critical", (time.perf_counter() - started) * 1000, f"{what}: the disk is full"
    except Exception:  # a health probe reports every failure, it never raises
        log.warning("health probe failed: %s unreachable", what, exc_info=True)
        return "critical", (time.perf_counter() - started) * 1000, f"{what} unreachable"
    return "ok", (time.perf_counter() - started) * 1000, None


def timeline(
    samples: list[RequestSample], start: float, end: float, buckets: int = 30
) -> list[dict[str, Any]]:
    width = max((end - start) / buckets, 1.0)
    counts = [0] * buckets
    for s in samples:
        counts[min(buckets - 1, int((s.at - start) / width))] += 1
    return [
        {"bucket": _iso(start + i * width), "value": round(c / (width / 60), 3), "unit": "requests/min"}
        for i, c in enumerate(counts)
    ]


def api_component(
    metrics: RequestMetrics, window_minutes: int, include_timeline: bool, now: float
) -> dict[str, Any]:
    samples = metrics.window(window_minutes * 60, now)
    summary = metrics.summarize(samples)
    error_rate = summary.server_errors / summary.total if summary.total else 0.0
    status = "ok" if error_rate < 0.05 else ("degraded" if error_rate < 0.25 else "critical")
    issues = []
    if status != "ok":
        issues.append(
            {
                "code": "server_errors",
                "severity": "warning" if status == "degraded" else "error",
                "summary": f"{summary.server_errors} of {summary.total} requests failed with 5xx",
            }
        )
    component: dict[str, Any] = {
        "id": "api",
        "display_name": "Registry API",
        "status": status,
        "observed_at": _iso(now),
        "description": "HTTP API serving the contract (this worker's view).",
        "metrics": {
            "requests": summary.total,
            "errors_4xx_5xx": summary.errors,
            "errors_5xx": summary.server_errors,
            "p50_ms": summary.p50_ms,
            "p99_ms": summary.p99_ms,
            "unique_clients": summary.unique_clients,
            "uptime_s": round(metrics.uptime_s(), 3),
        },
        "issues": issues,
    }
    if summary.last_at is not None:
        component["last_event_at"] = _iso(summary.last_at)
    if include_timeline:
        component["timeline"] = timeline(samples, now - window_minutes * 60, now)
    return component


def store_component(
    ident: str, name: str, description: str, check: Callable[[], None], now: float, extra: dict[str, Any]
) -> dict[str, Any]:
    status, latency_ms, error = probe(check, name.lower())
    issues = (
        [] if error is None else [{"code": f"{ident}_unreachable", "severity": "error", "summary": error}]
    )
    return {
        "id": ident,
        "display_name": name,
        "status": status,
        "observed_at": _iso(now),
        "description": description,
        "metrics": {"probe_latency_ms": round(latency_ms, 3), **extra},
        "issues": issues,
    }


def disk_component(folders: list[FolderState], now: float) -> dict[str, Any]:
    """The local folders the registry writes: critical when one refuses a write (a full disk)."""
    issues = [
        {
            "code": "disk_full" if f.free_bytes == 0 else "disk_unwritable",
            "severity": "error",
            "summary": f.problem,
        }
        for f in folders
        if f.problem is not None
    ]
    free = [f.free_bytes for f in folders if f.free_bytes is not None]
    metrics: dict[str, Any] = {
        f"{f.role.replace(' ', '_')}_free_bytes": f.free_bytes for f in folders if f.free_bytes is not None
    }
    if free:
        metrics["free_bytes_min"] = min(free)
    return {
        "id": "disk",
        "display_name": "Local disk",
        "status": "critical" if issues else ("ok" if folders else "unknown"),
        "observed_at": _iso(now),
        "description": "local folders the registry writes: " + ", ".join(f.role for f in folders),
        "metrics": metrics,
        "issues": issues,
    }


def overall(components: list[dict[str, Any]]) -> str:
    order = ["ok", "unknown", "degraded", "critical"]
    return max((c["status"] for c in components), key=order.index, default="unknown")


def upstream_component(
    ident: str,
    name: str,
    calls: int,
    failures: int,
    last_success_at: float | None,
    last_failure: tuple[float, str] | None,
    window_minutes: int,
    now: float,
) -> dict[str, Any]:
    """An upstream is degraded when its latest outcome in the window was a failure after retries.

    Timestamps are compared with None, never for truth: 0.0 is a time like any other."""
    failing = (
        last_failure is not None
        and last_failure[0] >= now - window_minutes * 60
        and (last_success_at is None or last_failure[0] > last_success_at)
    )
    status = "unknown" if calls == 0 else ("degraded" if failing else "ok")
    issues = []
    if failing:
        # The failure's own text names the URL asked for (a repository someone registered), so
        # only the fact is public; the request that met the failure logged the detail.
        summary = f"{name} did not answer after retries"
        issues.append({"code": f"{ident}_failing", "severity": "warning", "summary": summary})
    component: dict[str, Any] = {
        "id": ident,
        "display_name": name,
        "status": status,
        "observed_at": _iso(now),
        "description": f"{name}, reached for registration and mirroring",
        "metrics": {"calls": calls, "failures_after_retries": failures},
        "issues": issues,
    }
    stamps = [last_success_at, last_failure[0] if last_failure is not None else None]
    last = max((at for at in stamps if at is not None), default=None)
    if last is not None:
        component["last_event_at"] = _iso(last)
    return component
