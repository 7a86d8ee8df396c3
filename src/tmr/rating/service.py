"""Ratings: computed when a model is registered or updated, stored with their evidence, served
from storage, and recomputed only when missing, failed or stale."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

from tmr.accounts.models import User
from tmr.artifacts.interfaces import ArtifactRepository, StoredRating
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.artifacts.service import ArtifactService, PreparedArtifact
from tmr.errors import Disqualified, TmrError
from tmr.rating.engine import DEVICES, ENGINE_VERSION, SAFETY_FIELD, RatingEngine
from tmr.rating.gather import EvidenceGatherer, EvidenceSources

log = logging.getLogger("tmr.rating")
GATE = 0.5
_PARENT_RELATIONS = {"base_model", "fine_tune", "adapter", "quantized", "merge"}
_TEXT_LIMIT = 2000  # long texts (cards, READMEs) are stored with the artifact, not twice


def _jsonable(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _TEXT_LIMIT:
        return value[:_TEXT_LIMIT] + f"… ({len(value)} characters)"
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class RatingService:
    def __init__(
        self,
        repo: ArtifactRepository,
        artifacts: ArtifactService,
        sources: EvidenceSources,
        engine: RatingEngine,
    ) -> None:
        self._repo = repo
        self._artifacts = artifacts
        self._engine = engine
        self._sources = sources

    def _is_registered(self, key: str) -> bool:
        return bool(self._repo.answering_to([key]).get(key))

    def _parent_scores(self, artifact: Artifact, lineage: frozenset[str] = frozenset()) -> list[float]:
        """Net scores of the model's registered parents. A parent without a usable rating is
        rated first (up the chain; a cycle stops where it closes)."""
        keys = [link.key for link in artifact.links if link.relationship in _PARENT_RELATIONS]
        seen = lineage | {artifact.id}
        scores = []
        for parents in self._repo.answering_to(keys).values():
            for parent in parents:
                if parent.type is not ArtifactType.MODEL or parent.id in seen:
                    continue
                stored = self._repo.load_rating(parent.id)
                if stored is None or stored.failed:
                    parent_artifact = self._artifacts.get_any(parent.id)
                    stored = self._compute(parent_artifact, seen)
                    self._repo.save_rating(parent.id, stored)
                if not stored.failed:
                    scores.append(float(stored.rating["net_score"]))
        return scores

    def compute(self, artifact: Artifact) -> StoredRating:
        """Gather the evidence and run every metric. An upstream failure while gathering is a
        failed rating (stored, so the API can say which part failed), never a made-up score."""
        return self._compute(artifact, frozenset())

    def _compute(self, artifact: Artifact, lineage: frozenset[str]) -> StoredRating:
        gatherer = EvidenceGatherer(
            self._sources, self._is_registered, lambda a: self._parent_scores(a, lineage)
        )
        try:
            evidence = gatherer.gather(artifact)
        except TmrError as exc:
            fields: dict[str, Any] = {"name": artifact.name, "category": "unknown"}
            return StoredRating(
                rating=fields,
                evidence={"error": exc.message},
                failed=True,
                computed_at=datetime.now(UTC),
                engine_version=ENGINE_VERSION,
                errors={"evidence": exc.message},
            )
        result = self._engine.rate(evidence)
        return StoredRating(
            rating=result.fields,
            evidence=_jsonable(dataclasses.asdict(evidence)),
            failed=result.failed,
            computed_at=datetime.now(UTC),
            engine_version=ENGINE_VERSION,
            errors=result.errors,
        )

    def refresh(self, artifact: Artifact) -> StoredRating:
        """Rate now and store the result (on registration and update)."""
        rating = self.compute(artifact)
        self._repo.save_rating(artifact.id, rating)
        if rating.failed:
            log.warning("rating of %s failed: %s", artifact.id, rating.errors)
        return rating

    def rating(self, artifact_id: str, actor: User) -> StoredRating:
        artifact = self._artifacts.get(ArtifactType.MODEL, artifact_id, actor)
        stored = self._repo.load_rating(artifact_id)
        if stored is None or self.stale(stored, artifact):
            stored = self.refresh(artifact)
        self._artifacts.record(artifact, actor, "RATE")
        return stored

    @staticmethod
    def stale(stored: StoredRating, artifact: Artifact) -> bool:
        updated = artifact.updated_at or stored.computed_at
        # A weights file judged unsafe after the rating (mirrored on a later download) outdates it.
        judged_unsafe = any(f.unsafe for f in artifact.files)
        rated_unsafe = bool((stored.rating.get(SAFETY_FIELD) or {}).get("unsafe"))
        return (
            stored.failed
            or stored.engine_version != ENGINE_VERSION
            or stored.computed_at < updated
            or judged_unsafe != rated_unsafe
        )

    def register(
        self, type_: ArtifactType, url: str, name: str | None, actor: User, *, gated: bool
    ) -> Artifact:
        """Register an artifact; a model is rated at once (a failed rating is stored, not raised),
        or, when `gated`, admitted only if its rating passes the gate."""
        if type_ is ArtifactType.MODEL and gated:
            return self.ingest(self._artifacts.prepare(type_, url, name), actor)[0]
        return self.admit(self._artifacts.prepare(type_, url, name), actor)[0]

    def admit(self, prepared: PreparedArtifact, actor: User) -> tuple[Artifact, StoredRating | None]:
        """Store a prepared artifact without a gate (an upload, or the gate off); a model is rated
        at once (its rating returned), and a failed rating is stored, not raised."""
        artifact = self._artifacts.commit(prepared, actor)
        rating = self.refresh(artifact) if artifact.type is ArtifactType.MODEL else None
        return artifact, rating

    def update(self, type_: ArtifactType, artifact_id: str, name: str, url: str, actor: User) -> Artifact:
        """Replace an artifact's content from its source; a model is re-rated."""
        artifact = self._artifacts.update(type_, artifact_id, name, url, actor)
        if artifact.type is ArtifactType.MODEL:
            self.refresh(artifact)
        return artifact

    def ingest(self, prepared: PreparedArtifact, actor: User) -> tuple[Artifact, StoredRating]:
        """Admit a public model only when every non-latency metric is at least 0.5 (-1, "not
        applicable", does not count against it) and no weights file imports code; otherwise 424
        and nothing is stored (mirrored weights stay only as orphan blobs, collectable)."""
        self._artifacts.judge_weights(prepared)
        rating = self.compute(prepared.artifact)
        failing = gate_failures(rating)
        if failing:
            raise Disqualified(
                "the model's rating does not pass the ingest gate (every metric must be at least 0.5)",
                failing_metrics=failing,
            )
        artifact = self._artifacts.commit(prepared, actor)
        self._repo.save_rating(artifact.id, rating)
        return artifact, rating


def gate_failures(rating: StoredRating) -> dict[str, Any]:
    """The metrics that keep a model out, with their values (a failed metric always does)."""
    failing: dict[str, Any] = {name: "failed: " + error for name, error in rating.errors.items()}
    safety = rating.rating.get(SAFETY_FIELD)
    if isinstance(safety, dict) and safety.get("unsafe"):
        failing["safety"] = safety
    for name, value in rating.rating.items():
        if name.endswith("_latency") or name in ("name", "category") or name in failing:
            continue
        if name == "size_score" and isinstance(value, dict):
            low = {d: v for d, v in value.items() if d in DEVICES and v < GATE}
            if len(low) == len(DEVICES):  # fitting no device at all keeps it out
                failing[name] = value
        elif isinstance(value, int | float) and value != -1 and value < GATE:
            failing[name] = value
    return failing
