"""Ratings: computed (on registration, by the registration service), stored with their evidence,
served from storage, and recomputed only when missing, failed or stale. Rating is all this
service does; admitting a model by its rating is registration's."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from tmr.accounts.models import SYSTEM, Principal
from tmr.artifacts.interfaces import EVERYTHING, ArtifactRepository, StoredRating
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.artifacts.service import ArtifactService
from tmr.errors import NotFound, TmrError
from tmr.rating.engine import ENGINE_VERSION, SAFETY_FIELD, RatingEngine
from tmr.rating.gather import EvidenceGatherer, EvidenceSources

log = logging.getLogger("tmr.rating")
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
        return bool(self._repo.answering_to([key], EVERYTHING).get(key))

    def _parent_scores(self, artifact: Artifact, lineage: frozenset[str] = frozenset()) -> list[float]:
        """Net scores of the model's registered parents. A parent without a usable rating is
        rated first (up the chain; a cycle stops where it closes)."""
        keys = [link.key for link in artifact.links if link.relationship in _PARENT_RELATIONS]
        seen = lineage | {artifact.id}
        scores = []
        for parents in self._repo.answering_to(keys, EVERYTHING).values():
            for parent in parents:
                if parent.type is not ArtifactType.MODEL or parent.id in seen:
                    continue
                stored = self._repo.load_rating(parent.id)
                if stored is None or stored.failed:
                    try:
                        parent_artifact = self._artifacts.get_any(SYSTEM, parent.id)
                    except NotFound:
                        continue  # removed meanwhile
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

    def keep(self, artifact: Artifact, rating: StoredRating) -> None:
        """Store a rating computed before its artifact was committed (the ingest gate's). It rates
        exactly the committed content, so it counts from the commit: dated earlier, `stale` would
        throw it away and recompute it on the first `GET /rate`."""
        if artifact.updated_at is not None and rating.computed_at < artifact.updated_at:
            rating = dataclasses.replace(rating, computed_at=artifact.updated_at)
        self._repo.save_rating(artifact.id, rating)

    def rating(self, principal: Principal, artifact_id: str) -> StoredRating:
        artifact = self._artifacts.get(principal, ArtifactType.MODEL, artifact_id)
        stored = self._repo.load_rating(artifact_id)
        if stored is None or self.stale(stored, artifact):
            stored = self.refresh(artifact)
        self._artifacts.record(principal, artifact, "RATE")
        return stored

    def stored_net_scores(self, principal: Principal, artifact_ids: Collection[str]) -> dict[str, float]:
        """The net score of each listed model `principal` may see whose stored rating is current.
        Nothing is computed or audited: a listing shows what is known, and a model rated long
        ago or never shows no score rather than a stale one."""
        scores: dict[str, float] = {}
        for artifact_id in dict.fromkeys(artifact_ids):
            try:
                artifact = self._artifacts.get(principal, ArtifactType.MODEL, artifact_id)
            except NotFound:
                continue
            stored = self._repo.load_rating(artifact_id)
            if stored is not None and not self.stale(stored, artifact):
                scores[artifact_id] = float(stored.rating["net_score"])
        return scores

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
