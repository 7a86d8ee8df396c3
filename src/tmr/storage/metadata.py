"""The SQL metadata store: artifacts, files, users, tokens and audit on SQLite or PostgreSQL.

One class implements the domain's repository protocols; every public method runs in its own
transaction, so a failure leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from tmr.accounts.models import IssuedToken, User
from tmr.artifacts.interfaces import NameFilter, TextMatcher
from tmr.artifacts.models import (
    Artifact,
    ArtifactSummary,
    ArtifactType,
    AuditEntry,
    FileEntry,
    FileKind,
)
from tmr.errors import Conflict, NotFound, StorageUnavailable
from tmr.storage.tables import (
    ArtifactRow,
    AuditRow,
    FileRow,
    KeyValueRow,
    TokenRow,
    UserRow,
)


def _summary(row: ArtifactRow) -> ArtifactSummary:
    return ArtifactSummary(id=row.id, name=row.name, type=ArtifactType(row.type))


def _file_rows(artifact: Artifact) -> list[FileRow]:
    return [
        FileRow(
            path=f.path,
            size=f.size,
            kind=f.kind.value,
            sha256=f.sha256,
            upstream_url=f.upstream_url,
            upstream_digest=f.upstream_digest,
        )
        for f in artifact.files
    ]


def _fill_row(row: ArtifactRow, artifact: Artifact) -> None:
    row.type = artifact.type.value
    row.name = artifact.name
    row.url = artifact.url
    row.source = artifact.source
    row.readme = artifact.readme
    row.card = artifact.card
    row.license = artifact.license
    row.upstream = artifact.upstream
    row.version = artifact.version
    row.notes = list(artifact.notes)
    row.size_bytes = artifact.size_bytes
    if artifact.created_at is not None:
        row.created_at = artifact.created_at
    row.created_by = artifact.created_by
    if artifact.updated_at is not None:
        row.updated_at = artifact.updated_at
    row.updated_by = artifact.updated_by


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlMetadataStore:
    """Implements ArtifactRepository and AccountRepository over one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    # -- artifacts -------------------------------------------------------------------------
    def create(self, artifact: Artifact) -> None:
        row = ArtifactRow(id=artifact.id)
        _fill_row(row, artifact)
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                for file_row in _file_rows(artifact):
                    file_row.artifact_seq = row.seq
                    session.add(file_row)
        except SqlIntegrityError as exc:
            raise Conflict(f"artifact id {artifact.id} is taken") from exc

    def get(self, artifact_id: str) -> Artifact | None:
        with self._sessions() as session:
            row = session.scalar(select(ArtifactRow).where(ArtifactRow.id == artifact_id))
            if row is None:
                return None
            files = session.scalars(
                select(FileRow).where(FileRow.artifact_seq == row.seq).order_by(FileRow.path)
            ).all()
            return Artifact(
                id=row.id,
                type=ArtifactType(row.type),
                name=row.name,
                url=row.url,
                source=row.source,
                readme=row.readme,
                card=dict(row.card or {}),
                license=row.license,
                upstream=dict(row.upstream or {}),
                version=row.version,
                notes=list(row.notes or []),
                files=[
                    FileEntry(
                        path=f.path,
                        size=f.size,
                        kind=FileKind(f.kind),
                        sha256=f.sha256,
                        upstream_url=f.upstream_url,
                        upstream_digest=f.upstream_digest,
                    )
                    for f in files
                ],
                created_at=row.created_at,
                created_by=row.created_by,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
            )

    def find_by_url(self, type_: ArtifactType, url: str) -> ArtifactSummary | None:
        with self._sessions() as session:
            row = session.scalar(
                select(ArtifactRow).where(ArtifactRow.type == type_.value, ArtifactRow.url == url).limit(1)
            )
            return _summary(row) if row else None

    def replace(self, artifact: Artifact) -> None:
        with self._sessions.begin() as session:
            row = session.scalar(select(ArtifactRow).where(ArtifactRow.id == artifact.id))
            if row is None:
                raise NotFound(f"artifact {artifact.id} does not exist")
            _fill_row(row, artifact)
            session.execute(delete(FileRow).where(FileRow.artifact_seq == row.seq))
            for file_row in _file_rows(artifact):
                file_row.artifact_seq = row.seq
                session.add(file_row)

    def delete(self, artifact_id: str) -> bool:
        with self._sessions.begin() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                return False
            session.execute(delete(FileRow).where(FileRow.artifact_seq == seq))
            session.execute(delete(ArtifactRow).where(ArtifactRow.seq == seq))
            return True

    def reset(self) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(FileRow))
            session.execute(delete(ArtifactRow))
            session.execute(delete(AuditRow))

    def page(
        self, filters: Sequence[NameFilter], after: int | None, limit: int
    ) -> tuple[list[ArtifactSummary], int | None]:
        clauses = []
        for name, types in filters:
            parts = []
            if name is not None:
                parts.append(ArtifactRow.name == name)
            if types:
                parts.append(ArtifactRow.type.in_(sorted(t.value for t in types)))
            clauses.append(and_(true(), *parts))
        query = select(ArtifactRow.seq, ArtifactRow.id, ArtifactRow.name, ArtifactRow.type)
        if clauses:
            query = query.where(or_(*clauses))
        if after is not None:
            query = query.where(ArtifactRow.seq > after)
        # One row more than asked tells whether another page exists without counting the table.
        query = query.order_by(ArtifactRow.seq).limit(limit + 1)
        with self._sessions() as session:
            rows = session.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [ArtifactSummary(id=r.id, name=r.name, type=ArtifactType(r.type)) for r in rows]
        return items, (rows[-1].seq if more and rows else None)

    def by_name(self, name: str) -> list[ArtifactSummary]:
        query = (
            select(ArtifactRow.id, ArtifactRow.name, ArtifactRow.type)
            .where(ArtifactRow.name == name)
            .order_by(ArtifactRow.seq)
        )
        with self._sessions() as session:
            return [
                ArtifactSummary(id=r.id, name=r.name, type=ArtifactType(r.type))
                for r in session.execute(query)
            ]

    def match_text(
        self, matcher: TextMatcher, contains: Collection[str] | None = None, batch_size: int = 2000
    ) -> list[ArtifactSummary]:
        if self.engine.dialect.name == "sqlite":
            return self._match_text_sqlite(matcher)
        return self._match_text_streamed(matcher, contains, batch_size)

    def _match_text_sqlite(self, matcher: TextMatcher) -> list[ArtifactSummary]:
        """One pass inside SQLite: the matcher runs as a SQL function, so only matching rows ever
        become Python objects (a substring prefilter would cost a pass of its own here)."""

        def matches(text: str | None) -> bool:
            return bool(text) and matcher.search(text) is not None  # type: ignore[arg-type]

        query = (
            select(ArtifactRow.id, ArtifactRow.name, ArtifactRow.type)
            .where(or_(func.tmr_match(ArtifactRow.name), func.tmr_match(ArtifactRow.readme)))
            .order_by(ArtifactRow.seq)
        )
        with self._sessions() as session:
            raw: Any = session.connection().connection.driver_connection
            raw.create_function("tmr_match", 1, matches, deterministic=True)
            try:
                rows = session.execute(query).all()
            finally:
                raw.create_function("tmr_match", 1, None)
        return [ArtifactSummary(id=r.id, name=r.name, type=ArtifactType(r.type)) for r in rows]

    def _match_text_streamed(
        self, matcher: TextMatcher, contains: Collection[str] | None, batch_size: int
    ) -> list[ArtifactSummary]:
        """Stream candidates in keyset batches and match in Python. With `contains`, the database
        keeps only rows whose name or README holds one of the strings (a scan in C), so far fewer
        rows cross the wire."""
        columns = (ArtifactRow.seq, ArtifactRow.id, ArtifactRow.name, ArtifactRow.type, ArtifactRow.readme)
        prefilter = None
        if contains:
            patterns = ["%" + _like_escape(text) + "%" for text in contains]
            prefilter = or_(
                *[ArtifactRow.name.like(p, escape="\\") for p in patterns],
                *[ArtifactRow.readme.like(p, escape="\\") for p in patterns],
            )
        found: list[ArtifactSummary] = []
        after = 0
        while True:
            query = select(*columns).where(ArtifactRow.seq > after)
            if prefilter is not None:
                query = query.where(prefilter)
            with self._sessions() as session:
                rows = session.execute(query.order_by(ArtifactRow.seq).limit(batch_size)).all()
            if not rows:
                return found
            for r in rows:
                if matcher.search(r.name) is not None or (r.readme and matcher.search(r.readme) is not None):
                    found.append(ArtifactSummary(id=r.id, name=r.name, type=ArtifactType(r.type)))
            after = rows[-1].seq

    def count(self) -> dict[ArtifactType, int]:
        query = select(ArtifactRow.type, func.count()).group_by(ArtifactRow.type)
        with self._sessions() as session:
            found = {ArtifactType(t): int(n) for t, n in session.execute(query)}
        return {t: found.get(t, 0) for t in ArtifactType}

    def record_file_digest(self, artifact_id: str, path: str, sha256: str) -> None:
        with self._sessions.begin() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                raise NotFound(f"artifact {artifact_id} does not exist")
            session.execute(
                update(FileRow).where(FileRow.artifact_seq == seq, FileRow.path == path).values(sha256=sha256)
            )

    def referenced_digests(self) -> Iterator[str]:
        with self._sessions() as session:
            result = session.execute(
                select(FileRow.sha256).where(FileRow.sha256.is_not(None)).distinct()
            ).scalars()
            for digest in result:
                if digest:
                    yield digest

    def add_audit(self, entry: AuditEntry) -> None:
        with self._sessions.begin() as session:
            session.add(
                AuditRow(
                    artifact_id=entry.artifact.id,
                    artifact_type=entry.artifact.type.value,
                    artifact_name=entry.artifact.name,
                    user_name=entry.user_name,
                    user_is_admin=entry.user_is_admin,
                    action=entry.action,
                    at=entry.at,
                )
            )

    def audit_for(self, artifact_id: str) -> list[AuditEntry]:
        query = select(AuditRow).where(AuditRow.artifact_id == artifact_id).order_by(AuditRow.seq)
        with self._sessions() as session:
            return [
                AuditEntry(
                    user_name=r.user_name,
                    user_is_admin=r.user_is_admin,
                    at=r.at,
                    artifact=ArtifactSummary(
                        id=r.artifact_id, name=r.artifact_name, type=ArtifactType(r.artifact_type)
                    ),
                    action=r.action,
                )
                for r in session.scalars(query)
            ]

    def ping(self) -> None:
        try:
            with self._sessions() as session:
                session.execute(select(1))
        except OperationalError as exc:
            raise StorageUnavailable(f"metadata store unreachable: {exc.orig}") from exc

    # -- accounts ----------------------------------------------------------------------------
    def get_user(self, name: str) -> User | None:
        with self._sessions() as session:
            row = session.get(UserRow, name)
            return User(row.name, row.is_admin, row.password_hash) if row else None

    def put_user(self, user: User) -> None:
        with self._sessions.begin() as session:
            row = session.get(UserRow, user.name)
            if row is None:
                session.add(
                    UserRow(
                        name=user.name,
                        password_hash=user.password_hash,
                        is_admin=user.is_admin,
                        created_at=datetime.now().astimezone(),
                    )
                )
            else:
                row.password_hash = user.password_hash
                row.is_admin = user.is_admin

    def delete_users_except(self, keep: Collection[str]) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(TokenRow).where(TokenRow.user_name.not_in(list(keep))))
            session.execute(delete(UserRow).where(UserRow.name.not_in(list(keep))))

    def add_token(self, token: IssuedToken) -> None:
        with self._sessions.begin() as session:
            session.add(
                TokenRow(
                    jti=token.jti,
                    user_name=token.user_name,
                    issued_at=token.issued_at,
                    expires_at=token.expires_at,
                    uses=0,
                    max_uses=token.max_uses,
                )
            )

    def spend_token(self, jti: str, now: datetime) -> bool:
        # One conditional UPDATE: concurrent workers can never spend the same use twice.
        with self._sessions.begin() as session:
            result = session.execute(
                update(TokenRow)
                .where(TokenRow.jti == jti, TokenRow.uses < TokenRow.max_uses, TokenRow.expires_at > now)
                .values(uses=TokenRow.uses + 1)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def state(self, key: str, default: str) -> str:
        with self._sessions() as session:
            row = session.get(KeyValueRow, key)
            if row is not None:
                return row.value
        try:
            with self._sessions.begin() as session:
                session.add(KeyValueRow(key=key, value=default))
        except SqlIntegrityError:
            pass  # another worker wrote it first; theirs wins
        with self._sessions() as session:
            row = session.get(KeyValueRow, key)
            assert row is not None
            return row.value
