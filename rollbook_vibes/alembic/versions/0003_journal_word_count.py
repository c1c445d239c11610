"""Word count: journals.word_count, added nullable and backfilled from the content.

What a service ships after a big migration: a derived column, filled for the rows that exist
(new rows get it from the application). The downgrade drops it; nothing else refers to it.

Revision ID: 0003
Revises: 0002
Create Date: 2024-04-02
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE journals ADD COLUMN word_count integer")
    op.execute("UPDATE journals SET word_count ="
               " coalesce(array_length(regexp_split_to_array(btrim(content), '\\s+'), 1), 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE journals DROP COLUMN word_count")
