"""What transactions need from storage, implemented in `tmr.storage.transactions`. The commit
itself is the artifact repository's `apply`, which settles the transaction in the same database
transaction as the artifacts it writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from tmr.transactions.models import Command, Transaction, TransactionState


class TransactionRepository(Protocol):
    """Every method is one database transaction."""

    def create(self, transaction: Transaction) -> None: ...

    def get(self, transaction_id: str) -> Transaction | None:
        """The transaction with its commands, as stored (expiry is the service's reading)."""
        ...

    def listing(self, owner: str | None, limit: int) -> Sequence[Transaction]:
        """The newest `limit` transactions of `owner` (everyone's when None), newest first, with
        `command_count` but without their commands."""
        ...

    def append(self, transaction_id: str, command: Command, now: datetime, max_commands: int) -> int:
        """Add `command` at the end and return its index, only while the transaction is open and
        unexpired at `now` (Conflict otherwise, and when another command has its target);
        InvalidInput once it holds `max_commands`."""
        ...

    def finish(
        self,
        transaction_id: str,
        state: TransactionState,
        reason: str,
        at: datetime,
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Mark an open transaction failed or abandoned; False when it was no longer open."""
        ...
