"""Fault drill: orphaned rows appear while on UUID (a bulk load with triggers disabled).

The data-integrity trigger must fire as Critical, the matrix calls for an automatic rollback,
and because the data itself is damaged the way back is a restore from the pre-migration backup,
not a downgrade that would carry the orphans along. Rows written on UUID are discarded by the
restore; they are counted first.
"""
from __future__ import annotations

import pytest

from fixtures.phases import evaluate_triggers, prepare_uuid_rollback, validate_after_rollback
from rollbook import backup, triggers
from rollbook.db import connect
from rollbook.discard import rows_written_since
from vibes.faults import plant_orphans
from vibes.migrations_config import REVISION_UUID

pytestmark = pytest.mark.drill
ORPHANS = 3


def test_planted_orphans_trigger_a_restore(drill, pg_server, drill_database, seed_scale):
    """Orphans planted on UUID: Critical, automatic rollback by restore from backup."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)

    with drill.step(f"Plant {ORPHANS} orphaned journals (triggers disabled)") as step:
        with connect(prepared.dsn) as conn:
            step.detail = plant_orphans(conn, ORPHANS)

    with drill.step("Evaluate the rollback triggers") as step:
        decision = evaluate_triggers(drill, prepared, expected_revision=REVISION_UUID,
                                     expected_schema=None, action_taken=triggers.rollback_path)
        path = triggers.rollback_path(decision)
        step.detail = decision.summary()
        assert decision.severity == "Critical" and decision.automatic_rollback_due
        assert [s.name for s in decision.fired] == ["orphaned rows / foreign-key violations"]
        assert f"{ORPHANS} orphans" in decision.fired[0].measured
        assert path == triggers.RESTORE
        drill.checklist.done("Rollback trigger identified and documented", decision.summary())

    with drill.step("Count the rows the restore would discard") as step:
        with connect(prepared.dsn, read_only=True) as conn:
            discarded = drill.check(rows_written_since(conn, prepared.baseline))
        expected = dict(prepared.added, journals=prepared.added["journals"] + ORPHANS)
        assert discarded.observed["written_since_backup"] == expected
        step.detail = discarded.summary
        drill.fact("rows_discarded_by_restore", discarded.observed["total"])

    with drill.phase("Database Rollback") as step:
        pg_server.drop_database(drill_database)
        pg_server.create_database(drill_database)
        run = backup.restore(pg_server, drill_database, prepared.pre_migration, jobs=2)
        step.detail = f"full restore, pg_restore -j 2 in {run.elapsed_s:.2f} s"
        drill.checklist.done("Database migration rolled back", step.detail)

    validate_after_rollback(drill, prepared, kept={})

    drill.assert_within_objectives()
