"""The runbook's shared drill phases: preparation before a rollback, validation after it.

Each drill calls these from its test body, so every step shows in runbook order in the report.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from rollbook.measure import plans
from rollbook.measure.discard import rows_written_since
from rollbook.measure.impact import assess
from rollbook.pg.connect import connect
from rollbook.pg.server import Server
from rollbook.pytest_plugin.application import api_smoke
from rollbook.pytest_plugin.baseline_steps import (
    Baselined,
    baseline_and_backup,
    migration_detail,
    seeded_at_integer,
)
from rollbook.pytest_plugin.post_rollback import watch_after_rollback
from rollbook.pytest_plugin.trigger_steps import steady_state
from rollbook.record import performance_view
from rollbook.record.clock import format_duration
from rollbook.runbook import backup
from rollbook.runbook.migrations import Migrations
from rollbook.runbook.service import ServiceProcess
from rollbook.verdicts import monitoring, performance, validation
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID
from rollbook_vibes.runbook import IMPACT_QUERIES
from rollbook_vibes.traffic import write_on_uuid


@dataclass
class Prepared(Baselined):
    """A Vibes database on the UUID schema, with its memory of "before" and the rows written
    on UUID since."""

    added: dict[str, int]
    # what ran beside the pre-rollback assessment (upgrade_and_write_on_uuid's `beside`)
    beside_assessment: Future | None = None


def prepare_uuid_rollback(drill, server: Server, database: str, scale: str,
                          beside_assessment=None) -> Prepared:
    """Integer baseline, seed, baseline manifest and pre-migration backup (read from a file
    copy beside the UUID upgrade), writes on UUID and the pre-rollback assessment: the system
    a rollback starts from. The runbook's own preparation (maintenance mode, notices,
    workspace and backup) is the drill's to run. `beside_assessment`: see
    upgrade_and_write_on_uuid's `beside`."""
    migrations = seeded_at_integer(drill, server, database, scale)
    start = baseline_and_backup(drill, server, database, migrations,
                                during=lambda: upgrade_to_uuid(drill, migrations))
    return write_on_uuid_and_assess(drill, start, beside=beside_assessment)


def prepare_integer_baseline(drill, server: Server, database: str, scale: str) -> Baselined:
    """The Vibes database before the UUID migration: revision 0001, seeded, remembered in a
    baseline manifest and a verified pre-migration backup."""
    return baseline_and_backup(drill, server, database,
                               seeded_at_integer(drill, server, database, scale))


def upgrade_to_uuid(drill, migrations: Migrations) -> None:
    with drill.step(f"Upgrade to the UUID schema ({REVISION_UUID})") as step:
        step.detail = migration_detail(migrations.upgrade(REVISION_UUID))


def upgrade_and_write_on_uuid(drill, start: Baselined, beside=None) -> Prepared:
    """UUID upgrade, then write_on_uuid_and_assess."""
    upgrade_to_uuid(drill, start.migrations)
    return write_on_uuid_and_assess(drill, start, beside)


def write_on_uuid_and_assess(drill, start: Baselined, beside=None) -> Prepared:
    """Writes while on UUID, pre-rollback assessment. `beside`: a function of `start` (called
    in the drill's thread when the assessment starts) that returns work which only reads; that
    work runs in a thread beside the assessment and on past it, and its Future is the
    Prepared's `beside_assessment`."""
    server, database, dsn, migrations = start.server, start.database, start.dsn, start.migrations
    with drill.step("Write new rows while on UUID") as step:
        with connect(dsn) as conn:
            added = write_on_uuid(conn)
        drill.attach_json("rows written on UUID", added)
        step.detail = ", ".join(f"{table} +{n}" for table, n in added.items())

    with drill.step("Pre-rollback assessment", covers=("Impact assessment completed",)) as step:
        running = run_in_thread(beside(start)) if beside is not None else None
        with connect(dsn, read_only=True) as conn:
            assessment = drill.check(assess(conn, migrations, IMPACT_QUERIES))
        drill.checklist.done("Impact assessment completed", assessment.summary)
        drill.fact("revision_before", ",".join(assessment.observed["alembic_current"]))
        step.detail = assessment.summary

    return Prepared(server=server, database=database, dsn=dsn, migrations=migrations,
                    baseline=start.baseline, pre_migration=start.pre_migration, added=added,
                    beside_assessment=running)


def run_in_thread(work) -> Future:
    """`work` started in a thread of its own, which ends when the work does."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="rollbook-beside")
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)


def back_up_current_state(drill, prepared: Baselined) -> backup.Backup:
    """The runbook's "Create rollback workspace" and "Backup current state": after maintenance
    mode and the stakeholder notice, before the rollback itself."""
    with drill.step("Create rollback workspace and back up the current state",
                    covers=("Backup of current state created",)) as step:
        pre_rollback = backup.dump(prepared.server, prepared.database,
                                   drill.workspace / "pre_rollback_backup.dump",
                                   compress=backup.IN_WINDOW_COMPRESS_LEVEL)
        drill.attach_json("pre-rollback backup", drill.kept.backup("pre-rollback backup",
                                                                   pre_rollback))
        step.detail = (f"{pre_rollback.path.name} (pg_dump -Fc "
                       f"-Z{backup.IN_WINDOW_COMPRESS_LEVEL}): {pre_rollback.size_bytes:,} bytes, "
                       f"sha256 {pre_rollback.sha256}, verified by pg_restore --list "
                       f"({pre_rollback.toc_entries} entries)")
        drill.checklist.done("Backup of current state created", step.detail)
    return pre_rollback


def validate_after_rollback(drill, prepared: Baselined, *, kept: dict[str, int],
                            service: ServiceProcess | None = None,
                            extra_signals=()) -> None:
    """The runbook's Validation Testing, then the steady state and the record's last facts."""
    validation_testing(drill, prepared, kept=kept, service=service)
    steady_state(drill, prepared, extra_signals)
    validated(drill, prepared)


def validation_testing(drill, prepared: Baselined, *, kept: dict[str, int],
                       service: ServiceProcess | None = None, watch: bool = True,
                       steady: bool = False) -> None:
    """The runbook's validation, timed: the operator checks against the drill's database, with
    counts = baseline + `kept` (the rows written on UUID the way back kept). With a service,
    the API smoke follows the database checks (its writes come after them). With `watch`, the
    post-rollback watch ends it (else the drill runs watch_after_rollback later itself). With
    `steady`, the steady state follows the data checks on their measurements (the same
    database state: nothing has written since) instead of the drill running it later."""
    with drill.phase("Validation Testing") as step:
        with validation.rollback_checked(
                prepared.dsn, profile=drill.profile, migrations=prepared.migrations,
                baseline=prepared.baseline, expected_revision=REVISION_INTEGER,
                added=kept) as (families, run):
            results = drill.checks_by_family(families)
            step.detail = f"{len(results)} checks passed: " + ", ".join(
                f"{family} {len(found)}" for family, found in families.items())
            drill.checklist.done("Data integrity verified",
                                 f"the operator checks against the drill's database, "
                                 f"{step.detail}; counts = baseline + rows kept")
            if steady:
                steady_state(drill, prepared, measured=run.measured)
        performance_and_monitoring(drill, prepared)
        if service is not None:
            api_smoke(drill, service)
        if watch:
            watch_after_rollback(drill, prepared, service)


def validated(drill, prepared: Baselined) -> None:
    """The revision the rollback left, and the record as the rollback's documentation."""
    drill.fact("revision_after", ",".join(prepared.migrations.current()))
    drill.checklist.done("Documentation updated", "this rollback record, written by the drill")


def performance_and_monitoring(drill, prepared: Baselined) -> None:
    """The runbook's query performance (plans and times against the baseline's) and its
    post-rollback monitoring (connections, blocking locks, long transactions)."""
    limits = drill.profile.monitoring
    with drill.step("Performance validation: EXPLAIN ANALYZE of the runbook's queries",
                    covers=("Performance validation passed",)) as step:
        with connect(prepared.dsn, read_only=True) as conn:
            judged = [check for query in drill.profile.queries
                      for check in performance.query_verdicts(
                          conn, query, plans.measure(conn, query, drill.profile.performance),
                          drill.profile, prepared.baseline.plans)]
        drill.table(performance_view.TITLE, performance_view.performance_rows(judged))
        results = drill.checks(judged)
        step.detail = "; ".join(r.summary for r in results)
        drill.checklist.done("Performance validation passed", step.detail)
    with drill.step("Monitoring: connections, blocking locks, long transactions",
                    covers=("Monitoring restored",)) as step:
        with connect(prepared.dsn, read_only=True) as conn:
            results = drill.checks([
                monitoring.active_connections(conn, limits.max_active_connections),
                monitoring.blocking_locks(conn, limits.max_lock_wait_s),
                monitoring.long_transactions(conn, limits.max_transaction_age_s)])
        step.detail = "; ".join(r.summary for r in results)
        drill.checklist.done("Monitoring restored", step.detail)


def count_rows_a_restore_discards(drill, prepared: Baselined, expected: dict[str, int]) -> None:
    """Before any restore: the rows written since the backup, which the restore will discard,
    counted and reported so the operator chooses knowingly; the count must be `expected`."""
    with drill.step("Count the rows the restore would discard") as step:
        with connect(prepared.dsn, read_only=True) as conn:
            discarded = drill.check(rows_written_since(conn, prepared.baseline))
        step.detail = discarded.summary
        assert discarded.observed["written_since_backup"] == expected, discarded.summary
        drill.fact("rows_discarded_by_restore", discarded.observed["total"])


def full_restore(drill, prepared: Baselined, *, jobs: int = 2) -> None:
    """The Database Rollback phase by full restore: drop and recreate the database, then
    pg_restore -j the pre-migration backup."""
    server, database = prepared.server, prepared.database
    with drill.phase("Database Rollback") as step:
        with drill.step(f"Drop and recreate database {database}"):
            server.drop_database(database)
            server.create_database(database)
        with drill.step(f"pg_restore -j {jobs} the pre-migration backup"):
            run = backup.restore(server, database, prepared.pre_migration, jobs=jobs)
            drill.attach_text("pg_restore", " ".join(run.command) + "\n" + run.stderr)
        step.detail = (f"database recreated, pg_restore -j {jobs} "
                       f"{prepared.pre_migration.path.name} in {format_duration(run.elapsed_s)}")
        drill.checklist.done("Database migration rolled back", step.detail)
