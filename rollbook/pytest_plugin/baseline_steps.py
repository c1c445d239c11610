"""The drill's start: Vibes at the integer revision, seeded, then its baseline manifest and
pre-migration backup, taken before the next step or, read from a file copy of the seeded
database, beside it (the UUID upgrade: one backend's work, which leaves a core free)."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

from rollbook.measure import baseline, catalog, snapshot
from rollbook.measure.amcheck import enable_amcheck
from rollbook.pg.connect import connect
from rollbook.pg.cpu_priority import lowest_priority
from rollbook.pg.server import Server
from rollbook.pytest_plugin.evidence import attach_json
from rollbook.record.clock import format_duration
from rollbook.record.redact import redact_text
from rollbook.runbook import backup
from rollbook.runbook.migrations import MigrationRun, Migrations
from rollbook_vibes.migrations_config import REVISION_INTEGER, alembic_config
from rollbook_vibes.seed import plan_for, seed

LONG_SEED_JOURNALS = 100_000  # seeds this big print progress lines


@dataclass
class Baselined:
    """A seeded Vibes database at the integer revision, its baseline and pre-migration backup."""

    server: Server
    database: str
    dsn: str
    migrations: Migrations
    baseline: baseline.Baseline
    pre_migration: backup.Backup


def migration_detail(run: MigrationRun) -> str:
    """The step's one line; the run's timing and output go to the report too."""
    detail = (f"{run.command}: {run.from_revision or '<base>'} -> "
              f"{run.to_revision or '<base>'} in {format_duration(run.elapsed_s)}")
    attach_json(f"migration timing: {detail}", run.to_dict())
    return detail


def seeded_at_integer(drill, server: Server, database: str, scale: str) -> Migrations:
    """The drill's facts, then `database` migrated to revision 0001 and seeded at `scale`."""
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
    return migrations


def baseline_and_backup(drill, server: Server, database: str, migrations: Migrations, *,
                        during: Callable[[], object] | None = None) -> Baselined:
    """The baseline manifest of the seeded `database` and its verified pre-migration backup.
    pg_dump reads the same unchanging data as the baseline, alongside its reads but not its key
    queries' timing. With `during` (the drill's next step, which changes the database), both
    read a file copy of `database` made first, its schema and identity read from `database`
    itself, while `during` runs in the drill's thread; the key queries are timed once `during`
    and pg_dump have ended, so their times are nobody else's."""
    if during is None:
        return _taken(drill, server, database, database, migrations, None, None, None)
    with connect(server.dsn(database), read_only=True) as conn:
        identity = baseline.database_identity(conn)
        schema = catalog.snapshot(conn, drill.profile.schemas)
    copy = f"rb_baseline_{uuid.uuid4().hex[:10]}"
    with drill.step("Copy the seeded database for the baseline (CREATE DATABASE ... "
                    "TEMPLATE ... STRATEGY FILE_COPY)") as step:
        server.copy_database(database, copy, file_copy=True)
        step.detail = (f"CREATE DATABASE {copy} TEMPLATE {database}: the baseline and the "
                       "pre-migration backup read it beside the next step; the schema was "
                       "read from the database itself")
    try:
        return _taken(drill, server, database, copy, migrations, identity, schema, during)
    finally:
        server.drop_database(copy)


def _taken(drill, server: Server, database: str, read_from: str, migrations: Migrations,
           identity: dict | None, schema: catalog.Schema | None,
           during: Callable[[], object] | None) -> Baselined:
    """As baseline_and_backup says, reading `read_from` (`database` itself, or its copy with
    `identity`, `schema` and `during`)."""
    copied = read_from != database
    timed: dict[str, float] = {}
    ended = threading.Event()
    if during is None:
        ended.set()

    def baseline_of_copy() -> baseline.Baseline:
        started = time.perf_counter()

        def before_plans() -> None:
            timed["rows"] = time.perf_counter() - started
            dumping.exception()
            ended.wait()

        def second():
            return connect(server.dsn(read_from), read_only=True)

        with second() as conn:  # as `rollbook snapshot` takes it
            return snapshot.take(conn, drill.profile, before_plans=before_plans, schema=schema,
                                 second=second)

    with ThreadPoolExecutor(2, thread_name_prefix="rollbook-baseline") as background, \
            lowest_priority(server, read_from) if copied else nullcontext(None) as lowered:
        dumping = background.submit(backup.dump, server, read_from,
                                    drill.workspace / "pre_migration_backup.dump",
                                    lowest_priority=copied)
        taking = background.submit(baseline_of_copy) if during is not None else None
        try:
            if during is not None:
                during()
        finally:
            ended.set()
        with drill.step("Take the baseline manifest (schema, counts, fingerprints, plans)") \
                as step:
            before = taking.result() if taking is not None else baseline_of_copy()
            if copied:
                before.database = identity
            path = before.save(drill.workspace / "baseline.json")
            drill.attach_file("baseline.json", path)
            drill.kept.file("baseline.json", path)
            if before.rows_path is not None:  # its row digests, which it names by sha256
                drill.kept.file(before.rows_path.name, before.rows_path)
            step.detail = f"sha256 {before.sha256}"
            if copied:
                priority = (", its backends and pg_dump at the lowest CPU priority (nice 19)"
                            if lowered.ok else f", its backends at their usual CPU priority "
                            f"({redact_text(lowered.failure)})")
                step.detail += (f"; of the file copy {read_from}: its rows read in "
                                f"{format_duration(timed['rows'])} beside the step before"
                                f"{priority}, the key queries timed after it")

        with drill.step(f"Pre-migration backup (pg_dump -Fc -Z{backup.COMPRESS_LEVEL}, "
                        "verified)") as step:
            pre_migration = dumping.result()
            drill.attach_json("pre-migration backup", drill.kept.backup("pre-migration backup",
                                                                        pre_migration))
            beside = "the step before" if copied else "the baseline"
            step.detail = (f"{pre_migration.size_bytes:,} bytes, {pre_migration.toc_entries} "
                           f"entries, sha256 {pre_migration.sha256}; pg_dump took "
                           f"{format_duration(pre_migration.elapsed_s)}, alongside {beside}"
                           + (f" (of the file copy {read_from})" if copied else ""))

    return Baselined(server=server, database=database, dsn=server.dsn(database),
                     migrations=migrations, baseline=before, pre_migration=pre_migration)
