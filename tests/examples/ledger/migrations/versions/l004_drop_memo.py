"""entries.memo dropped: irreversible on purpose, its values are gone

Revision ID: l004
Revises: l003
"""
from alembic import op

revision = "l004"
down_revision = "l003"


def upgrade():
    op.execute("ALTER TABLE entries DROP COLUMN memo")


def downgrade():
    raise NotImplementedError("l004 dropped entries.memo; its values cannot come back")
