"""Contract routes that find artifacts: enumerate, by name, by regex."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from tmr.api.deps import ClientDep, RegistryDep, UserDep
from tmr.api.presenters import metadata
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import ArtifactMetadata, ArtifactQuery, ArtifactRegEx
from tmr.search.service import Query as SearchQuery
from tmr.search.service import version_query

router = APIRouter(tags=["search"], route_class=JsonBodyRoute)


@router.post("/artifacts", response_model=list[ArtifactMetadata])
def enumerate_artifacts(
    response: Response,
    user: UserDep,
    registry: RegistryDep,
    client: ClientDep,
    queries: Annotated[list[ArtifactQuery], Body()],
    offset: Annotated[str | None, Query()] = None,
) -> list[ArtifactMetadata]:
    items, next_offset = registry.search.enumerate(
        user,
        [
            SearchQuery(q.name, frozenset(q.types) if q.types else None, version_query(q.version))
            for q in queries
        ],
        offset,
        client=client,
    )
    if next_offset is not None:
        response.headers["offset"] = next_offset
    return [metadata(i) for i in items]


@router.get("/artifact/byName/{name:path}", response_model=list[ArtifactMetadata])
def by_name(
    user: UserDep,
    registry: RegistryDep,
    client: ClientDep,
    name: str,
    version: Annotated[str | None, Query()] = None,
) -> list[ArtifactMetadata]:
    return [metadata(i) for i in registry.search.by_name(user, name, version_query(version), client=client)]


@router.post("/artifact/byRegEx", response_model=list[ArtifactMetadata])
async def by_regex(
    user: UserDep, registry: RegistryDep, client: ClientDep, body: ArtifactRegEx
) -> list[ArtifactMetadata]:
    # Async so that a request waiting for a scan slot waits on the event loop, not in one of the
    # threads every synchronous route shares (search/slots.py).
    found = await registry.search.by_regex_waiting(
        user, body.regex, version_query(body.version), client=client
    )
    return [metadata(i) for i in found]
