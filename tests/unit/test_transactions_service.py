"""TransactionService over in-memory storage and the scripted upstream of test_registration:
commands checked when appended, all or none at execute, the failing command named, conflicts,
ownership, and expiry on the service's clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs, MemoryTransactions
from tests.unit.test_registration import ALICE, BOB, HF, READER, Events, Mirror, Upstream, _engine
from tmr.accounts.models import ALL_PERMISSIONS, Principal
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.registration import RegistrationService
from tmr.artifacts.service import ArtifactService
from tmr.artifacts.uploads import SpooledUpload, UploadLimits
from tmr.errors import Conflict, Disqualified, InvalidInput, NotFound, PermissionDenied
from tmr.rating.service import RatingService
from tmr.transactions.models import Op, TransactionState
from tmr.transactions.service import CommandRequest, TransactionService

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
ADMIN = Principal("root", is_admin=True, permissions=ALL_PERMISSIONS)
MODEL, CODE = ArtifactType.MODEL, ArtifactType.CODE


@dataclass
class World:
    service: TransactionService
    artifacts: ArtifactService
    repo: MemoryArtifacts
    transactions: MemoryTransactions
    events: Events
    now: list[datetime]


def _world(score: float = 0.9, missing: set[str] | None = None) -> World:
    repo, transactions, now = MemoryArtifacts(), MemoryTransactions(), [T0]
    repo.transactions = transactions
    artifacts = ArtifactService(repo, MemoryBlobs(), clock=lambda: now[0])
    ratings = RatingService(repo, artifacts, Upstream(), _engine(score))  # type: ignore[arg-type]
    events = Events()
    registration = RegistrationService(
        artifacts,
        Mirror(),  # type: ignore[arg-type]
        Upstream(missing),
        ratings,
        repo,
        gate_models=False,
        upload_limits=UploadLimits(),
        events=events,
    )
    service = TransactionService(transactions, artifacts, registration, ttl_s=60, clock=lambda: now[0])
    return World(service, artifacts, repo, transactions, events, now)


def register(url: str, type_: ArtifactType = MODEL, name: str | None = None) -> CommandRequest:
    return CommandRequest(Op.REGISTER, type_, url, name)


def test_everything_commits_at_once_and_is_rated_after() -> None:
    w = _world()
    tid = w.service.open(ALICE).id
    assert w.service.append(ALICE, tid, register(f"{HF}-a"))[0] == 0
    assert w.service.append(ALICE, tid, register("https://example.org/tool", CODE, "tool"))[0] == 1
    assert w.repo.rows == {}
    transaction, outcomes = w.service.execute(ALICE, tid)
    assert transaction.state is TransactionState.COMMITTED
    assert [(o.index, o.op, o.type) for o in outcomes] == [(0, Op.REGISTER, MODEL), (1, Op.REGISTER, CODE)]
    assert {a.created_by for a in w.repo.rows.values()} == {"alice"}
    assert w.events.types == [MODEL, CODE]
    assert outcomes[0].id in w.repo.ratings  # the model was rated once committed
    assert [c.result for c in transaction.commands] == [o.as_json() for o in outcomes]
    with pytest.raises(Conflict, match="is committed"):
        w.service.execute(ALICE, tid)


def test_a_failing_command_is_named_and_nothing_is_written() -> None:
    w = _world(missing={f"{HF}-missing"})
    tid = w.service.open(ALICE).id
    w.service.append(ALICE, tid, register(f"{HF}-a"))
    w.service.append(ALICE, tid, register(f"{HF}-missing"))
    with pytest.raises(
        InvalidInput, match=r"^command 1 \(register\) failed: .* names no repository"
    ) as failed:
        w.service.execute(ALICE, tid)
    assert failed.value.details["index"] == 1
    assert w.repo.rows == {}
    shown = w.service.get(ALICE, tid)
    assert shown.state is TransactionState.FAILED
    assert shown.error == {
        "index": 1,
        "status": 400,
        "code": "invalid_input",
        "message": failed.value.message,
    }


def test_an_ingest_below_the_gate_refuses_the_whole_transaction() -> None:
    w = _world(score=0.1)
    tid = w.service.open(ALICE).id
    w.service.append(ALICE, tid, register("https://example.org/tool", CODE, "tool"))
    w.service.append(ALICE, tid, CommandRequest(Op.INGEST, url=f"{HF}-poor"))
    with pytest.raises(Disqualified) as refused:
        w.service.execute(ALICE, tid)
    assert refused.value.details["index"] == 1
    assert w.repo.rows == {}


def test_an_update_after_the_artifacts_change_is_a_conflict() -> None:
    w = _world()
    single = w.service.open(ALICE).id
    w.service.append(ALICE, single, register(f"{HF}-a"))
    artifact_id = w.service.execute(ALICE, single)[1][0].id
    first, second = w.service.open(ALICE).id, w.service.open(ALICE).id
    for tid, url in ((first, f"{HF}-b"), (second, f"{HF}-c")):
        w.service.append(ALICE, tid, CommandRequest(Op.UPDATE, MODEL, url, id=artifact_id))
    w.now[0] += timedelta(seconds=1)
    w.service.execute(ALICE, first)
    with pytest.raises(Conflict, match="changed") as conflict:
        w.service.execute(ALICE, second)
    assert conflict.value.details["index"] == 0
    assert w.repo.rows[artifact_id].url == f"{HF}-b"
    assert w.service.get(ALICE, second).state is TransactionState.FAILED


@pytest.mark.parametrize(
    ("request_", "error", "words"),
    [
        (CommandRequest(Op.UPLOAD, MODEL), InvalidInput, "the zip itself"),
        (CommandRequest(Op.DELETE, MODEL), InvalidInput, "delete commands need 'id'"),
        (CommandRequest(Op.DELETE, MODEL, id="1", url="x"), InvalidInput, "delete commands take no 'url'"),
        (CommandRequest(Op.DELETE, MODEL, id="404"), NotFound, "no artifact with id 404"),
        (CommandRequest(Op.INGEST, CODE, url=HF), InvalidInput, "admit models only"),
    ],
)
def test_bad_commands_are_refused_when_appended(
    request_: CommandRequest, error: type[Exception], words: str
) -> None:
    w = _world()
    tid = w.service.open(ALICE).id
    with pytest.raises(error, match=words):
        w.service.append(ALICE, tid, request_)
    assert w.service.get(ALICE, tid).command_count == 0


def test_an_update_names_the_artifact_by_its_own_name() -> None:
    w = _world()
    tid = w.service.open(ALICE).id
    w.service.append(ALICE, tid, register(f"{HF}-a"))
    artifact_id = w.service.execute(ALICE, tid)[1][0].id
    other = w.service.open(ALICE).id
    with pytest.raises(InvalidInput, match="must match the artifact's name"):
        w.service.append(ALICE, other, CommandRequest(Op.UPDATE, MODEL, f"{HF}-b", "other", artifact_id))
    with pytest.raises(PermissionDenied, match="owner"):
        w.service.append(BOB, w.service.open(BOB).id, CommandRequest(Op.DELETE, MODEL, id=artifact_id))


def test_owners_admins_and_others() -> None:
    w = _world()
    tid = w.service.open(ALICE).id
    with pytest.raises(NotFound, match=f"no transaction with id {tid}"):
        w.service.get(BOB, tid)
    with pytest.raises(NotFound):
        w.service.abandon(BOB, tid)
    assert w.service.listing(BOB) == []
    assert [t.id for t in w.service.listing(ADMIN)] == [tid]
    with pytest.raises(PermissionDenied, match="only the owner"):
        w.service.append(ADMIN, tid, register(f"{HF}-a"))
    with pytest.raises(PermissionDenied, match="'upload' permission"):
        w.service.open(READER)
    with pytest.raises(InvalidInput, match="transaction id must match"):
        w.service.get(ALICE, "not an id")
    assert w.service.abandon(ADMIN, tid).reason == "abandoned by root"
    with pytest.raises(Conflict, match="is abandoned"):
        w.service.abandon(ALICE, tid)
    with pytest.raises(InvalidInput, match="no commands"):
        w.service.execute(ALICE, w.service.open(ALICE).id)


def test_an_expired_transaction_is_abandoned_and_its_staged_blobs_orphans(tmp_path: Path) -> None:
    w = _world()
    tid = w.service.open(ALICE).id
    zip_path = tmp_path / "x.zip"
    zip_path.write_bytes(b"PK")
    w.service.append_upload(ALICE, tid, MODEL, SpooledUpload(zip_path, 2, "ef" * 32), "mine", "1.0")
    staged = w.service.get(ALICE, tid).commands[0]
    assert (staged.op, staged.version, staged.url) == (Op.UPLOAD, "1.0.0", "upload:sha256:" + "ef" * 32)
    assert "ab" * 32 in set(w.repo.referenced_digests(w.now[0]))
    w.now[0] += timedelta(seconds=60)
    shown = w.service.get(ALICE, tid)
    assert shown.state is TransactionState.ABANDONED
    assert shown.reason is not None
    assert shown.reason.startswith("expired at")
    assert "ab" * 32 not in set(w.repo.referenced_digests(w.now[0]))
    with pytest.raises(Conflict, match="is abandoned"):
        w.service.append(ALICE, tid, register(f"{HF}-a"))
    with pytest.raises(Conflict, match="is abandoned"):
        w.service.execute(ALICE, tid)


def test_a_staged_upload_commits_as_a_private_artifact(tmp_path: Path) -> None:
    w = _world()
    tid = w.service.open(ALICE).id
    zip_path = tmp_path / "x.zip"
    zip_path.write_bytes(b"PK")
    w.service.append_upload(ALICE, tid, MODEL, SpooledUpload(zip_path, 2, "ef" * 32), "mine", None)
    artifact_id = w.service.execute(ALICE, tid)[1][0].id
    artifact = w.repo.rows[artifact_id]
    assert (artifact.name, artifact.visibility.value, artifact.created_by) == ("mine", "private", "alice")
    assert [f.sha256 for f in artifact.files] == ["ab" * 32]
