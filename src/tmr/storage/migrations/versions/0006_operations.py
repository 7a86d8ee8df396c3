"""Operational data: per-minute request aggregates and recent log lines

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The operations dashboard must show the same numbers whichever worker or Lambda instance serves
it, so each instance writes its own per-minute aggregates (and its buffered log lines) here and
readers sum across instances. Both tables are bounded by the writers (about two hours of minutes,
the last few thousand log lines), so they never grow with the registry's age.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=256), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("server_errors", sa.Integer(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("latency", sa.JSON(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("bytes_served", sa.BigInteger(), nullable=False),
        sa.Column("registrations", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "instance", "route", name=op.f("pk_ops_minutes")),
    )
    op.create_table(
        "ops_log",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("levelno", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("logger", sa.String(length=256), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ops_log")),
    )
    with op.batch_alter_table("ops_log", schema=None) as batch_op:
        batch_op.create_index("ix_ops_log_levelno_seq", ["levelno", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ops_log", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_log_levelno_seq")
    op.drop_table("ops_log")
    op.drop_table("ops_minutes")
