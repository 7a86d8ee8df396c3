"""UploadSessionService's rules on the in-memory registry with a clock of the test's: the checks a
session runs before any byte, parts strictly in order, expiry, ownership, the finish (early, a
changed zip, twice), and the parts kept from orphan collection only while the session is open."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.memory_app import memory_registry
from tests.unit.memory_repo import MemoryBlobs
from tests.zips import zip_bytes
from tmr.accounts.models import ALL_PERMISSIONS, Permission, Principal
from tmr.artifacts.models import ArtifactType
from tmr.artifacts.upload_sessions import (
    OffsetMismatch,
    Part,
    UploadSession,
    UploadSessionGone,
    UploadSessionService,
)
from tmr.artifacts.uploads import UploadLimits
from tmr.container import Registry
from tmr.errors import Conflict, InvalidInput, PayloadTooLarge, PermissionDenied
from tmr.storage.upload_sessions import SqlUploadSessionStore

ALICE = Principal("alice", permissions=ALL_PERMISSIONS)
BOB = Principal("bob", permissions=ALL_PERMISSIONS)
ROOT = Principal("root", is_admin=True, permissions=ALL_PERMISSIONS)
READER = Principal("reader", permissions=frozenset({Permission.SEARCH, Permission.DOWNLOAD}))
CODE = ArtifactType.CODE
ZIP = zip_bytes({"README.md": b"# tool\n\nA tool.\n", "tool.py": b"print('hi')\n"})


@dataclass
class World:
    registry: Registry
    blobs: MemoryBlobs
    store: SqlUploadSessionStore
    service: UploadSessionService
    now: list[datetime]

    def tick(self, seconds: float) -> None:
        self.now[0] += timedelta(seconds=seconds)

    def filled(self, data: bytes = ZIP, who: Principal = ALICE) -> UploadSession:
        session = self.service.create(who, CODE, "acme/tool", None, len(data))
        for start in range(0, len(data), session.part_bytes):
            session = self.service.append(who, session.id, start, data[start : start + session.part_bytes])
        return session


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with memory_registry(spool_dir=tmp_path) as registry:
        # Now, not a fixed date: orphan collection reads the hold's expiry on the real clock.
        now = [datetime.now(UTC)]
        store = SqlUploadSessionStore(registry.store.engine)  # type: ignore[attr-defined]
        service = UploadSessionService(
            store,
            registry.blobs,
            registry.registration,
            part_bytes=64,
            ttl_s=60,
            limits=UploadLimits(max_upload_bytes=10_000),
            spool_dir=tmp_path,
            clock=lambda: now[0],
        )
        yield World(registry, registry.blobs, store, service, now)  # type: ignore[arg-type]


def test_a_session_is_checked_before_any_byte(world: World) -> None:
    create = world.service.create
    with pytest.raises(PermissionDenied):
        create(READER, CODE, "acme/tool", None, 10)
    with pytest.raises(InvalidInput, match="reserved"):
        create(ALICE, CODE, "*", None, 10)
    with pytest.raises(InvalidInput, match="version"):
        create(ALICE, CODE, "acme/tool", "banana", 10)
    with pytest.raises(InvalidInput, match="at least 1 byte"):
        create(ALICE, CODE, "acme/tool", None, 0)
    with pytest.raises(PayloadTooLarge):
        create(ALICE, CODE, "acme/tool", None, 10_001)
    session = create(ALICE, CODE, "acme/tool", "v1.2", 10_000)
    assert (session.offset, session.length, session.part_bytes, session.version) == (0, 10_000, 64, "v1.2")
    assert session.expires_at == world.now[0] + timedelta(seconds=60)
    assert world.service.get(ALICE, session.id) == session


def test_parts_go_in_order_within_the_length(world: World) -> None:
    service = world.service
    sid = service.create(ALICE, CODE, "acme/tool", None, 100).id
    with pytest.raises(OffsetMismatch) as wrong:
        service.append(ALICE, sid, 5, b"x")
    assert (wrong.value.offset, wrong.value.details, wrong.value.status_code) == (0, {"offset": 0}, 409)
    with pytest.raises(PayloadTooLarge, match="at most 64"):
        service.append(ALICE, sid, 0, b"x" * 65)
    assert service.append(ALICE, sid, 0, b"a" * 64).offset == 64
    with pytest.raises(OffsetMismatch, match="at offset 64"):
        service.append(ALICE, sid, 0, b"a" * 64)  # the same part again: already taken
    with pytest.raises(PayloadTooLarge, match="past the upload's length"):
        service.append(ALICE, sid, 64, b"b" * 37)
    assert service.append(ALICE, sid, 64, b"").offset == 64
    done = service.append(ALICE, sid, 64, b"b" * 36)
    assert (done.offset, done.complete) == (100, True)
    assert world.store.parts(sid) == [
        Part(0, 64, hashlib.sha256(b"a" * 64).hexdigest()),
        Part(64, 36, hashlib.sha256(b"b" * 36).hexdigest()),
    ]


def test_of_two_parts_at_one_offset_one_is_taken(world: World) -> None:
    sid = world.service.create(ALICE, CODE, "acme/tool", None, 100).id
    first, second = Part(0, 10, "a" * 64), Part(0, 10, "b" * 64)
    assert world.store.advance(sid, first, world.now[0]) is True
    assert world.store.advance(sid, second, world.now[0]) is False
    assert world.store.parts(sid) == [first]
    assert world.store.advance(sid, Part(10, 91, "c" * 64), world.now[0]) is False  # past the length


def test_a_session_expires_on_the_service_clock(world: World) -> None:
    service = world.service
    sid = service.create(ALICE, CODE, "acme/tool", None, 100).id
    world.tick(59)
    assert service.append(ALICE, sid, 0, b"a").offset == 1
    world.tick(1)
    for call in (
        lambda: service.get(ALICE, sid),
        lambda: service.append(ALICE, sid, 1, b"b"),
        lambda: service.finish(ALICE, sid, "0" * 64),
        lambda: service.delete(ALICE, sid),
    ):
        with pytest.raises(UploadSessionGone, match="expired"):
            call()
    assert world.store.advance(sid, Part(1, 1, "b" * 64), world.now[0]) is False
    # The next session sweeps the expired one's rows away.
    service.create(ALICE, CODE, "acme/other", None, 1)
    assert world.store.get(sid) is None


def test_only_its_creator_sees_a_session(world: World) -> None:
    service = world.service
    sid = service.create(ALICE, CODE, "acme/tool", None, 100).id
    for who in (BOB, ROOT):  # an administrator too: a session is nobody else's business
        for call in (
            lambda p: service.get(p, sid),
            lambda p: service.append(p, sid, 0, b"a"),
            lambda p: service.finish(p, sid, "0" * 64),
            lambda p: service.delete(p, sid),
        ):
            with pytest.raises(UploadSessionGone, match="no upload session"):
                call(who)
    with pytest.raises(PermissionDenied):  # the permission first, as every upload door
        service.get(READER, sid)
    assert service.get(ALICE, sid).offset == 0
    with pytest.raises(UploadSessionGone):
        service.get(ALICE, "../etc")


def test_finish_registers_the_whole_zip_once(world: World) -> None:
    service = world.service
    early = service.create(ALICE, CODE, "acme/tool", None, len(ZIP))
    service.append(ALICE, early.id, 0, ZIP[:64])
    with pytest.raises(InvalidInput, match=f"holds 64 of {len(ZIP)} bytes") as not_yet:
        service.finish(ALICE, early.id, hashlib.sha256(ZIP).hexdigest())
    assert not_yet.value.details == {"offset": 64, "length": len(ZIP)}
    assert service.get(ALICE, early.id).offset == 64  # kept: the rest may still come
    service.delete(ALICE, early.id)

    session = world.filled()
    with pytest.raises(InvalidInput, match="64 lowercase hex"):
        service.finish(ALICE, session.id, "not-a-digest")
    digest = hashlib.sha256(ZIP).hexdigest()
    registered = service.finish(ALICE, session.id, digest)
    artifact = registered.artifact
    assert (artifact.name, artifact.type, artifact.url) == ("acme/tool", CODE, f"upload:sha256:{digest}")
    assert artifact.created_by == "alice"
    assert {f.path for f in artifact.files} == {"README.md", "tool.py"}
    with pytest.raises(UploadSessionGone):  # finishing twice: the session is gone
        service.finish(ALICE, session.id, digest)
    again = world.filled()
    with pytest.raises(Conflict, match="already uploaded"):  # the upload route's own refusal
        service.finish(ALICE, again.id, digest)
    with pytest.raises(UploadSessionGone):
        service.get(ALICE, again.id)


def test_a_zip_that_changed_is_discarded_and_nothing_registered(world: World) -> None:
    session = world.filled()
    changed = hashlib.sha256(ZIP + b"!").hexdigest()
    with pytest.raises(InvalidInput, match="changed since the push began"):
        world.service.finish(ALICE, session.id, changed)
    with pytest.raises(UploadSessionGone):
        world.service.get(ALICE, session.id)
    assert sum(world.registry.store.count().values()) == 0


def test_parts_are_kept_from_orphan_collection_only_while_open(world: World) -> None:
    collect = world.registry.artifacts.collect_orphans
    kept = world.filled()
    parts = {p.sha256 for p in world.store.parts(kept.id)}
    deleted = world.filled(ZIP + b"\0" * 100)
    deleted_parts = {p.sha256 for p in world.store.parts(deleted.id)} - parts
    assert deleted_parts
    collect()
    assert parts | deleted_parts <= set(world.blobs.blobs)
    world.service.delete(ALICE, deleted.id)
    collect()
    assert parts <= set(world.blobs.blobs)
    assert not deleted_parts & set(world.blobs.blobs)
    world.service.finish(ALICE, kept.id, hashlib.sha256(ZIP).hexdigest())
    collect()
    assert not parts & set(world.blobs.blobs)
