"""The application's least-privilege PostgreSQL role, created and granted by the migration step.

On AWS the serving function never connects as the RDS master user: the master (from the RDS-managed
secret) is used only by the one-off migration invocation, which runs Alembic and then calls
`ensure_app_role`, so the role the serving function logs in as can read and write rows but cannot
create, alter or drop tables, nor create roles (docs/deploy.md, "The database user").

Written for a master that is not a superuser (RDS's `rds_superuser` members are not): the role is
created with the defaults, which are already NOSUPERUSER NOREPLICATION NOBYPASSRLS, because naming
those attributes at all requires a superuser. Idempotent and serialised by an advisory lock, so it
runs on every migration and a rotated password is applied by running it again.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine, text

APP_ROLE = "tmr_app"
# Separate from the migration's own lock (461461): both may run in one invocation.
_ROLE_LOCK = 461462
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Rows only: no TRUNCATE, REFERENCES or TRIGGER, and nothing on the schema but USAGE.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


class RoleSetupError(ValueError):
    """The application role cannot be set up as asked; the message names no secret."""


def _check_name(role: str) -> None:
    if not _ROLE_NAME.match(role):
        raise RoleSetupError(f"invalid role name {role!r}: lower-case letters, digits and _ only")


def grant_statements(role: str, *, database: str, owner: str, schema: str = "public") -> list[sql.Composed]:
    """What `role` is granted: CONNECT, USAGE on `schema`, row privileges on its tables, USAGE on
    its sequences, and the same on whatever `owner` (the migrating user) creates there later; the
    Alembic version table stays read-only, so the role cannot fake a schema revision."""
    _check_name(role)
    who, where = sql.Identifier(role), sql.Identifier(schema)
    rows = sql.SQL(", ").join(sql.SQL(p) for p in TABLE_PRIVILEGES)
    return [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), who),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, who),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(rows, where, who),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(where, who),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON TABLES TO {}").format(
            sql.Identifier(owner), where, rows, who
        ),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE ON SEQUENCES TO {}").format(
            sql.Identifier(owner), where, who
        ),
    ]


def _driver(connection: Connection) -> psycopg.Connection[Any]:
    raw = connection.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise RoleSetupError("the application role is set up through psycopg only")
    return raw


def _execute(connection: Connection, statement: sql.Composed) -> None:
    connection.exec_driver_sql(statement.as_string(_driver(connection)))


def ensure_app_role(engine: Engine, role: str, password: str, *, schema: str = "public") -> None:
    """Create `role` (LOGIN, NOINHERIT, nothing else) if missing, set its password, and grant it
    row access to the schema. Run by the migrating user after the migrations, on PostgreSQL only."""
    _check_name(role)
    if engine.dialect.name != "postgresql":
        raise RoleSetupError("the application role exists on PostgreSQL only")
    if len(password) < 16:
        raise RoleSetupError(f"the password of {role} is shorter than 16 characters")
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROLE_LOCK})
        owner, database = connection.execute(text("SELECT current_user, current_database()")).one()
        if role == owner:
            raise RoleSetupError(f"{role} is the migrating user itself: name another application role")
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if exists is None:
            _execute(connection, sql.SQL("CREATE ROLE {} LOGIN NOINHERIT").format(sql.Identifier(role)))
        # Hashed here (libpq's PQencryptPasswordConn): the clear text never reaches the server,
        # so no statement log or pg_stat_activity can show it.
        verifier = _driver(connection).pgconn.encrypt_password(
            password.encode(), role.encode(), b"scram-sha-256"
        )
        _execute(
            connection,
            sql.SQL("ALTER ROLE {} WITH LOGIN NOINHERIT NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(verifier.decode())
            ),
        )
        for statement in grant_statements(role, database=database, owner=owner, schema=schema):
            _execute(connection, statement)
        version_table = connection.execute(
            text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f"{schema}.alembic_version"}
        ).scalar_one()
        if version_table:
            _execute(
                connection,
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {}.alembic_version FROM {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                ),
            )


def app_credentials(secret: str, label: str) -> tuple[str, str]:
    """(user name, password) of the application role from its secret, in the RDS format
    (`{"username": ..., "password": ...}`, other keys ignored); errors name the secret, never a value."""
    try:
        fields = json.loads(secret)
    except ValueError:
        raise RoleSetupError(f"{label} is not JSON (expected the RDS secret format)") from None
    username = fields.get("username") if isinstance(fields, dict) else None
    password = fields.get("password") if isinstance(fields, dict) else None
    if not isinstance(username, str) or not isinstance(password, str):
        raise RoleSetupError(f"{label} has no username and password")
    _check_name(username)
    return username, password
