"""The every-revision drill's phases: a copy of the seeded parent, the upgrade, rows written on
the revision, the downgrade, and the operator checks against the parent's baseline.

drills/test_every_revision.py calls these in runbook order; the revisions, the seeder and the
writer come from the profile ([drill], [embedded] seed, [alembic] ini).
"""
from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import psycopg
from psycopg import sql

from rollbook.errors import MigrationError, RollbookError
from rollbook.measure import catalog, fingerprint, snapshot
from rollbook.pg.connect import connect
from rollbook.pg.server import Server
from rollbook.pytest_plugin.drill import DrillFailure
from rollbook.pytest_plugin.phases import migration_detail
from rollbook.record import evidence
from rollbook.record.clock import format_duration
from rollbook.record.redact import redact_text
from rollbook.runbook import generic_seed, startup
from rollbook.runbook.migrations import Migrations, is_version_table
from rollbook.runbook.revisions import (
    BASE,
    ParentTemplate,
    RevisionStep,
    Templates,
    chosen,
    migration_raised,
)
from rollbook.settings.profile import Profile
from rollbook.settings.profile_files import load_ref
from rollbook.settings.target import checks_connection, project_config
from rollbook.verdicts import validation
from rollbook.verdicts.measured import LeaveOut


def revision_steps(profile: Profile) -> list[RevisionStep]:
    """The revisions the profile's [drill] revisions names (none without [alembic] ini)."""
    if profile.alembic.ini is None:
        return []
    return chosen(Migrations(project_config(profile.alembic), ""), profile.drill.revisions)


def at_parent(profile: Profile, tables) -> Profile:
    """The profile as it applies at a parent revision: its table expectations and soft keys
    for the tables that exist there, none of its key queries (they name the head's tables)."""
    return dataclasses.replace(
        profile, queries=(), tables={t: e for t, e in profile.tables.items() if t in tables},
        soft_foreign_keys=tuple(k for k in profile.soft_foreign_keys
                                if k.table in tables and k.references in tables))


def templates_for(server: Server, profile: Profile, scale: str) -> Templates:
    """Parent templates for this profile: its seeder (else rollbook's own), its tables'
    seeders, its baseline."""
    seeder = load_ref(profile.embedded.seed) if profile.embedded.seed else generic_seed.seed

    def take_baseline(dsn: str):
        with connect(dsn, read_only=True) as conn:
            tables = catalog.snapshot(conn, profile.schemas, kinds=("tables",)).tables
        at = at_parent(profile, tables)
        with checks_connection(at, dsn) as conn:  # kept in memory, never saved: no row digests
            return snapshot.take(conn, at, rows=False)

    table_seeds = {table: load_ref(expected.seed) for table, expected in profile.tables.items()
                   if expected.seed}
    start = profile.alembic.start
    return Templates(server, profile.alembic, seeder, scale, take_baseline,
                     start=(lambda dsn: startup.run_start(start, dsn, profile.path.parent))
                     if start else None, table_seeds=table_seeds)


def writer_for(profile: Profile) -> Callable:
    return load_ref(profile.drill.writer) if profile.drill.writer else generic_seed.write


def copy_of_parent(drill, templates: Templates, step: RevisionStep) -> tuple[str, ParentTemplate]:
    """A fresh database at the parent, seeded and baselined: a copy of the parent's template."""
    with drill.step(f"Database at {step.parent}: migrated, seeded, baseline taken") as log:
        try:
            template, made = templates.at(step.parent)
        except RollbookError as exc:  # a seed that failed, a migration refused: one line
            raise DrillFailure(f"{step.revision}: {exc.one_line()}") from None
        name = f"rb_rev_{uuid.uuid4().hex[:10]}"
        templates.server.copy_database(template.name, name)
        rows = sum(template.baseline.tables[t].rows for t in template.baseline.tables)
        log.detail = (f"copy of template {template.name} ({rows:,} rows, baseline sha256 "
                      f"{template.baseline.sha256[:12]}); "
                      + (f"template made in {format_duration(template.made_in_s)}" if made
                         else "template reused")
                      + (f" from {template.made_from}, upgraded; seeded: "
                         f"{', '.join(template.seeded) or 'nothing new'}"
                         if made and template.made_from else ""))
        drill.attach_json("baseline at the parent", template.baseline.to_dict())
    return name, template


def upgrade(drill, migrations: Migrations, step: RevisionStep) -> None:
    """The upgrade to the revision; one that did not arrive there, or raised, fails in one
    line naming the script line it raised at."""
    with drill.step(f"Upgrade {step.parent} -> {step.revision} ({step.doc})") as log:
        try:
            run = migrations.upgrade(step.revision)
        except MigrationError as exc:
            raise DrillFailure(f"{step.revision}: {exc.message}") from None
        except Exception as exc:  # whatever the script raises is the finding
            raise DrillFailure(f"{step.revision}: " + migration_raised(
                f"alembic upgrade {step.revision}", exc, migrations)) from None
        log.detail = migration_detail(run)


@dataclasses.dataclass
class Written:
    """Rows written while on the revision: how many each table took, and, for a table whose
    key at the parent is not one integer column, those rows' whole keys (every column for a
    table without a key), so the counts and content checks leave them out of the baseline's
    rows."""

    rows: dict[str, int]
    keys: LeaveOut = dataclasses.field(default_factory=dict)


# rows whose inserting transaction came after a given one (a drill's copy has no other writer,
# and its transaction ids are far from wrapping around)
WRITTEN_SINCE_SQL = "SELECT {key} FROM {table} AS t WHERE xmin::text::bigint > %(xid)s"


def write_rows(drill, dsn: str, writer: Callable, step: RevisionStep,
               parent: ParentTemplate | None = None) -> Written:
    """Rows written while on the revision, by the profile's writer (in as many transactions
    as it likes); with the parent's template, the keys of those rows in its tables keyed by
    anything but an integer."""
    with drill.step(f"Write rows on {step.revision}") as log:
        with connect(dsn, autocommit=True) as conn:
            before = conn.execute("SELECT pg_current_xact_id()::text::bigint % 4294967296"
                                  ).fetchone()[0]
        with connect(dsn) as conn:
            rows = {t: n for t, n in (writer(conn, step.revision) or {}).items() if n}
        written = Written(rows, _keys_written(dsn, parent, rows, before) if parent else {})
        drill.attach_json(f"rows written on {step.revision}", rows)
        log.detail = ", ".join(f"{t} +{n}" for t, n in rows.items()) or "no rows"
    return written


def _keys_written(dsn: str, parent: ParentTemplate, rows: dict[str, int],
                  before: int) -> LeaveOut:
    baseline = parent.baseline
    # a one-column integer key tells the written rows apart by itself (key > the baseline's max)
    keyed = {t: baseline.whole_key(t) for t in rows if t in baseline.tables
             and not (baseline.range_key(t) and len(baseline.whole_key(t)) == 1)}
    found = {}
    with connect(dsn) as conn:
        for table, key in keyed.items():
            if not key:  # a table without columns: nothing to tell apart
                continue
            statement = sql.SQL(WRITTEN_SINCE_SQL).format(
                key=fingerprint.key_text(key), table=catalog.relation(table))
            try:
                with conn.transaction():  # the row text as measure_table prints it
                    conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
                    values = [r[0] for r in conn.execute(statement, {"xid": before})]
            except psycopg.errors.UndefinedColumn:  # the revision renamed or dropped the key
                continue
            found[table] = (key, tuple(values))
    return found


def downgrade(drill, migrations: Migrations, step: RevisionStep) -> None:
    """The Database Rollback phase: alembic downgrade to the parent. A downgrade that raises
    (or that the script lacks) fails the drill in one line naming the revision."""
    with drill.phase("Database Rollback") as log:
        try:
            run = migrations.downgrade(step.parent)
        except Exception as exc:  # whatever the script raises is the finding
            first = (str(exc).strip().splitlines() or [""])[0]
            raise DrillFailure(redact_text(
                f"{step.revision}: alembic downgrade {step.parent} raised "
                f"{type(exc).__name__}: {first}")) from None
        log.detail = migration_detail(run)


def validate(drill, dsn: str, migrations: Migrations, template: ParentTemplate,
             step: RevisionStep, written: Written) -> None:
    """The Validation Testing phase: the operator checks against the parent's baseline. Rows
    written on the revision into a table the parent has must be kept; the rest went with the
    tables the downgrade dropped and are counted as lost."""
    baseline = template.baseline
    kept = {t: n for t, n in written.rows.items() if t in baseline.tables}
    lost = {t: n for t, n in written.rows.items() if t not in baseline.tables}
    with drill.phase("Validation Testing") as log:
        profile = at_parent(drill.profile, baseline.tables)
        families = validation.validate_rollback(
            dsn, profile=profile, migrations=migrations, baseline=baseline,
            expected_revision=None if step.parent == BASE else step.parent, added=kept,
            leave_out=written.keys)
        if all(map(is_version_table, baseline.tables)):  # an empty parent has no keys to type
            families.pop("types")
        differences = difference_lines(families)
        drill.fact("rows_kept", kept)
        drill.fact("rows_lost", lost)
        try:
            results = drill.checks_by_family(families)
        except DrillFailure:
            raise DrillFailure(
                f"{step.revision}: downgrade to {step.parent} left {len(differences)} "
                f"difference(s) from the baseline:\n" + "\n".join(differences)) from None
        log.detail = (f"{len(results)} checks passed; kept " + (", ".join(
            f"{t} +{n}" for t, n in kept.items()) or "none") + "; lost with dropped tables "
            + (", ".join(f"{t} {n}" for t, n in lost.items()) or "none"))


def difference_lines(families) -> list[str]:
    """One line per difference: each schema difference on its own, else the check's summary."""
    return [line for found in families.values() for line in evidence.difference_lines(found)]
