"""Upload sessions and their parts in the metadata store (see `tmr.artifacts.upload_sessions`).

A session row carries its own expiry; until then `referenced_digests` (storage/metadata.py) counts
its parts' blobs as referenced, so orphan collection keeps them, as it keeps an open transaction's
staged uploads. Deleting a session deletes its parts; `DELETE /reset` deletes every session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from tmr.artifacts.models import ArtifactType
from tmr.artifacts.upload_sessions import Part, UploadSession
from tmr.errors import Conflict
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import UploadPartRow, UploadSessionRow

_OPEN = "open"
_FINISHING = "finishing"


def _live(now: datetime) -> ColumnElement[bool]:
    """An open session, unexpired at `now`."""
    return and_(UploadSessionRow.state == _OPEN, UploadSessionRow.expires_at > now)


def delete_upload_sessions(session: Session, where: ColumnElement[bool] | None = None) -> int:
    """Delete sessions (all, or those `where` picks) with their parts, in the caller's transaction."""
    doomed = select(UploadSessionRow.seq)
    if where is not None:
        doomed = doomed.where(where)
    seqs = list(session.scalars(doomed))
    if not seqs:
        return 0
    session.execute(delete(UploadPartRow).where(UploadPartRow.session_seq.in_(seqs)))
    session.execute(delete(UploadSessionRow).where(UploadSessionRow.seq.in_(seqs)))
    return len(seqs)


class SqlUploadSessionStore(SqlRepository):
    """Implements `tmr.artifacts.upload_sessions.UploadSessionRepository`."""

    def create(self, session: UploadSession) -> None:
        try:
            with self._write() as session_:
                session_.add(
                    UploadSessionRow(
                        id=session.id,
                        owner=session.owner,
                        state=_OPEN,
                        type=session.type.value,
                        name=session.name,
                        version=session.version,
                        length=session.length,
                        received=0,
                        part_bytes=session.part_bytes,
                        created_at=session.created_at,
                        expires_at=session.expires_at,
                    )
                )
        except SqlIntegrityError as exc:  # 128 random bits: all but never
            raise Conflict(f"upload session id {session.id} is taken") from exc

    def get(self, session_id: str) -> UploadSession | None:
        with self._read() as session_:
            row = session_.scalar(select(UploadSessionRow).where(UploadSessionRow.id == session_id))
            if row is None:
                return None
            return UploadSession(
                id=row.id,
                owner=row.owner,
                type=ArtifactType(row.type),
                name=row.name,
                version=row.version,
                length=row.length,
                offset=row.received,
                part_bytes=row.part_bytes,
                created_at=row.created_at,
                expires_at=row.expires_at,
                open=row.state == _OPEN,
            )

    def advance(self, session_id: str, part: Part, now: datetime) -> bool:
        with self._write() as session_:
            moved = session_.execute(
                update(UploadSessionRow)
                .where(
                    UploadSessionRow.id == session_id,
                    UploadSessionRow.received == part.start,
                    UploadSessionRow.received + part.size <= UploadSessionRow.length,
                    _live(now),
                )
                .values(received=UploadSessionRow.received + part.size)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return False
            seq = session_.scalar(select(UploadSessionRow.seq).where(UploadSessionRow.id == session_id))
            session_.execute(
                insert(UploadPartRow).values(
                    session_seq=seq, start=part.start, size=part.size, sha256=part.sha256
                )
            )
            return True

    def parts(self, session_id: str) -> list[Part]:
        query = (
            select(UploadPartRow.start, UploadPartRow.size, UploadPartRow.sha256)
            .join(UploadSessionRow, UploadSessionRow.seq == UploadPartRow.session_seq)
            .where(UploadSessionRow.id == session_id)
            .order_by(UploadPartRow.start)
        )
        with self._read() as session_:
            return [Part(start, size, sha256) for start, size, sha256 in session_.execute(query)]

    def claim(self, session_id: str, now: datetime) -> bool:
        with self._write() as session_:
            claimed = session_.execute(
                update(UploadSessionRow)
                .where(
                    UploadSessionRow.id == session_id,
                    UploadSessionRow.received == UploadSessionRow.length,
                    _live(now),
                )
                .values(state=_FINISHING)
            )
            return bool(claimed.rowcount)  # type: ignore[attr-defined]

    def discard(self, session_id: str, now: datetime | None = None) -> bool:
        which = UploadSessionRow.id == session_id
        with self._write() as session_:
            return delete_upload_sessions(session_, which if now is None else and_(which, _live(now))) > 0

    def purge(self, now: datetime) -> int:
        with self._write() as session_:
            return delete_upload_sessions(session_, UploadSessionRow.expires_at <= now)
