"""registered models, keyed by workspace and name

Revision ID: t003
Revises: t002
"""
from alembic import op

revision = "t003"
down_revision = "t002"


def upgrade():
    op.execute("""
        CREATE TABLE tracking.registered_models (
            workspace varchar(63) NOT NULL DEFAULT 'default',
            name varchar(256) NOT NULL,
            creation_time bigint,
            description varchar(5000),
            PRIMARY KEY (workspace, name)
        )""")


def downgrade():
    op.execute("DROP TABLE tracking.registered_models")
