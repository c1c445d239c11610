"""Fault drill: an index goes missing on the UUID schema and a key query slows down.

The "journals of one user" query is timed at the baseline; on UUID the index behind it is
dropped; the performance trigger (> 50 % slower) must fire with the plan as evidence, the matrix
calls for a rollback, the downgrade rebuilds the index, and the query is fast again after it.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.measure import plans
from rollbook.pg.connect import connect
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    migration_detail,
    prepare_integer_baseline,
    upgrade_and_write_on_uuid,
    validate_after_rollback,
)
from rollbook.pytest_plugin.trigger_steps import evaluate_triggers
from rollbook.settings.profile import KeyQuery, Performance
from rollbook.verdicts import performance, triggers
from rollbook_vibes.faults import drop_index
from rollbook_vibes.migrations_config import REVISION_UUID
from rollbook_vibes.seed import plan_for

pytestmark = pytest.mark.drill
MIN_SCALE = "100k"  # enough rows for a Seq Scan to be measurably slower than the index
INDEX = "ix_journals_user_id_created_at"
QUERY = KeyQuery(
    name="journals of one user",
    sql="SELECT u.email, j.title, j.created_at FROM users u JOIN journals j"
        " ON u.id = j.user_id WHERE u.id = %(id)s",
    params="SELECT user_id AS id FROM journals ORDER BY created_at, title LIMIT 1")
MEASURING = Performance(repeats=7)
THRESHOLDS = performance.Thresholds(max_ratio=1.5, same_plan_ratio=3.0, noise_floor_ms=1.0)


def _timed(drill, dsn: str, label: str) -> plans.Timing:
    with connect(dsn, read_only=True) as conn:
        measured = plans.measure(conn, QUERY, MEASURING)
    assert measured.measured, measured.error
    drill.attach_json(f"plan {label}", measured.plan.raw)
    drill.attach_json(f"timing {label}", measured.timing.to_dict())
    return measured.timing


@allure.epic("Rollback Triggers and Decision Criteria")
@allure.story("1. Automatic Rollback Triggers")
def test_dropped_index_slows_a_key_query_and_fires_the_trigger(drill, pg_server,
                                                               drill_database, seed_scale):
    """Index dropped on UUID: key query > 50 % slower fires the trigger; downgrade restores it."""
    bigger = plan_for(seed_scale).journals >= plan_for(MIN_SCALE).journals
    start = prepare_integer_baseline(drill, pg_server, drill_database,
                                     seed_scale if bigger else MIN_SCALE)
    with drill.step(f"Time '{QUERY.name}' at the baseline") as step:
        at_baseline = _timed(drill, start.dsn, "at baseline")
        step.detail = (f"{at_baseline.median_ms:.3f} ms (median of {len(at_baseline.runs_ms)}, "
                       f"spread {at_baseline.spread_ms:.3f}), {at_baseline.buffers} buffers")

    prepared = upgrade_and_write_on_uuid(drill, start)
    with drill.step(f"Drop index {INDEX} on the UUID schema") as step:
        with connect(prepared.dsn) as conn:
            step.detail = drop_index(conn, INDEX)

    def slowdown(label: str) -> triggers.Signal:
        now = _timed(drill, prepared.dsn, label)
        return triggers.query_slowdown(QUERY.name,
                                       performance.compare(now, at_baseline, THRESHOLDS))

    with drill.step("Evaluate the rollback triggers",
                    covers=("Rollback trigger identified and documented",)) as step:
        decision = evaluate_triggers(drill, prepared, expected_revision=REVISION_UUID,
                                     baseline=None, action_taken=triggers.rollback_path,
                                     extra_signals=[slowdown("without the index")])
        step.detail = decision.summary()
        assert [s.name for s in decision.fired] == [f"query slower than baseline: {QUERY.name}"]
        assert triggers.rollback_path(decision) == triggers.DOWNGRADE
        drill.checklist.done("Rollback trigger identified and documented", decision.summary())

    back_up_current_state(drill, prepared)
    with drill.phase("Database Rollback") as step:
        step.detail = migration_detail(prepared.migrations.downgrade("-1"))
        drill.checklist.done("Database migration rolled back", step.detail)

    validate_after_rollback(drill, prepared, kept=prepared.added,
                            extra_signals=[slowdown("after the rollback")])
    drill.assert_within_objectives()
