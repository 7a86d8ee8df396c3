"""The SQL metadata store: artifacts, files, users, tokens and audit on SQLite or PostgreSQL.

One class implements the domain's repository protocols; every public method runs in its own
transaction, so a failure leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from psycopg.types.string import ByteaBinaryLoader
from sqlalchemy import (
    ColumnElement,
    Connection,
    LargeBinary,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from tmr.artifacts.interfaces import (
    ArtifactChange,
    ChangeKind,
    NameFilter,
    Scope,
    Settlement,
    StoredRating,
    TextMatcher,
)
from tmr.artifacts.models import (
    Artifact,
    ArtifactLink,
    ArtifactSummary,
    ArtifactType,
    AuditEntry,
    FileEntry,
    FileKind,
    Visibility,
)
from tmr.errors import ChangedMeanwhile, Conflict, NotFound
from tmr.storage.accounts import SqlAccountRows
from tmr.storage.database import migrate
from tmr.storage.secrets import reread_credentials_when_refused
from tmr.storage.sessions import unstorable
from tmr.storage.tables import (
    ArtifactRow,
    AuditRow,
    FileRow,
    KeyRow,
    KeyValueRow,
    LinkRow,
    RatingRow,
    TransactionBlobRow,
    TransactionCommandRow,
    TransactionRow,
    UploadPartRow,
    UploadSessionRow,
    table,
)
from tmr.storage.transactions import delete_transactions
from tmr.storage.upload_sessions import delete_upload_sessions


def _summary(row: Any) -> ArtifactSummary:
    """A listing's item from a row (or a selected tuple) with id, name, type and version."""
    return ArtifactSummary(id=row.id, name=row.name, type=ArtifactType(row.type), version=row.version)


# What replacing an artifact's content writes (its id, seq and creation stay).
_REPLACED = (
    "type", "name", "url", "source", "readme", "card", "license", "upstream", "version",
    "visibility", "notes", "size_bytes", "updated_at", "updated_by",
)  # fmt: skip
_LISTED = (ArtifactRow.id, ArtifactRow.name, ArtifactRow.type, ArtifactRow.version)

# An artifact's read, built once (storage/sessions.py, `_reading`): every download makes it.
_ARTIFACTS, _FILES, _LINKS = table(ArtifactRow), table(FileRow), table(LinkRow)
_ARTIFACT_BY_ID = select(_ARTIFACTS).where(_ARTIFACTS.c.id == bindparam("id"))
_FILES_OF = select(_FILES).where(_FILES.c.artifact_seq == bindparam("seq")).order_by(_FILES.c.path)
_KEYS_OF = select(table(KeyRow).c.key).where(table(KeyRow).c.artifact_seq == bindparam("seq"))
_LINKS_OF = select(_LINKS).where(_LINKS.c.artifact_seq == bindparam("seq"))
_STATE_OF = select(table(KeyValueRow).c.value).where(table(KeyValueRow).c.key == bindparam("key"))
_INSERT_AUDIT = insert(table(AuditRow))


def _in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if scope.viewer is not None:
        clauses.append(
            or_(ArtifactRow.visibility == Visibility.PUBLIC.value, ArtifactRow.created_by == scope.viewer)
        )
    if scope.versioned:
        clauses.append(ArtifactRow.version.is_not(None))
    return clauses


def _file_rows(artifact: Artifact) -> list[FileRow]:
    return [
        FileRow(
            path=f.path,
            size=f.size,
            kind=f.kind.value,
            sha256=f.sha256,
            upstream_url=f.upstream_url,
            upstream_digest=f.upstream_digest,
            crc32=f.crc32,
            safety=f.safety,
        )
        for f in artifact.files
    ]


def _add_children(session: Session, seq: int, artifact: Artifact) -> None:
    for file_row in _file_rows(artifact):
        file_row.artifact_seq = seq
        session.add(file_row)
    for key in sorted(artifact.keys):
        session.add(KeyRow(artifact_seq=seq, key=key))
    for link in artifact.links:
        session.add(
            LinkRow(artifact_seq=seq, key=link.key, relationship=link.relationship, source=link.source)
        )


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
    row.visibility = artifact.visibility.value
    row.notes = list(artifact.notes)
    row.size_bytes = artifact.size_bytes
    if artifact.created_at is not None:
        row.created_at = artifact.created_at
    row.created_by = artifact.created_by
    if artifact.updated_at is not None:
        row.updated_at = artifact.updated_at
    row.updated_by = artifact.updated_by


def _contains_any(texts: Collection[str]) -> ColumnElement[bool]:
    """Rows whose name or README contains one of `texts`: a substring scan in C inside the
    database, so rows that cannot match never reach the regex engine. (SQLite's LIKE ignores ASCII
    case: a few extra candidates, never a missed one.) A text with NUL is no hint (PostgreSQL
    cannot compare it): then every row is a candidate, as without hints. When the hints say every
    match starts with one of them (`at_start`, a pattern anchored with `^`), a text is checked
    only at its start (`LIKE 'lit%'`), which stops at the first differing character instead of
    reading the whole README (docs/performance.md has the figures)."""
    if any("\0" in t for t in texts):
        return true()
    lead = "" if getattr(texts, "at_start", False) else "%"
    patterns = [lead + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for t in texts]
    return or_(
        *[ArtifactRow.name.like(p, escape="\\") for p in patterns],
        *[ArtifactRow.readme.like(p, escape="\\") for p in patterns],
    )


def _matching_rows(matcher: TextMatcher, rows: Sequence[Any], name_at: int, readme_at: int) -> list[int]:
    """Indexes of the rows whose name or README (columns `name_at` and `readme_at`, as UTF-8
    bytes) matches: in one RE2 pass over the batch when the matcher offers it (`matching`, see
    tmr.search.regex), one search per text otherwise."""
    batch = getattr(matcher, "matching", None)
    if batch is None:
        return [
            i
            for i, row in enumerate(rows)
            if matcher.search(row[name_at]) is not None
            or (row[readme_at] and matcher.search(row[readme_at]) is not None)
        ]
    texts: list[bytes] = []
    owners: list[int] = []
    for i, row in enumerate(rows):
        texts.append(row[name_at])
        owners.append(i)
        if row[readme_at]:  # an empty README is searched by no pattern, not even `^$`
            texts.append(row[readme_at])
            owners.append(i)
    return sorted({owners[j] for j in batch(texts)})


def insert_audit(session: Session | Connection, entry: AuditEntry) -> None:
    """Write one audit entry in `session`'s transaction (the download history writes its own with
    each download, in the same transaction as the download's row)."""
    session.execute(
        _INSERT_AUDIT,
        {
            "artifact_id": entry.artifact.id,
            "artifact_type": entry.artifact.type.value,
            "artifact_name": entry.artifact.name,
            "user_name": entry.user_name,
            "user_is_admin": entry.user_is_admin,
            "action": entry.action,
            "at": entry.at,
        },
    )


class SqlMetadataStore(SqlAccountRows):
    """Implements ArtifactRepository, AccountRepository and the state store over one SQLAlchemy
    engine, with the engine's upkeep (migrations, credential rotation, disposal)."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    def follow_credentials(self, read: Callable[[], str], label: str) -> None:
        reread_credentials_when_refused(self.engine, read, label=label)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- artifacts -------------------------------------------------------------------------
    def create(self, artifact: Artifact) -> None:
        row = ArtifactRow(id=artifact.id)
        _fill_row(row, artifact)
        try:
            with self._write() as session:
                session.add(row)
                session.flush()
                _add_children(session, row.seq, artifact)
        except SqlIntegrityError as exc:
            raise Conflict(f"artifact id {artifact.id} is taken") from exc

    def get(self, artifact_id: str) -> Artifact | None:
        with self._reading() as connection:
            row = connection.execute(_ARTIFACT_BY_ID, {"id": artifact_id}).first()
            if row is None:
                return None
            of_it = {"seq": row.seq}
            files = connection.execute(_FILES_OF, of_it).all()
            keys = set(connection.scalars(_KEYS_OF, of_it))
            links = [
                ArtifactLink(link.key, link.relationship, link.source)
                for link in connection.execute(_LINKS_OF, of_it)
            ]
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
                visibility=Visibility(row.visibility),
                notes=tuple(row.notes or ()),
                files=tuple(
                    FileEntry(
                        path=f.path,
                        size=f.size,
                        kind=FileKind(f.kind),
                        sha256=f.sha256,
                        upstream_url=f.upstream_url,
                        upstream_digest=f.upstream_digest,
                        crc32=f.crc32,
                        safety=dict(f.safety) if f.safety else None,
                    )
                    for f in files
                ),
                keys=frozenset(keys),
                links=tuple(links),
                created_at=row.created_at,
                created_by=row.created_by,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
            )

    def find_by_url(self, type_: ArtifactType, url: str) -> ArtifactSummary | None:
        with self._read() as session:
            row = session.scalar(
                select(ArtifactRow).where(ArtifactRow.type == type_.value, ArtifactRow.url == url).limit(1)
            )
            return _summary(row) if row else None

    def replace(self, artifact: Artifact, expected: datetime | None = None) -> None:
        with self._write() as session:
            # Locked until the commit (PostgreSQL; SQLite has one writer), so `expected` holds.
            row = session.scalar(select(ArtifactRow).where(ArtifactRow.id == artifact.id).with_for_update())
            if row is None:
                raise NotFound(f"artifact {artifact.id} does not exist")
            if expected is not None and row.updated_at != expected:
                raise ChangedMeanwhile(f"{artifact.type.value} {artifact.id} changed since it was read")
            _fill_row(row, artifact)
            for table in (FileRow, KeyRow, LinkRow, RatingRow):
                session.execute(delete(table).where(table.artifact_seq == row.seq))
            _add_children(session, row.seq, artifact)

    def delete(self, artifact_id: str) -> bool:
        with self._write() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                return False
            for table in (FileRow, KeyRow, LinkRow, RatingRow):
                session.execute(delete(table).where(table.artifact_seq == seq))
            session.execute(delete(ArtifactRow).where(ArtifactRow.seq == seq))
            return True

    def reset(self) -> None:
        with self._write() as session:
            for table in (FileRow, KeyRow, LinkRow, RatingRow, ArtifactRow, AuditRow):
                session.execute(delete(table))
            delete_transactions(session)
            delete_upload_sessions(session)

    def apply(self, changes: Sequence[ArtifactChange], settlement: Settlement) -> None:
        """One database transaction: the settled transaction's row first (open and unexpired, or
        nothing happens), then each artifact change in order (a replace or delete conditional
        on the `updated_at` its writer read), then the audit entries. Any conflict rolls all of
        it back; a process killed before the commit leaves it all as it was."""
        with self._write() as session:
            seq = self._settle(session, settlement)
            for change in changes:
                try:
                    with session.begin_nested():
                        self._change(session, change)
                except SqlIntegrityError as exc:
                    raise self._taken(session, change) from exc
            for change in changes:
                if change.audit is not None:
                    insert_audit(session, change.audit)
            for index, result in enumerate(settlement.results):
                session.execute(
                    update(TransactionCommandRow)
                    .where(
                        TransactionCommandRow.transaction_seq == seq, TransactionCommandRow.position == index
                    )
                    .values(result=result)
                )

    @staticmethod
    def _settle(session: Session, settlement: Settlement) -> int:
        """Flip the transaction from open to committed: only one execute can."""
        done = session.execute(
            update(TransactionRow)
            .where(
                TransactionRow.id == settlement.transaction_id,
                TransactionRow.state == "open",
                TransactionRow.expires_at > settlement.at,
            )
            .values(state="committed", finished_at=settlement.at)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"transaction {settlement.transaction_id} is no longer open", index=None)
        seq = session.scalar(select(TransactionRow.seq).where(TransactionRow.id == settlement.transaction_id))
        assert seq is not None  # the row just updated
        return seq

    @staticmethod
    def _change(session: Session, change: ArtifactChange) -> None:
        artifact = change.artifact
        if change.kind is ChangeKind.CREATE:
            row = ArtifactRow(id=artifact.id)
            _fill_row(row, artifact)
            session.add(row)
            session.flush()
            _add_children(session, row.seq, artifact)
            session.flush()
            return
        # Locked until the commit (PostgreSQL; SQLite has one writer): the write below cannot miss.
        current = session.scalar(
            select(ArtifactRow.seq)
            .where(ArtifactRow.id == artifact.id, ArtifactRow.updated_at == change.expected)
            .with_for_update()
        )
        if current is None:
            raise Conflict(
                f"{artifact.type.value} {artifact.id} changed or was deleted since the command was appended",
                index=change.index,
            )
        if change.kind is ChangeKind.REPLACE:
            values = ArtifactRow()
            _fill_row(values, artifact)
            replaced = {c: getattr(values, c) for c in _REPLACED}
            session.execute(update(ArtifactRow).where(ArtifactRow.seq == current).values(**replaced))
        for child in (FileRow, KeyRow, LinkRow, RatingRow):
            session.execute(delete(child).where(child.artifact_seq == current))
        if change.kind is ChangeKind.DELETE:
            session.execute(delete(ArtifactRow).where(ArtifactRow.seq == current))
        else:
            _add_children(session, current, artifact)
        session.flush()

    @staticmethod
    def _taken(session: Session, change: ArtifactChange) -> Conflict:
        """Why a change's insert was refused: its source is registered already (another
        transaction or a single door got there first), or its id is (a collision)."""
        artifact = change.artifact
        if session.scalar(
            select(ArtifactRow.id).where(
                ArtifactRow.type == artifact.type.value, ArtifactRow.url == artifact.url
            )
        ):
            return Conflict(
                f"a {artifact.type.value} with url {artifact.url} is already registered", index=change.index
            )
        return Conflict(f"artifact id {artifact.id} is taken", index=change.index)

    def page(
        self,
        filters: Sequence[NameFilter],
        after: int | None,
        limit: int,
        scope: Scope,
        accept: Callable[[ArtifactSummary], bool] | None = None,
    ) -> tuple[list[ArtifactSummary], int | None]:
        clauses = []
        for name, types in filters:
            parts = []
            if name is not None:
                parts.append(ArtifactRow.name == name)
            if types:
                parts.append(ArtifactRow.type.in_(sorted(t.value for t in types)))
            clauses.append(and_(true(), *parts))
        query = select(ArtifactRow.seq, *_LISTED).where(*_in_scope(scope))
        if clauses:
            query = query.where(or_(*clauses))
        # One row more than asked tells whether another page exists without counting the table.
        # With a Python-side `accept` (version ranges), batches are read until the page is full.
        batch = limit + 1 if accept is None else max(4 * limit, 500)
        taken: list[tuple[int, ArtifactSummary]] = []
        cursor = after
        with self._read() as session:
            while len(taken) <= limit:
                window = query if cursor is None else query.where(ArtifactRow.seq > cursor)
                rows = session.execute(window.order_by(ArtifactRow.seq).limit(batch)).all()
                for row in rows:
                    item = _summary(row)
                    if accept is None or accept(item):
                        taken.append((row.seq, item))
                if len(rows) < batch:
                    break
                cursor = rows[-1].seq
        more = len(taken) > limit
        taken = taken[:limit]
        return [item for _, item in taken], (taken[-1][0] if more and taken else None)

    def by_name(self, name: str, scope: Scope) -> list[ArtifactSummary]:
        if unstorable(name):
            return []
        query = select(*_LISTED).where(ArtifactRow.name == name, *_in_scope(scope)).order_by(ArtifactRow.seq)
        with self._read() as session:
            return [_summary(r) for r in session.execute(query)]

    def match_text(
        self,
        matcher: TextMatcher,
        scope: Scope,
        contains: Collection[str] | None = None,
        batch_size: int = 2000,
    ) -> list[ArtifactSummary]:
        clauses = _in_scope(scope)
        if contains:
            clauses.append(_contains_any(contains))
        if self.engine.dialect.name == "sqlite":
            # Row by row inside SQLite: taking rows out in batches for `matching` (as on
            # PostgreSQL) measured 7 % slower over a million rows (docs/performance.md).
            return self._match_text_sqlite(matcher, clauses)
        return self._match_text_streamed(matcher, clauses, batch_size)

    def _match_text_sqlite(
        self, matcher: TextMatcher, clauses: list[ColumnElement[bool]]
    ) -> list[ArtifactSummary]:
        """One pass inside SQLite: the matcher runs as a SQL function after the substring
        prefilter, so only matching rows ever become Python objects."""

        def matches(name: bytes, readme: bytes | None) -> bool:
            return matcher.search(name) is not None or (bool(readme) and matcher.search(readme) is not None)  # type: ignore[arg-type]

        query = select(*_LISTED).where(*clauses)
        # As BLOBs the texts reach the matcher as UTF-8 bytes, which is what RE2 reads anyway:
        # no decoding into Python strings and no re-encoding per row.
        as_bytes = (cast(ArtifactRow.name, LargeBinary), cast(ArtifactRow.readme, LargeBinary))
        query = query.where(func.tmr_match(*as_bytes)).order_by(ArtifactRow.seq)
        with self._read() as session:
            raw: Any = session.connection().connection.driver_connection
            raw.create_function("tmr_match", 2, matches, deterministic=True)
            try:
                rows = session.execute(query).all()
            finally:
                raw.create_function("tmr_match", 2, None)
        return [_summary(r) for r in rows]

    def _match_text_streamed(
        self, matcher: TextMatcher, clauses: list[ColumnElement[bool]], batch_size: int
    ) -> list[ArtifactSummary]:
        """PostgreSQL: one server-side cursor streams the (prefiltered, trigram-indexed) rows in
        batches of `batch_size`. Every column arrives in binary format as raw UTF-8 bytes (the
        bytea loader, in C, applied to text and varchar), the form RE2 reads: no name or README
        is decoded into a Python string, or taken through a Python-level loader, unless it
        matches. (Names as strings took google-re2's str path, which encodes each one and maps
        offsets back: the largest share of a full scan in the profile, see docs/performance.md.)"""
        query = select(*_LISTED, ArtifactRow.readme).where(*clauses)
        compiled = query.order_by(ArtifactRow.seq).compile(dialect=self.engine.dialect)
        found: list[ArtifactSummary] = []
        with self._read() as session:
            raw: Any = session.connection().connection.driver_connection
            # The scan reads every row of its cursor, so it is planned for all of them. Planned
            # for the first tenth (PostgreSQL's default for cursors), a literal-hint scan can walk
            # the primary key in order filtering every README instead of using the trigram
            # indexes and sorting the few rows they find (EXPLAIN in docs/performance.md).
            raw.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            with raw.cursor(name=f"tmr_scan_{id(found):x}", binary=True) as cursor:
                for text_type in ("text", "varchar"):
                    cursor.adapters.register_loader(text_type, ByteaBinaryLoader)
                cursor.execute(str(compiled), compiled.params, binary=True)
                while rows := cursor.fetchmany(batch_size):
                    for index in _matching_rows(matcher, rows, 1, 4):
                        artifact_id, name, type_, version, _readme = rows[index]
                        found.append(
                            ArtifactSummary(
                                artifact_id.decode(),
                                name.decode(),
                                ArtifactType(type_.decode()),
                                None if version is None else version.decode(),
                            )
                        )
        return found

    def count(self) -> dict[ArtifactType, int]:
        query = select(ArtifactRow.type, func.count()).group_by(ArtifactRow.type)
        with self._read() as session:
            found = {ArtifactType(t): int(n) for t, n in session.execute(query)}
        return {t: found.get(t, 0) for t in ArtifactType}

    def record_file_digest(self, artifact_id: str, path: str, sha256: str, crc32: int) -> None:
        with self._write() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                raise NotFound(f"artifact {artifact_id} does not exist")
            session.execute(
                update(FileRow)
                .where(FileRow.artifact_seq == seq, FileRow.path == path)
                .values(sha256=sha256, crc32=crc32)
            )

    def record_file_safety(self, artifact_id: str, files: Collection[FileEntry]) -> None:
        with self._write() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                raise NotFound(f"artifact {artifact_id} does not exist")
            for file in files:
                session.execute(
                    update(FileRow)
                    .where(FileRow.artifact_seq == seq, FileRow.path == file.path)
                    .values(safety=file.safety, kind=file.kind.value)
                )

    def referenced_digests(self, now: datetime | None = None) -> Iterator[str]:
        staged = select(TransactionBlobRow.sha256).join(
            TransactionRow, TransactionRow.seq == TransactionBlobRow.transaction_seq
        )
        staged = staged.where(TransactionRow.state == "open")
        # An upload session's parts, until it expires (tmr.storage.upload_sessions).
        parts = select(UploadPartRow.sha256).join(
            UploadSessionRow, UploadSessionRow.seq == UploadPartRow.session_seq
        )
        if now is not None:
            staged = staged.where(TransactionRow.expires_at > now)
            parts = parts.where(UploadSessionRow.expires_at > now)
        with self._read() as session:
            files = select(FileRow.sha256).where(FileRow.sha256.is_not(None))
            result = session.execute(union(files, staged, parts)).scalars()
            for digest in result:
                if digest:
                    yield digest

    def add_audit(self, entry: AuditEntry) -> None:
        with self._write() as session:
            insert_audit(session, entry)

    def audit_for(self, artifact_id: str) -> list[AuditEntry]:
        query = select(AuditRow).where(AuditRow.artifact_id == artifact_id).order_by(AuditRow.seq)
        with self._read() as session:
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

    # -- lineage -----------------------------------------------------------------------------
    def answering_to(self, keys: Collection[str], scope: Scope) -> dict[str, list[ArtifactSummary]]:
        """For each key, the artifacts in `scope` that answer to it."""
        if not keys:
            return {}
        query = (
            select(KeyRow.key, ArtifactRow.id, ArtifactRow.name, ArtifactRow.type)
            .join(ArtifactRow, ArtifactRow.seq == KeyRow.artifact_seq)
            .where(KeyRow.key.in_(sorted(keys)), *_in_scope(scope))
            .order_by(ArtifactRow.seq)
        )
        found: dict[str, list[ArtifactSummary]] = {}
        with self._read() as session:
            for r in session.execute(query):
                found.setdefault(r.key, []).append(ArtifactSummary(r.id, r.name, ArtifactType(r.type)))
        return found

    def linking_to(self, keys: Collection[str], scope: Scope) -> list[tuple[ArtifactSummary, ArtifactLink]]:
        """Artifacts in `scope` that name one of `keys` as a parent, with the link."""
        if not keys:
            return []
        query = (
            select(
                LinkRow.key,
                LinkRow.relationship,
                LinkRow.source,
                ArtifactRow.id,
                ArtifactRow.name,
                ArtifactRow.type,
            )
            .join(ArtifactRow, ArtifactRow.seq == LinkRow.artifact_seq)
            .where(LinkRow.key.in_(sorted(keys)), *_in_scope(scope))
            .order_by(ArtifactRow.seq)
        )
        with self._read() as session:
            return [
                (
                    ArtifactSummary(r.id, r.name, ArtifactType(r.type)),
                    ArtifactLink(r.key, r.relationship, r.source),
                )
                for r in session.execute(query)
            ]

    def keys_and_links(self, artifact_ids: Collection[str]) -> dict[str, tuple[set[str], list[ArtifactLink]]]:
        """Keys and links of several artifacts at once (one round trip per table)."""
        if not artifact_ids:
            return {}
        ids = sorted(artifact_ids)
        result: dict[str, tuple[set[str], list[ArtifactLink]]] = {i: (set(), []) for i in ids}
        with self._read() as session:
            key_rows = session.execute(
                select(ArtifactRow.id, KeyRow.key)
                .join(KeyRow, KeyRow.artifact_seq == ArtifactRow.seq)
                .where(ArtifactRow.id.in_(ids))
            )
            for key_row in key_rows:
                result[key_row.id][0].add(key_row.key)
            link_rows = session.execute(
                select(ArtifactRow.id, LinkRow.key, LinkRow.relationship, LinkRow.source)
                .join(LinkRow, LinkRow.artifact_seq == ArtifactRow.seq)
                .where(ArtifactRow.id.in_(ids))
            )
            for link_row in link_rows:
                result[link_row.id][1].append(
                    ArtifactLink(link_row.key, link_row.relationship, link_row.source)
                )
        return result

    def sizes(self, artifact_ids: Collection[str]) -> dict[str, int]:
        if not artifact_ids:
            return {}
        query = select(ArtifactRow.id, ArtifactRow.size_bytes).where(ArtifactRow.id.in_(sorted(artifact_ids)))
        with self._read() as session:
            return {r.id: int(r.size_bytes) for r in session.execute(query)}

    # -- ratings -------------------------------------------------------------------------------
    def save_rating(self, artifact_id: str, rating: StoredRating) -> None:
        # Two requests may rate one artifact at once (a model, and a child that rates its
        # parent): both delete nothing and insert, and the second insert meets the first's row.
        # Once that row is committed, a second attempt replaces it: the later rating wins.
        try:
            self._replace_rating(artifact_id, rating)
        except SqlIntegrityError:
            self._replace_rating(artifact_id, rating)

    def _replace_rating(self, artifact_id: str, rating: StoredRating) -> None:
        with self._write() as session:
            seq = session.scalar(select(ArtifactRow.seq).where(ArtifactRow.id == artifact_id))
            if seq is None:
                raise NotFound(f"artifact {artifact_id} does not exist")
            session.execute(delete(RatingRow).where(RatingRow.artifact_seq == seq))
            session.add(
                RatingRow(
                    artifact_seq=seq,
                    rating=rating.rating,
                    evidence={**rating.evidence, "_errors": rating.errors},
                    failed=rating.failed,
                    computed_at=rating.computed_at,
                    engine_version=rating.engine_version,
                )
            )

    def load_rating(self, artifact_id: str) -> StoredRating | None:
        query = (
            select(RatingRow)
            .join(ArtifactRow, ArtifactRow.seq == RatingRow.artifact_seq)
            .where(ArtifactRow.id == artifact_id)
        )
        with self._read() as session:
            row = session.scalar(query)
            if row is None:
                return None
            evidence = dict(row.evidence)
            errors = evidence.pop("_errors", {})
            return StoredRating(
                rating=dict(row.rating),
                evidence=evidence,
                errors=dict(errors),
                failed=row.failed,
                computed_at=row.computed_at,
                engine_version=row.engine_version,
            )

    def ping(self) -> None:
        with self._read() as session:
            session.execute(select(1))

    def peek_state(self, key: str) -> str | None:
        with self._reading() as connection:
            value: str | None = connection.scalar(_STATE_OF, {"key": key})
            return value

    def forget_states(self, prefix: str) -> None:
        """Drop every state whose key starts with `prefix` (a reset of one kind of state)."""
        with self._write() as session:
            session.execute(delete(KeyValueRow).where(KeyValueRow.key.startswith(prefix, autoescape=True)))

    def state(self, key: str, default: str) -> str:
        with self._read() as session:
            row = session.get(KeyValueRow, key)
            if row is not None:
                return row.value
        try:
            with self._write() as session:
                session.add(KeyValueRow(key=key, value=default))
        except SqlIntegrityError:
            pass  # another worker wrote it first; theirs wins
        with self._read() as session:
            row = session.get(KeyValueRow, key)
            assert row is not None
            return row.value
