"""CRC-32 of each stored file

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Recorded with a file's bytes so that a package's zip headers are known before any byte is read:
exact lengths, Range requests and resumed downloads. Files stored before this revision get theirs
on their next download (`FileMirror.ensure_mirrored`, artifacts/mirror.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crc32", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artifact_files", schema=None) as batch_op:
        batch_op.drop_column("crc32")
