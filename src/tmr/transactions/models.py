"""A transaction: commands appended one by one, applied all together or not at all.

Values only: the rules live in `transactions.service`, the rows in `storage.transactions`.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tmr.artifacts.models import ArtifactType
from tmr.artifacts.uploads import ExplodedFile

MAX_COMMANDS = 100  # one transaction's commands: a bound on the work one execute does


class TransactionState(enum.StrEnum):
    OPEN = "open"
    COMMITTED = "committed"
    FAILED = "failed"
    ABANDONED = "abandoned"


class Op(enum.StrEnum):
    REGISTER = "register"
    INGEST = "ingest"
    UPLOAD = "upload"
    UPDATE = "update"
    DELETE = "delete"


CREATING = frozenset({Op.REGISTER, Op.INGEST, Op.UPLOAD})


@dataclass(frozen=True, slots=True)
class Command:
    """One command as appended. `revision` is the target's `updated_at` when an update or delete
    was appended: applied only if the artifact still has it. `staged` holds an upload's files,
    already stored as blobs (invisible until the commit)."""

    op: Op
    type: ArtifactType
    url: str | None = None
    name: str | None = None
    artifact_id: str | None = None
    version: str | None = None
    revision: datetime | None = None
    staged: tuple[ExplodedFile, ...] = ()
    result: dict[str, Any] | None = None  # the artifact it made or changed, once committed

    @property
    def target(self) -> str:
        """What the command touches: an existing artifact's id, or the (type, source) it creates.
        One transaction touches each target once."""
        if self.op in CREATING:
            return f"new:{self.type.value}:{self.url}"
        return f"id:{self.artifact_id}"

    @property
    def target_key(self) -> str:
        """The target, hashed to a fixed length for a unique index."""
        return hashlib.sha256(self.target.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Transaction:
    id: str
    owner: str
    state: TransactionState
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None = None
    reason: str | None = None  # why it failed or was abandoned
    error: dict[str, Any] | None = None  # the failing command: index, status, code, message
    commands: tuple[Command, ...] = field(default_factory=tuple)
    command_count: int = 0  # also in a listing, which does not load the commands

    def as_of(self, now: datetime) -> Transaction:
        """How the transaction reads at `now`: an open one past its expiry is abandoned."""
        if self.state is TransactionState.OPEN and now >= self.expires_at:
            return Transaction(
                id=self.id,
                owner=self.owner,
                state=TransactionState.ABANDONED,
                created_at=self.created_at,
                expires_at=self.expires_at,
                finished_at=self.expires_at,
                reason=f"expired at {self.expires_at.isoformat()} before it was executed",
                error=self.error,
                commands=self.commands,
                command_count=self.command_count,
            )
        return self


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a committed command did: its index and op, and the artifact's id, name, type and URL."""

    index: int
    op: Op
    id: str
    name: str
    type: ArtifactType
    url: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "op": self.op.value,
            "id": self.id,
            "name": self.name,
            "type": self.type.value,
            "url": self.url,
        }
