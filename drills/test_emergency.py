"""Emergency drill: data corruption on the UUID schema (the runbook's "Data Corruption" path).

An index page of the live database is damaged on disk. The corruption trigger (amcheck) must
fire as Critical; then, in the runbook's order: stop all services immediately, restore from the
emergency backup (`pg_restore -c`), restart with the previous version, validate.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.pytest_plugin.application import check_live_service
from rollbook.pytest_plugin.phases import (
    count_rows_a_restore_discards,
    prepare_uuid_rollback,
    validate_after_rollback,
)
from rollbook.pytest_plugin.trigger_steps import evaluate_triggers
from rollbook.record.clock import format_duration
from rollbook.runbook import backup
from rollbook.runbook.corrupt import scribble_on_page
from rollbook.runbook.service import id_mode_env
from rollbook.verdicts import triggers
from rollbook_vibes.migrations_config import REVISION_UUID

pytestmark = pytest.mark.drill
DAMAGED_INDEX = "journals_pkey"


@allure.epic("Emergency Rollback Procedures")
@allure.story("1. Immediate Actions")
def test_data_corruption_emergency_restore(drill, pg_server, drill_database, seed_scale,
                                           start_vibes_api):
    """Data corruption: stop services, restore the emergency backup, restart, validate."""
    if pg_server.kind not in ("embedded", "local"):
        pytest.skip(f"planting on-disk corruption needs a cluster the suite owns, not "
                    f"the {pg_server.kind} backend")
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)
    service = start_vibes_api(prepared.dsn, id_mode="uuid")
    check_live_service(drill, service, "uuid")
    drill.checklist.out_of_scope("Backup of current state created", "the runbook's Data "
                                 "Corruption path stops every service at once and restores "
                                 "the emergency backup")

    with drill.step(f"Fault: a page of {DAMAGED_INDEX} is damaged on disk") as step:
        step.detail = scribble_on_page(pg_server, prepared.dsn, DAMAGED_INDEX)

    with drill.step("Evaluate the rollback triggers",
                    covers=("Rollback trigger identified and documented",)) as step:
        decision = evaluate_triggers(drill, prepared, expected_revision=REVISION_UUID,
                                     baseline=None, action_taken=triggers.rollback_path)
        step.detail = decision.summary()
        assert [s.name for s in decision.fired] == ["index corruption (amcheck)"]
        assert DAMAGED_INDEX in decision.fired[0].detail
        assert triggers.rollback_path(decision) == triggers.RESTORE
        drill.checklist.done("Rollback trigger identified and documented", decision.summary())

    with drill.phase("Application Rollback") as step:
        stopped = service.stop()
        service.env.update(id_mode_env("integer"))
        step.detail = f"all services stopped immediately: {stopped.detail}"
        drill.checklist.done("Application code reverted", "integer-id mode selected for the "
                             "restart (the runbook's `git checkout pre-uuid-migration`)")
        drill.checklist.done("Configuration restored", "UUID_ENABLED=false, "
                             "USE_INTEGER_IDS=true")

    count_rows_a_restore_discards(drill, prepared, prepared.added)

    with drill.phase("Database Rollback") as step:
        run = backup.restore(pg_server, drill_database, prepared.pre_migration, clean=True)
        step.detail = (f"pg_restore -c {prepared.pre_migration.path.name} (the emergency "
                       f"backup) in {format_duration(run.elapsed_s)}")
        drill.checklist.done("Database migration rolled back", step.detail)

    with drill.phase("Service Restart") as step:
        started = service.start()
        step.detail = f"restarted with the previous version in {format_duration(started.elapsed_s)}"
        drill.checklist.done("Services restarted", step.detail)

    validate_after_rollback(drill, prepared, kept={}, service=service)
    drill.assert_within_objectives()
