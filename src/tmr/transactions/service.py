"""Transactions: several registrations, uploads, updates and deletes, visible all at once or
not at all (DESIGN.md: blobs are staged first, content-addressed and invisible; every metadata
change is applied in one database transaction, which also detects conflicts).

Commands are checked as they are appended, with the rules of the single doors (an upload's zip
is validated and exploded into blobs right away). `execute` prepares every command outside any
database transaction, exactly as `RegistrationService` prepares a single door's (fetch, judge,
gate), then hands all the changes to `ArtifactRepository.apply` with the transaction's state flip
from open to committed: one database transaction, so a conflict, a failure or a killed process
leaves every artifact as it was. Ratings follow the commit, as they follow a single door's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tmr.accounts.models import Permission, Principal
from tmr.accounts.permissions import require
from tmr.artifacts.ids import is_valid_id, new_artifact_id
from tmr.artifacts.interfaces import ArtifactChange, ChangeKind, Settlement
from tmr.artifacts.models import Artifact, ArtifactType
from tmr.artifacts.registration import Admission, RegistrationService, StagedUpload
from tmr.artifacts.service import ArtifactService, audit_entry
from tmr.artifacts.uploads import SpooledUpload
from tmr.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TmrError
from tmr.transactions.interfaces import TransactionRepository
from tmr.transactions.models import MAX_COMMANDS, Command, Op, Outcome, Transaction, TransactionState

log = logging.getLogger("tmr.transactions")


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command as a client sends it (JSON), before it is checked."""

    op: Op
    type: ArtifactType | None = None
    url: str | None = None
    name: str | None = None
    id: str | None = None


# Which fields each op needs and which it may carry besides.
_NEEDS: dict[Op, tuple[str, ...]] = {
    Op.REGISTER: ("type", "url"),
    Op.INGEST: ("url",),
    Op.UPDATE: ("type", "id", "url"),
    Op.DELETE: ("type", "id"),
}
_MAY: dict[Op, tuple[str, ...]] = {
    Op.REGISTER: ("name",),
    Op.INGEST: ("type", "name"),
    Op.UPDATE: ("name",),
    Op.DELETE: (),
}


def _checked_fields(request: CommandRequest) -> None:
    if request.op is Op.UPLOAD:
        raise InvalidInput("an upload command is the zip itself: POST it with ?op=upload&type=…&name=…")
    for field in _NEEDS[request.op]:
        if getattr(request, field) is None:
            raise InvalidInput(f"{request.op.value} commands need {field!r}")
    for field in ("type", "url", "name", "id"):
        if field not in _NEEDS[request.op] + _MAY[request.op] and getattr(request, field) is not None:
            raise InvalidInput(f"{request.op.value} commands take no {field!r}")
    if request.op is Op.INGEST and request.type not in (None, ArtifactType.MODEL):
        raise InvalidInput("ingest commands admit models only")


@dataclass(frozen=True, slots=True)
class _Prepared:
    command: Command
    change: ArtifactChange
    admission: Admission | None  # None for a delete


class TransactionService:
    def __init__(
        self,
        repo: TransactionRepository,
        artifacts: ArtifactService,
        registration: RegistrationService,
        *,
        ttl_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._artifacts = artifacts
        self._registration = registration
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock

    # -- opening and reading ---------------------------------------------------------------
    def open(self, principal: Principal) -> Transaction:
        """A new, empty transaction of `principal`, open until it expires."""
        require(principal, Permission.UPLOAD)
        now = self._clock()
        transaction = Transaction(
            id=new_artifact_id(),
            owner=principal.name,
            state=TransactionState.OPEN,
            created_at=now,
            expires_at=now + self._ttl,
        )
        self._repo.create(transaction)
        return transaction

    def get(self, principal: Principal, transaction_id: str) -> Transaction:
        """A transaction its owner (or an admin) may read; to anyone else it does not exist."""
        return self._visible(principal, transaction_id).as_of(self._clock())

    def listing(self, principal: Principal, limit: int = 50) -> list[Transaction]:
        """The caller's transactions (an admin's: everyone's), newest first."""
        now = self._clock()
        owner = None if principal.is_admin else principal.name
        return [t.as_of(now) for t in self._repo.listing(owner, limit)]

    # -- changing ----------------------------------------------------------------------------
    def append(
        self, principal: Principal, transaction_id: str, request: CommandRequest
    ) -> tuple[int, Command]:
        """A JSON command, checked as its single door would check it before reading upstream."""
        self._changeable(principal, transaction_id)
        _checked_fields(request)
        if request.op in (Op.REGISTER, Op.INGEST):
            type_ = request.type or ArtifactType.MODEL
            assert request.url is not None
            self._registration.check_register(principal, type_, request.url, request.name)
            command = Command(request.op, type_, url=request.url, name=request.name)
        else:
            assert request.type is not None
            assert request.id is not None
            if request.op is Op.UPDATE:
                current = self._registration.check_update(principal, request.type, request.id)
                if request.name is not None and request.name != current.name:
                    raise InvalidInput("the name in the command must match the artifact's name")
            else:
                current = self._artifacts.deletable(principal, request.type, request.id)
            command = Command(
                request.op, request.type, url=request.url, artifact_id=current.id, revision=current.updated_at
            )
        return self._append(transaction_id, command)

    def append_upload(
        self,
        principal: Principal,
        transaction_id: str,
        type_: ArtifactType,
        spooled: SpooledUpload,
        name: str,
        version: str | None,
    ) -> tuple[int, Command]:
        """An upload staged with its command: the zip validated and exploded into blobs now,
        kept from orphan collection while the transaction is open, visible only once committed."""
        self._changeable(principal, transaction_id)
        staged = self._registration.stage_upload(principal, type_, spooled, name, version)
        command = Command(
            Op.UPLOAD, type_, url=staged.url, name=staged.name, version=staged.version, staged=staged.files
        )
        return self._append(transaction_id, command)

    def abandon(self, principal: Principal, transaction_id: str) -> Transaction:
        """Give up an open transaction (its owner or an admin); its staged blobs become orphans."""
        transaction = self._visible(principal, transaction_id).as_of(self._clock())
        if transaction.state is not TransactionState.OPEN:
            raise self._closed(transaction)
        reason = f"abandoned by {principal.name}"
        if not self._repo.finish(transaction_id, TransactionState.ABANDONED, reason, self._clock()):
            raise self._closed(self._visible(principal, transaction_id).as_of(self._clock()))
        return self.get(principal, transaction_id)

    def execute(self, principal: Principal, transaction_id: str) -> tuple[Transaction, list[Outcome]]:
        """Apply every command or none. The failing command's error is raised with its index
        (the transaction is then `failed`); a conflict is a 409 and changes nothing."""
        transaction = self._changeable(principal, transaction_id)
        if not transaction.commands:
            raise InvalidInput("the transaction has no commands to execute")
        prepared: list[_Prepared] = []
        try:
            for index, command in enumerate(transaction.commands):
                prepared.append(self._prepare(principal, index, command))
            outcomes = [_outcome(p) for p in prepared]
            settlement = Settlement(transaction_id, [o.as_json() for o in outcomes], self._clock())
            self._artifacts.apply([p.change for p in prepared], settlement)
        except TmrError as exc:
            index = exc.details.get("index", len(prepared))
            if isinstance(exc, Conflict) and index is None:
                raise self._closed(self._visible(principal, transaction_id).as_of(self._clock())) from exc
            self._fail(transaction, index, exc)
            raise
        for item in prepared:
            if item.admission is not None:
                self._registration.settle(item.admission, item.change.artifact)
        log.info("transaction %s committed %d commands", transaction_id, len(prepared))
        return self.get(principal, transaction_id), outcomes

    # -- the steps ---------------------------------------------------------------------------
    def _prepare(self, principal: Principal, index: int, command: Command) -> _Prepared:
        """One command prepared as its single door prepares it (fetched, judged, gated), and
        the change it makes, stamped but not written."""
        now = self._clock()
        if command.op is Op.DELETE:
            assert command.artifact_id is not None
            current = self._artifacts.deletable(principal, command.type, command.artifact_id)
            change = ArtifactChange(ChangeKind.DELETE, current, expected=command.revision, index=index)
            return _Prepared(command, change, None)
        admission = self._admission(principal, command)
        if admission.replaces is None:
            artifact = self._artifacts.stamp_new(principal, admission.artifact, now)
            kind, action, expected = ChangeKind.CREATE, "CREATE", None
        else:
            current = admission.replaces
            artifact = self._artifacts.stamp_replacement(principal, current, admission.artifact, now)
            kind, action, expected = ChangeKind.REPLACE, "UPDATE", command.revision
        audit = audit_entry(principal, artifact, action)
        change = ArtifactChange(kind, artifact, expected=expected, audit=audit, index=index)
        return _Prepared(command, change, admission)

    def _admission(self, principal: Principal, command: Command) -> Admission:
        registration = self._registration
        assert command.url is not None
        if command.op is Op.REGISTER:
            return registration.prepare_register(principal, command.type, command.url, command.name)
        if command.op is Op.INGEST:
            return registration.prepare_ingest(principal, command.url, command.name)
        if command.op is Op.UPLOAD:
            assert command.name is not None
            staged = StagedUpload(command.type, command.name, command.version, command.url, command.staged)
            return registration.prepare_upload(staged)
        assert command.artifact_id is not None
        return registration.prepare_update(principal, command.type, command.artifact_id, command.url)

    def _append(self, transaction_id: str, command: Command) -> tuple[int, Command]:
        index = self._repo.append(transaction_id, command, self._clock(), MAX_COMMANDS)
        log.info("transaction %s: command %d (%s) appended", transaction_id, index, command.op.value)
        return index, command

    def _fail(self, transaction: Transaction, index: int, exc: TmrError) -> None:
        """Record the failing command and say which it was in the error the caller sees."""
        op = transaction.commands[index].op.value if index < len(transaction.commands) else "execute"
        exc.message = f"command {index} ({op}) failed: {exc.message}"
        exc.args = (exc.message,)
        exc.details = {**exc.details, "index": index}
        error = {"index": index, "status": exc.status_code, "code": exc.code, "message": exc.message}
        self._repo.finish(transaction.id, TransactionState.FAILED, exc.message, self._clock(), error)

    def _visible(self, principal: Principal, transaction_id: str) -> Transaction:
        if not is_valid_id(transaction_id):
            raise InvalidInput("transaction id must match ^[A-Za-z0-9-]+$")
        transaction = self._repo.get(transaction_id)
        if transaction is None or (transaction.owner != principal.name and not principal.is_admin):
            raise NotFound(f"no transaction with id {transaction_id}")
        return transaction

    def _changeable(self, principal: Principal, transaction_id: str) -> Transaction:
        """An open transaction `principal` owns (an admin may read others', not add to them)."""
        require(principal, Permission.UPLOAD)
        transaction = self._visible(principal, transaction_id).as_of(self._clock())
        if transaction.owner != principal.name:
            raise PermissionDenied(
                "only the owner of a transaction may add commands to it or execute it",
                missing_permission="owner",
            )
        if transaction.state is not TransactionState.OPEN:
            raise self._closed(transaction)
        return transaction

    @staticmethod
    def _closed(transaction: Transaction) -> Conflict:
        why = f" ({transaction.reason})" if transaction.reason else ""
        return Conflict(f"transaction {transaction.id} is {transaction.state.value}{why}")


def _outcome(prepared: _Prepared) -> Outcome:
    artifact: Artifact = prepared.change.artifact
    assert prepared.change.index is not None
    return Outcome(
        index=prepared.change.index,
        op=prepared.command.op,
        id=artifact.id,
        name=artifact.name,
        type=artifact.type,
        url=artifact.url,
    )
