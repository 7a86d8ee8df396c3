"""The artifact as the domain sees it: frozen values, free of any storage or web framework.

Entities pass between layers as values: a change is a new value (`dataclasses.replace`), so no
layer can alter what another still holds. Collections are tuples and frozensets for the same
reason; the constructors accept any iterable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class ArtifactType(StrEnum):
    MODEL = "model"
    DATASET = "dataset"
    CODE = "code"


class Visibility(StrEnum):
    """Public artifacts are visible to every user; private ones (uploads, the company's own) only
    to their owner and to admins."""

    PUBLIC = "public"
    PRIVATE = "private"


class FileKind(StrEnum):
    WEIGHTS = "weights"
    CONFIG = "config"
    TOKENIZER = "tokenizer"
    DOCS = "docs"
    CODE = "code"
    DATA = "data"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of an artifact. `sha256` is None until the bytes have been seen (large upstream
    files are recorded first and mirrored on first download); `upstream_digest` is what the
    upstream vouches for (an LFS sha256, or a git blob sha1 prefixed with ``git:``)."""

    path: str
    size: int
    kind: FileKind
    sha256: str | None = None
    upstream_url: str | None = None
    upstream_digest: str | None = None
    crc32: int | None = None  # recorded with the bytes, so zip headers are known before streaming
    safety: dict[str, Any] | None = None  # the verdict on a weights file's bytes (tmr.safety)

    @property
    def unsafe(self) -> bool:
        return bool(self.safety and self.safety.get("unsafe"))


@dataclass(frozen=True, slots=True)
class ArtifactLink:
    """A reference from this artifact to a parent (base model, dataset, code), by normalised key.
    It resolves at query time against whatever is registered then."""

    key: str
    relationship: str
    source: str


@dataclass(frozen=True, slots=True)
class Artifact:
    id: str
    type: ArtifactType
    name: str
    url: str
    source: str
    readme: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    upstream: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    visibility: Visibility = Visibility.PUBLIC
    notes: tuple[str, ...] = ()
    files: tuple[FileEntry, ...] = ()
    keys: frozenset[str] = frozenset()
    links: tuple[ArtifactLink, ...] = ()
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None

    def __post_init__(self) -> None:
        # Callers may pass lists and sets; the value keeps immutable copies.
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "files", tuple(self.files))
        object.__setattr__(self, "keys", frozenset(self.keys))
        object.__setattr__(self, "links", tuple(self.links))

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> FileEntry | None:
        return next((f for f in self.files if f.path == path), None)

    def with_files(self, changed: Iterable[FileEntry]) -> Artifact:
        """A copy whose files of the same paths are replaced by `changed`."""
        by_path = {f.path: f for f in changed}
        if not by_path:
            return self
        return replace(self, files=tuple(by_path.get(f.path, f) for f in self.files))


@dataclass(frozen=True, slots=True)
class ArtifactSummary:
    """The contract's ArtifactMetadata: what listings return."""

    id: str
    name: str
    type: ArtifactType
    version: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    user_name: str
    user_is_admin: bool
    at: datetime
    artifact: ArtifactSummary
    action: str
