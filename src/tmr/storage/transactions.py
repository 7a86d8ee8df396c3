"""Transactions and their commands in the metadata store (see `tmr.transactions.service`).

Every worker and Lambda instance reads the same rows. Appending takes the transaction's row first
(an UPDATE that only an open, unexpired transaction passes), so appends to one transaction queue
one behind another, and two commands with one target meet the unique index. The commit is not
here: `SqlMetadataStore.apply` flips the state in the same database transaction as the artifacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from tmr.artifacts.models import ArtifactType, FileKind
from tmr.artifacts.uploads import ExplodedFile
from tmr.errors import Conflict, InvalidInput
from tmr.storage.sessions import SqlRepository
from tmr.storage.tables import TransactionBlobRow, TransactionCommandRow, TransactionRow
from tmr.transactions.models import Command, Op, Transaction, TransactionState

_OPEN = TransactionState.OPEN.value


def _staged_json(files: Sequence[ExplodedFile]) -> list[dict[str, Any]]:
    return [
        {"path": f.path, "size": f.size, "sha256": f.sha256, "crc32": f.crc32, "kind": f.kind.value}
        for f in files
    ]


def _staged(rows: list[dict[str, Any]] | None) -> tuple[ExplodedFile, ...]:
    return tuple(
        ExplodedFile(
            path=r["path"], size=r["size"], sha256=r["sha256"], crc32=r["crc32"], kind=FileKind(r["kind"])
        )
        for r in rows or ()
    )


def _command(row: TransactionCommandRow) -> Command:
    return Command(
        op=Op(row.op),
        type=ArtifactType(row.type),
        url=row.url,
        name=row.name,
        artifact_id=row.artifact_id,
        version=row.version,
        revision=row.revision,
        staged=_staged(row.staged),
        result=row.result,
    )


def _transaction(row: TransactionRow, commands: tuple[Command, ...] = ()) -> Transaction:
    return Transaction(
        id=row.id,
        owner=row.owner,
        state=TransactionState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        finished_at=row.finished_at,
        reason=row.reason,
        error=row.error,
        commands=commands,
        command_count=row.commands,
    )


def delete_transactions(session: Session) -> None:
    """Forget every transaction (the registry's reset)."""
    for table in (TransactionBlobRow, TransactionCommandRow, TransactionRow):
        session.execute(delete(table))


class SqlTransactionStore(SqlRepository):
    """Implements `tmr.transactions.interfaces.TransactionRepository`; every method is one
    transaction."""

    def create(self, transaction: Transaction) -> None:
        try:
            with self._write() as session:
                session.add(
                    TransactionRow(
                        id=transaction.id,
                        owner=transaction.owner,
                        state=transaction.state.value,
                        created_at=transaction.created_at,
                        expires_at=transaction.expires_at,
                        commands=0,
                    )
                )
        except SqlIntegrityError as exc:  # an id is time plus four random digits: all but never
            raise Conflict(f"transaction id {transaction.id} is taken") from exc

    def get(self, transaction_id: str) -> Transaction | None:
        with self._read() as session:
            row = session.scalar(select(TransactionRow).where(TransactionRow.id == transaction_id))
            if row is None:
                return None
            commands = session.scalars(
                select(TransactionCommandRow)
                .where(TransactionCommandRow.transaction_seq == row.seq)
                .order_by(TransactionCommandRow.position)
            )
            return _transaction(row, tuple(_command(c) for c in commands))

    def listing(self, owner: str | None, limit: int) -> list[Transaction]:
        query = select(TransactionRow).order_by(TransactionRow.seq.desc()).limit(limit)
        if owner is not None:
            query = query.where(TransactionRow.owner == owner)
        with self._read() as session:
            return [_transaction(row) for row in session.scalars(query)]

    def append(self, transaction_id: str, command: Command, now: datetime, max_commands: int) -> int:
        try:
            with self._write() as session:
                taken = session.execute(
                    update(TransactionRow)
                    .where(
                        TransactionRow.id == transaction_id,
                        TransactionRow.state == _OPEN,
                        TransactionRow.expires_at > now,
                    )
                    .values(commands=TransactionRow.commands + 1)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    raise Conflict(f"transaction {transaction_id} is no longer open")
                seq, position = session.execute(
                    select(TransactionRow.seq, TransactionRow.commands - 1).where(
                        TransactionRow.id == transaction_id
                    )
                ).one()
                if position >= max_commands:
                    raise InvalidInput(f"a transaction holds at most {max_commands} commands")
                session.add(
                    TransactionCommandRow(
                        transaction_seq=seq,
                        position=position,
                        op=command.op.value,
                        type=command.type.value,
                        url=command.url,
                        name=command.name,
                        artifact_id=command.artifact_id,
                        version=command.version,
                        revision=command.revision,
                        staged=_staged_json(command.staged) if command.staged else None,
                        target_key=command.target_key,
                    )
                )
                session.flush()
                digests = sorted({f.sha256 for f in command.staged})
                if digests:
                    present = set(
                        session.scalars(
                            select(TransactionBlobRow.sha256).where(
                                TransactionBlobRow.transaction_seq == seq,
                                TransactionBlobRow.sha256.in_(digests),
                            )
                        )
                    )
                    rows = [{"transaction_seq": seq, "sha256": d} for d in digests if d not in present]
                    if rows:
                        session.execute(insert(TransactionBlobRow), rows)
                return int(position)
        except SqlIntegrityError as exc:
            raise Conflict(
                f"transaction {transaction_id} already has a command for this artifact: "
                "a transaction touches each artifact once"
            ) from exc

    def finish(
        self,
        transaction_id: str,
        state: TransactionState,
        reason: str,
        at: datetime,
        error: dict[str, Any] | None = None,
    ) -> bool:
        with self._write() as session:
            done = session.execute(
                update(TransactionRow)
                .where(TransactionRow.id == transaction_id, TransactionRow.state == _OPEN)
                .values(state=state.value, reason=reason[:4000], finished_at=at, error=error)
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]
