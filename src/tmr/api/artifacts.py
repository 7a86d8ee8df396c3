"""Contract routes on single artifacts: create, read, update, delete, audit."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tmr.api.deps import RegistryDep, TypeDep, UserDep
from tmr.api.presenters import artifact_out, audit_out
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import ArtifactDataIn, ArtifactIn, ArtifactOut, AuditEntryOut
from tmr.errors import InvalidInput

router = APIRouter(tags=["artifacts"], route_class=JsonBodyRoute)


@router.post("/artifact/{artifact_type}", status_code=201, response_model=ArtifactOut)
def create_artifact(
    request: Request, user: UserDep, registry: RegistryDep, type_: TypeDep, body: ArtifactDataIn
) -> ArtifactOut:
    return artifact_out(request, registry.registration.register(user, type_, body.url, body.name).artifact)


@router.get("/artifacts/{artifact_type}/{id}", response_model=ArtifactOut)
def read_artifact(
    request: Request, user: UserDep, registry: RegistryDep, type_: TypeDep, id: str
) -> ArtifactOut:
    return artifact_out(request, registry.artifacts.get(user, type_, id))


@router.put("/artifacts/{artifact_type}/{id}")
def update_artifact(
    request: Request, user: UserDep, registry: RegistryDep, type_: TypeDep, id: str, body: ArtifactIn
) -> ArtifactOut:
    if body.metadata.id != id or body.metadata.type is not type_:
        raise InvalidInput("metadata.id and metadata.type must match the path")
    registered = registry.registration.update(user, type_, id, body.metadata.name, body.data.url)
    return artifact_out(request, registered.artifact)


@router.delete("/artifacts/{artifact_type}/{id}")
def delete_artifact(user: UserDep, registry: RegistryDep, type_: TypeDep, id: str) -> Response:
    registry.artifacts.delete(user, type_, id)
    return Response(status_code=200)


@router.get("/artifact/{artifact_type}/{id}/audit", response_model=list[AuditEntryOut])
def audit_trail(user: UserDep, registry: RegistryDep, type_: TypeDep, id: str) -> list[AuditEntryOut]:
    return [audit_out(e) for e in registry.artifacts.audit_trail(user, type_, id)]
