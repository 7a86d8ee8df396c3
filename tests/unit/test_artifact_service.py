"""ArtifactService over in-memory storage: who may read and delete what, how commits stamp ids and
audit entries, and which blobs orphan collection removes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs
from tmr.accounts.models import ALL_PERMISSIONS, SYSTEM, Permission, Principal
from tmr.artifacts.ids import is_valid_id
from tmr.artifacts.models import Artifact, ArtifactSummary, ArtifactType, Visibility
from tmr.artifacts.service import ArtifactService, audit_entry
from tmr.errors import Conflict, InvalidInput, NotFound, PermissionDenied

ALICE = Principal("alice", permissions=ALL_PERMISSIONS)
BOB = Principal("bob", permissions=ALL_PERMISSIONS)
READER = Principal("reader", permissions=frozenset({Permission.SEARCH}))
ADMIN = Principal("root", is_admin=True)


def _model(ident: str = "m1", **kwargs: object) -> Artifact:
    fields: dict[str, object] = {"name": "bert", "url": "https://hf.co/bert", "source": "huggingface"}
    fields.update(kwargs)
    return Artifact(id=ident, type=ArtifactType.MODEL, **fields)  # type: ignore[arg-type]


def _service(*artifacts: Artifact) -> tuple[ArtifactService, MemoryArtifacts, MemoryBlobs]:
    repo = MemoryArtifacts(*artifacts)
    blobs = MemoryBlobs()
    return ArtifactService(repo, blobs), repo, blobs


def test_get_returns_a_public_artifact_to_a_reader() -> None:
    service, _, _ = _service(_model())
    assert service.get(READER, ArtifactType.MODEL, "m1").name == "bert"


def test_get_with_the_wrong_type_is_not_found() -> None:
    service, _, _ = _service(_model())
    with pytest.raises(NotFound, match=r"^no dataset artifact with id m1$"):
        service.get(READER, ArtifactType.DATASET, "m1")


def test_get_refuses_a_malformed_id_before_reading() -> None:
    service, _, _ = _service()
    with pytest.raises(InvalidInput, match=r"artifact id must match \^\[A-Za-z0-9-\]\+\$"):
        service.get_any(READER, "../etc")


def test_get_needs_the_asked_permission() -> None:
    service, _, _ = _service(_model())
    with pytest.raises(PermissionDenied) as refused:
        service.get(READER, ArtifactType.MODEL, "m1", to=Permission.DOWNLOAD)
    assert refused.value.details == {"missing_permission": "download"}


def test_private_artifacts_do_not_exist_for_others() -> None:
    service, _, _ = _service(_model(visibility=Visibility.PRIVATE, created_by="alice"))
    with pytest.raises(NotFound, match=r"^no artifact with id m1$"):
        service.get_any(BOB, "m1")
    assert service.get_any(ALICE, "m1").id == "m1"
    assert service.get_any(ADMIN, "m1").id == "m1"


def test_missing_artifact_is_not_found() -> None:
    service, _, _ = _service()
    with pytest.raises(NotFound, match=r"^no artifact with id nope$"):
        service.get_any(READER, "nope")


def test_url_taken_ignores_the_artifact_itself() -> None:
    service, _, _ = _service(_model())
    assert service.url_taken(ArtifactType.MODEL, "https://hf.co/bert") == ArtifactSummary(
        "m1", "bert", ArtifactType.MODEL
    )
    assert service.url_taken(ArtifactType.MODEL, "https://hf.co/bert", other_than="m1") is None
    assert service.url_taken(ArtifactType.DATASET, "https://hf.co/bert") is None


def test_commit_new_stamps_a_fresh_id_owner_and_audit() -> None:
    service, repo, _ = _service()
    stored = service.commit_new(ALICE, _model(ident="placeholder"))
    assert stored.id != "placeholder"
    assert is_valid_id(stored.id)
    assert stored.id.isdigit()
    assert (stored.created_by, stored.updated_by) == ("alice", "alice")
    assert stored.created_at == stored.updated_at is not None
    assert repo.rows[stored.id] == stored
    assert [(e.user_name, e.action, e.artifact.id) for e in repo.audit] == [("alice", "CREATE", stored.id)]


def test_commit_new_retries_an_id_collision() -> None:
    service, repo, _ = _service()
    repo.create_conflicts = 2
    stored = service.commit_new(ALICE, _model(ident="x"))
    assert list(repo.rows) == [stored.id]


def test_commit_new_of_a_registered_url_is_a_conflict() -> None:
    service, repo, _ = _service(_model())
    repo.create_conflicts = 1
    with pytest.raises(Conflict, match=r"^a model with url https://hf.co/bert is already registered$"):
        service.commit_new(ALICE, _model(ident="other"))
    assert repo.audit == []


def test_commit_replacement_keeps_identity_and_creation() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    current = _model(created_at=created, created_by="alice")
    service, repo, _ = _service(current)
    stored = service.commit_replacement(BOB, current, _model(ident="ignored", readme="new"))
    assert (stored.id, stored.readme, stored.created_at, stored.created_by) == ("m1", "new", created, "alice")
    assert stored.updated_by == "bob"
    assert stored.updated_at is not None
    assert stored.updated_at > created
    assert repo.rows["m1"].readme == "new"
    assert repo.audit[-1].action == "UPDATE"


def test_delete_needs_the_owner() -> None:
    service, repo, _ = _service(_model(created_by="alice"))
    with pytest.raises(
        PermissionDenied, match=r"^only the artifact's owner or an administrator may delete it$"
    ):
        service.delete(BOB, ArtifactType.MODEL, "m1")
    service.delete(ALICE, ArtifactType.MODEL, "m1")
    assert repo.rows == {}


def test_delete_needs_upload_permission() -> None:
    service, _, _ = _service(_model(created_by="reader"))
    with pytest.raises(PermissionDenied) as refused:
        service.delete(READER, ArtifactType.MODEL, "m1")
    assert refused.value.details == {"missing_permission": "upload"}


def test_delete_that_loses_a_race_is_not_found() -> None:
    service, repo, _ = _service(_model(created_by="alice"))

    def gone(artifact_id: str) -> bool:
        return False

    repo.delete = gone  # type: ignore[method-assign]
    with pytest.raises(NotFound, match=r"^no model artifact with id m1$"):
        service.delete(ALICE, ArtifactType.MODEL, "m1")


def test_audit_trail_returns_earlier_entries_and_records_the_reading() -> None:
    service, repo, _ = _service(_model())
    service.record(ALICE, repo.rows["m1"], "DOWNLOAD")
    trail = service.audit_trail(READER, ArtifactType.MODEL, "m1")
    assert [(e.user_name, e.action) for e in trail] == [("alice", "DOWNLOAD")]
    assert [(e.user_name, e.action) for e in repo.audit] == [("alice", "DOWNLOAD"), ("reader", "AUDIT")]


def test_audit_entry_names_the_principal_and_artifact() -> None:
    entry = audit_entry(SYSTEM, _model(), "RATE")
    assert (entry.user_name, entry.user_is_admin, entry.action) == ("tmr-system", True, "RATE")
    assert entry.artifact == ArtifactSummary("m1", "bert", ArtifactType.MODEL)
    assert entry.at.tzinfo is UTC


def test_reset_forgets_everything() -> None:
    service, repo, _ = _service(_model())
    service.reset()
    assert repo.rows == {}


def test_collect_orphans_removes_only_unreferenced_blobs() -> None:
    service, repo, blobs = _service()
    kept = blobs.put_bytes(b"kept").sha256
    orphan = blobs.put_bytes(b"orphan").sha256
    repo.digests = [kept]
    assert service.collect_orphans() == 1
    assert blobs.deleted == [orphan]
    assert list(blobs.blobs) == [kept]


def test_collect_orphans_spares_blobs_younger_than_the_grace() -> None:
    service, _, blobs = _service()
    old = blobs.put_bytes(b"old").sha256
    young = blobs.put_bytes(b"young").sha256
    blobs.written[young] = time.time()
    assert service.collect_orphans(grace_s=3600) == 1
    assert blobs.deleted == [old]
