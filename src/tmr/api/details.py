"""tmr's description of one artifact by id alone (beside the contract): what the `tmr show` and
`tmr pull` commands need and the contract's Artifact does not carry (version, license,
visibility, files and their digests), without the caller knowing the artifact's type first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.presenters import artifact_out
from tmr.api.refusals import INVALID, NO_TOKEN, refusal
from tmr.api.schemas import ArtifactOut

router = APIRouter(tags=["artifacts"])


class FileOut(BaseModel):
    path: str
    size: int
    kind: str
    sha256: str | None  # None until a large upstream file's bytes have been mirrored
    unsafe: bool


class ArtifactDetailsOut(ArtifactOut):
    version: str | None
    license: str | None
    visibility: str
    size_bytes: int
    card: dict[str, Any]
    files: list[FileOut]
    notes: list[str]
    created_at: datetime | None
    created_by: str | None
    updated_at: datetime | None


@router.get(
    "/artifact/{id}/details",
    response_model=ArtifactDetailsOut,
    summary="One artifact of any type, described (tmr's)",
    responses={
        **INVALID,
        401: refusal("Missing the search permission"),
        **NO_TOKEN,
        404: refusal("No such artifact (or not visible to you)"),
    },
)
def details(request: Request, user: UserDep, registry: RegistryDep, id: str) -> ArtifactDetailsOut:
    artifact = registry.artifacts.get_any(user, id)
    out = artifact_out(request, artifact)
    return ArtifactDetailsOut(
        metadata=out.metadata,
        data=out.data,
        version=artifact.version,
        license=artifact.license,
        visibility=artifact.visibility.value,
        size_bytes=artifact.size_bytes,
        card=artifact.card,
        files=[
            FileOut(path=f.path, size=f.size, kind=f.kind.value, sha256=f.sha256, unsafe=f.unsafe)
            for f in artifact.files
        ],
        notes=list(artifact.notes),
        created_at=artifact.created_at,
        created_by=artifact.created_by,
        updated_at=artifact.updated_at,
    )
