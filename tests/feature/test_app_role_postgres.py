"""The application's database role against a real PostgreSQL 15, set up the way RDS forces it.

The "master" here is not a superuser (RDS's master user is not either): it owns the database,
may create roles, runs the migrations and then `ensure_app_role`. The role it creates must be able
to read and write rows and nothing more.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tests import services
from tests.support import make_settings
from tmr.aws import APP_SECRET_ENV, LambdaRuntime
from tmr.storage.database import make_engine, migrate
from tmr.storage.roles import RoleSetupError, ensure_app_role, grant_statements

pytestmark = pytest.mark.postgres

PASSWORD = "correct-horse-battery-staple-42"


def _admin_dsn(url: str, **overrides: str) -> str:
    parsed = make_url(url)
    fields = {
        "host": parsed.host,
        "port": str(parsed.port),
        "user": parsed.username,
        "dbname": parsed.database,
    }
    fields |= overrides
    return " ".join(f"{key}={value}" for key, value in fields.items())


class Cluster:
    """A database owned by a non-superuser "master", and the roles made for one test."""

    def __init__(self, url: str, database: str, master: str, app: str) -> None:
        self.url, self.database, self.master, self.app = url, database, master, app

    def dsn(self, user: str) -> str:
        return _admin_dsn(self.url, user=user, dbname=self.database)

    def engine(self, user: str) -> Engine:
        return make_engine(
            make_url(self.url)
            .set(username=user, database=self.database)
            .render_as_string(hide_password=False)
        )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    url = services.require("postgres")
    tag = secrets.token_hex(4)
    database, master, app = f"roles_{tag}", f"master_{tag}", f"app_{tag}"
    admin = _admin_dsn(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {master} LOGIN CREATEROLE CREATEDB")  # type: ignore[arg-type]
        conn.execute(f"CREATE DATABASE {database} OWNER {master}")  # type: ignore[arg-type]
    try:
        yield Cluster(url, database, master, app)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")  # type: ignore[arg-type]
            conn.execute(f"DROP ROLE IF EXISTS {app}")  # type: ignore[arg-type]
            conn.execute(f"DROP ROLE IF EXISTS {master}")  # type: ignore[arg-type]


@pytest.fixture
def migrated(cluster: Cluster) -> Cluster:
    engine = cluster.engine(cluster.master)
    try:
        migrate(engine)
        ensure_app_role(engine, cluster.app, PASSWORD)
    finally:
        engine.dispose()
    return cluster


def _refused(conn: psycopg.Connection[Any], statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)  # type: ignore[arg-type]
    conn.rollback()


def test_the_app_role_reads_and_writes_rows(migrated: Cluster) -> None:
    with psycopg.connect(migrated.dsn(migrated.app)) as conn:
        now = datetime.now(UTC)
        conn.execute(
            "INSERT INTO sign_in_failures (key, failures, window_started_at) VALUES (%s, %s, %s)",
            ("user:alice", 1, now),
        )
        conn.execute("UPDATE sign_in_failures SET failures = failures + 1 WHERE key = %s", ("user:alice",))
        row = conn.execute("SELECT failures FROM sign_in_failures WHERE key = %s", ("user:alice",)).fetchone()
        assert row == (2,)
        assert conn.execute("DELETE FROM sign_in_failures WHERE key = %s", ("user:alice",)).rowcount == 1
        # The schema revision is readable (a cold start checks it) but not writable.
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        conn.commit()
        _refused(conn, "UPDATE alembic_version SET version_num = 'forged'")
        # Every sequence the migrations made can be drawn from.
        sequences = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = 'public'"
        ).fetchall()
        for (name,) in sequences:
            assert conn.execute("SELECT has_sequence_privilege(%s, 'USAGE')", (name,)).fetchone() == (True,)


def test_the_app_role_cannot_change_the_schema_or_make_roles(migrated: Cluster) -> None:
    with psycopg.connect(migrated.dsn(migrated.app)) as conn:
        _refused(conn, "CREATE TABLE intruder (id int)")
        _refused(conn, "DROP TABLE sign_in_failures")
        _refused(conn, "ALTER TABLE sign_in_failures ADD COLUMN extra int")
        _refused(conn, "TRUNCATE sign_in_failures")
        _refused(conn, "CREATE INDEX intruder_ix ON sign_in_failures (failures)")
        # Without the grant option a GRANT only warns: nothing may have reached PUBLIC.
        conn.execute("GRANT SELECT ON sign_in_failures TO PUBLIC")
        conn.commit()
        assert conn.execute(
            "SELECT count(*) FROM information_schema.role_table_grants "
            "WHERE grantee = 'PUBLIC' AND table_name = 'sign_in_failures'"
        ).fetchone() == (0,)
        _refused(conn, "CREATE ROLE intruder LOGIN")
        _refused(conn, f"ALTER ROLE {migrated.master} PASSWORD 'x'")
        attributes = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolbypassrls, rolreplication "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert attributes == (False, False, False, False, False, False)


def test_tables_made_by_a_later_migration_are_granted_too(migrated: Cluster) -> None:
    with psycopg.connect(migrated.dsn(migrated.master)) as conn:
        conn.execute("CREATE TABLE later_table (id serial PRIMARY KEY, note text)")
        conn.commit()
    with psycopg.connect(migrated.dsn(migrated.app)) as conn:
        conn.execute("INSERT INTO later_table (note) VALUES ('drawn from the serial sequence')")
        assert conn.execute("SELECT note FROM later_table").fetchone() == ("drawn from the serial sequence",)
        _refused(conn, "DROP TABLE later_table")


def test_running_it_again_is_harmless_and_sets_the_new_password(cluster: Cluster) -> None:
    engine = cluster.engine(cluster.master)
    try:
        migrate(engine)
        ensure_app_role(engine, cluster.app, PASSWORD)
        ensure_app_role(engine, cluster.app, PASSWORD + "-rotated")
    finally:
        engine.dispose()
    with psycopg.connect(_admin_dsn(cluster.url), autocommit=True) as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (cluster.app,)
        ).fetchone()
    assert stored is not None
    # Stored as a SCRAM verifier made on the client; the clear text never reached the server.
    assert stored[0].startswith("SCRAM-SHA-256$")
    assert PASSWORD not in stored[0]
    with psycopg.connect(cluster.dsn(cluster.app)) as conn:
        assert conn.execute("SELECT count(*) FROM sign_in_failures").fetchone() == (0,)


def test_it_refuses_what_would_widen_rights(cluster: Cluster) -> None:
    engine = cluster.engine(cluster.master)
    try:
        with pytest.raises(RoleSetupError, match="migrating user itself"):
            ensure_app_role(engine, cluster.master, PASSWORD)
        with pytest.raises(RoleSetupError, match="shorter than 16"):
            ensure_app_role(engine, cluster.app, "short")
        with pytest.raises(RoleSetupError, match="invalid role name"):
            ensure_app_role(engine, 'tmr"; DROP ROLE x; --', PASSWORD)
    finally:
        engine.dispose()
    with psycopg.connect(_admin_dsn(cluster.url), autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (cluster.app,)).fetchone() is None


def test_the_grants_name_only_rows_and_usage() -> None:
    text = " ".join(str(statement) for statement in grant_statements("tmr_app", database="tmr", owner="tmr"))
    for forbidden in ("ALL PRIVILEGES", "CREATE", "TRUNCATE", "REFERENCES", "TRIGGER", "WITH GRANT OPTION"):
        assert forbidden not in text


class AppSecret:
    """The application role's secret as Secrets Manager would answer it (RDS format)."""

    def __init__(self, arn: str, username: str) -> None:
        self.arn, self.username = arn, username

    def secret_string(self, secret_id: str) -> str:
        assert secret_id == self.arn
        return json.dumps({"username": self.username, "password": PASSWORD})

    def parameters(self, names: Sequence[str]) -> dict[str, str]:
        raise AssertionError(f"unexpected parameters {names}")


def test_the_migration_invocation_creates_the_serving_role(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`{"tmr": "migrate"}` as the migration function runs it: as the master, with the app
    role's secret named by TMR_APP_DATABASE_SECRET_ARN."""
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tmr/app-AbCdEf"
    monkeypatch.setenv(APP_SECRET_ENV, arn)
    master_url = make_url(cluster.url).set(username=cluster.master, database=cluster.database)
    runtime = LambdaRuntime(
        settings=lambda: make_settings(
            tmp_path,
            database_url=master_url.render_as_string(hide_password=False),
            admin_password="not-the-contract-default-0",
        ),
        secrets=AppSecret(arn, cluster.app),
    )
    try:
        summary = runtime.handle({"tmr": "migrate"}, None)
    finally:
        runtime.close()
    assert summary["app_role"] == cluster.app
    with psycopg.connect(cluster.dsn(cluster.app)) as conn:
        assert conn.execute("SELECT count(*) FROM sign_in_failures").fetchone() == (0,)
        _refused(conn, "DROP TABLE sign_in_failures")


def test_without_the_app_secret_the_migration_makes_no_role(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(APP_SECRET_ENV, raising=False)
    master_url = make_url(cluster.url).set(username=cluster.master, database=cluster.database)
    runtime = LambdaRuntime(
        settings=lambda: make_settings(
            tmp_path,
            database_url=master_url.render_as_string(hide_password=False),
            admin_password="not-the-contract-default-0",
        )
    )
    try:
        assert runtime.handle({"tmr": "migrate"}, None)["app_role"] is None
    finally:
        runtime.close()
    with psycopg.connect(_admin_dsn(cluster.url), autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (cluster.app,)).fetchone() is None
