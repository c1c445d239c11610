"""accounts get a currency; entries an index by booking time

Revision ID: l003
Revises: l002
"""
from alembic import op

revision = "l003"
down_revision = "l002"


def upgrade():
    op.execute("ALTER TABLE accounts ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR'")
    op.execute("CREATE INDEX entries_booked_at_idx ON entries (booked_at)")


def downgrade():
    op.execute("DROP INDEX entries_booked_at_idx")
    op.execute("ALTER TABLE accounts DROP COLUMN currency")
