"""Each way a component fails becomes the error that names it: a full disk under the blob store,
the upload spooler, SQLite and the package cache; a database that is gone; an upstream that drops
the connection mid-answer; and the disk's health probe. The end-to-end proofs, with real services
stopped and real disks filled, are in tests/e2e/faults/."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from tmr.artifacts.uploads import Spooler, UploadLimits
from tmr.downloads.cache import PackageCache
from tmr.errors import (
    BlobStoreUnavailable,
    DatabaseUnavailable,
    DiskFull,
    DiskUnavailable,
    UpstreamDown,
    UpstreamUnavailable,
)
from tmr.observability.disks import DiskProbe, probe_folder
from tmr.observability.health import disk_component
from tmr.sources.http import UpstreamClient
from tmr.sources.huggingface import HuggingFaceSource
from tmr.sources.models import SourceKind, SourceRef
from tmr.storage.blobs import filesystem
from tmr.storage.blobs.filesystem import FilesystemBlobStore
from tmr.storage.sessions import available

NO_SPACE = OSError(errno.ENOSPC, "No space left on device")


class _Full:
    """A file that takes `room` bytes and then refuses more, as a full disk does."""

    def __init__(self, room: int = 0) -> None:
        self.room = room
        self.closed = False

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return len(data)

    def close(self) -> None:
        self.closed = True


def test_a_full_disk_under_the_blob_store_is_disk_full_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FilesystemBlobStore(tmp_path)

    def full(_fd: int) -> None:
        raise NO_SPACE

    monkeypatch.setattr(filesystem.os, "fsync", full)
    with pytest.raises(DiskFull) as caught:
        store.put_bytes(b"weights")
    assert caught.value.public()[1] == {"component": "disk", "retry_after": 30}
    assert not list((tmp_path / ".tmp").iterdir())


def test_another_failure_of_the_blob_folder_is_the_blob_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(_fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(filesystem.os, "fsync", denied)
    with pytest.raises(BlobStoreUnavailable):
        FilesystemBlobStore(tmp_path).put_bytes(b"weights")


def test_a_full_spool_folder_is_disk_full(tmp_path: Path) -> None:
    spooler = Spooler(UploadLimits(), tmp_path)
    real = spooler._out
    spooler._out = _Full(room=4)  # type: ignore[assignment]
    real.close()
    spooler.feed(b"PK\x03\x04")
    with pytest.raises(DiskFull, match="upload"):
        spooler.feed(b"more than fits")
    spooler.abort()
    assert not list(tmp_path.iterdir())


def test_a_spool_folder_that_cannot_be_written_is_the_disk(tmp_path: Path) -> None:
    with pytest.raises(DiskUnavailable) as caught:
        Spooler(UploadLimits(), tmp_path / "missing")
    assert not isinstance(caught.value, DiskFull)
    assert caught.value.component == "disk"


def _sql_error(text: str) -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError(text))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("database or disk is full", DiskFull),
        ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', DatabaseUnavailable),
    ],
)
def test_database_errors_name_the_disk_or_the_database(text: str, error: type[Exception]) -> None:
    with pytest.raises(error), available():
        raise _sql_error(text)


def _chunks(count: int) -> Iterator[bytes]:
    yield from (bytes([i]) * 1000 for i in range(count))


def test_a_package_cache_without_room_still_passes_every_byte_through(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path, max_bytes=10**9)
    full = _Full(room=2500)
    cache._open_partial = lambda _partial: full  # type: ignore[assignment,method-assign,return-value]
    passed = b"".join(cache.filling("a" * 64, 5000, _chunks(5)))
    assert passed == b"".join(_chunks(5))
    assert full.closed
    assert cache.get("a" * 64, 5000) is None
    assert not list(tmp_path.iterdir())


def test_a_package_cache_folder_that_is_gone_still_passes_every_byte_through(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path / "cache", max_bytes=10**9)
    (tmp_path / "cache").rmdir()
    assert b"".join(cache.filling("b" * 64, 3000, _chunks(3))) == b"".join(_chunks(3))
    assert cache.get("b" * 64, 3000) is None


class _DropsMidway(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"half": '
        raise httpx.ReadError("connection reset by peer")


def _dropping_client() -> UpstreamClient:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_DropsMidway())

    return UpstreamClient(
        "Hugging Face", "https://hub.test", retries=0, transport=httpx.MockTransport(handler)
    )


def test_a_connection_dropped_mid_answer_is_the_upstream_down() -> None:
    client = _dropping_client()
    with pytest.raises(UpstreamDown) as caught:
        client.request("GET", "/api/models/a/b")
    assert caught.value.details["component"] == "upstream:huggingface"
    assert caught.value.status_code == 503
    assert (client.failures, client.last_failure is not None) == (1, True)


def test_a_stream_dropped_mid_file_is_the_upstream_down() -> None:
    client = _dropping_client()
    with pytest.raises(UpstreamDown), client.stream("/a/b/resolve/main/config.json") as response:
        b"".join(response.iter_bytes())
    assert client.failures == 1


def test_an_unreadable_answer_is_a_bad_gateway_naming_the_upstream() -> None:
    client = UpstreamClient(
        "GitHub",
        "https://api.github.test",
        retries=0,
        transport=httpx.MockTransport(lambda _r: httpx.Response(200, content=b"<html>")),
    )
    with pytest.raises(UpstreamUnavailable) as caught:
        client.get_json("/repos/a/b")
    assert not isinstance(caught.value, UpstreamDown)
    assert (caught.value.status_code, caught.value.details["component"]) == (502, "upstream:github")


def test_the_disk_probe_says_which_folder_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert probe_folder("data", tmp_path).problem is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmr-health-")]

    def full(_fd: int, _data: Any) -> int:
        raise NO_SPACE

    monkeypatch.setattr(os, "write", full)
    state = probe_folder("spool", tmp_path)
    assert (state.free_bytes, state.problem) == (0, "the spool folder's disk is full")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmr-health-")]


def test_the_disk_component_is_critical_when_a_folder_refuses_a_write(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    states = DiskProbe({"data": tmp_path, "spool": tmp_path / "file"}).check()
    report = disk_component(states, now=0.0)
    assert report["status"] == "critical"
    assert [i["summary"] for i in report["issues"]] == ["the spool folder cannot be written"]
    assert report["metrics"]["data_free_bytes"] == report["metrics"]["free_bytes_min"] > 0
    healthy = disk_component(DiskProbe({"data": tmp_path}).check(), now=0.0)
    assert (healthy["status"], healthy["issues"]) == ("ok", [])


@pytest.mark.parametrize(
    ("description", "message"),
    [
        (b'{"siblings": "everything"}', "unexpected file listing"),
        (b'{"siblings": [1, "two"]}', "unexpected file listing"),
        (
            b'{"siblings": [{"rfilename": "config.json", "size": "big"}]}',
            "unexpected description of config.json",
        ),
        (b'{"siblings": [{"rfilename": "w.bin", "lfs": "yes"}]}', "unexpected description of w.bin"),
    ],
)
def test_a_hub_description_that_is_garbage_is_a_bad_gateway(description: bytes, message: str) -> None:
    hub_client = UpstreamClient(
        "Hugging Face",
        "https://hub.test",
        retries=0,
        transport=httpx.MockTransport(lambda _r: httpx.Response(200, content=description)),
    )
    hub = HuggingFaceSource(hub_client, eager_limit=1024)
    with pytest.raises(UpstreamUnavailable, match=message) as caught:
        hub.inspect(SourceRef(SourceKind.HF_MODEL, "https://huggingface.co/o/m", "o/m"))
    assert (caught.value.status_code, caught.value.details["component"]) == (502, "upstream:huggingface")
