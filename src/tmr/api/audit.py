"""tmr's audits (beside the contract): the package-confusion audit, for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tmr.api.deps import RegistryDep, UserDep
from tmr.api.refusals import INVALID, NO_TOKEN, refusal
from tmr.confusion.scoring import THRESHOLD
from tmr.confusion.service import PAGE_LIMIT, AuditFinding, AuditPage, NamedArtifact

router = APIRouter(prefix="/audit", tags=["audit"])


class ArtifactRef(BaseModel):
    id: str
    type: str
    visibility: str = Field(description="public or private (private ones are included for admins)")


class ComponentOut(BaseModel):
    value: float = Field(description="The component's raw value, 0 to 1")
    weight: float
    contribution: float = Field(description="What it adds to the score (name similarity x weight x value)")
    why: str


class FindingOut(BaseModel):
    name: str = Field(description="The suspect name")
    artifacts: list[ArtifactRef] = Field(description="The artifacts under the suspect name")
    imitates: str = Field(description="The more popular name it imitates")
    imitated_artifacts: list[ArtifactRef]
    categories: list[str] = Field(
        description="How: typo, homoglyph, delimiter, affix, reorder, namespace, case, version"
    )
    evidence: list[str] = Field(description="Each category's evidence in words")
    score: float
    flagged: bool = Field(description="score >= the threshold")
    components: dict[str, ComponentOut] = Field(description="name, popularity_gap, traffic: why it scored so")
    downloads: int = Field(description="Allowed downloads of the suspect name in the window")
    search_hits: int = Field(description="Times a search showed the suspect name in the window")
    imitated_downloads: int
    imitated_search_hits: int


class ConfusionAuditOut(BaseModel):
    findings: list[FindingOut]
    total: int = Field(description="Findings at or above min_score")
    next_offset: int | None = Field(description="The offset of the next page, or null on the last")
    computed_at: datetime = Field(description="When the findings were computed (UTC)")
    cached: bool = Field(description="Served from the cache (the inputs' fingerprint had not changed)")
    artifacts_audited: int
    truncated: bool = Field(description="More artifacts exist than one audit covers")
    window_days: int = Field(description="Downloads and search hits of this many days are read")
    threshold: float = Field(description="The score from which a finding is flagged")


def _ref(a: NamedArtifact) -> ArtifactRef:
    return ArtifactRef(id=a.id, type=a.type, visibility=a.visibility)


def _finding(f: AuditFinding) -> FindingOut:
    return FindingOut(
        name=f.name,
        artifacts=[_ref(a) for a in f.artifacts],
        imitates=f.imitates,
        imitated_artifacts=[_ref(a) for a in f.imitated_artifacts],
        categories=[c.value for c in f.categories],
        evidence=list(f.evidence),
        score=f.score,
        flagged=f.flagged,
        components={
            k: ComponentOut(value=c.value, weight=c.weight, contribution=c.contribution, why=c.why)
            for k, c in f.components.items()
        },
        downloads=f.downloads,
        search_hits=f.search_hits,
        imitated_downloads=f.imitated_downloads,
        imitated_search_hits=f.imitated_search_hits,
    )


def _present(page: AuditPage) -> ConfusionAuditOut:
    return ConfusionAuditOut(
        findings=[_finding(f) for f in page.findings],
        total=page.total,
        next_offset=page.next_offset,
        computed_at=page.computed_at,
        cached=page.cached,
        artifacts_audited=page.artifacts_audited,
        truncated=page.truncated,
        window_days=page.window_days,
        threshold=page.threshold,
    )


@router.get(
    "/package-confusion",
    response_model=ConfusionAuditOut,
    summary="Artifacts whose names imitate more popular ones (administrators)",
    responses={**INVALID, 401: refusal("Not an administrator"), **NO_TOKEN},
)
def package_confusion(
    user: UserDep,
    registry: RegistryDep,
    min_score: Annotated[
        float, Query(ge=0.0, le=1.0, description="Only findings scoring at least this")
    ] = THRESHOLD,
    offset: Annotated[int, Query(ge=0, description="Skip this many findings")] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="Findings per page")] = 50,
) -> ConfusionAuditOut:
    """Each finding names the artifact it imitates, how (the name categories, with evidence) and
    why it scored as it did: name similarity, the popularity gap (downloads and search hits) and
    the suspect's download-traffic anomalies (bursts, periodicity, few clients, downloads never
    preceded by a search), each with its value. Private artifacts are included."""
    page = registry.confusion.package_confusion(user, min_score=min_score, offset=offset, limit=limit)
    return _present(page)
