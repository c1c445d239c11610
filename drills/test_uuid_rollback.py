"""Drill: roll back the Vibes UUID primary-key migration with `alembic downgrade -1`.

Steps follow the runbook: preparation (baseline, backups, assessment), the database rollback,
then validation of schema, types, counts, content and relationships. Every step is an Allure
step; the rollback and the validation are timed against the recovery-time objectives.
"""
from __future__ import annotations

import pytest

from fixtures.phases import migration_detail, prepare_uuid_rollback, validate_after_rollback

pytestmark = pytest.mark.drill


def test_uuid_rollback_with_alembic_downgrade(drill, pg_server, drill_database, seed_scale):
    """UUID primary-key migration rolled back with alembic downgrade -1."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)

    with drill.phase("Database Rollback") as step:
        run = prepared.migrations.downgrade("-1")
        drill.attach_json("alembic downgrade -1", run.to_dict())
        step.detail = migration_detail(run)
        drill.checklist.done("Database migration rolled back", step.detail)

    validate_after_rollback(drill, prepared, kept=prepared.added)
    drill.assert_within_objectives()
