"""Fault drill: writers keep creating journals through the API while the downgrade runs, with
maintenance mode off, so the migration's locks meet real writes.

The lock footprint is measured as in the main drill, plus every session that waited on the
migration's backend. Every write that waited or failed while the downgrade ran must be
accounted for by the footprint (a wait it observed, or the downgrade's commit changing the
schema under the UUID build); the record shows the writers' longest wait beside the longest
lock. Every write the API acknowledged must still be in the database.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.measure.api_smoke import SmokeAccount
from rollbook.pytest_plugin.application import application_rollback, check_live_service
from rollbook.pytest_plugin.locks import check_lock_footprint, writes_met_locks
from rollbook.pytest_plugin.phases import migration_detail, prepare_uuid_rollback
from rollbook.pytest_plugin.writes_kept import acknowledged_writes_kept
from rollbook.record import humanize
from rollbook.runbook.writers import JournalWriters
from rollbook_vibes.seed import SEED_PASSWORD

pytestmark = pytest.mark.drill
WRITERS = [SmokeAccount(f"user{n}@example.com", SEED_PASSWORD) for n in (2, 3, 4)]
MAX_REQUESTS, MAX_SECONDS = 50_000, 900  # bounds: the writers stop by themselves
WRITES_BEFORE, WRITES_AFTER = 20, 20


@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_every_write_that_met_the_downgrade_locks_is_accounted_for(
        drill, pg_server, drill_database, seed_scale, start_vibes_api):
    """Writers through the API during the downgrade, maintenance mode off: each wait measured."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)
    service = start_vibes_api(prepared.dsn, id_mode="uuid")
    check_live_service(drill, service, "uuid")
    writers = JournalWriters(service.base_url, WRITERS, max_requests=MAX_REQUESTS,
                             max_seconds=MAX_SECONDS, pause_s=0.01, label="lock window")
    try:
        with drill.step(f"{len(WRITERS)} writers create journals; maintenance mode stays off") \
                as step:
            writers.start().wait_for_acknowledged(WRITES_BEFORE)
            step.detail = humanize.value("writes", writers.snapshot())
            drill.checklist.out_of_scope("Maintenance mode enabled",
                                         "this drill keeps it off so writes meet the locks")
            drill.checklist.out_of_scope("Maintenance mode disabled", "never enabled")

        with drill.phase("Database Rollback") as step:
            run = prepared.migrations.downgrade("-1")
            step.detail = migration_detail(run)
            drill.checklist.done("Database migration rolled back", step.detail)
        drill.fact("revision_after", ",".join(prepared.migrations.current()))
        application_rollback(drill, service)

        with drill.step("Writers go on, now on integer ids") as step:
            writers.wait_for_acknowledged(len(writers.tally.acknowledged) + WRITES_AFTER)
            step.detail = humanize.value("writes", writers.snapshot())
    finally:
        tally = writers.stop()

    check_lock_footprint(drill, prepared.migrations)
    writes_met_locks(drill, run.footprint, tally.writes)

    with acknowledged_writes_kept(drill, prepared.dsn, tally):
        pass
