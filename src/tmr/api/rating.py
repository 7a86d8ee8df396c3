"""Contract routes of ratings and licenses, and tmr's ingest gate for public models."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.presenters import artifact_out
from tmr.api.refusals import INVALID, NO_TOKEN, NOT_JSON, refusal
from tmr.api.routing import JsonBodyRoute
from tmr.api.schemas import ArtifactDataIn, ArtifactOut, LicenseCheckRequest
from tmr.artifacts.models import ArtifactType, FileKind
from tmr.rating.engine import SAFETY_FIELD

router = APIRouter(tags=["rating"], route_class=JsonBodyRoute)


@router.get("/artifact/model/{id}/rate", response_model=None)
def rate(user: UserDep, registry: RegistryDep, id: str, response: Response) -> dict[str, Any] | JSONResponse:
    """The contract's 26 fields exactly (its client counts them); the safety verdict the rating
    also holds is said by the net score (0 when unsafe), an `X-Unsafe-Files` header, and
    `GET /artifact/model/{id}/safety`."""
    stored = registry.ratings.rating(user, id)
    if stored.failed:
        return JSONResponse(
            {
                "detail": "the rating system could not compute every metric",
                "code": "rating_failed",
                "failed_metrics": stored.errors,
            },
            status_code=500,
        )
    fields = dict(stored.rating)
    safety = fields.pop(SAFETY_FIELD, None) or {}
    if safety.get("unsafe"):
        paths = [str(f.get("path")) for f in safety.get("unsafe_files") or []]
        response.headers["X-Unsafe-Files"] = ", ".join(quote(p, safe="/@:+") for p in paths)
    return fields


@router.get(
    "/artifact/model/{id}/safety",
    responses={
        **INVALID,
        401: refusal("Missing the search permission"),
        **NO_TOKEN,
        404: refusal("No such model (or not visible to you)"),
    },
)
def safety(user: UserDep, registry: RegistryDep, id: str) -> dict[str, Any]:
    """tmr's: the verdict on each judged file (by its bytes), and whether the model is unsafe."""
    artifact = registry.artifacts.get(user, ArtifactType.MODEL, id)
    judged = [
        {"path": f.path, "kind": f.kind.value, "size": f.size, **(f.safety or {})}
        for f in artifact.files
        if f.safety
    ]
    return {
        "unsafe": any(f.unsafe for f in artifact.files),
        "files": judged,
        "not_yet_judged": [f.path for f in artifact.files if f.sha256 is None and f.kind is FileKind.WEIGHTS],
    }


@router.post(
    "/artifact/ingest",
    status_code=201,
    response_model=ArtifactOut,
    responses={
        **INVALID,
        401: refusal("Missing the upload permission"),
        **NO_TOKEN,
        404: refusal("No such repository upstream"),
        409: refusal("Already registered, or a name that is another Hub repository's"),
        **NOT_JSON,
        424: refusal("The rating fails the gate, or a weights file imports code"),
        502: refusal("The upstream failed or refused"),
    },
)
def ingest(request: Request, user: UserDep, registry: RegistryDep, body: ArtifactDataIn) -> ArtifactOut:
    """Register a public Hugging Face model only if its rating passes the gate (424 otherwise)."""
    return artifact_out(request, registry.registration.ingest(user, body.url, body.name).artifact)


@router.post("/artifact/model/{id}/license-check")
def license_check(user: UserDep, registry: RegistryDep, id: str, body: LicenseCheckRequest) -> bool:
    return registry.analysis.license_check(user, id, body.github_url).compatible
