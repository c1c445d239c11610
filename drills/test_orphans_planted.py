"""Fault drill: orphaned rows appear while on UUID (a bulk load with triggers disabled).

The data-integrity trigger must fire as Critical, the matrix calls for an automatic rollback,
and because the data itself is damaged the way back is a restore from the pre-migration backup,
not a downgrade that would carry the orphans along. Rows written on UUID are discarded by the
restore; they are counted first.
"""
from __future__ import annotations

import allure
import pytest

from rollbook.pg.connect import connect
from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    count_rows_a_restore_discards,
    full_restore,
    prepare_uuid_rollback,
    validate_after_rollback,
)
from rollbook.pytest_plugin.trigger_steps import evaluate_triggers
from rollbook.verdicts import triggers
from rollbook_vibes.faults import plant_orphans
from rollbook_vibes.migrations_config import REVISION_UUID

pytestmark = pytest.mark.drill
ORPHANS = 3


@allure.epic("Rollback Triggers and Decision Criteria")
@allure.story("1. Automatic Rollback Triggers")
def test_planted_orphans_trigger_a_restore(drill, pg_server, drill_database, seed_scale):
    """Orphans planted on UUID: Critical, automatic rollback by restore from backup."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)

    with drill.step(f"Plant {ORPHANS} orphaned journals (triggers disabled)") as step:
        with connect(prepared.dsn) as conn:
            step.detail = plant_orphans(conn, ORPHANS)

    with drill.step("Evaluate the rollback triggers",
                    covers=("Rollback trigger identified and documented",)) as step:
        decision = evaluate_triggers(drill, prepared, expected_revision=REVISION_UUID,
                                     baseline=None, action_taken=triggers.rollback_path)
        path = triggers.rollback_path(decision)
        step.detail = decision.summary()
        assert decision.severity == "Critical" and decision.automatic_rollback_due
        assert [s.name for s in decision.fired] == ["orphaned rows / foreign-key violations"]
        assert f"{ORPHANS} orphans" in decision.fired[0].measured
        assert path == triggers.RESTORE
        drill.checklist.done("Rollback trigger identified and documented", decision.summary())

    back_up_current_state(drill, prepared)
    with_orphans = dict(prepared.added, journals=prepared.added["journals"] + ORPHANS)
    count_rows_a_restore_discards(drill, prepared, with_orphans)

    full_restore(drill, prepared)

    validate_after_rollback(drill, prepared, kept={})

    drill.assert_within_objectives()
