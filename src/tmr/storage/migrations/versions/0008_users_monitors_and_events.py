"""Permissions, sign-in throttling, monitors, download history and search hits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Users gain permissions (existing users keep what they could do before: upload, search and
download). Failed sign-ins are counted here so throttling holds across workers. A sensitive model's
monitor program, every download asked for (allowed or refused, with the monitor's exit status) and
every artifact a search showed are kept for the download history and the package-confusion audit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ALL = "upload,search,download"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("permissions", sa.String(length=64), nullable=False, server_default=_ALL))
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_failures")),
    )
    op.create_table(
        "monitors",
        sa.Column("artifact_seq", sa.Integer(), nullable=False),
        sa.Column("program", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("set_by", sa.String(length=256), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_seq"],
            ["artifacts.seq"],
            name=op.f("fk_monitors_artifact_seq_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_seq", name=op.f("pk_monitors")),
    )
    op.create_table(
        "download_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("artifact_id", sa.String(length=64), nullable=False),
        sa.Column("artifact_type", sa.String(length=16), nullable=False),
        sa.Column("artifact_name", sa.String(length=512), nullable=False),
        sa.Column("user_name", sa.String(length=256), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("door", sa.String(length=16), nullable=False),
        sa.Column("parts", sa.String(length=1024), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("monitor_exit", sa.Integer(), nullable=True),
        sa.Column("monitor_output", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_download_events")),
    )
    op.create_index(op.f("ix_download_events_artifact_id"), "download_events", ["artifact_id"])
    op.create_index(op.f("ix_download_events_user_name"), "download_events", ["user_name"])
    op.create_index(op.f("ix_download_events_at"), "download_events", ["at"])
    op.create_table(
        "search_hits",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("artifact_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=256), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_search_hits")),
    )
    op.create_index(op.f("ix_search_hits_artifact_id"), "search_hits", ["artifact_id"])
    op.create_index(op.f("ix_search_hits_user_name"), "search_hits", ["user_name"])
    op.create_index(op.f("ix_search_hits_at"), "search_hits", ["at"])


def downgrade() -> None:
    op.drop_table("search_hits")
    op.drop_table("download_events")
    op.drop_table("monitors")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("permissions")
