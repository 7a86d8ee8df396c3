"""`GET /download/{id}`: an artifact's files (and, on request, its linked datasets' files) as one
zip, planned by the download service (docs/architecture.md, "Downloads")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tmr.accounts.models import Principal
from tmr.api.deps import RegistryDep, client_address
from tmr.api.refusals import INVALID, NO_TOKEN, refusal
from tmr.api.streaming import respond
from tmr.downloads.plan import Conditions, DownloadPlan
from tmr.serving.loop import WouldWait, without_waiting

router = APIRouter(tags=["downloads"])


_ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


@router.get(
    "/download/{id}",
    response_model=None,
    responses={
        200: {"description": "The package: one zip with a fixed layout", "content": _ZIP},
        206: {"description": "A byte range of the package (Range, If-Range)", "content": _ZIP},
        304: {"description": "Not modified: If-None-Match names the package's ETag"},
        307: {"description": "The package from a presigned S3 URL (TMR_DOWNLOAD_REDIRECT=presigned)"},
        **INVALID,
        401: refusal("Missing the download permission"),
        **NO_TOKEN,
        404: refusal("No such artifact (or not visible to you)"),
        409: refusal("Files that import code on load: ask again with allow_unsafe=true"),
        416: refusal("The range starts past the end of the package"),
        451: refusal("The model's monitor refused this download"),
        502: refusal("An upstream failed, or bytes did not match their digest"),
        503: refusal("A store (or Node.js, for a monitor) is unavailable"),
    },
)
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
    """A settled download on SQLite is planned on the event loop itself: the hop to a thread and
    back cost more than the plan (docs/performance.md). Anything that would wait there (a slow
    step, a lock) is `WouldWait`, raised before the plan writes, and the plan runs in a worker
    thread, holding a slot of the download gate (downloads/gate.py); a token already checked on
    the loop is not spent again."""
    client = client_address(request)
    principal: Principal | None = None

    def plan() -> DownloadPlan:
        nonlocal principal
        with registry.downloads.gate.held():
            if principal is None:
                principal = registry.accounts.check(x_authorization)
            return registry.downloads.package(
                principal,
                id,
                parts=parts,
                allow_unsafe=allow_unsafe,
                conditions=Conditions(range_, if_range, if_none_match),
                redirect=redirect,
                door="api",
                client=client,
            )

    if registry.downloads.gate.inline:
        try:
            with without_waiting():
                return respond(plan())
        except WouldWait:
            pass
    return respond(await run_in_threadpool(plan))
