"""a note on items; the sku index dropped CONCURRENTLY

Not transactional on purpose: the index is dropped and built again CONCURRENTLY, which
PostgreSQL runs only outside a transaction, so alembic's autocommit block commits what ran
before it. A downgrade killed after that commit and before the version row is updated leaves
a half state: the column already gone, alembic_version still at s002.

Revision ID: s002
Revises: s001
"""
from alembic import op

revision = "s002"
down_revision = "s001"


def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note text")
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY ix_items_sku")


def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY ix_items_sku ON items (sku)")
