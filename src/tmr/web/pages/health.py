"""The operations dashboard, `/ui/health`: every instance's last 5, 15 or 60 minutes drawn as
SVG charts with their tables, the components' status with the time of each check, and (for
administrators) the recent log lines with filters and a download.

`/ui/health/live` answers the same page's changing parts alone, which the page's script fetches
every 15 seconds; without JavaScript the Refresh link reloads the page. A visitor who has not
signed in sees the components' status, as public as `/health/components`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tmr.accounts.models import Principal
from tmr.errors import InvalidInput, PermissionDenied
from tmr.observability.models import Activity, LogLine
from tmr.observability.operations import DEFAULT_WINDOW, WINDOWS
from tmr.web.charts import Chart, bar_chart, line_chart
from tmr.web.routing import PageRoute
from tmr.web.session import optional_principal, registry_of
from tmr.web.templating import href, human_bytes, render, when

router = APIRouter(route_class=PageRoute)

REFRESH_S = 15
LOG_LINES = 100
FIELDS_SHOWN = 300
TOP_ROUTES = 4
LEVELS = (
    ("", "All levels"),
    ("info", "Info and above"),
    ("warning", "Warning and above"),
    ("error", "Error and above"),
    ("critical", "Critical only"),
)
STATUS = {  # words and a symbol beside the colour: never colour alone
    "ok": ("OK", "✓", "ok"),
    "degraded": ("Degraded", "!", "warn"),
    "critical": ("Critical", "✗", "bad"),
    "unknown": ("Unknown", "?", "info"),
}


@dataclass(frozen=True, slots=True)
class ComponentRow:
    name: str
    status: tuple[str, str, str]  # words, symbol, badge style
    checked_at: datetime | None
    details: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    window: int
    principal: Principal | None
    problem: str | None  # why the activity cannot be shown (an unknown window)
    activity: Activity | None
    charts: tuple[Chart, ...]
    overall: tuple[str, str, str] | None
    components: tuple[ComponentRow, ...]
    logs: tuple[LogLine, ...] | None  # None: not an administrator
    log_problem: str | None
    level: str
    text: str
    summary: str

    @property
    def status_code(self) -> int:
        return 400 if self.problem or self.log_problem else 200


def _checked_at(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _components(report: dict[str, Any]) -> tuple[tuple[str, str, str] | None, tuple[ComponentRow, ...]]:
    rows = []
    for component in report.get("components", []):
        issues = "; ".join(str(i.get("summary", "")) for i in component.get("issues", []))
        rows.append(
            ComponentRow(
                name=str(component.get("display_name", component.get("id", ""))),
                status=STATUS.get(str(component.get("status")), STATUS["unknown"]),
                checked_at=_checked_at(component.get("observed_at")),
                details=issues or str(component.get("description", "")),
            )
        )
    overall = STATUS.get(str(report.get("status")), STATUS["unknown"]) if report else None
    return overall, tuple(rows)


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value:.1f} %"


def _charts(activity: Activity) -> tuple[Chart, ...]:
    minutes = activity.minutes
    times = [m.minute for m in minutes]
    span = f"the last {activity.window_minutes} minutes"
    totals = activity.totals
    busiest = max(minutes, key=lambda m: m.counts.requests, default=None)
    top = [r.route for r in activity.routes[:TOP_ROUTES]]
    route_series: list[tuple[str, list[float | None]]] = [
        ("All requests", [float(m.counts.requests) for m in minutes])
    ]
    route_series += [(route, [float(m.by_route.get(route, 0)) for m in minutes]) for route in top]
    if len(activity.routes) > TOP_ROUTES:
        route_series.append(
            ("Other routes", [float(sum(n for r, n in m.by_route.items() if r not in top)) for m in minutes])
        )
    requests_summary = f"{totals.requests:,} requests in {span}"
    if busiest is not None and busiest.counts.requests:
        requests_summary += (
            f"; the busiest minute, {busiest.minute:%H:%M} UTC, had {busiest.counts.requests:,}"
        )
    if activity.routes:
        first = activity.routes[0]
        requests_summary += f"; the busiest route is {first.route} with {first.counts.requests:,}"

    def rate(share: float, requests: int) -> float | None:
        return share * 100 if requests else None

    p = totals.latency
    latency_summary = (
        f"Over {span}: median {_ms(p.p50_ms)}, 95th percentile {_ms(p.p95_ms or 0)}, 99th percentile "
        f"{_ms(p.p99_ms or 0)}"
        if p.p50_ms is not None
        else f"No requests measured in {span}"
    )
    types = ("model", "dataset", "code")
    registrations = [(t, [float(m.counts.registrations.get(t, 0)) for m in minutes]) for t in types]
    registered = ", ".join(f"{totals.registrations.get(t, 0):,} {t}" for t in types)
    return (
        line_chart(
            "requests",
            "Requests per minute by route",
            requests_summary + ".",
            "requests",
            times,
            route_series,
            _count,
            integer=True,
        ),
        line_chart(
            "errors",
            "Error rate",
            f"{totals.errors:,} of {totals.requests:,} requests failed "
            f"({_percent(totals.error_rate * 100)}); {totals.server_errors:,} with a server error (5xx).",
            "percent of requests",
            times,
            [
                ("Errors (4xx and 5xx)", [rate(m.counts.error_rate, m.counts.requests) for m in minutes]),
                (
                    "Server errors (5xx)",
                    [rate(m.counts.server_error_rate, m.counts.requests) for m in minutes],
                ),
            ],
            _percent,
        ),
        line_chart(
            "latency",
            "Latency percentiles",
            latency_summary + ".",
            "milliseconds",
            times,
            [
                ("p50", [m.counts.latency.p50_ms for m in minutes]),
                ("p95", [m.counts.latency.p95_ms for m in minutes]),
                ("p99", [m.counts.latency.p99_ms for m in minutes]),
            ],
            _ms,
        ),
        bar_chart(
            "downloads",
            "Downloads per minute",
            f"{totals.downloads:,} downloads started in {span}.",
            "downloads",
            times,
            [("Downloads", [float(m.counts.downloads) for m in minutes])],
            _count,
        ),
        bar_chart(
            "bytes",
            "Bytes served per minute",
            f"{human_bytes(totals.bytes_served)} served in {span}.",
            "bytes",
            times,
            [("Bytes served", [float(m.counts.bytes_served) for m in minutes])],
            human_bytes,
            integer=False,
        ),
        bar_chart(
            "registrations",
            "Registrations by type",
            f"Registered in {span}: {registered}.",
            "artifacts",
            times,
            registrations,
            _count,
        ),
    )


def _window(raw: str | None) -> tuple[int | None, str | None]:
    """The window asked for; a value that is not a number is a message, never an error page."""
    if raw is None or not raw.strip():
        return DEFAULT_WINDOW, None
    try:
        return int(raw.strip()), None
    except ValueError:
        allowed = ", ".join(str(w) for w in WINDOWS)
        return None, f"The window must be a number of minutes: {allowed}. {raw[:40]!r} is not one."


def dashboard(request: Request, raw_window: str | None, level: str | None, text: str | None) -> Dashboard:
    registry = registry_of(request)
    principal = optional_principal(request)
    window, problem = _window(raw_window)
    activity: Activity | None = None
    report: dict[str, Any] = {}
    if window is not None:
        try:
            if principal is not None:
                activity = registry.operations.activity(principal, window)
                report = dict(activity.components)
            else:
                report = registry.operations.status(window)
        except InvalidInput as exc:
            problem = f"{exc.message}. Choose one of the windows below."
    logs: tuple[LogLine, ...] | None = None
    log_problem = None
    if principal is not None:
        try:  # the service decides who may read them: a refusal simply hides the section
            logs = tuple(registry.operations.logs(principal, level, text, LOG_LINES))
        except PermissionDenied:
            logs = None
        except InvalidInput as exc:
            logs, log_problem = (), exc.message
    overall, components = _components(report)
    summary = ""
    if activity is not None:
        t = activity.totals
        summary = (
            f"{t.requests:,} requests, {_percent(t.error_rate * 100)} errors, "
            f"{t.downloads:,} downloads in the last {activity.window_minutes} minutes"
        )
    return Dashboard(
        window=window if window in WINDOWS else DEFAULT_WINDOW,
        principal=principal,
        problem=problem,
        activity=activity,
        charts=_charts(activity) if activity is not None else (),
        overall=overall,
        components=components,
        logs=logs,
        log_problem=log_problem,
        level=(level or "").strip().lower(),
        text=(text or "").strip(),
        summary=summary,
    )


def _fields_text(fields: Mapping[str, Any]) -> str:
    """A log line's fields as compact JSON, cut to a readable length (the download has them all)."""
    text = json.dumps(dict(fields), ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= FIELDS_SHOWN else text[: FIELDS_SHOWN - 1] + "…"


def _context(request: Request, view: Dashboard) -> dict[str, Any]:
    query = {"window": view.window, "level": view.level or None, "q": view.text or None}
    return {
        "view": view,
        "windows": [(str(w), f"Last {w} minutes") for w in WINDOWS],
        "levels": LEVELS,
        "refresh_s": REFRESH_S,
        "page_url": href(request, "/ui/health", **query),
        "live_url": href(request, "/ui/health/live", **query),
        "download_url": href(request, "/operations/logs.jsonl", level=query["level"], q=query["q"]),
        "generated": when(view.activity.generated_at) if view.activity is not None else "",
        "log_lines": LOG_LINES,
        "fields_text": _fields_text,
    }


Window = Annotated[str | None, Query(alias="window")]
Level = Annotated[str | None, Query()]
Text = Annotated[str | None, Query(alias="q")]


@router.get("/ui/health")
def health_page(request: Request, window: Window = None, level: Level = None, q: Text = None) -> Response:
    view = dashboard(request, window, level, q)
    return render(request, "health.html", _context(request, view), status_code=view.status_code)


@router.get("/ui/health/live")
def health_live(request: Request, window: Window = None, level: Level = None, q: Text = None) -> Response:
    """The page's changing parts, for its live refresh."""
    view = dashboard(request, window, level, q)
    return render(request, "health_live.html", _context(request, view), status_code=view.status_code)
