"""Fault drill: the UUID migration fails halfway and leaves a partially applied schema.

A copy of revision 0002 with a planted error runs without an enclosing transaction (as
migrations with non-transactional steps do) and dies after rebuilding some tables. The
"migration incomplete" trigger must fire; the way back is a full restore from the
pre-migration backup, after which the triggers must be quiet again.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.pytest_plugin.phases import (
    full_restore,
    prepare_integer_baseline,
    validate_after_rollback,
)
from rollbook.pytest_plugin.trigger_steps import evaluate_triggers
from rollbook.runbook.migrations import Migrations
from rollbook_vibes.faults import FAIL_AFTER_TABLE, copy_failing_halfway
from rollbook_vibes.migrations_config import REVISION_UUID, alembic_config

pytestmark = pytest.mark.drill


@allure.epic("Rollback Triggers and Decision Criteria")
@allure.story("1. Automatic Rollback Triggers")
def test_migration_failing_halfway_is_detected_and_restored(drill, pg_server, drill_database,
                                                            seed_scale):
    """UUID migration fails halfway: incomplete migration detected, full restore."""
    start = prepare_integer_baseline(drill, pg_server, drill_database, seed_scale)
    planted = Migrations(alembic_config(start.dsn, ini=copy_failing_halfway(
        drill.workspace / "planted_migrations")), start.dsn)

    with drill.step(f"Upgrade to {REVISION_UUID} with a planted failure") as step:
        with pytest.raises(RuntimeError, match="planted failure") as failure:
            planted.upgrade(REVISION_UUID)
        step.detail = str(failure.value)
        drill.fact("revision_before", f"{','.join(planted.current()) or '<base>'} (the upgrade "
                   f"to {REVISION_UUID} failed halfway)")

    with drill.step("Evaluate the rollback triggers",
                    covers=("Rollback trigger identified and documented",)) as step:
        decision = evaluate_triggers(drill, start, expected_revision=REVISION_UUID,
                                     baseline=start.baseline,
                                     action_taken="full restore from the pre-migration backup")
        step.detail = decision.summary()
        assert [s.name for s in decision.fired] == ["migration incomplete"]
        assert FAIL_AFTER_TABLE in " ".join(decision.fired[0].evidence["schema_differences"])
        drill.checklist.done("Rollback trigger identified and documented", decision.summary())

    full_restore(drill, start)

    validate_after_rollback(drill, start, kept={})
    drill.assert_within_objectives()
