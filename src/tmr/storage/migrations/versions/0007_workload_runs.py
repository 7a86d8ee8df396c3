"""Download workload runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

An admin starts the download workload from the dashboard; any worker or Lambda instance may serve
the pages that follow its progress and compare past runs, so runs live here. The table is bounded
by its writer (the newest 100 runs are kept). `active` is 1 while a run is queued or running and
NULL afterwards: its unique constraint makes "one active run at a time" hold across workers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workload_runs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("started_by", sa.String(length=256), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("artifact_id", sa.String(length=64), nullable=False),
        sa.Column("artifact_name", sa.String(length=512), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=False),
        sa.Column("parts", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=True),
        sa.Column("throughput_mb_s", sa.Float(), nullable=True),
        sa.Column("requests_per_s", sa.Float(), nullable=True),
        sa.Column("mean_ms", sa.Float(), nullable=True),
        sa.Column("median_ms", sa.Float(), nullable=True),
        sa.Column("p99_ms", sa.Float(), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=True),
        sa.Column("first_error", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_workload_runs")),
        sa.UniqueConstraint("id", name=op.f("uq_workload_runs_id")),
        sa.UniqueConstraint("active", name=op.f("uq_workload_runs_active")),
    )


def downgrade() -> None:
    op.drop_table("workload_runs")
