"""`GET /download/{id}`: an artifact's files (and, on request, its linked datasets' files) as one
zip, planned by the download service (docs/architecture.md, "Downloads")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tmr.api.deps import RegistryDep, client_address
from tmr.api.streaming import respond
from tmr.downloads.plan import Conditions, DownloadPlan

router = APIRouter(tags=["downloads"])


@router.get("/download/{id}", response_model=None)
async def download(
    request: Request,
    registry: RegistryDep,
    id: str,
    parts: Annotated[str | None, Query()] = None,
    redirect: Annotated[bool | None, Query()] = None,
    allow_unsafe: Annotated[bool, Query()] = False,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
    x_authorization: Annotated[str | None, Header(alias="X-Authorization")] = None,
) -> Response:
    """The token check and the plan run in one worker-thread call: a download is the busiest
    request, and each hop between the event loop and a thread costs two wake-ups
    (docs/performance.md)."""
    client = client_address(request)

    def plan() -> DownloadPlan:
        return registry.downloads.package(
            registry.accounts.check(x_authorization),
            id,
            parts=parts,
            allow_unsafe=allow_unsafe,
            conditions=Conditions(range_, if_range, if_none_match),
            redirect=redirect,
            door="api",
            client=client,
        )

    return respond(await run_in_threadpool(plan))
