"""Search hits and the package-confusion audit's other inputs in the metadata store.

Implements `tmr.confusion.interfaces.AuditInputs`. The `search_hits` table is bounded by its
writer: each insert also deletes the hits older than the retention age and those beyond the
newest `keep` (by sequence number, an index range), so no background job is needed and the
table cannot grow without limit however many searches run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select

from tmr.confusion.interfaces import AuditedArtifact, Fingerprint, HitKind, SearchHit
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import ArtifactRow, DownloadEventRow, SearchHitRow

_CLIENT_CHARS = 64  # the column's width
_USER_CHARS = 256


class SqlSearchHits(SqlRepository):
    def record_hits(self, hits: Sequence[SearchHit], *, keep: int, oldest: datetime) -> None:
        if not hits:
            return
        with self._write() as session:
            session.add_all(
                SearchHitRow(
                    artifact_id=h.artifact_id,
                    user_name=h.user_name[:_USER_CHARS],
                    client=None if h.client is None else h.client[:_CLIENT_CHARS],
                    kind=h.kind,
                    at=h.at,
                )
                for h in hits
            )
            session.flush()
            newest = session.scalar(select(func.max(SearchHitRow.seq))) or 0
            session.execute(
                delete(SearchHitRow).where((SearchHitRow.seq <= newest - keep) | (SearchHitRow.at < oldest))
            )

    def forget_hits(self) -> None:
        with self._write() as session:
            session.execute(delete(SearchHitRow))

    def hits_since(self, since: datetime, *, limit: int) -> Sequence[SearchHit]:
        with self._read() as session:
            rows = session.execute(
                select(
                    SearchHitRow.artifact_id,
                    SearchHitRow.user_name,
                    SearchHitRow.client,
                    SearchHitRow.kind,
                    SearchHitRow.at,
                )
                .where(SearchHitRow.at >= since)
                .order_by(SearchHitRow.seq.desc())
                .limit(limit)
            ).all()
        hits = [SearchHit(r.artifact_id, r.user_name, r.client, _kind(r.kind), r.at) for r in rows]
        hits.reverse()
        return hits

    def audited_artifacts(self, *, limit: int) -> Sequence[AuditedArtifact]:
        with self._read() as session:
            rows = session.execute(
                select(
                    ArtifactRow.id,
                    ArtifactRow.name,
                    ArtifactRow.type,
                    ArtifactRow.visibility,
                    ArtifactRow.created_by,
                )
                .order_by(ArtifactRow.seq)
                .limit(limit)
            ).all()
        return [AuditedArtifact(r.id, r.name, r.type, r.visibility, r.created_by) for r in rows]

    def fingerprint(self) -> Fingerprint:
        with self._read() as session:
            count, newest_seq, newest_change = session.execute(
                select(
                    func.count(ArtifactRow.seq), func.max(ArtifactRow.seq), func.max(ArtifactRow.updated_at)
                )
            ).one()
            downloads = session.scalar(select(func.max(DownloadEventRow.seq)))
            hits = session.scalar(select(func.max(SearchHitRow.seq)))
        return Fingerprint(
            artifacts=count or 0,
            newest_artifact_seq=newest_seq or 0,
            newest_change=newest_change,
            newest_download_seq=downloads or 0,
            newest_hit_seq=hits or 0,
        )


_KINDS: dict[str, HitKind] = {"name": "name", "regex": "regex", "enumerate": "enumerate"}


def _kind(raw: str) -> HitKind:
    return _KINDS.get(raw, "enumerate")
