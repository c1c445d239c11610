"""items, with an index on sku

Revision ID: s001
Revises:
"""
from alembic import op

revision = "s001"
down_revision = None


def upgrade():
    op.execute("""
        CREATE TABLE items (
            id serial PRIMARY KEY,
            sku text NOT NULL,
            quantity integer NOT NULL
        )""")
    op.execute("CREATE INDEX ix_items_sku ON items (sku)")


def downgrade():
    op.execute("DROP TABLE items")
