"""Trigram indexes for regex search on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The literal prefilter of regex search (`LIKE '%literal%'` on names and READMEs) can use a pg_trgm
GIN index instead of reading, and decompressing, every README. Managed databases that do not let
the registry create the extension still work: the search then scans without the index.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_file THEN
            RAISE NOTICE 'pg_trgm is unavailable: regex search will scan without a trigram index';
        END $$;
        """
    )
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
                CREATE INDEX IF NOT EXISTS ix_artifacts_name_trgm ON artifacts USING gin (name gin_trgm_ops);
                CREATE INDEX IF NOT EXISTS ix_artifacts_readme_trgm
                    ON artifacts USING gin (readme gin_trgm_ops);
            END IF;
        END $$;
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_artifacts_readme_trgm")
    op.execute("DROP INDEX IF EXISTS ix_artifacts_name_trgm")
