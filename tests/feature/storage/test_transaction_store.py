"""Transactions in the metadata store, against SQLite and PostgreSQL: commands appended while
open, one target each; `apply` writes every change and the state flip in one database transaction
or nothing; staged blobs are referenced while their transaction is open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.feature.storage.test_metadata_contract import NOW, make
from tests.support import fresh_engine
from tmr.artifacts.interfaces import ArtifactChange, ChangeKind, Settlement
from tmr.artifacts.models import ArtifactSummary, ArtifactType, AuditEntry, FileKind
from tmr.artifacts.uploads import ExplodedFile
from tmr.errors import Conflict, InvalidInput
from tmr.storage.metadata import SqlMetadataStore
from tmr.storage.transactions import SqlTransactionStore
from tmr.transactions.models import Command, Op, Transaction, TransactionState

T0 = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
LATER = T0 + timedelta(seconds=30)
STAGED = (ExplodedFile("model.safetensors", 5, "c" * 64, 7, FileKind.WEIGHTS),)


@dataclass
class Stores:
    metadata: SqlMetadataStore
    transactions: SqlTransactionStore


@pytest.fixture
def stores(database_url: str) -> Iterator[Stores]:
    engine = fresh_engine(database_url)
    yield Stores(SqlMetadataStore(engine), SqlTransactionStore(engine))
    engine.dispose()


def opened(stores: Stores, tid: str = "t1", owner: str = "alice", ttl_s: int = 60) -> str:
    stores.transactions.create(
        Transaction(tid, owner, TransactionState.OPEN, T0, T0 + timedelta(seconds=ttl_s))
    )
    return tid


def created(artifact_id: str, index: int, url: str | None = None) -> ArtifactChange:
    artifact = make(artifact_id, name=f"n{artifact_id}", url=url)
    audit = AuditEntry(
        "alice", False, LATER, ArtifactSummary(artifact_id, artifact.name, artifact.type), "CREATE"
    )
    return ArtifactChange(ChangeKind.CREATE, artifact, audit=audit, index=index)


def settle(tid: str, n: int, at: datetime = LATER) -> Settlement:
    return Settlement(tid, [{"index": i} for i in range(n)], at)


def test_commands_round_trip_in_order_one_target_each(stores: Stores) -> None:
    tid = opened(stores)
    register = Command(Op.REGISTER, ArtifactType.MODEL, url="https://huggingface.co/o/a", name="a")
    upload = Command(Op.UPLOAD, ArtifactType.MODEL, url="upload:sha256:" + "d" * 64, name="u", staged=STAGED)
    delete = Command(Op.DELETE, ArtifactType.CODE, artifact_id="42", revision=T0)
    assert [stores.transactions.append(tid, c, LATER, 10) for c in (register, upload, delete)] == [0, 1, 2]
    with pytest.raises(Conflict, match="touches each artifact once"):
        stores.transactions.append(tid, replace(delete, op=Op.UPDATE, url="https://x/y"), LATER, 10)
    got = stores.transactions.get(tid)
    assert got is not None
    assert got.commands == (register, upload, delete)
    assert got.command_count == 3
    with pytest.raises(InvalidInput, match="at most 3 commands"):
        stores.transactions.append(tid, Command(Op.INGEST, ArtifactType.MODEL, url="https://h/x"), LATER, 3)
    assert stores.transactions.get("nope") is None


def test_only_an_open_unexpired_transaction_takes_commands(stores: Stores) -> None:
    tid = opened(stores, ttl_s=10)
    command = Command(Op.INGEST, ArtifactType.MODEL, url="https://h/x")
    with pytest.raises(Conflict, match="no longer open"):
        stores.transactions.append(tid, command, LATER, 10)  # expired at T0 + 10 s
    other = opened(stores, "t2")
    assert stores.transactions.finish(other, TransactionState.ABANDONED, "by alice", LATER)
    assert not stores.transactions.finish(other, TransactionState.FAILED, "again", LATER)
    with pytest.raises(Conflict, match="no longer open"):
        stores.transactions.append(other, command, LATER, 10)
    got = stores.transactions.get(other)
    assert got is not None
    assert (got.state, got.reason, got.finished_at) == (TransactionState.ABANDONED, "by alice", LATER)


def test_a_taken_id_is_a_conflict(stores: Stores) -> None:
    opened(stores, "same")
    with pytest.raises(Conflict, match="transaction id same is taken"):
        opened(stores, "same")
    stores.metadata.create(make("art"))
    tid = opened(stores)
    with pytest.raises(Conflict, match="artifact id art is taken") as refused:
        stores.metadata.apply([created("art", 0, url="https://huggingface.co/o/elsewhere")], settle(tid, 1))
    assert refused.value.details["index"] == 0


def test_listing_is_newest_first_per_owner(stores: Stores) -> None:
    for tid, owner in (("a", "alice"), ("b", "bob"), ("c", "alice")):
        opened(stores, tid, owner)
    assert [t.id for t in stores.transactions.listing("alice", 10)] == ["c", "a"]
    assert [t.id for t in stores.transactions.listing(None, 2)] == ["c", "b"]


def test_apply_writes_every_change_and_settles(stores: Stores) -> None:
    meta = stores.metadata
    meta.create(make("old"))
    meta.create(make("gone", url="https://huggingface.co/o/gone"))
    tid = opened(stores)
    for i, command in enumerate(
        [
            Command(Op.REGISTER, ArtifactType.MODEL, url="https://huggingface.co/o/new"),
            Command(
                Op.UPDATE,
                ArtifactType.MODEL,
                url="https://huggingface.co/o/x",
                artifact_id="old",
                revision=NOW,
            ),
            Command(Op.DELETE, ArtifactType.MODEL, artifact_id="gone", revision=NOW),
        ]
    ):
        assert stores.transactions.append(tid, command, LATER, 10) == i
    replaced = replace(make("old", name="renamed", url="https://huggingface.co/o/x"), updated_at=LATER)
    changes = [
        created("new", 0),
        ArtifactChange(ChangeKind.REPLACE, replaced, expected=NOW, index=1),
        ArtifactChange(ChangeKind.DELETE, make("gone"), expected=NOW, index=2),
    ]
    meta.apply(changes, settle(tid, 3))
    assert meta.get("new") is not None
    old = meta.get("old")
    assert old is not None
    assert (old.name, old.url, old.updated_at) == ("renamed", "https://huggingface.co/o/x", LATER)
    assert meta.get("gone") is None
    assert [e.action for e in meta.audit_for("new")] == ["CREATE"]
    got = stores.transactions.get(tid)
    assert got is not None
    assert got.state is TransactionState.COMMITTED
    assert [c.result for c in got.commands] == [{"index": 0}, {"index": 1}, {"index": 2}]
    with pytest.raises(Conflict, match="no longer open") as twice:
        meta.apply([created("newer", 0)], settle(tid, 1))
    assert twice.value.details["index"] is None
    assert meta.get("newer") is None


def test_a_stale_revision_rolls_back_everything(stores: Stores) -> None:
    meta = stores.metadata
    meta.create(make("old"))
    tid = opened(stores)
    replaced = replace(make("old", name="renamed"), updated_at=LATER)
    changes = [
        created("new", 0),
        ArtifactChange(ChangeKind.REPLACE, replaced, expected=NOW - timedelta(microseconds=1), index=1),
    ]
    with pytest.raises(Conflict, match="changed or was deleted") as refused:
        meta.apply(changes, settle(tid, 2))
    assert refused.value.details["index"] == 1
    assert meta.get("new") is None
    assert meta.audit_for("new") == []
    old = meta.get("old")
    assert old is not None
    assert old.name == "m"
    got = stores.transactions.get(tid)
    assert got is not None
    assert got.state is TransactionState.OPEN


def test_a_taken_source_rolls_back_everything(stores: Stores) -> None:
    meta = stores.metadata
    meta.create(make("first", url="https://huggingface.co/o/same"))
    tid = opened(stores)
    with pytest.raises(Conflict, match="already registered") as refused:
        meta.apply([created("a", 0), created("b", 1, url="https://huggingface.co/o/same")], settle(tid, 2))
    assert refused.value.details["index"] == 1
    assert meta.get("a") is None
    assert meta.get("b") is None


def test_an_expired_transaction_cannot_settle(stores: Stores) -> None:
    tid = opened(stores, ttl_s=10)
    with pytest.raises(Conflict, match="no longer open"):
        stores.metadata.apply([created("a", 0)], settle(tid, 1, at=T0 + timedelta(seconds=10)))
    assert stores.metadata.get("a") is None


def test_staged_blobs_are_referenced_while_their_transaction_is_open(stores: Stores) -> None:
    meta = stores.metadata
    tid = opened(stores, ttl_s=60)
    upload = Command(Op.UPLOAD, ArtifactType.MODEL, url="upload:sha256:" + "d" * 64, name="u", staged=STAGED)
    stores.transactions.append(tid, upload, LATER, 10)
    assert "c" * 64 in set(meta.referenced_digests(LATER))
    assert "c" * 64 in set(meta.referenced_digests())
    assert "c" * 64 not in set(meta.referenced_digests(T0 + timedelta(seconds=60)))  # expired
    stores.transactions.finish(tid, TransactionState.ABANDONED, "by alice", LATER)
    assert "c" * 64 not in set(meta.referenced_digests(LATER))
    meta.reset()
    assert stores.transactions.get(tid) is None


def test_concurrent_conflicting_transactions_commit_exactly_one(stores: Stores) -> None:
    meta = stores.metadata
    meta.create(make("shared"))
    tids = [opened(stores, f"t{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def execute(tid: str, name: str) -> None:
        change = ArtifactChange(
            ChangeKind.REPLACE, replace(make("shared", name=name), updated_at=LATER), NOW, index=0
        )
        barrier.wait(timeout=30)
        try:
            meta.apply([change], settle(tid, 1))
            outcomes[tid] = name
        except Conflict:
            outcomes[tid] = "conflict"

    threads = [threading.Thread(target=execute, args=(t, f"by-{t}")) for t in tids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2
    assert list(outcomes.values()).count("conflict") == 1, outcomes
    winner = next(v for v in outcomes.values() if v != "conflict")
    shared = meta.get("shared")
    assert shared is not None
    assert shared.name == winner
