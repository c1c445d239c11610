"""Drill: roll back the Vibes UUID primary-key migration with `alembic downgrade -1`.

Steps follow the runbook: preparation (baseline, backups, assessment), the database rollback,
then validation of schema, types, counts, content and relationships. Every step is an Allure
step; the rollback and the validation are timed against the recovery-time objectives.
"""
from __future__ import annotations

import pytest

from rollbook import backup, baseline, validation
from rollbook.assessment import assess
from rollbook.db import connect
from rollbook.migrations import Migrations
from rollbook.rto import format_duration
from vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from vibes.runbook import IMPACT_QUERIES, VALIDATION_QUERIES
from vibes.seed import seed
from vibes.traffic import write_on_uuid

pytestmark = pytest.mark.drill


def test_uuid_rollback_with_alembic_downgrade(drill, pg_server, drill_database, seed_scale):
    """UUID primary-key migration rolled back with alembic downgrade -1."""
    dsn = pg_server.dsn(drill_database)
    migrations = Migrations(alembic_config(dsn), dsn)
    drill.fact("server", pg_server.describe())
    drill.fact("server_version", pg_server.version)
    drill.fact("client_tools", pg_server.installation.describe())
    drill.fact("scale", seed_scale)
    drill.checklist.not_applicable("Rollback team assembled", "automated drill, no people paged")
    drill.checklist.not_applicable("Root cause analysis initiated",
                                   "rehearsal: there is no incident to analyse")

    with drill.step(f"Migrate to the integer baseline ({REVISION_INTEGER})") as step:
        step.detail = _migration_detail(migrations.upgrade(REVISION_INTEGER))

    with drill.step(f"Seed Vibes data (scale {seed_scale})") as step:
        seeded = seed(dsn, seed_scale, progress=drill.progress)
        drill.attach_json("rows seeded", seeded)
        step.detail = f"{sum(seeded.values()):,} rows"

    with drill.step("Take the baseline manifest (schema, counts, fingerprints)") as step:
        with connect(dsn, read_only=True) as conn:
            before = baseline.capture(conn, migrations.current())
        path = before.save(drill.workspace / "baseline.json")
        drill.attach_file("baseline.json", path)
        step.detail = f"sha256 {before.sha256[:12]}…"

    with drill.step("Pre-migration backup (pg_dump -Fc, verified)") as step:
        pre_migration = backup.dump(pg_server, drill_database,
                                    drill.workspace / "pre_migration_backup.dump")
        drill.attach_json("pre-migration backup", pre_migration.to_dict())
        step.detail = f"{pre_migration.size_bytes:,} bytes, {pre_migration.toc_entries} entries"

    with drill.step(f"Upgrade to the UUID schema ({REVISION_UUID})") as step:
        step.detail = _migration_detail(migrations.upgrade(REVISION_UUID))

    with drill.step("Write new rows while on UUID") as step:
        with connect(dsn) as conn:
            added = write_on_uuid(conn)
        drill.attach_json("rows written on UUID", added)
        step.detail = ", ".join(f"{table} +{n}" for table, n in added.items())

    with drill.step("Pre-rollback assessment") as step:
        with connect(dsn, read_only=True) as conn:
            assessment = drill.check(assess(conn, migrations, IMPACT_QUERIES))
        drill.checklist.done("Impact assessment completed", assessment.summary)
        drill.fact("revision_before", ",".join(assessment.observed["alembic_current"]))
        step.detail = assessment.summary

    with drill.step("Create rollback workspace and back up the current state") as step:
        pre_rollback = backup.dump(pg_server, drill_database,
                                   drill.workspace / "pre_rollback_backup.dump")
        drill.attach_json("pre-rollback backup", pre_rollback.to_dict())
        evidence = (f"{pre_rollback.path.name}: {pre_rollback.size_bytes:,} bytes, "
                    f"sha256 {pre_rollback.sha256[:12]}…, verified by pg_restore --list "
                    f"({pre_rollback.toc_entries} entries)")
        drill.checklist.done("Backup of current state created", evidence)
        step.detail = evidence

    with drill.phase("Database Rollback") as step:
        run = migrations.downgrade("-1")
        drill.attach_json("alembic downgrade -1", run.to_dict())
        step.detail = _migration_detail(run)
        drill.checklist.done("Database migration rolled back", step.detail)
        drill.fact("revision_after", run.to_revision)

    with drill.phase("Validation Testing") as step:
        with connect(dsn, read_only=True) as conn:
            results = drill.checks(validation.validate_rollback(
                conn, migrations=migrations, baseline=before,
                expected_revision=REVISION_INTEGER, added=added, queries=VALIDATION_QUERIES))
        step.detail = f"{len(results)} checks passed"
        drill.checklist.done("Data integrity verified",
                             f"{len(results)} checks: revision, key types, schema = baseline, "
                             "counts = baseline + new, baseline fingerprints, orphans, "
                             "sequences, runbook join queries")

    drill.checklist.done("Documentation updated", "this rollback record, written by the drill")
    drill.assert_within_objectives()


def _migration_detail(run) -> str:
    return (f"{run.command}: {run.from_revision or '<base>'} -> {run.to_revision or '<base>'} "
            f"in {format_duration(run.elapsed_s)}")
