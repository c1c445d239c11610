"""Fault drill: writers keep creating journals through the API during the whole rollback window.

Maintenance mode refuses them (503 + Retry-After) while the database and the application are
rolled back; the restart makes some fail outright. Afterwards every write the API acknowledged
must be in the database — before the rollback on UUID ids, and after it on integer ids.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.measure.api_smoke import SmokeAccount
from rollbook.pytest_plugin.application import (
    application_rollback,
    check_live_service,
    enter_maintenance,
    leave_maintenance,
)
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    migration_detail,
    prepare_uuid_rollback,
    validate_after_rollback,
)
from rollbook.pytest_plugin.writes_kept import acknowledged_writes_kept
from rollbook.record import humanize
from rollbook.runbook.writers import JournalWriters
from rollbook_vibes.seed import SEED_PASSWORD
from rollbook_vibes.traffic import add_rows, rows_written_through_api

pytestmark = pytest.mark.drill
WRITERS = [SmokeAccount(f"user{n}@example.com", SEED_PASSWORD) for n in (2, 3)]
MAX_REQUESTS, MAX_SECONDS = 50_000, 600  # bounds: the writers stop by themselves
WRITES_BEFORE, WRITES_AFTER = 20, 20


@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_no_acknowledged_write_is_lost_across_the_rollback(drill, pg_server, drill_database,
                                                           seed_scale, start_vibes_api):
    """Writers through the API during the rollback window: every acknowledged write kept."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)
    service = start_vibes_api(prepared.dsn, id_mode="uuid")
    check_live_service(drill, service, "uuid")
    writers = JournalWriters(service.base_url, WRITERS, max_requests=MAX_REQUESTS,
                             max_seconds=MAX_SECONDS, pause_s=0.02)
    try:
        with drill.step(f"{len(WRITERS)} writers create journals through the API") as step:
            writers.start().wait_for_acknowledged(WRITES_BEFORE)
            step.detail = humanize.value("writes", writers.snapshot())
        enter_maintenance(drill, service)
        back_up_current_state(drill, prepared)

        with drill.phase("Database Rollback") as step:
            run = prepared.migrations.downgrade("-1")
            step.detail = migration_detail(run)
            drill.checklist.done("Database migration rolled back", step.detail)
        application_rollback(drill, service)

        on_uuid = writers.snapshot()
        kept = add_rows(prepared.added, rows_written_through_api(
            logins=on_uuid["logins"], journals=on_uuid["acknowledged"]))
        validate_after_rollback(drill, prepared, kept=kept, service=service)
        leave_maintenance(drill, service)

        with drill.step("Writers go on, now on integer ids") as step:
            writers.wait_for_acknowledged(on_uuid["acknowledged"] + WRITES_AFTER)
            step.detail = humanize.value("writes", writers.snapshot())
    finally:
        tally = writers.stop()

    with acknowledged_writes_kept(drill, prepared.dsn, tally) as counts:
        assert counts["acknowledged"] >= on_uuid["acknowledged"] + WRITES_AFTER, counts
        assert counts["refused"] > 0, "maintenance mode refused no write"
    drill.assert_within_objectives()
