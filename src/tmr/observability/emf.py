"""CloudWatch embedded metric format (EMF): request metrics carried by the request's log line.

On Lambda, a JSON log line with an `_aws` block becomes CloudWatch metrics without an API call
or an agent, so counting costs nothing at request time and cannot fail the request. Dimensions
are the route template and the method (a bounded set: one metric stream per route, not per URL).
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "tmr"
DIMENSIONS = ("Route", "Method")
METRICS = (
    ("Requests", "Count"),
    ("Errors", "Count"),  # 5xx: the registry's fault
    ("ClientErrors", "Count"),  # 4xx: the caller's
    ("Latency", "Milliseconds"),
)


def request_metrics(route: str, method: str, status: int, latency_ms: float, at_ms: int) -> dict[str, Any]:
    """The fields to merge into the request's log line (top level, as EMF requires)."""
    return {
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(DIMENSIONS)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, unit in METRICS],
                }
            ],
        },
        "Route": route,
        "Method": method,
        "Requests": 1,
        "Errors": 1 if status >= 500 else 0,
        "ClientErrors": 1 if 400 <= status < 500 else 0,
        "Latency": round(latency_ms, 3),
    }
