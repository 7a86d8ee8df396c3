"""SQLAlchemy table definitions of the metadata store. Only `tmr.storage` sees these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


def table(model: type[Base]) -> Table:
    """A mapped class's table, for the hot paths that read and write rows without the ORM's unit
    of work (a download's token, artifact and history: docs/performance.md)."""
    return cast(Table, model.__table__)


class ArtifactRow(Base):
    """One artifact. `seq` orders artifacts for keyset paging; `id` is the public identifier."""

    __tablename__ = "artifacts"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(512), nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    readme: Mapped[str] = mapped_column(Text, nullable=False, default="")
    card: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    license: Mapped[str | None] = mapped_column(String(256))
    upstream: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    version: Mapped[str | None] = mapped_column(String(128))
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="public")
    notes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (
        Index("ix_artifacts_name", "name"),
        Index("ix_artifacts_type_seq", "type", "seq"),
        Index("ix_artifacts_type_url", "type", "url", unique=True),
        Index("ix_artifacts_visibility_owner", "visibility", "created_by"),
    )


class FileRow(Base):
    __tablename__ = "artifact_files"

    artifact_seq: Mapped[int] = mapped_column(
        ForeignKey("artifacts.seq", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    crc32: Mapped[int | None] = mapped_column(BigInteger)
    upstream_url: Mapped[str | None] = mapped_column(Text)
    upstream_digest: Mapped[str | None] = mapped_column(String(96))
    safety: Mapped[dict[str, Any] | None] = mapped_column(JSON)


ALL_PERMISSIONS = "upload,search,download"


class UserRow(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(512), nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # Comma-separated permission names (0008); admins hold every permission whatever this says.
    permissions: Mapped[str] = mapped_column(
        String(64), nullable=False, default=ALL_PERMISSIONS, server_default=ALL_PERMISSIONS
    )


class TokenRow(Base):
    """Issued tokens, so expiry and the use budget are counted on the server, not trusted from
    the client."""

    __tablename__ = "tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(
        ForeignKey("users.name", ondelete="CASCADE"), nullable=False, index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_uses: Mapped[int] = mapped_column(Integer, nullable=False)


class AuditRow(Base):
    __tablename__ = "audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    artifact_type: Mapped[str] = mapped_column(String(16), nullable=False)
    artifact_name: Mapped[str] = mapped_column(String(512), nullable=False)
    user_name: Mapped[str] = mapped_column(String(256), nullable=False)
    user_is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class KeyValueRow(Base):
    """Small persistent settings the registry generates for itself (e.g. the JWT signing key),
    shared by every worker through the database."""

    __tablename__ = "registry_state"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class KeyRow(Base):
    """The names an artifact answers to in lineage references (repo id, name, URL), lower-case."""

    __tablename__ = "artifact_keys"

    artifact_seq: Mapped[int] = mapped_column(
        ForeignKey("artifacts.seq", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(512), primary_key=True, index=True)


class LinkRow(Base):
    """A parent an artifact names (base model, dataset, code), by key."""

    __tablename__ = "artifact_links"

    artifact_seq: Mapped[int] = mapped_column(
        ForeignKey("artifacts.seq", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(512), primary_key=True, index=True)
    relationship: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)


class RatingRow(Base):
    """The stored rating of a model with the evidence it came from."""

    __tablename__ = "ratings"

    artifact_seq: Mapped[int] = mapped_column(
        ForeignKey("artifacts.seq", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    failed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    engine_version: Mapped[int] = mapped_column(Integer, nullable=False)


class OpsMinuteRow(Base):
    """One instance's aggregates of one route for one minute (0006); see `tmr.storage.operations`."""

    __tablename__ = "ops_minutes"

    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    instance: Mapped[str] = mapped_column(String(64), primary_key=True)
    route: Mapped[str] = mapped_column(String(256), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, nullable=False)
    server_errors: Mapped[int] = mapped_column(Integer, nullable=False)
    latency_ms_sum: Mapped[float] = mapped_column(Float, nullable=False)
    latency: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    downloads: Mapped[int] = mapped_column(Integer, nullable=False)
    bytes_served: Mapped[int] = mapped_column(BigInteger, nullable=False)
    registrations: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class OpsLogRow(Base):
    """A recent log line of any instance (0006), kept for the operations dashboard."""

    __tablename__ = "ops_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    instance: Mapped[str] = mapped_column(String(64), nullable=False)
    levelno: Mapped[int] = mapped_column(Integer, nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    logger: Mapped[str] = mapped_column(String(256), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    __table_args__ = (Index("ix_ops_log_levelno_seq", "levelno", "seq"),)


class WorkloadRunRow(Base):
    """A download workload run (0007); see `tmr.storage.workloads`. `active` is 1 while the run is
    queued or running and NULL after: its unique index lets at most one run be active, whichever
    worker starts it (NULLs never collide, on SQLite and PostgreSQL alike)."""

    __tablename__ = "workload_runs"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    started_by: Mapped[str] = mapped_column(String(256), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    artifact_id: Mapped[str] = mapped_column(String(64), nullable=False)
    artifact_name: Mapped[str] = mapped_column(String(512), nullable=False)
    clients: Mapped[int] = mapped_column(Integer, nullable=False)
    requests: Mapped[int] = mapped_column(Integer, nullable=False)
    time_limit_s: Mapped[int] = mapped_column(Integer, nullable=False)
    parts: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    active: Mapped[int | None] = mapped_column(Integer, unique=True)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    throughput_mb_s: Mapped[float | None] = mapped_column(Float)
    requests_per_s: Mapped[float | None] = mapped_column(Float)
    mean_ms: Mapped[float | None] = mapped_column(Float)
    median_ms: Mapped[float | None] = mapped_column(Float)
    p99_ms: Mapped[float | None] = mapped_column(Float)
    errors: Mapped[int | None] = mapped_column(Integer)
    first_error: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInFailureRow(Base):
    """Failed sign-ins counted per user and per client address (0008), so throttling holds
    across workers and Lambda instances. `key` is `user:<name>` or `addr:<address>`."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MonitorRow(Base):
    """The JavaScript monitor of a sensitive model (0008): run before each of its downloads."""

    __tablename__ = "monitors"

    artifact_seq: Mapped[int] = mapped_column(
        ForeignKey("artifacts.seq", ondelete="CASCADE"), primary_key=True
    )
    program: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    set_by: Mapped[str] = mapped_column(String(256), nullable=False)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class DownloadEventRow(Base):
    """One download asked for (0008): who, from where, which parts, allowed or refused, and the
    monitor's exit status. Kept after the artifact is deleted: who took a model outlives it."""

    __tablename__ = "download_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    artifact_type: Mapped[str] = mapped_column(String(16), nullable=False)
    artifact_name: Mapped[str] = mapped_column(String(512), nullable=False)
    user_name: Mapped[str] = mapped_column(String(256), nullable=False, index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    door: Mapped[str] = mapped_column(String(16), nullable=False)
    parts: Mapped[str | None] = mapped_column(String(1024))
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    monitor_exit: Mapped[int | None] = mapped_column(Integer)
    monitor_output: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class SearchHitRow(Base):
    """One artifact shown by one search (0008): its popularity in search, and whether a later
    download by the same user was preceded by finding it."""

    __tablename__ = "search_hits"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    user_name: Mapped[str] = mapped_column(String(256), nullable=False, index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class TransactionRow(Base):
    """A transaction of several artifact changes (0009): open until executed, abandoned or past
    `expires_at`. Its flip from open to committed is written in the same database transaction as
    the artifacts it changes."""

    __tablename__ = "transactions"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    owner: Mapped[str] = mapped_column(String(256), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    commands: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index("ix_transactions_owner_seq", "owner", "seq"),
        Index("ix_transactions_state_expires_at", "state", "expires_at"),
    )


class TransactionCommandRow(Base):
    """One command of a transaction, in order. `target_key` (a hash of the artifact id, or of the
    type and source a new artifact would take) is unique per transaction: a transaction touches
    an artifact once. `staged` lists an upload's files, already stored as blobs."""

    __tablename__ = "transaction_commands"

    transaction_seq: Mapped[int] = mapped_column(
        ForeignKey("transactions.seq", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    op: Mapped[str] = mapped_column(String(16), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    url: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(512))
    artifact_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(128))
    revision: Mapped[datetime | None] = mapped_column(UTCDateTime())
    staged: Mapped[list[Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    target_key: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (Index("ix_transaction_commands_target", "transaction_seq", "target_key", unique=True),)


class TransactionBlobRow(Base):
    """A blob staged by a transaction's upload: referenced (kept from orphan collection) while the
    transaction is open and unexpired."""

    __tablename__ = "transaction_blobs"

    transaction_seq: Mapped[int] = mapped_column(
        ForeignKey("transactions.seq", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)


class UploadSessionRow(Base):
    """A resumable upload (0010): a zip arriving in parts. Until `expires_at` its parts' blobs
    are kept from orphan collection (`referenced_digests`), as an open transaction's staged blobs
    are. `state` is `open`, or `finishing` once a finish has claimed it."""

    __tablename__ = "upload_sessions"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    owner: Mapped[str] = mapped_column(String(256), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(512), nullable=False)
    version: Mapped[str | None] = mapped_column(String(128))
    length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    part_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class UploadPartRow(Base):
    """A stored part of an upload session: the blob holding bytes [start, start + size)."""

    __tablename__ = "upload_parts"

    session_seq: Mapped[int] = mapped_column(
        ForeignKey("upload_sessions.seq", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
