"""The drill's validation: the operator checks, run against the drill's database.

Each family below calls the same verdict functions over the same inventory as its module in
checks/ does (test_preflight, test_types, test_schema, test_counts, test_orphans, test_content),
over a connection opened as the checks open theirs. The one thing a drill adds is what it knows
and an operator does not: the rows it kept since the baseline, so a table's count must be
exactly the baseline's plus those (a parameter of the counts verdict, not a second check).
Performance, monitoring and the API run as their own drill steps; the triggers after them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace

import psycopg

from rollbook.measure import inventory
from rollbook.measure.baseline import Baseline
from rollbook.record.evidence import CheckResult
from rollbook.runbook.migrations import Migrations, Scripts
from rollbook.settings.profile import Profile
from rollbook.settings.target import checks_connection
from rollbook.verdicts import content, counts, key_types, orphans, preflight, schema
from rollbook.verdicts.measured import LeaveOut, Measured


@dataclass
class CheckRun:
    """What `pytest checks/` gives its checks as fixtures, for one database."""

    conn: psycopg.Connection
    profile: Profile
    baseline: Baseline | None
    scripts: Scripts | None
    expected_revision: str | None
    found: inventory.Inventory
    measured: Measured

    @classmethod
    def over(cls, conn: psycopg.Connection, profile: Profile, baseline: Baseline | None,
             scripts: Scripts | None, expected_revision: str | None,
             leave_out: LeaveOut | None = None) -> CheckRun:
        found = inventory.build(conn, profile, baseline)
        time_columns = {t.table: t.column for t in found.time_columns}
        return cls(conn, profile, baseline, scripts, expected_revision, found,
                   Measured(conn, baseline, time_columns, leave_out=leave_out))


def preflight_checks(run: CheckRun, added=None) -> list[CheckResult]:
    results = [preflight.server(run.conn),
               preflight.session_is_read_only(run.conn, run.profile.database.application_name),
               preflight.revision(run.conn, run.expected_revision)]
    if run.scripts is not None:
        results += [preflight.single_head(run.scripts),
                    preflight.history(run.scripts, run.conn, run.expected_revision)]
    return results


def types_checks(run: CheckRun, added=None) -> list[CheckResult]:
    ids = ([key_types.information_schema_ids(
        run.conn, inventory.id_column_types(run.profile, run.baseline), run.profile.schemas)]
        if run.profile.id_columns else [])
    return [*(key_types.check_key_column(run.conn, k.key, k.types) for k in run.found.key_columns),
            *ids]


def schema_checks(run: CheckRun, added=None) -> list[CheckResult]:
    if run.baseline is None:
        return [schema.table_present(run.conn, table) for table in run.found.tables]
    comparison = run.measured.schema()
    outside = [kind for kind in schema.KINDS_OUTSIDE_TABLES
               if schema.recorded(comparison.expected, kind)]
    return [*(schema.table_matches(run.conn, comparison.expected, table, comparison)
              for table in run.found.tables),
            *(schema.kind_matches(comparison, kind) for kind in outside)]


def counts_checks(run: CheckRun, added: dict[str, int] | None = None) -> list[CheckResult]:
    """Row counts; with `added`, every baseline table holds its baseline rows plus exactly the
    rows the drill kept (none for a table `added` does not name)."""
    def kept(table: str) -> int | None:
        known = added is not None and run.measured.before(table) is not None
        return added.get(table, 0) if known else None

    return [*(counts.row_count(run.measured, t, run.profile.tables.get(t), kept(t))
              for t in run.found.tables),
            *(counts.unique_values(run.conn, u.table, u.columns) for u in run.found.unique_keys),
            *(counts.time_range(run.measured, c.table, c.column) for c in run.found.time_columns)]


def orphans_checks(run: CheckRun, added=None) -> list[CheckResult]:
    return [*(run.measured.orphans(fk) for fk in run.found.foreign_keys),
            *orphans.not_valid_constraints(run.conn), *orphans.invalid_indexes(run.conn),
            *(orphans.sequence_ahead(run.conn, s) for s in run.found.sequences)]


def content_checks(run: CheckRun, added=None) -> list[CheckResult]:
    if run.baseline is None:
        return []
    return [content.compare_table(run.measured, t) for t in run.found.tables
            if t in run.baseline.tables]


FAMILIES: dict[str, Callable[..., list[CheckResult]]] = {
    "preflight": preflight_checks, "types": types_checks, "schema": schema_checks,
    "counts": counts_checks, "orphans": orphans_checks, "content": content_checks}


def validate_rollback(dsn: str, *, profile: Profile, migrations: Migrations | None,
                      baseline: Baseline, expected_revision: str,
                      added: dict[str, int] | None,
                      leave_out: LeaveOut | None = None) -> dict[str, list[CheckResult]]:
    """Every family's results, as `pytest checks/` would judge this database against this
    baseline; `added` (table -> rows the drill kept since the baseline) makes the counts exact,
    `leave_out` (table -> whole key's columns and key_text of those rows) keeps them out of the
    baseline rows of a table without a one-column integer key."""
    with rollback_checked(dsn, profile=profile, migrations=migrations, baseline=baseline,
                          expected_revision=expected_revision, added=added,
                          leave_out=leave_out) as (families, _):
        return families


@contextmanager
def rollback_checked(dsn: str, *, profile: Profile, migrations: Migrations | None,
                     baseline: Baseline, expected_revision: str, added: dict[str, int] | None,
                     leave_out: LeaveOut | None = None
                     ) -> Iterator[tuple[dict[str, list[CheckResult]], CheckRun]]:
    """validate_rollback's families, and the CheckRun that measured them, its connection open
    while the block runs: what else judges the same state of the database (the triggers'
    schema comparison and orphan searches) reads its measurements instead of taking them
    again."""
    with checks_connection(profile, dsn) as conn, checks_connection(profile, dsn) as second, \
            ThreadPoolExecutor(1, thread_name_prefix="rollbook-orphans") as helper:
        scripts = migrations.read_scripts() if migrations is not None else None
        run = CheckRun.over(conn, profile, baseline, scripts, expected_revision, leave_out)
        # the orphan searches (a join per foreign key, none of the other families' reads) run
        # on a second connection beside the rest (the server's second core), into the same
        # memo: run.measured.orphans(fk) reads what they found
        beside = replace(run, conn=second, measured=Measured(
            second, baseline, run.measured.time_columns, memo=run.measured.memo,
            leave_out=leave_out))
        searching = helper.submit(orphans_checks, beside, added)
        found = {family: checks(run, added) for family, checks in FAMILIES.items()
                 if checks is not orphans_checks}
        found["orphans"] = searching.result()
        yield {family: found[family] for family in FAMILIES}, run
