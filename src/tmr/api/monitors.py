"""tmr's own routes for sensitive models (not in the contract): a model's monitor program, set,
read and removed by its owner or an admin, and the model's download history.

The program travels as itself (`Content-Type: application/javascript`), not inside JSON, so an
owner can `curl --data-binary @monitor.js` it and read back exactly what runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.refusals import INVALID, NO_TOKEN
from tmr.api.schemas import ErrorOut
from tmr.api.uploads import read_capped
from tmr.errors import UnsupportedMediaType
from tmr.monitors.models import MAX_PROGRAM_BYTES, Monitor
from tmr.monitors.service import MAX_PAGE

# Every route reads an id (400 when malformed) and needs a token.
router = APIRouter(tags=["sensitive models"], responses={**INVALID, **NO_TOKEN})

JAVASCRIPT_TYPES = frozenset({"application/javascript", "text/javascript"})
PROGRAM_MEDIA_TYPE = "application/javascript; charset=utf-8"


class MonitorOut(BaseModel):
    artifact_id: str
    sha256: str  # of the program's UTF-8 bytes
    size: int  # bytes
    set_by: str
    set_at: datetime


class MonitorRemovedOut(BaseModel):
    artifact_id: str
    sensitive: bool  # always false: the model has no monitor any more


class DownloadOut(BaseModel):
    seq: int  # the event's number: pass it as `?before=` to read older events
    user: str
    client: str | None  # the address the request came from
    door: str  # api (the contract's /download), hub (the Hugging Face door), ui, cli
    parts: str | None  # `weights,config`; a file's path for a single file; null: the whole package
    allowed: bool
    monitor_exit: int | None  # null: no monitor ran (not sensitive, refused before, or timed out)
    monitor_output: str | None  # the monitor's stdout
    reason: str | None  # why it was refused
    at: datetime


class DownloadsOut(BaseModel):
    artifact_id: str
    downloads: list[DownloadOut]  # newest first
    next_before: int | None  # `?before=` for the next (older) page; null: this is the last


def _monitor_out(monitor: Monitor) -> MonitorOut:
    return MonitorOut(
        artifact_id=monitor.artifact_id,
        sha256=monitor.sha256,
        size=len(monitor.program.encode("utf-8")),
        set_by=monitor.set_by,
        set_at=monitor.set_at,
    )


def _require_javascript(request: Request) -> None:
    media_type, _, params = (request.headers.get("content-type") or "").partition(";")
    if media_type.strip().lower() not in JAVASCRIPT_TYPES:
        raise UnsupportedMediaType(
            "a monitor is sent as its JavaScript source with Content-Type: application/javascript",
            accepted=sorted(JAVASCRIPT_TYPES),
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("a monitor program is UTF-8 text", accepted_charset="utf-8")


async def _program(request: Request) -> bytes:
    """The body, refused (413) once it is over the limit, without holding more."""
    return await read_capped(
        request, MAX_PROGRAM_BYTES, f"the monitor program is larger than {MAX_PROGRAM_BYTES} bytes"
    )


_NOT_YOURS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing permission (`upload`) or not the model's owner"},
    403: {"model": ErrorOut, "description": "Missing or invalid token"},
    404: {"model": ErrorOut, "description": "No such model (or not visible to you), or no monitor"},
}


@router.put(
    "/artifact/model/{id}/monitor",
    response_model=MonitorOut,
    summary="Make a model sensitive: set its monitor program",
    responses={
        200: {"description": "The monitor was replaced"},
        201: {"model": MonitorOut, "description": "The model had no monitor; it is now sensitive"},
        400: {"model": ErrorOut, "description": "Empty, not UTF-8, or does not parse"},
        **_NOT_YOURS,
        413: {"model": ErrorOut, "description": f"Larger than {MAX_PROGRAM_BYTES} bytes"},
        415: {"model": ErrorOut, "description": "Not application/javascript (or text/javascript)"},
        503: {"model": ErrorOut, "description": "Node.js is missing: the syntax cannot be checked"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/javascript": {"schema": {"type": "string", "minLength": 1}}},
        }
    },
)
async def set_monitor(
    request: Request, response: Response, user: UserDep, registry: RegistryDep, id: str
) -> MonitorOut:
    """The body is a JavaScript program (at most 64 KiB of UTF-8). Before every download of the
    model, through any door, it runs under Node.js 24 as `node monitor.js MODEL_NAME
    UPLOADER_USERNAME DOWNLOADER_USERNAME ZIP_FILE_PATH`, on exactly the zip about to be sent, in a
    sandbox (docs/monitors.md); any exit status but 0, a crash or its time limit refuses the
    download with 451 and the program's stdout. Needs `upload` and the model's owner or an admin."""
    _require_javascript(request)
    program = await _program(request)
    monitor, created = await run_in_threadpool(registry.monitors.set, user, id, program)
    response.status_code = 201 if created else 200
    return _monitor_out(monitor)


@router.get(
    "/artifact/model/{id}/monitor",
    response_class=Response,
    summary="Read a sensitive model's monitor program",
    responses={
        200: {
            "description": "The program, as it runs",
            "content": {"application/javascript": {"schema": {"type": "string"}}},
        },
        **_NOT_YOURS,
    },
)
def get_monitor(user: UserDep, registry: RegistryDep, id: str) -> Response:
    """The program itself. Owner or admin only (a program may hold the company's own secrets)."""
    monitor = registry.monitors.get(user, id)
    return Response(
        content=monitor.program.encode("utf-8"),
        media_type=PROGRAM_MEDIA_TYPE,
        headers={"ETag": f'"{monitor.sha256}"', "Cache-Control": "private, no-store"},
    )


@router.delete(
    "/artifact/model/{id}/monitor",
    response_model=MonitorRemovedOut,
    summary="Remove a model's monitor (it is no longer sensitive)",
    responses={200: {"description": "Removed"}, **_NOT_YOURS},
)
def delete_monitor(user: UserDep, registry: RegistryDep, id: str) -> MonitorRemovedOut:
    registry.monitors.delete(user, id)
    return MonitorRemovedOut(artifact_id=id, sensitive=False)


@router.get(
    "/artifact/model/{id}/downloads",
    response_model=DownloadsOut,
    summary="A model's download history (owner or admin)",
    responses={
        200: {"description": "Downloads asked for, newest first: allowed and refused"},
        400: {"model": ErrorOut, "description": f"`limit` outside 1-{MAX_PAGE}, or a bad `before`"},
        401: {"model": ErrorOut, "description": "Not the model's owner (nor an admin)"},
        403: {"model": ErrorOut, "description": "Missing or invalid token"},
        404: {"model": ErrorOut, "description": "No such model (or not visible to you)"},
    },
)
def model_downloads(
    user: UserDep,
    registry: RegistryDep,
    id: str,
    limit: Annotated[int, Query(description=f"Events per page, 1-{MAX_PAGE}")] = 100,
    before: Annotated[
        int | None, Query(description="Only events older than this `seq` (the last page's `next_before`)")
    ] = None,
) -> DownloadsOut:
    """Every download asked for, whoever asked and through whichever door: who, from where, when,
    which parts, allowed or refused, and the monitor's exit status and output. Keyset-paged by
    the event's `seq`: pass `next_before` as `?before=` for the next page."""
    page = registry.monitors.downloads(user, id, limit=limit, before=before)
    return DownloadsOut(
        artifact_id=page.artifact_id,
        downloads=[
            DownloadOut(
                seq=seq,
                user=e.user_name,
                client=e.client,
                door=e.door,
                parts=e.parts,
                allowed=e.allowed,
                monitor_exit=e.monitor_exit,
                monitor_output=e.monitor_output,
                reason=e.reason,
                at=e.at,
            )
            for seq, e in page.downloads
        ],
        next_before=page.next_before,
    )
