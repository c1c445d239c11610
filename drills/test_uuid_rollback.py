"""Drill: roll back the Vibes UUID primary-key migration with `alembic downgrade -1`.

Steps follow the runbook: the system before (baseline, pre-migration backup, UUID upgrade,
assessment, with the rollback triggers measured beside it: both only read), then the
runbook's preparation in its order (maintenance mode, the stakeholder notice, the rollback
workspace and a backup of the current state), the database rollback, the
application rollback (its release installed while the database rolls back) and restart,
validation (the operator checks against the drill's database, then the steady state of the
triggers on their measurements of the same state, performance, the API), maintenance mode off
again, and the runbook's integration tests (the operator's `pytest checks/`, its process loaded
while the database rolls back) with its post-rollback monitoring (the watch, error logs and
rates) beside them, and the users' notice and status page. Notices go for real to a local
relay and status page.
Every step is an Allure step; the four runbook phases are timed against the recovery-time
objectives.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.pytest_plugin.application import (
    application_rollback,
    check_live_service,
    enter_maintenance,
    leave_maintenance,
    release_staged,
)
from rollbook.pytest_plugin.communication import notify_stakeholders, notify_users_and_status_page
from rollbook.pytest_plugin.locks import check_lock_footprint
from rollbook.pytest_plugin.operator_checks import operator_checks
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    migration_detail,
    prepare_uuid_rollback,
    validated,
    validation_testing,
)
from rollbook.pytest_plugin.post_rollback import watch_after_rollback
from rollbook.pytest_plugin.trigger_steps import evaluate_triggers, triggers_measured_beside
from rollbook_vibes.migrations_config import REVISION_UUID

pytestmark = pytest.mark.drill


@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_uuid_rollback_with_alembic_downgrade(drill, pg_server, drill_database, seed_scale,
                                              vibes_releases, start_vibes_api, outbox):
    """UUID primary-key migration rolled back with alembic downgrade -1."""
    # the triggers are measured beside the pre-rollback assessment (both only read)
    prepared = prepare_uuid_rollback(
        drill, pg_server, drill_database, seed_scale,
        beside_assessment=triggers_measured_beside(drill, expected_revision=REVISION_UUID,
                                                   baseline=None))
    service = start_vibes_api(prepared.dsn, id_mode="uuid")
    check_live_service(drill, service, "uuid")
    with drill.step("Rollback trigger: the run's reason; the measured triggers recorded",
                    covers=("Rollback trigger identified and documented",)) as step:
        decision = evaluate_triggers(drill, prepared, expected_revision=REVISION_UUID,
                                     baseline=None,
                                     action_taken="rehearsal: roll back as planned",
                                     measuring=prepared.beside_assessment)
        step.detail = f"measured beside the pre-rollback assessment: {decision.summary()}"
        drill.checklist.done("Rollback trigger identified and documented",
                             f"{drill.reason}; measured: {decision.summary()}")
    enter_maintenance(drill, service)
    notify_stakeholders(drill, outbox)
    back_up_current_state(drill, prepared)

    # the operator's `pytest checks/` loads while the database rolls back, and starts once
    # maintenance mode is off, beside the post-rollback watch (both only read)
    with operator_checks(drill, prepared, service.base_url) as checks:
        # the release installed while the database rolls back
        with release_staged(vibes_releases) as release:
            with drill.phase("Database Rollback") as step:
                run = prepared.migrations.downgrade("-1")
                drill.attach_json("alembic downgrade -1", run.to_dict())
                step.detail = migration_detail(run)
                drill.checklist.done("Database migration rolled back", step.detail)
            check_lock_footprint(drill, prepared.migrations)
        application_rollback(drill, service, release)
        validation_testing(drill, prepared, kept=prepared.added, service=service, watch=False,
                           steady=True)
        leave_maintenance(drill, service)
        checks.start()
        watch_after_rollback(drill, prepared, service)  # the runbook's post-rollback monitoring
    validated(drill, prepared)
    notify_users_and_status_page(drill, outbox)
    drill.assert_within_objectives()
