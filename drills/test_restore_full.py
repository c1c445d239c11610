"""Drill: full database restore — drop the database, create it, `pg_restore -j` the backup."""
from __future__ import annotations

import pytest

from fixtures.phases import prepare_uuid_rollback, validate_after_rollback
from rollbook import backup
from rollbook.db import connect
from rollbook.discard import rows_written_since

pytestmark = pytest.mark.drill
RESTORE_JOBS = 2


def test_full_restore_drop_create_parallel_restore(drill, pg_server, drill_database,
                                                   seed_scale):
    """Full restore: DROP DATABASE, CREATE DATABASE, pg_restore -j from the pre-migration backup."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)

    with drill.step("Count the rows the restore would discard") as step:
        with connect(prepared.dsn, read_only=True) as conn:
            discarded = drill.check(rows_written_since(conn, prepared.baseline))
        step.detail = discarded.summary
        assert discarded.observed["written_since_backup"] == prepared.added
        drill.fact("rows_discarded_by_restore", discarded.observed["total"])

    with drill.phase("Database Rollback") as step:
        with drill.step(f"Drop and recreate database {drill_database}"):
            pg_server.drop_database(drill_database)
            pg_server.create_database(drill_database)
        with drill.step(f"pg_restore -j {RESTORE_JOBS} the pre-migration backup"):
            run = backup.restore(pg_server, drill_database, prepared.pre_migration,
                                 jobs=RESTORE_JOBS)
            drill.attach_text("pg_restore", " ".join(run.command) + "\n" + run.stderr)
        step.detail = (f"database recreated, pg_restore -j {RESTORE_JOBS} "
                       f"{prepared.pre_migration.path.name} in {run.elapsed_s:.2f} s")
        drill.checklist.done("Database migration rolled back", step.detail)

    validate_after_rollback(drill, prepared, kept={})
    drill.assert_within_objectives()
