"""lineage links and ratings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:12:52.834163
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_keys",
        sa.Column("artifact_seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_seq"],
            ["artifacts.seq"],
            name=op.f("fk_artifact_keys_artifact_seq_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_seq", "key", name=op.f("pk_artifact_keys")),
    )
    with op.batch_alter_table("artifact_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifact_keys_key"), ["key"], unique=False)

    op.create_table(
        "artifact_links",
        sa.Column("artifact_seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("relationship", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_seq"],
            ["artifacts.seq"],
            name=op.f("fk_artifact_links_artifact_seq_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_seq", "key", name=op.f("pk_artifact_links")),
    )
    with op.batch_alter_table("artifact_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifact_links_key"), ["key"], unique=False)

    op.create_table(
        "ratings",
        sa.Column("artifact_seq", sa.Integer(), nullable=False),
        sa.Column("rating", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("engine_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_seq"],
            ["artifacts.seq"],
            name=op.f("fk_ratings_artifact_seq_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_seq", name=op.f("pk_ratings")),
    )


def downgrade() -> None:
    op.drop_table("ratings")
    with op.batch_alter_table("artifact_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_links_key"))

    op.drop_table("artifact_links")
    with op.batch_alter_table("artifact_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_keys_key"))

    op.drop_table("artifact_keys")
