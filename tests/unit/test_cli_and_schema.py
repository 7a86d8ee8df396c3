"""The command line over stores in memory (`tmr migrate`, `tmr gc`, `tmr serve`'s refusal), the
schema's migrations both ways on SQLite in memory, the engine's SQLite settings, and the blob
store factory's choices."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import StaticPool
from typer.testing import CliRunner

from tests.unit.memory_app import NOWHERE, memory_stores
from tmr.cli import cli
from tmr.errors import InvalidInput
from tmr.storage.blobs.factory import make_blob_store
from tmr.storage.blobs.s3 import S3BlobStore
from tmr.storage.database import MIGRATIONS_DIR, make_engine, migrate
from tmr.storage.tables import Base


@pytest.fixture
def no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read from the environment: nothing under a real data directory, no package cache."""
    monkeypatch.setenv("TMR_DATA_DIR", str(NOWHERE))
    monkeypatch.setenv("TMR_PACKAGE_CACHE_BYTES", "0")
    monkeypatch.setenv("TMR_DATABASE_URL", "sqlite://")
    for name in ("S3_BUCKET", "TMR_BLOB_STORE", "AUTH_TOKEN", "TMR_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_files")
def test_migrate_brings_a_database_up_to_date() -> None:
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "schema is up to date" in result.output


@pytest.mark.usefixtures("no_files")
def test_gc_removes_only_blobs_nothing_refers_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMR_GC_GRACE_S", "0")
    with memory_stores() as (_engine, blobs):
        blobs.put_bytes(b"orphan one")
        blobs.put_bytes(b"orphan two")
        result = CliRunner().invoke(cli, ["gc"])
    assert result.exit_code == 0, result.output
    assert "removed 2 orphan blob(s)" in result.output
    assert blobs.blobs == {}


@pytest.mark.usefixtures("no_files")
def test_serve_refuses_the_public_default_password_beyond_this_machine() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 with the public default admin password" in result.output


def test_every_migration_reverses_and_replays() -> None:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(inspect(engine).get_table_names()) == tables


def test_sqlite_engines_wait_for_writers_and_enforce_foreign_keys() -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    engine.dispose()
    postgres = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing connects yet
    assert postgres.dialect.name == "postgresql"
    assert postgres.pool.size() == 10  # type: ignore[attr-defined]
    postgres.dispose()


def test_the_blob_store_factory_builds_s3_and_refuses_the_unknown() -> None:
    store = make_blob_store(
        "s3", data_dir=NOWHERE, bucket="b", region="us-east-1", endpoint_url="http://s3.test", s3_prefix="p/"
    )
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == ("b", "p/", "http://s3.test")
    with pytest.raises(InvalidInput, match="needs a bucket"):
        make_blob_store("s3", data_dir=NOWHERE, bucket=None, region="us-east-1", endpoint_url=None)
    with pytest.raises(InvalidInput, match="unknown blob store 'tape'"):
        make_blob_store("tape", data_dir=Path(NOWHERE), bucket=None, region="us-east-1", endpoint_url=None)
