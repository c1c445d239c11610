"""Index journals by mood and date, built concurrently (outside a transaction).

CREATE INDEX CONCURRENTLY cannot run in a transaction, so it runs in Alembic's autocommit
block: writers are not blocked while it builds, and a build that fails or is killed leaves an
INVALID index behind (which the orphans family names). The downgrade drops it the same way.

Revision ID: 0004
Revises: 0003
Create Date: 2024-04-20
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "ix_journals_mood_created_at"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX}"
                   " ON journals (mood, created_at DESC) WHERE mood IS NOT NULL")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
