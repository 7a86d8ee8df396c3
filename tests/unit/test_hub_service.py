"""The Hub door's name resolution over an in-memory registry: the genuine Hub mirror beats a
squatter's name, exact beats case-folded beats short names, newest wins among equals; revisions
and entries answer with the Hub's error codes; git blob ids are hashed once and kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from tests.unit.memory_repo import MemoryArtifacts, MemoryBlobs
from tmr.accounts.models import ALL_PERMISSIONS, Permission, Principal
from tmr.artifacts.models import Artifact, ArtifactType, FileEntry, FileKind, Visibility
from tmr.artifacts.service import ArtifactService
from tmr.downloads.plan import Conditions
from tmr.errors import IntegrityError, PermissionDenied
from tmr.hub.service import EntryNotFound, HubService, OidReader, RepoNotFound, RevisionNotFound

READER = Principal("reader", permissions=frozenset({Permission.SEARCH}))
ALICE = Principal("alice", permissions=ALL_PERMISSIONS)
COMMIT = "a" * 40


class State:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def peek_state(self, key: str) -> str | None:
        return self.values.get(key)

    def state(self, key: str, default: str) -> str:
        return self.values.setdefault(key, default)


def _a(
    ident: str, name: str, keys: set[str], *, hub_id: str | None = None, day: int = 1, **kw: object
) -> Artifact:
    return Artifact(
        id=ident,
        type=kw.pop("type_", ArtifactType.MODEL),  # type: ignore[arg-type]
        name=name,
        url=f"u{ident}",
        source="huggingface_model" if hub_id else "upload",
        upstream={"repo_id": hub_id, "sha": COMMIT} if hub_id else {},
        keys=frozenset(keys),
        updated_at=datetime(2026, 1, day, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )


def _hub(*artifacts: Artifact) -> HubService:
    repo = MemoryArtifacts(*artifacts)
    blobs = MemoryBlobs()
    service = ArtifactService(repo, blobs)
    return HubService(service, None, repo, None, OidReader(State(), blobs))  # type: ignore[arg-type]


def test_the_genuine_hub_repository_beats_an_artifact_named_like_it() -> None:
    squatter = _a("1", "google/bert", {"google/bert", "bert"}, day=9)
    genuine = _a("2", "bert", {"google/bert", "bert"}, hub_id="google/bert", day=1)
    repo = _hub(squatter, genuine).repo(READER, "Google/BERT", ArtifactType.MODEL)
    assert repo.artifact.id == "2"
    assert repo.commit == COMMIT


def test_exact_name_beats_case_folded_which_beats_short_name() -> None:
    short = _a("1", "other", {"bert"}, day=9)
    folded = _a("2", "BERT", {"bert"}, day=5)
    exact = _a("3", "bert", {"bert"}, day=1)
    assert _hub(short, folded, exact).repo(READER, "bert", ArtifactType.MODEL).artifact.id == "3"
    assert _hub(short, folded).repo(READER, "bert", ArtifactType.MODEL).artifact.id == "2"
    assert _hub(short).repo(READER, "bert", ArtifactType.MODEL).artifact.id == "1"


def test_among_equals_the_newest_wins() -> None:
    old = _a("1", "bert", {"bert"}, day=1)
    new = _a("2", "bert", {"bert"}, day=2)
    assert _hub(old, new).repo(READER, "bert", ArtifactType.MODEL).artifact.id == "2"


def test_other_types_and_others_private_artifacts_are_not_found() -> None:
    data = _a("1", "squad", {"squad"}, type_=ArtifactType.DATASET)
    secret = _a("2", "secret", {"secret"}, visibility=Visibility.PRIVATE, created_by="alice")
    hub = _hub(data, secret)
    with pytest.raises(RepoNotFound, match=r"^Repository not found: no model 'squad' you may read$") as err:
        hub.repo(READER, "squad", ArtifactType.MODEL)
    assert err.value.hub_code == "RepoNotFound"
    assert err.value.status_code == 404
    with pytest.raises(RepoNotFound):
        hub.repo(READER, "secret", ArtifactType.MODEL)
    with pytest.raises(RepoNotFound):
        hub.repo(READER, "  ", ArtifactType.MODEL)
    assert hub.repo(ALICE, "secret", ArtifactType.MODEL).artifact.id == "2"


def test_reading_needs_the_use_cases_permission() -> None:
    hub = _hub(_a("1", "bert", {"bert"}))
    with pytest.raises(PermissionDenied):
        hub.repo(READER, "bert", ArtifactType.MODEL, to=Permission.DOWNLOAD)


def test_revision_must_name_the_one_commit() -> None:
    hub = _hub(_a("1", "bert", {"google/bert"}, hub_id="google/bert", version="1.0.0"))
    for revision in ("main", "refs/heads/main", COMMIT, "1.0.0", "refs/tags/1.0.0"):
        assert hub.revision(READER, "google/bert", ArtifactType.MODEL, revision).artifact.id == "1"
    with pytest.raises(RevisionNotFound, match=r"^Invalid rev id: dev$") as err:
        hub.revision(READER, "google/bert", ArtifactType.MODEL, "dev")
    assert err.value.hub_code == "RevisionNotFound"


def test_a_missing_file_is_an_entry_not_found_naming_the_commit() -> None:
    hub = _hub(_a("1", "bert", {"google/bert"}, hub_id="google/bert"))
    with pytest.raises(EntryNotFound, match=r"^Entry not found: nope.bin$") as err:
        hub.file(ALICE, "google/bert", ArtifactType.MODEL, "main", "nope.bin", Conditions())
    assert err.value.details == {"commit": COMMIT}
    assert err.value.hub_code == "EntryNotFound"


def test_oid_reader_hashes_git_blob_ids_once() -> None:
    blobs = MemoryBlobs()
    state = State()
    data = b"hello world\n"
    stored = blobs.put_bytes(data)
    reader = OidReader(state, blobs)
    entry = FileEntry("a.txt", len(data), FileKind.DOCS, sha256=stored.sha256)
    expected = hashlib.sha1(b"blob 12\0" + data).hexdigest()
    assert expected == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"  # `git hash-object` of the same bytes
    assert reader(entry) == expected
    assert state.values == {"hf-git-blob:" + stored.sha256: expected}
    blobs.blobs.clear()  # a second call must not read the bytes again
    assert reader(entry) == expected


def test_oid_reader_refuses_an_unmirrored_file() -> None:
    reader = OidReader(State(), MemoryBlobs())
    with pytest.raises(IntegrityError, match=r"^w.bin has not been mirrored$"):
        reader(FileEntry("w.bin", 3, FileKind.WEIGHTS))
