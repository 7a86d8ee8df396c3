"""tmr's own routes for the download workload (not in the contract): start a run, list the kept
runs, follow one. Administrators only. Starting needs X-Authorization; the reads also accept the
browser's session cookie, for the workload page's script."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from tmr.api.deps import AdminDep, FeedUserDep, RegistryDep
from tmr.api.presenters import base_url
from tmr.api.refusals import NOT_JSON
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import ErrorOut
from tmr.workload.models import RunStatus, WorkloadRun

router = APIRouter(tags=["workload"], route_class=JsonBodyRoute)


class WorkloadIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    artifact_id: StrictStr
    clients: StrictInt  # 1-64 concurrent clients, each with its own connection and token
    requests: StrictInt  # 1-10,000 requests in all
    time_limit_s: StrictInt  # 1-120 s (at most 25 s where TMR_WORKLOAD_INLINE is set)
    parts: StrictStr | None = None  # the download's `?parts=`; none: the whole package


class ArtifactRef(BaseModel):
    id: str
    name: str


class WorkloadParamsOut(BaseModel):
    clients: int
    requests: int
    time_limit_s: int
    parts: str | None


class WorkloadProgressOut(BaseModel):
    done: int  # requests completed, failed ones included
    failed: int
    requests: int  # asked for (a run may stop at its time limit before)


class WorkloadResultsOut(BaseModel):
    bytes: int
    elapsed_s: float
    throughput_mb_s: float  # 10^6 bytes per second
    requests_per_s: float  # successful requests per second
    mean_ms: float | None  # latency to the last byte; None when no request succeeded
    median_ms: float | None
    p99_ms: float | None  # nearest-rank
    errors: int
    first_error: str | None


class WorkloadRunOut(BaseModel):
    id: str
    status: RunStatus
    started_by: str
    started_at: datetime
    deadline_at: datetime  # an unfinished run is reported interrupted after this
    finished_at: datetime | None
    artifact: ArtifactRef
    parameters: WorkloadParamsOut
    progress: WorkloadProgressOut
    results: WorkloadResultsOut | None
    error: str | None  # why the run failed or was interrupted


def run_out(run: WorkloadRun) -> WorkloadRunOut:
    results = None
    if run.results is not None:
        r = run.results
        results = WorkloadResultsOut(
            bytes=r.bytes,
            elapsed_s=r.elapsed_s,
            throughput_mb_s=r.throughput_mb_s,
            requests_per_s=r.requests_per_s,
            mean_ms=r.mean_ms,
            median_ms=r.median_ms,
            p99_ms=r.p99_ms,
            errors=r.errors,
            first_error=r.first_error,
        )
    return WorkloadRunOut(
        id=run.id,
        status=run.status,
        started_by=run.started_by,
        started_at=run.started_at,
        deadline_at=run.deadline_at,
        finished_at=run.finished_at,
        artifact=ArtifactRef(id=run.artifact_id, name=run.artifact_name),
        parameters=WorkloadParamsOut(
            clients=run.params.clients,
            requests=run.params.requests,
            time_limit_s=run.params.time_limit_s,
            parts=run.params.parts,
        ),
        progress=WorkloadProgressOut(done=run.done, failed=run.failed, requests=run.params.requests),
        results=results,
        error=run.error,
    )


_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Bounds out of range (`details.fields` names each field)"},
    401: {"model": ErrorOut, "description": "Not an administrator"},
    403: {"model": ErrorOut, "description": "Missing or invalid token"},
    404: {"model": ErrorOut, "description": "No such artifact (or not visible to you) or run"},
}


@router.post(
    "/workloads",
    status_code=202,
    response_model=WorkloadRunOut,
    summary="Start the download workload",
    responses={**_ERRORS, 409: {"model": ErrorOut, "description": "Another run is active"}, **NOT_JSON},
)
async def start_workload(
    request: Request, response: Response, user: AdminDep, registry: RegistryDep, body: WorkloadIn
) -> WorkloadRunOut:
    """`clients` concurrent clients fetch `GET /download/{artifact_id}` from this deployment until
    `requests` are done or `time_limit_s` has passed, reading every body; then throughput and
    latency are recorded. One run at a time. Where `TMR_WORKLOAD_INLINE` is set (AWS Lambda) the
    answer comes once the run has ended (time limit clamped to 25 s); elsewhere at once, and
    `GET /workloads/{id}` follows it."""
    run = await registry.workloads.start(
        user,
        body.artifact_id,
        body.clients,
        body.requests,
        body.time_limit_s,
        base_url=base_url(request),
        parts=body.parts,
    )
    response.headers["Location"] = f"{base_url(request)}/workloads/{run.id}"
    return run_out(run)


@router.get(
    "/workloads", response_model=list[WorkloadRunOut], summary="Past workload runs", responses=_ERRORS
)
def list_workloads(user: FeedUserDep, registry: RegistryDep) -> list[WorkloadRunOut]:
    """The kept runs (the newest 100), newest first."""
    return [run_out(run) for run in registry.workloads.runs(user)]


@router.get(
    "/workloads/{run_id}", response_model=WorkloadRunOut, summary="One workload run", responses=_ERRORS
)
def get_workload(user: FeedUserDep, registry: RegistryDep, run_id: str) -> WorkloadRunOut:
    """A run with its progress (written about once a second while it runs) and, once finished,
    its results."""
    return run_out(registry.workloads.run(user, run_id))
