"""The whole registry and its app on in-memory stores, for unit tests of views and SQL adapters.

The metadata store is SQLite in memory (one connection shared through a `StaticPool`, so the
app's threads see one database), migrated once per session and copied into each test's database
with SQLite's backup API; blobs live in `MemoryBlobs`. The data and spool directories point
under `/proc`, where nothing can be created, so a code path that touches the filesystem fails
loudly instead of quietly writing files. Upstreams are never reached: only URLs tmr does not
fetch (plain hosts) are registered here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from tests.support import ADMIN, auth_request, make_settings
from tests.unit.memory_repo import MemoryBlobs
from tmr import container
from tmr.accounts import passwords
from tmr.accounts.models import Principal
from tmr.app import create_app
from tmr.artifacts.building import describe
from tmr.artifacts.models import Artifact, ArtifactType, FileKind
from tmr.container import Registry
from tmr.settings import Settings
from tmr.sources.models import SourceKind, SourceRef, SourceSnapshot, UpstreamFile
from tmr.storage.database import migrate

NOWHERE = Path("/proc/tmr-unit-no-files")  # mkdir fails here: no test of this layer writes files
TOKEN = "unit-static-admin-token"
ADMIN_HEADERS = {"X-Authorization": TOKEN}
ADMIN_PRINCIPAL = Principal(ADMIN, is_admin=True)


def _connect(source: sqlite3.Connection | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    if source is not None:
        source.backup(conn)
    return conn


@cache
def _migrated() -> sqlite3.Connection:
    """One migrated database per session, the template every test's database is copied from."""
    conn = _connect()
    engine = create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)
    migrate(engine)
    return conn


def memory_engine() -> Engine:
    """A migrated, empty SQLite database in memory, private to the caller."""
    conn = _connect(_migrated())
    conn.execute("PRAGMA foreign_keys=ON")
    return create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)


def memory_settings(**overrides: Any) -> Settings:
    """Settings for a registry in memory: the static admin token, no package cache, and
    upstreams where nothing answers (nothing here may reach them)."""
    values: dict[str, Any] = {
        "auth_token": TOKEN,
        "spool_dir": NOWHERE / "spool",
        "package_cache_bytes": 0,
        "hf_endpoint": "http://127.0.0.1:1",
        "github_api_url": "http://127.0.0.1:1",
        "workload_inline": True,
    } | overrides
    return make_settings(NOWHERE, **values)


@contextmanager
def memory_stores() -> Iterator[tuple[Engine, MemoryBlobs]]:
    """While open, `build_registry` (whoever calls it: the app, the CLI, the Lambda runtime)
    builds on a fresh in-memory database and blob store, hashing passwords with cheap argon2id."""
    engine = memory_engine()
    blobs = MemoryBlobs()
    with pytest.MonkeyPatch.context() as patch:
        # Real argon2id at its cheapest: the hashing code runs, tens of milliseconds per password do not.
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        patch.setattr(container, "make_engine", lambda _url: engine)
        patch.setattr(container, "make_blob_store", lambda *_a, **_k: blobs)
        try:
            yield engine, blobs
        finally:
            passwords._nobody.cache_clear()  # made with the cheap parameters: not for other tests


@contextmanager
def _built(**overrides: Any) -> Iterator[Registry]:
    """A registry in memory; the caller closes it."""
    with memory_stores():
        yield container.build_registry(memory_settings(**overrides), run_migrations=False)


@contextmanager
def memory_registry(**overrides: Any) -> Iterator[Registry]:
    """A registry in memory, closed afterwards."""
    with _built(**overrides) as registry:
        try:
            yield registry
        finally:
            registry.close()


@contextmanager
def memory_client(**overrides: Any) -> Iterator[tuple[TestClient, Registry]]:
    """The app on a registry in memory; the app's lifespan closes the registry."""
    with _built(**overrides) as registry, TestClient(create_app(registry=registry)) as client:
        yield client, registry


def sign_in(client: TestClient) -> dict[str, str]:
    """A contract token for the default admin (an argon2 check: use the static token when the
    test is not about signing in)."""
    response = client.put("/authenticate", json=auth_request())
    assert response.status_code == 200, response.text
    return {"X-Authorization": response.json()}


def seed(
    registry: Registry,
    name: str,
    files: dict[str, bytes],
    type_: ArtifactType = ArtifactType.MODEL,
    readme: str = "",
    url: str | None = None,
    card: dict[str, Any] | None = None,
) -> Artifact:
    """An artifact with stored files, as registration would leave it, without any upstream."""
    url = url or f"https://example.org/{type_.value}/{name}"
    upstream = tuple(
        UpstreamFile(path, len(data), _kind(path), "", None, data) for path, data in sorted(files.items())
    )
    snapshot = SourceSnapshot(
        ref=SourceRef(SourceKind.URL, url, host="example.org"),
        readme=readme or f"# {name}\n",
        card=card or {},
        license=str((card or {}).get("license")) if (card or {}).get("license") else None,
        facts={"host": "example.org"},
        files=upstream,
    )
    for data in files.values():
        registry.blobs.put_bytes(data)
    return registry.artifacts.commit_new(ADMIN_PRINCIPAL, describe(type_, name, url, snapshot).artifact)


def _kind(path: str) -> FileKind:
    if path.endswith((".safetensors", ".bin")):
        return FileKind.WEIGHTS
    if path.endswith(".json"):
        return FileKind.CONFIG
    if path.endswith(".md"):
        return FileKind.DOCS
    return FileKind.OTHER
