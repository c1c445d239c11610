"""model versions of a registered model

Revision ID: t004
Revises: t003
"""
from alembic import op

revision = "t004"
down_revision = "t003"


def upgrade():
    op.execute("""
        CREATE TABLE tracking.model_versions (
            workspace varchar(63) NOT NULL DEFAULT 'default',
            name varchar(256) NOT NULL,
            version integer NOT NULL,
            current_stage varchar(20) CONSTRAINT model_versions_stage
                CHECK (current_stage = ANY (ARRAY['None', 'Staging', 'Production', 'Archived'])),
            PRIMARY KEY (workspace, name, version),
            FOREIGN KEY (workspace, name) REFERENCES tracking.registered_models ON UPDATE CASCADE
        )""")


def downgrade():
    op.execute("DROP TABLE tracking.model_versions")
