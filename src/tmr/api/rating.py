"""Contract routes of ratings and licenses, and tmr's ingest gate for public models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tmr.analysis.compatibility import check_strings
from tmr.api.deps import RegistryDep, UserDep
from tmr.api.presenters import artifact_out
from tmr.api.schemas import ArtifactDataIn, ArtifactOut, LicenseCheckRequest
from tmr.artifacts.models import ArtifactType
from tmr.errors import InvalidInput, NotFound, UpstreamUnavailable
from tmr.sources.models import SourceKind

router = APIRouter(tags=["rating"])


@router.get("/artifact/model/{id}/rate", response_model=None)
def rate(user: UserDep, registry: RegistryDep, id: str) -> dict[str, Any] | JSONResponse:
    stored = registry.ratings.rating(id, user)
    if stored.failed:
        return JSONResponse(
            {
                "detail": "the rating system could not compute every metric",
                "code": "rating_failed",
                "failed_metrics": stored.errors,
            },
            status_code=500,
        )
    return stored.rating


@router.post("/artifact/ingest", status_code=201, response_model=ArtifactOut)
def ingest(request: Request, user: UserDep, registry: RegistryDep, body: ArtifactDataIn) -> ArtifactOut:
    """Register a public Hugging Face model only if its rating passes the gate (424 otherwise)."""
    prepared = registry.artifacts.prepare(ArtifactType.MODEL, body.url, body.name)
    artifact, _rating = registry.ratings.ingest(prepared, user)
    return artifact_out(request, artifact)


@router.post("/artifact/model/{id}/license-check")
def license_check(user: UserDep, registry: RegistryDep, id: str, body: LicenseCheckRequest) -> bool:
    artifact = registry.artifacts.get(ArtifactType.MODEL, id)
    ref = registry.sources.parse(body.github_url, ArtifactType.CODE)
    if ref.kind is not SourceKind.GITHUB:
        raise InvalidInput("github_url must be a GitHub repository URL")
    try:
        snapshot = registry.sources.inspect_cached(body.github_url, ArtifactType.CODE)
    except NotFound as exc:
        raise NotFound(f"GitHub project not found: {body.github_url}") from exc
    except UpstreamUnavailable as exc:
        raise UpstreamUnavailable(
            f"the GitHub project's license could not be retrieved: {exc.message}"
        ) from exc
    return check_strings(artifact.license, snapshot.license).compatible
