"""tmr's operations feed (beside the contract): the recent activity of every instance and the
registry's recent log lines, as JSON for scripts and for the dashboard's live refresh.

Authentication is the API's (`X-Authorization`) or the browser's session cookie, so the
dashboard's own scripts can read the feed; log lines are for administrators only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from tmr.api.deps import FeedUserDep, RegistryDep
from tmr.api.refusals import INVALID, NO_TOKEN, Responses, refusal
from tmr.observability.models import Activity, Counts, LogLine

router = APIRouter(prefix="/operations", tags=["operations"], responses={**INVALID, **NO_TOKEN})
ADMINS_ONLY: Responses = {401: refusal("Not an administrator")}


class LatencyOut(BaseModel):
    p50_ms: float | None = Field(description="Median latency in ms, from the merged histograms")
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None


class CountsOut(BaseModel):
    requests: int
    errors: int = Field(description="Answers with status 400 or above")
    server_errors: int = Field(description="Answers with status 500 or above")
    error_rate: float = Field(description="errors / requests (0 without requests)")
    server_error_rate: float
    latency: LatencyOut
    downloads: int = Field(description="Downloads started (a package or a file, from byte 0)")
    bytes_served: int = Field(description="Bytes of every download answer, ranges and redirects included")
    registrations: dict[str, int] = Field(description="Artifacts registered, by type")


class MinuteOut(CountsOut):
    minute: datetime = Field(description="The minute's start (UTC)")
    by_route: dict[str, int] = Field(description="Requests by route template (`METHOD /path/{param}`)")


class RouteOut(CountsOut):
    route: str


class ComponentOut(BaseModel):
    id: str
    display_name: str
    status: str = Field(description="ok, degraded, critical or unknown")
    observed_at: str = Field(description="When this check ran (UTC, ISO 8601)")
    description: str
    metrics: dict[str, Any]
    issues: list[dict[str, Any]]
    last_event_at: str | None = None


class ComponentsOut(BaseModel):
    status: str
    generated_at: str
    components: list[ComponentOut]


class ActivityOut(BaseModel):
    window_minutes: int
    generated_at: datetime
    instances: int = Field(description="Workers or Lambda instances that reported in the window")
    totals: CountsOut
    minutes: list[MinuteOut] = Field(description="One entry per minute, oldest first, the current one last")
    routes: list[RouteOut] = Field(description="Each route over the window, busiest first")
    components: ComponentsOut


class LogLineOut(BaseModel):
    at: datetime
    level: str
    logger: str
    message: str
    instance: str
    fields: dict[str, Any]


class LogsOut(BaseModel):
    lines: list[LogLineOut] = Field(description="Newest first")


def _counts(counts: Counts) -> dict[str, Any]:
    latency = counts.latency
    return {
        "requests": counts.requests,
        "errors": counts.errors,
        "server_errors": counts.server_errors,
        "error_rate": counts.error_rate,
        "server_error_rate": counts.server_error_rate,
        "latency": LatencyOut(
            p50_ms=latency.p50_ms, p95_ms=latency.p95_ms, p99_ms=latency.p99_ms, mean_ms=latency.mean_ms
        ),
        "downloads": counts.downloads,
        "bytes_served": counts.bytes_served,
        "registrations": dict(counts.registrations),
    }


def present_activity(activity: Activity) -> ActivityOut:
    return ActivityOut(
        window_minutes=activity.window_minutes,
        generated_at=activity.generated_at,
        instances=activity.instances,
        totals=CountsOut(**_counts(activity.totals)),
        minutes=[
            MinuteOut(minute=m.minute, by_route=dict(m.by_route), **_counts(m.counts))
            for m in activity.minutes
        ],
        routes=[RouteOut(route=r.route, **_counts(r.counts)) for r in activity.routes],
        components=ComponentsOut.model_validate(activity.components),
    )


def present_line(line: LogLine) -> LogLineOut:
    return LogLineOut(
        at=line.at,
        level=line.level,
        logger=line.logger,
        message=line.message,
        instance=line.instance,
        fields=dict(line.fields),
    )


Window = Annotated[int, Query(description="Minutes, ending with the current one: 5, 15 or 60")]
Level = Annotated[
    str | None, Query(description="Lowest level shown: debug, info, warning, error or critical")
]
Text = Annotated[str | None, Query(alias="q", description="Text the message, logger or fields contain")]


@router.get("/activity", response_model=ActivityOut)
def activity(user: FeedUserDep, registry: RegistryDep, window: Window = 60) -> ActivityOut:
    """Every instance's requests, errors, latency percentiles, downloads and registrations,
    minute by minute, with the components' status."""
    return present_activity(registry.operations.activity(user, window))


@router.get("/logs", response_model=LogsOut, responses=ADMINS_ONLY)
def logs(
    user: FeedUserDep,
    registry: RegistryDep,
    level: Level = None,
    q: Text = None,
    limit: Annotated[int, Query(description="At most this many lines (1 to 1000)", le=1000)] = 200,
) -> LogsOut:
    """The registry's recent log lines (INFO and above), newest first. Administrators only."""
    return LogsOut(lines=[present_line(line) for line in registry.operations.logs(user, level, q, limit)])


@router.get(
    "/logs.jsonl",
    response_class=Response,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "One JSON object a line"},
        **ADMINS_ONLY,
    },
)
def logs_download(
    user: FeedUserDep,
    registry: RegistryDep,
    level: Level = None,
    q: Text = None,
    limit: Annotated[int, Query(description="At most this many lines (1 to 10000)")] = 10_000,
) -> Response:
    """The same lines as `/operations/logs` as a JSON Lines file, newest first."""
    lines = registry.operations.logs(user, level, q, limit)
    body = "".join(present_line(line).model_dump_json() + "\n" for line in lines)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        body.encode(),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="tmr-logs-{stamp}.jsonl"',
            "Cache-Control": "no-store",
        },
    )
