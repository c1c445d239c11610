"""runs, keyed by a uuid in hex

Revision ID: t002
Revises: t001
"""
from alembic import op

revision = "t002"
down_revision = "t001"


def upgrade():
    op.execute("""
        CREATE TABLE tracking.runs (
            run_uuid varchar(32) PRIMARY KEY,
            experiment_id integer REFERENCES tracking.experiments (experiment_id),
            status varchar(9) NOT NULL CONSTRAINT runs_status
                CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED')),
            source_type varchar(20) CONSTRAINT runs_source_type
                CHECK (source_type IN ('NOTEBOOK', 'JOB', 'LOCAL', 'UNKNOWN', 'PROJECT')),
            start_time bigint,
            lifecycle_stage varchar(20) CONSTRAINT runs_lifecycle_stage
                CHECK (lifecycle_stage IN ('active', 'deleted'))
        )""")
    op.execute("""
        CREATE TABLE tracking.tags (
            key varchar(250) NOT NULL,
            value varchar(5000),
            run_uuid varchar(32) NOT NULL REFERENCES tracking.runs (run_uuid),
            PRIMARY KEY (key, run_uuid)
        )""")


def downgrade():
    op.execute("DROP TABLE tracking.tags")
    op.execute("DROP TABLE tracking.runs")
