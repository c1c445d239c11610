"""The runbook's shared drill phases: preparation before a rollback, validation after it.

Each drill calls these from its test body, so every step shows in runbook order in the report.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rollbook.measure import baseline, inventory, plans, snapshot
from rollbook.measure.amcheck import enable_amcheck
from rollbook.measure.baseline import Baseline
from rollbook.measure.discard import rows_written_since
from rollbook.measure.impact import assess
from rollbook.pg.connect import connect
from rollbook.pg.server import Server
from rollbook.pytest_plugin.application import api_smoke
from rollbook.pytest_plugin.evidence import attach_json
from rollbook.pytest_plugin.post_rollback import watch_after_rollback
from rollbook.record import performance_view
from rollbook.record.clock import format_duration
from rollbook.record.model import utc_now
from rollbook.runbook import backup
from rollbook.runbook.child import die_with_parent
from rollbook.runbook.migrations import MigrationRun, Migrations
from rollbook.runbook.service import ServiceProcess
from rollbook.settings.profile import Profile
from rollbook.settings.target import checks_connection
from rollbook.verdicts import monitoring, performance, triggers, validation
from rollbook.verdicts.measured import Measured
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.runbook import IMPACT_QUERIES
from rollbook_vibes.seed import plan_for, seed
from rollbook_vibes.traffic import write_on_uuid

LONG_SEED_JOURNALS = 100_000  # seeds this big print progress lines
OPERATOR_CHECKS_TIMEOUT_S = 900
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Baselined:
    """A seeded Vibes database at the integer revision, its baseline and pre-migration backup."""

    server: Server
    database: str
    dsn: str
    migrations: Migrations
    baseline: baseline.Baseline
    pre_migration: backup.Backup


@dataclass
class Prepared(Baselined):
    """A Vibes database on the UUID schema, with its memory of "before" and the rows written
    on UUID since."""

    added: dict[str, int]


def migration_detail(run: MigrationRun) -> str:
    """The step's one line; the run's timing and output go to the report too."""
    detail = (f"{run.command}: {run.from_revision or '<base>'} -> "
              f"{run.to_revision or '<base>'} in {format_duration(run.elapsed_s)}")
    attach_json(f"migration timing: {detail}", run.to_dict())
    return detail


def prepare_uuid_rollback(drill, server: Server, database: str, scale: str) -> Prepared:
    """Integer baseline, seed, baseline manifest, pre-migration backup, UUID upgrade, writes on
    UUID and the pre-rollback assessment: the system a rollback starts from. The runbook's own
    preparation (maintenance mode, notices, workspace and backup) is the drill's to run."""
    return upgrade_and_write_on_uuid(drill, prepare_integer_baseline(drill, server, database,
                                                                      scale))


def prepare_integer_baseline(drill, server: Server, database: str, scale: str) -> Baselined:
    """The Vibes database before the UUID migration: revision 0001, seeded, remembered in a
    baseline manifest and a verified pre-migration backup."""
    dsn = server.dsn(database)
    migrations = Migrations(alembic_config(dsn), dsn, locks=True)  # the lock footprint
    drill.fact("server", server.describe())
    drill.fact("server_version", server.version)
    drill.fact("client_tools", server.installation.describe())
    drill.fact("scale", scale)
    drill.checklist.out_of_scope("Rollback team assembled", "automated drill, no people paged")
    drill.checklist.out_of_scope("Root cause analysis initiated",
                                 "rehearsal: there is no incident to analyse")

    with drill.step(f"Migrate to the integer baseline ({REVISION_INTEGER})") as step:
        step.detail = migration_detail(migrations.upgrade(REVISION_INTEGER))
        with connect(dsn) as conn:
            enable_amcheck(conn)  # so the corruption trigger can be evaluated

    with drill.step(f"Seed Vibes data (scale {scale})") as step:
        long_seed = plan_for(scale).journals >= LONG_SEED_JOURNALS
        seeded = seed(dsn, scale, progress=drill.progress if long_seed else None)
        drill.attach_json("rows seeded", seeded)
        step.detail = f"{sum(seeded.values()):,} rows"

    # the backup's pg_dump reads the same unchanging database as the baseline: it runs
    # alongside the baseline's reads (both only read) but not its key queries' timing, and the
    # upgrade starts once both are done and the backup verified
    with ThreadPoolExecutor(1, thread_name_prefix="rollbook-pg_dump") as background:
        dumping = background.submit(backup.dump, server, database,
                                    drill.workspace / "pre_migration_backup.dump")
        with drill.step("Take the baseline manifest (schema, counts, fingerprints, plans)") \
                as step:
            with connect(dsn, read_only=True) as conn:
                # as `rollbook snapshot` takes it
                before = snapshot.take(conn, drill.profile, before_plans=dumping.exception)
            path = before.save(drill.workspace / "baseline.json")
            drill.attach_file("baseline.json", path)
            drill.kept.file("baseline.json", path)
            if before.rows_path is not None:  # its row digests, which it names by sha256
                drill.kept.file(before.rows_path.name, before.rows_path)
            step.detail = f"sha256 {before.sha256}"

        with drill.step(f"Pre-migration backup (pg_dump -Fc -Z{backup.COMPRESS_LEVEL}, "
                        "verified)") as step:
            pre_migration = dumping.result()
            drill.attach_json("pre-migration backup", drill.kept.backup("pre-migration backup",
                                                                        pre_migration))
            step.detail = (f"{pre_migration.size_bytes:,} bytes, {pre_migration.toc_entries} "
                           f"entries, sha256 {pre_migration.sha256}; pg_dump took "
                           f"{format_duration(pre_migration.elapsed_s)}, alongside the baseline")

    return Baselined(server=server, database=database, dsn=dsn, migrations=migrations,
                     baseline=before, pre_migration=pre_migration)


def upgrade_and_write_on_uuid(drill, start: Baselined) -> Prepared:
    """UUID upgrade, writes while on UUID, pre-rollback assessment."""
    server, database, dsn, migrations = start.server, start.database, start.dsn, start.migrations
    with drill.step(f"Upgrade to the UUID schema ({REVISION_UUID})") as step:
        step.detail = migration_detail(migrations.upgrade(REVISION_UUID))

    with drill.step("Write new rows while on UUID") as step:
        with connect(dsn) as conn:
            added = write_on_uuid(conn)
        drill.attach_json("rows written on UUID", added)
        step.detail = ", ".join(f"{table} +{n}" for table, n in added.items())

    with drill.step("Pre-rollback assessment", covers=("Impact assessment completed",)) as step:
        with connect(dsn, read_only=True) as conn:
            assessment = drill.check(assess(conn, migrations, IMPACT_QUERIES))
        drill.checklist.done("Impact assessment completed", assessment.summary)
        drill.fact("revision_before", ",".join(assessment.observed["alembic_current"]))
        step.detail = assessment.summary

    return Prepared(server=server, database=database, dsn=dsn, migrations=migrations,
                    baseline=start.baseline, pre_migration=start.pre_migration, added=added)


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


def evaluate_triggers(drill, prepared: Baselined, *, expected_revision: str,
                      baseline: Baseline | None, action_taken, extra_signals=(),
                      measured: Measured | None = None):
    """Measure the rollback triggers, decide per the matrix, and log it in the decision trail.
    With `baseline`, the schema must be the baseline's and its foreign keys are searched for
    orphans too. `action_taken` is a string, or a function of the decision that returns one;
    `extra_signals` a list, or a function measuring them (then timed as part of deciding).
    `measured`: the validation's measurements of this same database state (its schema
    comparison and orphan searches are read from it, not taken again), on its connection."""
    started = time.perf_counter()
    if callable(extra_signals):
        extra_signals = extra_signals()
    shared = measured is not None
    with (nullcontext(measured.conn) if shared
          else checks_connection(drill.profile, prepared.dsn)) as conn:
        measured = measured if shared else Measured(conn, baseline)
        keys = inventory.build(conn, drill.profile, baseline).foreign_keys
        signals = triggers.database_signals(
            conn, prepared.migrations.read_scripts(), expected_revision=expected_revision,
            comparison=measured.schema(),
            orphan_results=[measured.orphans(fk) for fk in keys] if shared else
            orphans_on_two_connections(drill.profile, prepared.dsn, measured, keys))
    decision = triggers.decide([*signals, *extra_signals])
    taken = action_taken(decision) if callable(action_taken) else action_taken
    return drill.decide(decision, started=started, action_taken=taken)


def orphans_on_two_connections(profile: Profile, dsn: str, measured: Measured,
                                keys) -> list:
    """The orphan search of every key in `keys`, in its order: each search is one statement
    on one backend, so a second checks connection takes the next key whenever it is free
    (the machine's second core), the largest tables first."""
    pending = sorted(range(len(keys)), key=lambda i: -_rows_estimate(measured.conn, keys[i]))
    results: dict[int, object] = {}
    taking = threading.Lock()

    def search(on: Measured) -> None:
        while True:
            with taking:
                if not pending:
                    return
                index = pending.pop(0)
            results[index] = on.orphans(keys[index])

    with checks_connection(profile, dsn) as second, \
            ThreadPoolExecutor(1, thread_name_prefix="rollbook-orphans") as helper:
        beside = helper.submit(search, Measured(second, measured.baseline))
        search(measured)
        beside.result()
    return [results[i] for i in range(len(keys))]


def _rows_estimate(conn, fk) -> float:
    """The planner's row estimate of the key's referencing table (0 when unknown)."""
    row = conn.execute("SELECT c.reltuples FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
                       (fk.schema, fk.table)).fetchone()
    return max(float(row[0]), 0.0) if row else 0.0


def steady_state(drill, prepared: Baselined, extra_signals=(),
                 measured: Measured | None = None) -> None:
    """After a rollback, the same triggers as before it must all be quiet. `extra_signals` may
    be a function, called only now (e.g. an API smoke that writes). `measured`: validation's
    measurements of the same database state, shared (see evaluate_triggers)."""
    with drill.step("Steady state: the rollback triggers are quiet again") as step:
        after = evaluate_triggers(drill, prepared, expected_revision=REVISION_INTEGER,
                                  baseline=prepared.baseline,
                                  action_taken="none: the rollback is complete",
                                  extra_signals=extra_signals, measured=measured)
        step.detail = after.summary() + (
            " (the schema comparison and orphan searches: the data checks' own, of this same "
            "database state)" if measured is not None else "")
        assert not after.fired, after.report()


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


@contextmanager
def operator_checks(drill, prepared: Baselined, api_url: str) -> Iterator[None]:
    """The operator's `pytest checks/` against the rolled-back database and its API, with the
    drill's baseline: the runbook's full test suite after a rollback. It starts when the block
    starts; the block's steps (ones that only read, e.g. the steady state) run beside it, and
    its own step, after them, waits for it and judges it. A block that fails stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    env["ROLLBOOK_DSN"] = prepared.dsn  # the environment, not argv: argv shows in `ps`
    argv = [sys.executable, "-m", "pytest", str(ROOT / "checks"), "-q", "-p",
            "no:cacheprovider", "--env", "prod.example", "--baseline",
            str(drill.workspace / "baseline.json"), "--api-url", api_url,
            "--reports-dir", str(drill.workspace / "checks-reports")]
    out, err = drill.workspace / "pytest-checks.out", drill.workspace / "pytest-checks.err"
    started, started_utc = time.perf_counter(), utc_now()
    with out.open("w") as stdout, err.open("w") as stderr:
        # files, not pipes: a full pipe would stall the checks while the block runs
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
                                 text=True, preexec_fn=die_with_parent())
    try:
        beside = time.perf_counter()
        yield
        beside = time.perf_counter() - beside
        with drill.step("Integration tests: pytest checks/ against the rolled-back system",
                        covers=("Integration tests successful",)) as step:
            try:
                child.wait(timeout=max(0.0, OPERATOR_CHECKS_TIMEOUT_S
                                       - (time.perf_counter() - started)))
            except subprocess.TimeoutExpired:
                step.detail = (f"pytest checks/ still running after "
                               f"{format_duration(OPERATOR_CHECKS_TIMEOUT_S)}: stopped")
                raise
            ran = time.perf_counter() - started
            stdout_text, stderr_text = out.read_text(), err.read_text()
            drill.attach_text("pytest checks/", stdout_text[-20_000:] + stderr_text[-5_000:])
            keep_checks_report(drill, drill.workspace / "checks-reports")
            lines = stdout_text.strip().splitlines()
            summary = lines[-1].strip("= ") if lines else stderr_text.strip()[-300:]
            step.detail = (f"{summary}; started {started_utc[11:19]} UTC, "
                           f"{format_duration(beside)} of its {format_duration(ran)} beside "
                           "the steps before this one")
            assert child.returncode == 0, f"pytest checks/ exited {child.returncode}: {summary}"
            drill.checklist.done("Integration tests successful", f"pytest checks/: {summary}")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def keep_checks_report(drill, reports_dir: Path) -> None:
    """The operator checks' own report, record and JUnit file, kept with the drill's
    evidence."""
    for kept_as, name in (("checks-report.md", "checks.md"), ("checks-junit.xml", "junit.xml"),
                          ("checks-record.md", "checks-record.md"),
                          ("checks-record.html", "checks-record.html")):
        found = sorted(reports_dir.glob(f"*/{name}"))
        if found:
            drill.kept.file(kept_as, found[-1])


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
