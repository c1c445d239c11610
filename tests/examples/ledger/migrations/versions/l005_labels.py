"""labels on entries

Revision ID: l005
Revises: l004
"""
from alembic import op

revision = "l005"
down_revision = "l004"


def upgrade():
    op.execute("""
        CREATE TABLE entry_labels (
            entry_id bigint NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
            label varchar(40) NOT NULL,
            PRIMARY KEY (entry_id, label)
        )""")


def downgrade():
    op.execute("DROP TABLE entry_labels")
