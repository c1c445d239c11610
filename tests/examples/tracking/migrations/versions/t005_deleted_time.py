"""when a run was deleted

Revision ID: t005
Revises: t004
"""
from alembic import op

revision = "t005"
down_revision = "t004"


def upgrade():
    op.execute("ALTER TABLE tracking.runs ADD COLUMN deleted_time bigint"
               " CONSTRAINT runs_deleted_time CHECK (deleted_time >= 0)")


def downgrade():
    op.execute("ALTER TABLE tracking.runs DROP COLUMN deleted_time")
