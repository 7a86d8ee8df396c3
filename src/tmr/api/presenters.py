"""Domain objects to contract bodies."""

from __future__ import annotations

from fastapi import Request

from tmr.api.schemas import ArtifactDataOut, ArtifactMetadata, ArtifactOut, AuditEntryOut, UserOut
from tmr.artifacts.models import Artifact, ArtifactSummary, AuditEntry


def base_url(request: Request) -> str:
    public: str | None = request.app.state.registry.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def download_url(request: Request, artifact_id: str) -> str:
    return f"{base_url(request)}/download/{artifact_id}"


def metadata(item: Artifact | ArtifactSummary) -> ArtifactMetadata:
    return ArtifactMetadata(name=item.name, id=item.id, type=item.type)


def artifact_out(request: Request, artifact: Artifact) -> ArtifactOut:
    return ArtifactOut(
        metadata=metadata(artifact),
        data=ArtifactDataOut(url=artifact.url, download_url=download_url(request, artifact.id)),
    )


def audit_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        user=UserOut(name=entry.user_name, is_admin=entry.user_is_admin),
        date=entry.at,
        artifact=metadata(entry.artifact),
        action=entry.action,
    )
