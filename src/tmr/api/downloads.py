"""Downloads: an artifact's files as one zip, mirrored from the upstream on first use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from tmr.api.deps import RegistryDep, UserDep
from tmr.artifacts.models import FileKind
from tmr.artifacts.packages import package_stream
from tmr.errors import InvalidInput

router = APIRouter(tags=["downloads"])


def parse_parts(parts: str | None) -> set[FileKind] | None:
    if not parts:
        return None
    try:
        return {FileKind(p.strip()) for p in parts.split(",") if p.strip()}
    except ValueError:
        names = ", ".join(k.value for k in FileKind)
        raise InvalidInput(f"parts must be a comma-separated list of: {names}") from None


@router.get("/download/{id}")
def download(
    user: UserDep, registry: RegistryDep, id: str, parts: Annotated[str | None, Query()] = None
) -> StreamingResponse:
    kinds = parse_parts(parts)
    artifact = registry.artifacts.get_any(id)
    artifact = registry.artifacts.ensure_mirrored(artifact)
    stream = package_stream(artifact, registry.blobs, kinds)
    size = len(stream)
    registry.artifacts.record(artifact, user, "DOWNLOAD")
    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in artifact.name) or artifact.id
    return StreamingResponse(
        iter(stream),
        media_type="application/zip",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{filename}.zip"',
        },
    )
