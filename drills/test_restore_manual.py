"""Drill: the runbook's manual database rollback, for when `alembic downgrade` fails.

Drop the UUID tables, then `pg_restore -c` from the pre-migration backup. Rows written while on
UUID are lost by design; the drill counts them before the restore so the operator chooses
knowingly, and checks that count.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.pg.connect import connect
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    count_rows_a_restore_discards,
    prepare_uuid_rollback,
    validate_after_rollback,
)
from rollbook.runbook import backup
from rollbook.runbook.manual import drop_tables
from rollbook_vibes.runbook import MANUAL_ROLLBACK_DROP

pytestmark = pytest.mark.drill


@allure.epic("Database Rollback Procedures")
@allure.story("2. Manual Database Rollback")
def test_manual_rollback_drop_uuid_tables_and_restore(drill, pg_server, drill_database,
                                                      seed_scale):
    """Manual rollback: drop the UUID tables and pg_restore -c the pre-migration backup."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)

    back_up_current_state(drill, prepared)
    count_rows_a_restore_discards(drill, prepared, prepared.added)

    with drill.phase("Database Rollback") as step:
        with drill.step("Drop UUID tables"):
            with connect(prepared.dsn) as conn:
                drill.check(drop_tables(conn, MANUAL_ROLLBACK_DROP))
        with drill.step("Restore from the pre-migration backup (pg_restore -c)"):
            run = backup.restore(pg_server, drill_database, prepared.pre_migration, clean=True)
            drill.attach_text("pg_restore", " ".join(run.command) + "\n" + run.stderr)
        step.detail = (f"dropped {len(MANUAL_ROLLBACK_DROP)} tables, pg_restore -c "
                       f"{prepared.pre_migration.path.name} in {run.elapsed_s:.2f} s")
        drill.checklist.done("Database migration rolled back", step.detail)

    validate_after_rollback(drill, prepared, kept={})
    drill.assert_within_objectives()
