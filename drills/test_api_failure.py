"""Fault drills: the API on UUID ids crashes, or answers 500.

The share of failing endpoints (> 25 %) must fire the Critical trigger; the runbook's emergency
rollback follows — `alembic downgrade -1`, the application restarted on integer ids — and the
API triggers must be quiet again afterwards.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.measure.api_smoke import SmokeAccount, run_smoke
from rollbook.pg.connect import connect
from rollbook.pytest_plugin.application import application_rollback, check_live_service
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    migration_detail,
    prepare_uuid_rollback,
    validate_after_rollback,
)
from rollbook.pytest_plugin.trigger_steps import evaluate_triggers
from rollbook.verdicts import triggers
from rollbook_vibes.faults import break_logins, repair_logins
from rollbook_vibes.seed import SEED_PASSWORD
from rollbook_vibes.traffic import add_rows, rows_written_by_smoke

pytestmark = pytest.mark.drill
ACCOUNT = SmokeAccount("user4@example.com", SEED_PASSWORD)
REQUESTS, MAX_FAILING_PCT, MAX_ERROR_POINTS = 5, 25.0, 10.0


def _smoke(service):
    return run_smoke(service.base_url, requests=REQUESTS, allow_writes=True, account=ACCOUNT,
                     timeout_s=2.0)


def _plant(fault: str, service, dsn: str) -> str:
    if fault == "crash":
        return f"service pid {service.pid} killed with SIGKILL: exit {service.kill()}"
    with connect(dsn) as conn:
        return break_logins(conn)


@allure.epic("Rollback Triggers and Decision Criteria")
@allure.story("1. Automatic Rollback Triggers")
@pytest.mark.parametrize("fault", ["crash", "500s"])
def test_api_failure_fires_the_trigger_and_the_emergency_rollback(
        drill, pg_server, drill_database, seed_scale, start_vibes_api, fault):
    """API on UUID fails: failing-endpoint share fires, emergency rollback."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)
    service = start_vibes_api(prepared.dsn, id_mode="uuid")
    check_live_service(drill, service, "uuid")

    with drill.step("API smoke before the fault (error-rate baseline)") as step:
        before = _smoke(service)
        drill.checks(before.results())
        baseline_error_pct = triggers.smoke_error_pct(before)
        step.detail = f"error rate {baseline_error_pct:.1f} %"
    with drill.step(f"Fault: the API {'crashes' if fault == 'crash' else 'answers 500'}") as step:
        step.detail = _plant(fault, service, prepared.dsn)

    reports = []

    def api_signals():
        reports.append(_smoke(service))
        return triggers.api_signals(reports[-1], baseline_error_pct,
                                    max_failing_pct=MAX_FAILING_PCT,
                                    max_error_points=MAX_ERROR_POINTS)

    with drill.step("Evaluate the rollback triggers",
                    covers=("Rollback trigger identified and documented",)) as step:
        decision = evaluate_triggers(drill, prepared, expected_revision="0002",
                                     baseline=None, action_taken=triggers.rollback_path,
                                     extra_signals=api_signals)
        step.detail = decision.summary()
        assert "share of failing API endpoints" in [s.name for s in decision.fired]
        assert decision.automatic_rollback_due
        assert triggers.rollback_path(decision) == triggers.DOWNGRADE
        drill.checklist.done("Rollback trigger identified and documented", decision.summary())

    back_up_current_state(drill, prepared)
    with drill.phase("Database Rollback") as step:
        step.detail = migration_detail(prepared.migrations.downgrade("-1"))
        if fault == "500s":
            with drill.step("Remove what the broken build left in the database") as removed:
                with connect(prepared.dsn) as conn:
                    removed.detail = repair_logins(conn)
        drill.checklist.done("Database migration rolled back", step.detail)
    application_rollback(drill, service)

    kept = add_rows(prepared.added, *(rows_written_by_smoke(r) for r in [before, *reports]))
    validate_after_rollback(drill, prepared, kept=kept, service=service,
                            extra_signals=api_signals)
    drill.assert_within_objectives()
