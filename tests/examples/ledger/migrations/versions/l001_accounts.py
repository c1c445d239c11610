"""accounts

Revision ID: l001
Revises:
"""
from alembic import op

revision = "l001"
down_revision = None


def upgrade():
    op.execute("""
        CREATE TABLE accounts (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            opened_at timestamptz NOT NULL
        )""")


def downgrade():
    op.execute("DROP TABLE accounts")
