"""Alembic environment: runs on the connection `tmr.storage.database.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tmr.storage.tables import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is run by hand
    raise SystemExit("run migrations through `tmr migrate`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
