"""SQLAlchemy table definitions of the metadata store. Only `tmr.storage` sees these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
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


class UserRow(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(512), nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


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
