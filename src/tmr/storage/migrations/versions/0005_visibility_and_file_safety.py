"""Artifact visibility and the safety verdict of each weights file

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Uploads are the company's own and private to their owner (and admins), so every listing filters
on visibility and owner; existing artifacts all came from public upstreams and become `public`.
The verdict on a weights file's bytes (format, safetensors facts, pickle scan) is stored with the
file, so a rating and a download can say why a file is unsafe without reading it again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=16), nullable=False, server_default="public")
        )
        batch_op.create_index("ix_artifacts_visibility_owner", ["visibility", "created_by"], unique=False)
    with op.batch_alter_table("artifact_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("safety", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artifact_files", schema=None) as batch_op:
        batch_op.drop_column("safety")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_artifacts_visibility_owner")
        batch_op.drop_column("visibility")
