"""The rollback triggers measured in a thread beside the pre-rollback assessment (both only
read the same state of the database): the signals are the ones the trigger step measures
alone, and a planted fault still fires its trigger."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from rollbook.measure.amcheck import enable_amcheck
from rollbook.measure.impact import assess
from rollbook.pg.connect import connect
from rollbook.pytest_plugin.phases import run_in_thread
from rollbook.pytest_plugin.trigger_steps import database_triggers, triggers_measured_beside
from rollbook.runbook.migrations import Migrations
from rollbook.settings.profile import Profile
from rollbook_vibes.faults import plant_orphans
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.runbook import IMPACT_QUERIES
from rollbook_vibes.seed import seed

PLANTED = 3


def test_triggers_measured_beside_the_assessment_are_the_ones_measured_alone(scratch_dsn):
    migrations = Migrations(alembic_config(scratch_dsn), scratch_dsn)
    migrations.upgrade(REVISION_INTEGER)
    seed(scratch_dsn, 500)
    migrations.upgrade(REVISION_UUID)
    with connect(scratch_dsn) as conn:
        enable_amcheck(conn)
        plant_orphans(conn, PLANTED)
    profile = Profile(name="test", path=Path("test.toml"))
    prepared = SimpleNamespace(dsn=scratch_dsn, migrations=migrations)

    running = run_in_thread(triggers_measured_beside(
        SimpleNamespace(profile=profile), expected_revision=REVISION_UUID,
        baseline=None)(prepared))
    with connect(scratch_dsn, read_only=True) as conn:  # the assessment, meanwhile
        assessment = assess(conn, migrations, IMPACT_QUERIES)
    _, beside = running.result(timeout=300)
    alone = database_triggers(profile, scratch_dsn, migrations.read_scripts(),
                              expected_revision=REVISION_UUID, baseline=None)

    assert assessment.ok, assessment.summary
    assert [s.line() for s in beside] == [s.line() for s in alone]
    assert [s.name for s in beside if s.fired] == ["orphaned rows / foreign-key violations"]
    assert f"{PLANTED} orphans" in beside[[s.fired for s in beside].index(True)].measured
    assert all(s.evaluated for s in beside)  # amcheck's and the revision's too
