"""A full disk, on a real `tmr serve` (SQLite + files) whose data and spool folders are a small
tmpfs of this module's own, filled up in the middle of an upload; and a package cache on a tmpfs
too small for the package it tries to keep.

Asserted: uploads and registrations meanwhile are a 503 naming the disk (with Retry-After),
`/health/components` says the disk is full, nothing half-written is visible or left behind,
what was stored before is intact, and the same server works again once space is freed. A package
cache without room falls back to serving the package uncached, whole and right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.e2e.faults.helpers import (
    HF,
    assert_names_component,
    client,
    component,
    names,
    package_sha256,
    upload,
    wait_until,
)
from tests.emulator.server import EmulatorServer
from tests.private_services import ServiceUnavailableHere, fill, small_filesystem
from tests.processes import ServerProcess, registry_server
from tests.zips import digests, model_files, safetensors_bytes, unzip, zip_bytes


def _mounted(size: str) -> Iterator[Path]:
    try:
        with small_filesystem(size) as where:
            yield where
    except ServiceUnavailableHere as exc:
        if services.services_required():
            pytest.fail(f"TMR_REQUIRE_SERVICES=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def disk() -> Iterator[Path]:
    yield from _mounted("48m")


@pytest.fixture(scope="module")
def cache_disk() -> Iterator[Path]:
    yield from _mounted("256k")


@pytest.fixture(scope="module")
def server(
    disk: Path, cache_disk: Path, emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    (disk / "spool").mkdir()
    env = {
        "TMR_DATA_DIR": str(disk / "data"),
        "TMR_SPOOL_DIR": str(disk / "spool"),
        "TMR_PACKAGE_CACHE_DIR": str(cache_disk),
        **emulator.env(),
    }
    with registry_server(env, tmp_path_factory.mktemp("disk-faults") / "server.log") as process:
        yield process


def _files(seed: int) -> dict[str, bytes]:
    return model_files(seed=seed, weights=safetensors_bytes((512, 512), seed=seed))  # about 1 MiB


def test_a_full_disk_refuses_uploads_and_registrations_clearly_and_recovers(
    server: ServerProcess, disk: Path
) -> None:
    with client(server) as http:
        created = upload(http, "disk/kept", zip_bytes(_files(41)))
        assert created.status_code == 201, created.text
        kept = created.json()["metadata"]["id"]
        kept_sha = package_sha256(http, kept)

        filler: list[Path] = []
        try:
            failed = upload(
                http, "disk/mid-upload", zip_bytes(_files(42)), during=lambda: filler.append(fill(disk))
            )
            assert_names_component(failed, "disk")
            assert "disk is full" in failed.json()["detail"]
            assert failed.headers["Retry-After"] == "30"
            filler.append(fill(disk))  # the failed upload's spooled half was freed: full again
            registering = http.post("/artifact/model", json={"url": f"{HF}/nomic/tiny-mit-model"})
            assert_names_component(registering, "disk")
            # Reading may still work or may need a write it cannot make: a clear answer either way.
            meanwhile = http.get(f"/download/{kept}")
            if meanwhile.status_code != 200:
                assert_names_component(meanwhile, "disk")
            else:
                assert hashlib.sha256(meanwhile.content).hexdigest() == kept_sha
            local = component(server, "disk")
            assert local["status"] == "critical"
            assert "the data folder's disk is full" in [i["summary"] for i in local["issues"]]
            assert component(server, "blob_store")["issues"][0]["summary"] == "blob store: the disk is full"
        finally:
            for path in filler:
                path.unlink()

        wait_until(lambda: component(server, "disk")["status"] == "ok", "the disk to be ok again")
        assert component(server, "blob_store")["status"] == "ok"
        assert package_sha256(http, kept) == kept_sha
        assert "mid-upload" not in names(http)
        assert not list((disk / "spool").glob("tmr-upload-*"))  # the spooled half is gone
        assert not list((disk / "data").rglob("put-*"))  # no half blob under .tmp
        assert upload(http, "disk/mid-upload", zip_bytes(_files(42))).status_code == 201
        assert http.post("/artifact/model", json={"url": f"{HF}/nomic/tiny-mit-model"}).status_code == 201


def test_a_package_cache_without_room_still_serves_the_whole_package(
    server: ServerProcess, cache_disk: Path
) -> None:
    files = _files(51)
    with client(server) as http:
        created = upload(http, "disk/uncached", zip_bytes(files))
        assert created.status_code == 201, created.text
        artifact_id = created.json()["metadata"]["id"]
        for _ in range(2):  # the first download tries to cache it, the second finds nothing cached
            whole = http.get(f"/download/{artifact_id}")
            assert whole.status_code == 200
            assert len(whole.content) == int(whole.headers["Content-Length"]) > 256 * 1024
            assert hashlib.sha256(whole.content).hexdigest() == whole.headers["X-Package-SHA256"]
            assert digests(unzip(whole.content)) == digests(files)
            assert not list(cache_disk.iterdir())  # no partial file left behind
