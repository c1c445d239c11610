"""Drill: selective data restore — `pg_restore -t users`, `pg_restore -t journals`.

pg_restore -t recreates a table, so it restores into a database where that table is absent:
here a recovery database beside the rolled-back one, as a DBA does to recover specific tables.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.measure.impact import table_counts
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    migration_detail,
    prepare_uuid_rollback,
)
from rollbook.runbook import backup
from rollbook.settings.target import checks_connection
from rollbook.verdicts import content, counts
from rollbook.verdicts.measured import Measured

pytestmark = pytest.mark.drill
SELECTED = ("users", "journals")


@allure.epic("Data Recovery and Restoration")
@allure.story("1. Backup Restoration")
def test_selective_restore_of_users_and_journals(drill, pg_server, drill_database, seed_scale):
    """Selective restore: pg_restore -t users and -t journals from the pre-migration backup."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)
    recovery = f"{drill_database}_recovery"
    back_up_current_state(drill, prepared)

    with drill.phase("Database Rollback") as step:
        run = prepared.migrations.downgrade("-1")
        step.detail = migration_detail(run)
        drill.checklist.done("Database migration rolled back", step.detail)
        drill.fact("revision_after", ",".join(prepared.migrations.current()))
        pg_server.create_database(recovery, drop_existing=True)
        for table in SELECTED:
            with drill.step(f"pg_restore -t {table} into {recovery}"):
                restored = backup.restore(pg_server, recovery, prepared.pre_migration,
                                          tables=(table,))
                drill.attach_text(f"pg_restore -t {table}", " ".join(restored.command))

    try:
        with drill.phase("Validation Testing") as step:
            with checks_connection(drill.profile, pg_server.dsn(recovery)) as conn:
                present = sorted(table_counts(conn)[0])
                measured = Measured(conn, prepared.baseline)
                results = drill.checks([
                    *(counts.row_count(measured, table, added=0) for table in SELECTED),
                    *(content.compare_table(measured, table) for table in SELECTED)])
            assert present == sorted(SELECTED), f"restored more than asked for: {present}"
            step.detail = (f"{len(results)} checks passed: {', '.join(SELECTED)} match the "
                           "baseline's counts and fingerprints; no other table restored")
            drill.checklist.done("Data integrity verified", step.detail)
    finally:
        pg_server.drop_database(recovery)
    drill.assert_within_objectives()
