"""Transactions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Atomic multi-artifact transactions (tmr.transactions): the transaction, its commands in order
(a transaction touches each artifact once: a unique target per transaction), and the blobs its
staged uploads stored, which orphan collection keeps while the transaction is open.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("commands", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_transactions")),
        sa.UniqueConstraint("id", name=op.f("uq_transactions_id")),
    )
    op.create_index("ix_transactions_owner_seq", "transactions", ["owner", "seq"])
    op.create_index("ix_transactions_state_expires_at", "transactions", ["state", "expires_at"])
    op.create_table(
        "transaction_commands",
        sa.Column("transaction_seq", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("artifact_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=128), nullable=True),
        sa.Column("revision", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staged", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("target_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_seq"],
            ["transactions.seq"],
            name=op.f("fk_transaction_commands_transaction_seq_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transaction_seq", "position", name=op.f("pk_transaction_commands")),
    )
    op.create_index(
        "ix_transaction_commands_target",
        "transaction_commands",
        ["transaction_seq", "target_key"],
        unique=True,
    )
    op.create_table(
        "transaction_blobs",
        sa.Column("transaction_seq", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_seq"],
            ["transactions.seq"],
            name=op.f("fk_transaction_blobs_transaction_seq_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("transaction_seq", "sha256", name=op.f("pk_transaction_blobs")),
    )


def downgrade() -> None:
    op.drop_table("transaction_blobs")
    op.drop_table("transaction_commands")
    op.drop_table("transactions")
