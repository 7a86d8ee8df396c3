"""The artifact page, and its downloads.

The page reads the artifact as the signed-in user may see it (404 otherwise), then shows what
the services say of it: the rating (`RatingService.rating`, the same call as `GET .../rate`),
the analyses (`artifact_analysis`), other versions (`SearchService.by_name`) and the audit trail
(`ArtifactService.audit_trail`, which records the look as the API does). Downloads go through
`DownloadService` with the same principal and their plan is executed as the API executes it,
so the unsafe-file policy, ranges, conditional requests and the audit of a download stay the
service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from tmr.accounts.models import Principal
from tmr.api.streaming import respond
from tmr.artifacts.bundles import is_dataset_link
from tmr.artifacts.models import Artifact, ArtifactSummary, ArtifactType, AuditEntry, FileEntry, FileKind
from tmr.artifacts.packages import DATASETS_PART
from tmr.container import Registry
from tmr.downloads.plan import Conditions
from tmr.errors import InvalidInput, NotFound, TmrError
from tmr.search.versions import is_version, sort_key
from tmr.web.markdown import render_readme
from tmr.web.pages.artifact_analysis import analysis_sections
from tmr.web.ratings import Level, rating_view
from tmr.web.routing import PageRoute
from tmr.web.session import SignedInDep, registry_of
from tmr.web.templating import href, render

router = APIRouter(route_class=PageRoute)

MAX_FILES_SHOWN = 500
MAX_AUDIT_SHOWN = 50
PART_LABELS = {
    FileKind.WEIGHTS: "weights",
    FileKind.CONFIG: "configuration",
    FileKind.TOKENIZER: "tokenizer",
    FileKind.DOCS: "documentation",
    FileKind.CODE: "code",
    FileKind.DATA: "data",
    FileKind.OTHER: "other files",
}
UNSAFE = Level("unsafe", "✗", "bad")
UNCHECKED = Level("not yet checked", "?", "warn")
NOT_WEIGHTS = Level("not weights", "○", "info")
SAFE = Level("safe", "✓", "ok")


def page_path(artifact_id: str) -> str:
    return f"/ui/artifacts/{artifact_id}"


def _artifact(registry: Registry, principal: Principal, artifact_id: str) -> Artifact:
    """The artifact as `principal` may see it; an id that cannot exist names nothing (404)."""
    try:
        return registry.artifacts.get_any(principal, artifact_id)
    except InvalidInput:
        raise NotFound(f"no artifact with id {artifact_id}") from None


@dataclass(frozen=True, slots=True)
class Part:
    name: str  # the `parts` value the download service reads
    label: str
    files: int
    size: int
    unsafe: int
    href: str


@dataclass(frozen=True, slots=True)
class FileRow:
    path: str
    size: int
    kind: str
    verdict: Level
    detail: str
    href: str | None  # None: not offered (unsafe files are never served one by one)


@dataclass(frozen=True, slots=True)
class Version:
    item: ArtifactSummary
    href: str
    current: bool


def _verdict(file: FileEntry) -> tuple[Level, str]:
    """The stored safety verdict on the file's bytes, in words."""
    safety = file.safety
    if safety is None:
        if file.sha256 is None:
            return UNCHECKED, "Its bytes are fetched and checked on the first download."
        return NOT_WEIGHTS, "Its bytes are in no weights format: there is nothing to scan."
    reasons = "; ".join(str(r) for r in safety.get("reasons") or [])
    if safety.get("unsafe"):
        return UNSAFE, reasons or "Its bytes import code when loaded."
    described = f"Format {safety.get('format', 'unknown')}"
    if safety.get("pickle"):
        described += f", pickle scan: {safety['pickle']}"
    return SAFE, described + (f"; {reasons}" if reasons else "") + "."


def _files(request: Request, artifact: Artifact) -> list[FileRow]:
    rows = []
    for file in artifact.files[:MAX_FILES_SHOWN]:
        level, detail = _verdict(file)
        link = None if file.unsafe else href(request, f"{page_path(artifact.id)}/files/{quote(file.path)}")
        rows.append(FileRow(file.path, file.size, file.kind.value, level, detail, link))
    return rows


def _parts(request: Request, artifact: Artifact) -> list[Part]:
    parts = []
    for kind in FileKind:
        files = [f for f in artifact.files if f.kind is kind]
        if files:
            parts.append(
                Part(
                    kind.value,
                    PART_LABELS[kind],
                    len(files),
                    sum(f.size for f in files),
                    sum(1 for f in files if f.unsafe),
                    href(request, f"{page_path(artifact.id)}/download", parts=kind.value),
                )
            )
    if artifact.type is ArtifactType.MODEL and any(is_dataset_link(link) for link in artifact.links):
        everything = ",".join([*(k.value for k in FileKind), DATASETS_PART])
        parts.append(
            Part(
                DATASETS_PART,
                "everything with its linked datasets",
                len(artifact.files),
                artifact.size_bytes,
                sum(1 for f in artifact.files if f.unsafe),
                href(request, f"{page_path(artifact.id)}/download", parts=everything),
            )
        )
    return parts


def _versions(
    request: Request, registry: Registry, principal: Principal, artifact: Artifact
) -> list[Version]:
    try:
        same = registry.search.by_name(principal, artifact.name, searched=False)
    except NotFound:
        same = []

    def order(item: ArtifactSummary) -> tuple[int, Any]:
        if item.version and is_version(item.version):
            return (0, sort_key(item.version))
        return (1, item.id)

    return [
        Version(item, href(request, page_path(item.id)), item.id == artifact.id)
        for item in sorted(same, key=order, reverse=False)
    ]


def _rating(registry: Registry, principal: Principal, artifact: Artifact) -> tuple[Any, str | None]:
    if artifact.type is not ArtifactType.MODEL:
        return None, None
    try:
        stored = registry.ratings.rating(principal, artifact.id)
    except TmrError as exc:
        return None, exc.message
    return rating_view(stored, artifact), None


def _audit(entries: list[AuditEntry]) -> list[AuditEntry]:
    return sorted(entries, key=lambda e: e.at, reverse=True)[:MAX_AUDIT_SHOWN]


@router.get("/ui/artifacts/{artifact_id}")
def artifact_page(request: Request, principal: SignedInDep, artifact_id: str) -> Response:
    registry = registry_of(request)
    artifact = _artifact(registry, principal, artifact_id)
    rating, rating_error = _rating(registry, principal, artifact)
    analysis = analysis_sections(request, principal, artifact)
    versions = _versions(request, registry, principal, artifact)
    audit = registry.artifacts.audit_trail(principal, artifact.type, artifact.id)
    unsafe = [f.path for f in artifact.files if f.unsafe]
    context = {
        "artifact": artifact,
        "source_link": artifact.url if artifact.url.lower().startswith(("https://", "http://")) else None,
        "readme": render_readme(artifact.readme),
        "rating": rating,
        "rating_error": rating_error,
        "analysis": analysis,
        "parts": _parts(request, artifact),
        "download_all": href(request, f"{page_path(artifact.id)}/download"),
        "download_action": href(request, f"{page_path(artifact.id)}/download"),
        "files": _files(request, artifact),
        "files_hidden": max(0, len(artifact.files) - MAX_FILES_SHOWN),
        "unsafe": unsafe,
        "versions": versions,
        "audit": _audit(audit),
        "audit_total": len(audit),
    }
    return render(request, "artifact.html", context)


# -- downloads ---------------------------------------------------------------------------------


@router.get("/ui/artifacts/{artifact_id}/download")
def download_package(
    request: Request,
    principal: SignedInDep,
    artifact_id: str,
    parts: Annotated[str | None, Query(max_length=200)] = None,
    allow_unsafe: bool = False,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """The package (or some parts of it) as `GET /download/{id}` answers it."""
    plan = registry_of(request).downloads.package(
        principal,
        artifact_id,
        parts=parts,
        allow_unsafe=allow_unsafe,
        conditions=Conditions(range_, if_range, if_none_match),
        door="ui",
        client=request.client.host if request.client else None,
    )
    return respond(plan)


@router.get("/ui/artifacts/{artifact_id}/files/{path:path}")
def download_file(
    request: Request,
    principal: SignedInDep,
    artifact_id: str,
    path: str,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """One file, planned by `DownloadService.file` (which never serves a file that runs code on
    load one by one: such files come only in a package the user asks for knowingly)."""
    registry = registry_of(request)
    artifact = _artifact(registry, principal, artifact_id)
    file = artifact.file(path)
    if file is None:
        raise NotFound(f"{path} is not a file of {artifact.name}")
    headers = registry.downloads.file_headers(artifact, file)
    plan = registry.downloads.file(
        principal,
        artifact,
        path,
        headers,
        Conditions(range_, if_range, if_none_match),
        door="ui",
        client=request.client.host if request.client else None,
    )
    return respond(plan)
