"""One contract suite for the metadata store, run against SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

from tmr.accounts.models import IssuedToken, Permission, User
from tmr.artifacts.interfaces import EVERYTHING, Scope
from tmr.artifacts.models import (
    Artifact,
    ArtifactLink,
    ArtifactSummary,
    ArtifactType,
    AuditEntry,
    FileEntry,
    FileKind,
    Visibility,
)
from tmr.errors import Conflict, NotFound, StorageUnavailable
from tmr.search.regex import compile_pattern
from tmr.storage.metadata import SqlMetadataStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def make(
    artifact_id: str, name: str = "m", type_: ArtifactType = ArtifactType.MODEL, url: str | None = None
) -> Artifact:
    return Artifact(
        id=artifact_id,
        type=type_,
        name=name,
        url=url or f"https://huggingface.co/o/{artifact_id}",
        source="huggingface_model",
        readme=f"# {name}\nreadme of {artifact_id}",
        card={"license": "mit"},
        license="mit",
        upstream={"downloads": 3},
        files=[
            FileEntry("config.json", 10, FileKind.CONFIG, sha256="a" * 64),
            FileEntry(
                "model.safetensors",
                1000,
                FileKind.WEIGHTS,
                upstream_url="http://x/y",
                upstream_digest="sha256:" + "b" * 64,
            ),
        ],
        created_at=NOW,
        updated_at=NOW,
        created_by="admin",
        updated_by="admin",
    )


def test_create_and_get_round_trip(metadata_store: SqlMetadataStore) -> None:
    metadata_store.create(make("1"))
    got = metadata_store.get("1")
    assert got is not None
    assert (got.name, got.type, got.license, got.card, got.upstream) == (
        "m",
        ArtifactType.MODEL,
        "mit",
        {"license": "mit"},
        {"downloads": 3},
    )
    assert got.created_at == NOW
    assert got.created_at.tzinfo is not None
    assert [(f.path, f.size, f.kind, f.sha256) for f in got.files] == [
        ("config.json", 10, FileKind.CONFIG, "a" * 64),
        ("model.safetensors", 1000, FileKind.WEIGHTS, None),
    ]
    assert got.size_bytes == 1010
    assert metadata_store.get("nope") is None


def test_duplicate_id_and_url_conflict_and_leave_nothing_half_written(
    metadata_store: SqlMetadataStore,
) -> None:
    metadata_store.create(make("1"))
    with pytest.raises(Conflict):
        metadata_store.create(make("1", name="other", url="https://huggingface.co/o/other"))
    with pytest.raises(Conflict):
        metadata_store.create(make("2", url="https://huggingface.co/o/1"))
    assert metadata_store.get("2") is None
    assert metadata_store.count()[ArtifactType.MODEL] == 1


def test_same_url_may_exist_once_per_type(metadata_store: SqlMetadataStore) -> None:
    metadata_store.create(make("1", url="https://github.com/a/b"))
    metadata_store.create(make("2", type_=ArtifactType.CODE, url="https://github.com/a/b"))
    assert metadata_store.find_by_url(ArtifactType.CODE, "https://github.com/a/b") == ArtifactSummary(
        "2", "m", ArtifactType.CODE
    )


def test_replace_swaps_content_and_files(metadata_store: SqlMetadataStore) -> None:
    metadata_store.create(make("1"))
    new = replace(
        make("1"), readme="changed", files=[FileEntry("README.md", 7, FileKind.DOCS, sha256="c" * 64)]
    )
    metadata_store.replace(new)
    got = metadata_store.get("1")
    assert got is not None
    assert got.readme == "changed"
    assert [f.path for f in got.files] == ["README.md"]
    with pytest.raises(NotFound):
        metadata_store.replace(make("missing"))


def test_delete_and_reset(metadata_store: SqlMetadataStore) -> None:
    for i in range(3):
        metadata_store.create(make(str(i)))
    assert metadata_store.delete("1") is True
    assert metadata_store.delete("1") is False
    assert metadata_store.get("1") is None
    metadata_store.reset()
    assert metadata_store.count() == dict.fromkeys(ArtifactType, 0)
    assert list(metadata_store.referenced_digests()) == []


def test_keyset_pages_cover_everything_once(metadata_store: SqlMetadataStore) -> None:
    for i in range(25):
        metadata_store.create(make(f"a{i}", name=f"n{i % 3}", type_=list(ArtifactType)[i % 3]))
    seen: list[str] = []
    cursor = None
    while True:
        items, cursor = metadata_store.page([(None, None)], cursor, 10, EVERYTHING)
        seen += [i.id for i in items]
        if cursor is None:
            break
    assert seen == [f"a{i}" for i in range(25)]
    models, _ = metadata_store.page([(None, {ArtifactType.MODEL})], None, 100, EVERYTHING)
    assert {m.type for m in models} == {ArtifactType.MODEL}
    assert len(models) == 9
    named, _ = metadata_store.page([("n1", None), ("n2", {ArtifactType.CODE})], None, 100, EVERYTHING)
    assert {(i.name, i.type) for i in named} == {("n1", ArtifactType.DATASET), ("n2", ArtifactType.CODE)}


def test_by_name(metadata_store: SqlMetadataStore) -> None:
    metadata_store.create(make("1", name="same"))
    metadata_store.create(make("2", name="same", url="https://x/2"))
    metadata_store.create(make("3", name="other", url="https://x/3"))
    assert [i.id for i in metadata_store.by_name("same", EVERYTHING)] == ["1", "2"]
    assert metadata_store.by_name("SAME", EVERYTHING) == []


def test_file_digest_recording(metadata_store: SqlMetadataStore) -> None:
    metadata_store.create(make("1"))
    metadata_store.record_file_digest("1", "model.safetensors", "d" * 64, 0xDEADBEEF)
    got = metadata_store.get("1")
    assert got is not None
    assert {f.sha256 for f in got.files} == {"a" * 64, "d" * 64}
    assert next(f for f in got.files if f.path == "model.safetensors").crc32 == 0xDEADBEEF
    assert set(metadata_store.referenced_digests()) == {"a" * 64, "d" * 64}
    with pytest.raises(NotFound):
        metadata_store.record_file_digest("nope", "x", "d" * 64, 1)


def test_audit_trail_in_order(metadata_store: SqlMetadataStore) -> None:
    summary = ArtifactSummary("1", "m", ArtifactType.MODEL)
    for action in ("CREATE", "DOWNLOAD", "RATE"):
        metadata_store.add_audit(AuditEntry("u", False, NOW, summary, action))
    assert [e.action for e in metadata_store.audit_for("1")] == ["CREATE", "DOWNLOAD", "RATE"]
    assert metadata_store.audit_for("2") == []


def test_users_and_token_budget(metadata_store: SqlMetadataStore) -> None:
    metadata_store.put_user(User("alice", False, "hash"))
    metadata_store.put_user(User("alice", True, "hash2"))
    assert metadata_store.get_user("alice") == User("alice", True, "hash2")
    now = datetime.now(UTC)
    metadata_store.add_token(IssuedToken("t1", "alice", now, now + timedelta(hours=1), max_uses=3))
    assert [metadata_store.spend_token_of("t1", now)[0] for _ in range(4)] == [True, True, True, False]
    metadata_store.add_token(IssuedToken("t2", "alice", now, now + timedelta(seconds=1), max_uses=3))
    assert metadata_store.spend_token_of("t2", now + timedelta(seconds=2))[0] is False
    assert metadata_store.spend_token_of("unknown", now)[0] is False
    metadata_store.delete_users_except(["bob"])
    assert metadata_store.get_user("alice") is None


def test_users_with_permissions_are_created_once_listed_and_deleted_with_their_tokens(
    metadata_store: SqlMetadataStore,
) -> None:
    search = frozenset({Permission.SEARCH})
    assert metadata_store.add_user(User("carol", False, "h", search)) is True
    assert metadata_store.add_user(User("carol", True, "other", frozenset(Permission))) is False
    assert metadata_store.get_user("carol") == User("carol", False, "h", search)
    metadata_store.put_user(User("carol", False, "h", frozenset()))
    carol = metadata_store.get_user("carol")
    assert carol is not None
    assert carol.permissions == frozenset()
    metadata_store.add_user(User("ann", False, "h"))
    assert [u.name for u in metadata_store.list_users()] == ["ann", "carol"]
    now = datetime.now(UTC)
    for jti in ("c1", "c2"):
        metadata_store.add_token(IssuedToken(jti, "carol", now, now + timedelta(hours=1), max_uses=5))
    metadata_store.revoke_user_tokens("carol", except_jti="c2")
    assert metadata_store.spend_token_of("c1", now)[0] is False
    assert metadata_store.spend_token_of("c2", now) == (True, User("carol", False, "h", frozenset()))
    assert metadata_store.delete_user("carol") is True
    assert metadata_store.delete_user("carol") is False
    assert metadata_store.spend_token_of("c2", now)[0] is False
    assert metadata_store.get_user("carol") is None
    assert metadata_store.delete_user("nul\0") is False


def test_sign_in_failures_count_in_a_window_block_and_clear(metadata_store: SqlMetadataStore) -> None:
    key, other = "user:dana", "addr:10.0.0.1"
    assert metadata_store.sign_in_blocked_until([key, other], NOW) is None
    assert [metadata_store.count_sign_in_failure(key, NOW, 600) for _ in range(3)] == [1, 2, 3]
    assert metadata_store.count_sign_in_failure(key, NOW + timedelta(seconds=601), 600) == 1  # a new window
    metadata_store.block_sign_in(key, NOW + timedelta(seconds=30))
    metadata_store.count_sign_in_failure(other, NOW, 600)
    metadata_store.block_sign_in(other, NOW + timedelta(seconds=90))
    assert metadata_store.sign_in_blocked_until([key, other], NOW) == NOW + timedelta(seconds=90)
    assert metadata_store.sign_in_blocked_until([key], NOW + timedelta(seconds=31)) is None
    metadata_store.clear_sign_in_failures(key)
    assert metadata_store.count_sign_in_failure(key, NOW, 600) == 1
    # Stale rows (window and wait over) are pruned by the next failure of anyone.
    later = NOW + timedelta(days=1)
    metadata_store.count_sign_in_failure("user:someone-else", later, 600)
    assert metadata_store.count_sign_in_failure(other, later, 600) == 1
    metadata_store.delete_users_except([])
    assert metadata_store.count_sign_in_failure(key, NOW, 600) == 1  # a reset forgets failures


def test_token_uses_are_counted_exactly_under_concurrency(metadata_store: SqlMetadataStore) -> None:
    metadata_store.put_user(User("alice", False, "hash"))
    now = datetime.now(UTC)
    metadata_store.add_token(IssuedToken("t", "alice", now, now + timedelta(hours=1), max_uses=50))
    results: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(20):
            ok = metadata_store.spend_token_of("t", datetime.now(UTC))[0]
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 50


def test_state_first_writer_wins(metadata_store: SqlMetadataStore) -> None:
    assert metadata_store.state("k", "one") == "one"
    assert metadata_store.state("k", "two") == "one"


def test_ping_asks_the_database(metadata_store: SqlMetadataStore) -> None:
    statements: list[str] = []
    event.listen(metadata_store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    metadata_store.ping()
    assert [s.lower().split() for s in statements] == [["select", "1"]]


def test_ping_of_an_unreachable_database_is_storage_unavailable(database_url: str, tmp_path: Path) -> None:
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path / 'no-such-folder' / 'tmr.sqlite3'}",
        "postgresql": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
    }[make_url(database_url).get_backend_name()]
    store = SqlMetadataStore(create_engine(unreachable))
    try:
        with pytest.raises(StorageUnavailable, match="metadata store unavailable"):
            store.ping()
    finally:
        store.dispose()


def test_text_matching_over_names_and_readmes(metadata_store: SqlMetadataStore) -> None:
    texts = {
        "1": "uses 100% of a_b",
        "2": "uses 100 percent",
        "3": "plain words",
        "4": "WORDS in caps",
        "5": "",
    }
    for artifact_id, text in texts.items():
        metadata_store.create(replace(make(artifact_id, name=f"n{artifact_id}"), readme=text))

    def ids(pattern: str, contains: list[str] | None = None) -> list[str]:
        return [s.id for s in metadata_store.match_text(compile_pattern(pattern), EVERYTHING, contains)]

    assert ids("words") == ["3"]
    assert ids("(?i)words") == ["3", "4"]
    assert ids("^n[24]$") == ["2", "4"]  # names count too
    assert ids("100%", ["100%"]) == ["1"]  # `%` and `_` in hints are literal, not wildcards
    assert ids("a_b", ["a_b"]) == ["1"]
    assert ids("(plain|percent)", ["plain", "percent"]) == ["2", "3"]
    assert ids("zzz-nothing") == []
    assert ids("^$") == []  # an empty README is no match for an empty pattern's anchor


def test_an_unreachable_database_is_storage_unavailable() -> None:
    from tmr.errors import StorageUnavailable
    from tmr.storage.database import make_engine

    store = SqlMetadataStore(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    with pytest.raises(StorageUnavailable):
        store.ping()
    with pytest.raises(StorageUnavailable):
        store.count()


def test_scopes_hide_others_private_artifacts_and_keep_versions(metadata_store: SqlMetadataStore) -> None:
    public = replace(make("pub", name="shared", url="https://huggingface.co/o/pub"), version="1.2.0")
    mine = replace(
        make("mine", name="shared", url="upload:sha256:" + "1" * 64),
        visibility=Visibility.PRIVATE,
        created_by="alice",
        keys={"shared"},
    )
    theirs = replace(
        make("theirs", name="shared", url="upload:sha256:" + "2" * 64),
        visibility=Visibility.PRIVATE,
        created_by="bob",
        version="2.0.0",
        links=[ArtifactLink("o/pub", "base_model", "config")],
    )
    for artifact in (public, mine, theirs):
        metadata_store.create(artifact)
    alice = Scope(viewer="alice")
    everyone = EVERYTHING
    assert metadata_store.get("mine").visibility is Visibility.PRIVATE  # type: ignore[union-attr]

    def ids(items: list[ArtifactSummary]) -> list[str]:
        return sorted(i.id for i in items)

    assert ids(metadata_store.by_name("shared", alice)) == ["mine", "pub"]
    assert ids(metadata_store.by_name("shared", everyone)) == ["mine", "pub", "theirs"]
    assert ids(metadata_store.by_name("shared", Scope(viewer="alice", versioned=True))) == ["pub"]
    assert ids(metadata_store.page([], None, 10, alice)[0]) == ["mine", "pub"]
    matcher = compile_pattern("readme of")
    assert ids(metadata_store.match_text(matcher, alice, ["readme"])) == ["mine", "pub"]
    assert ids(metadata_store.match_text(matcher, Scope(viewer=None, versioned=True))) == ["pub", "theirs"]
    assert {i.version for i in metadata_store.by_name("shared", everyone)} == {"1.2.0", None, "2.0.0"}
    assert metadata_store.linking_to(["o/pub"], alice) == []
    assert [s.id for s, _ in metadata_store.linking_to(["o/pub"], Scope(viewer="bob"))] == ["theirs"]
    assert metadata_store.answering_to(["shared"], Scope(viewer="bob")) == {}
    # A Python-side filter pages through batches until the page is full.
    page, cursor = metadata_store.page([], None, 1, everyone, accept=lambda i: i.version is not None)
    assert [i.id for i in page] == ["pub"]
    assert cursor is not None
    page, cursor = metadata_store.page([], cursor, 1, everyone, accept=lambda i: i.version is not None)
    assert [i.id for i in page] == ["theirs"]
    assert cursor is None


def test_file_safety_recording(metadata_store: SqlMetadataStore) -> None:
    metadata_store.create(make("1"))
    got = metadata_store.get("1")
    assert got is not None
    assert all(f.safety is None for f in got.files)
    verdict = {"format": "pickle", "unsafe": True, "reasons": ["x"]}
    config = replace(got.files[0], kind=FileKind.WEIGHTS, safety=verdict)
    metadata_store.record_file_safety("1", [config])
    again = metadata_store.get("1")
    assert again is not None
    assert again.files[0].kind is FileKind.WEIGHTS
    assert again.files[0].unsafe
    with pytest.raises(NotFound):
        metadata_store.record_file_safety("nope", [config])


def test_text_no_backend_can_hold_finds_nothing_alike(metadata_store: SqlMetadataStore) -> None:
    """PostgreSQL text cannot hold NUL: looking such text up answers "nothing", as SQLite does,
    never a database error."""
    metadata_store.create(make("1", name="n1"))
    assert metadata_store.by_name("n\x001", EVERYTHING) == []
    assert metadata_store.get_user("admin\x00") is None
    found = metadata_store.match_text(
        compile_pattern("readme"), EVERYTHING, contains=["read\x00me", "readme"]
    )
    assert [s.id for s in found] == ["1"]
