"""`GET /download/{id}`: an artifact's files (and, on request, its linked datasets' files) as one
zip, planned by the download service (docs/architecture.md, "Downloads")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.streaming import respond
from tmr.downloads.plan import Conditions

router = APIRouter(tags=["downloads"])


@router.get("/download/{id}", response_model=None)
def download(
    request: Request,
    user: UserDep,
    registry: RegistryDep,
    id: str,
    parts: Annotated[str | None, Query()] = None,
    redirect: Annotated[bool | None, Query()] = None,
    allow_unsafe: Annotated[bool, Query()] = False,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    plan = registry.downloads.package(
        user,
        id,
        parts=parts,
        allow_unsafe=allow_unsafe,
        conditions=Conditions(range_, if_range, if_none_match),
        redirect=redirect,
        door="api",
        client=request.client.host if request.client else None,
    )
    return respond(plan)
