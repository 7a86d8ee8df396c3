"""Whole packages kept as files: written by the first whole download that completes, read by
every later download and range, bounded by least-recent use, and handed to a server that can
send files itself (ASGI pathsend)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.feature.web_support import upload
from tests.zips import model_files
from tmr.api.streaming import respond
from tmr.container import Registry
from tmr.downloads.cache import PackageCache
from tmr.downloads.plan import serve_file
from tmr.serving.extensions import PATHSEND, ZEROCOPYSEND

ID_A, ID_B, ID_C = "a" * 64, "b" * 64, "c" * 64


def fill(cache: PackageCache, identity: str, data: bytes) -> bytes:
    return b"".join(cache.filling(identity, len(data), iter([data[:3], data[3:]])))


def test_a_complete_download_is_kept_and_found(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path, 1000)
    assert cache.get(ID_A, 5) is None
    assert fill(cache, ID_A, b"hello") == b"hello"
    path = cache.get(ID_A, 5)
    assert path is not None
    assert path.read_bytes() == b"hello"
    assert cache.get(ID_A, 6) is None  # another length is another package
    assert [p.name for p in tmp_path.iterdir()] == [f"{ID_A}.zip"]


def test_an_unfinished_or_short_download_leaves_nothing(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path, 1000)
    chunks = cache.filling(ID_A, 6, iter([b"abc", b"def"]))
    assert next(chunks) == b"abc"
    chunks.close()  # the client left
    assert list(tmp_path.iterdir()) == []
    assert b"".join(cache.filling(ID_B, 10, iter([b"short"]))) == b"short"
    assert list(tmp_path.iterdir()) == []

    def failing() -> Any:
        yield b"abc"
        raise OSError("the blob store went away")

    with pytest.raises(OSError, match="went away"):
        b"".join(cache.filling(ID_C, 6, failing()))
    assert list(tmp_path.iterdir()) == []


def test_the_least_recently_used_go_first(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path, 10, keep_recent_s=0)
    fill(cache, ID_A, b"aaaa")
    fill(cache, ID_B, b"bbbb")
    past = time.time() - 100
    os.utime(tmp_path / f"{ID_A}.zip", (past, past))
    os.utime(tmp_path / f"{ID_B}.zip", (past + 1, past + 1))
    assert cache.get(ID_A, 4) is not None  # a hit makes A the most recent
    fill(cache, ID_C, b"cccc")  # 12 bytes > 10: B, the least recently used, goes
    assert sorted(p.name[:1] for p in tmp_path.iterdir()) == ["a", "c"]


def test_files_in_recent_use_are_kept_over_the_bound(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path, 5, keep_recent_s=3600)
    fill(cache, ID_A, b"aaaa")
    fill(cache, ID_B, b"bbbb")
    assert len(list(tmp_path.iterdir())) == 2  # a response may be about to send either


def test_identities_are_names_not_paths_and_big_packages_are_not_kept(tmp_path: Path) -> None:
    cache = PackageCache(tmp_path, 400)
    for bad in ("../x", "", "a/b", "a.zip"):
        with pytest.raises(ValueError, match="identity"):
            cache.get(bad, 1)
    assert cache.admits(100)
    assert not cache.admits(101)  # more than a quarter of the cache
    assert not cache.admits(0)


def test_partials_of_a_dead_process_are_cleared_at_start(tmp_path: Path) -> None:
    stale = tmp_path / f"{ID_A}.partial-0123"
    stale.write_bytes(b"half")
    past = time.time() - 3600
    os.utime(stale, (past, past))
    fresh = tmp_path / f"{ID_B}.partial-4567"
    fresh.write_bytes(b"being written")
    PackageCache(tmp_path, 100)
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]


def test_downloads_after_the_first_are_read_from_the_kept_file(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    model = upload(client, auth, model_files(seed=4), "cached-model")
    cache_dir = registry.settings.data_dir / "package-cache"
    first = client.get(f"/download/{model}", headers=auth)
    assert first.status_code == 200
    kept = list(cache_dir.glob("*.zip"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == first.content
    assert kept[0].name == first.headers["ETag"].strip('"') + ".zip"
    # Prove the second answer comes from the file: change the file's bytes (same length).
    kept[0].write_bytes(bytes(len(first.content)))
    second = client.get(f"/download/{model}", headers=auth)
    assert second.content == bytes(len(first.content))
    kept[0].write_bytes(first.content)
    ranged = client.get(f"/download/{model}", headers=auth | {"Range": "bytes=10-99"})
    assert ranged.status_code == 206
    assert ranged.content == first.content[10:100]
    # Parts are other packages, kept under their own identity.
    part = client.get(f"/download/{model}", params={"parts": "config"}, headers=auth)
    assert part.status_code == 200
    assert len(list(cache_dir.glob("*.zip"))) == 2
    assert client.delete("/reset", headers=auth).status_code == 200
    assert list(cache_dir.glob("*.zip")) == []


def test_a_range_first_does_not_fill_the_cache(
    client: TestClient, registry: Registry, auth: dict[str, str]
) -> None:
    model = upload(client, auth, model_files(seed=5), "ranged-model")
    assert client.get(f"/download/{model}", headers=auth | {"Range": "bytes=0-9"}).status_code == 206
    assert list((registry.settings.data_dir / "package-cache").glob("*.zip")) == []


def test_the_cache_can_be_turned_off(make_registry: Any) -> None:
    from tmr.app import create_app

    registry = make_registry(package_cache_bytes=0)
    with TestClient(create_app(registry=registry)) as client:
        from tests.support import auth_request

        auth = {"X-Authorization": client.put("/authenticate", json=auth_request()).json()}
        model = upload(client, auth, model_files(seed=6), "uncached")
        assert client.get(f"/download/{model}", headers=auth).status_code == 200
    assert not (registry.settings.data_dir / "package-cache").exists()


def _run(response: Any, extensions: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "extensions": extensions}
    asyncio.run(response(scope, receive, send))
    return sent


def test_a_kept_file_is_handed_to_a_server_that_sends_files(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(b"0123456789")
    whole = serve_file(path, 10, {"ETag": '"x"'}, None, media_type="application/zip")
    sent = _run(respond(whole), {PATHSEND: {}})
    assert [m["type"] for m in sent] == ["http.response.start", PATHSEND]
    assert sent[1]["path"] == str(path)
    assert (b"content-length", b"10") in sent[0]["headers"]
    # Without the extension, the same answer streams the bytes.
    streamed = _run(respond(serve_file(path, 10, {}, None, media_type="application/zip")), {})
    assert (
        b"".join(m.get("body", b"") for m in streamed if m["type"] == "http.response.body") == b"0123456789"
    )
    # A range is always streamed: pathsend sends whole files only.
    part = serve_file(path, 10, {}, (2, 5), media_type="application/zip")
    sent = _run(respond(part), {PATHSEND: {}})
    assert PATHSEND not in [m["type"] for m in sent]
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body") == b"234"
    # A server that sends spans of open files gets the range as one (and a whole file the same way).
    for span, offset, count in [((2, 5), 2, 3), (None, 0, 10)]:
        sent = _run(respond(serve_file(path, 10, {}, span, media_type="application/zip")), {ZEROCOPYSEND: {}})
        assert [m["type"] for m in sent] == ["http.response.start", ZEROCOPYSEND]
        assert (sent[1]["offset"], sent[1]["count"], sent[1]["file"].name) == (offset, count, str(path))
        assert sent[1]["file"].closed  # the answer closes what it opened
