"""Validation after a rollback: the runbook's schema, data-integrity and query checks."""
from __future__ import annotations

import psycopg

from rollbook.measure import catalog, fingerprint
from rollbook.measure.baseline import Baseline
from rollbook.measure.impact import count_statement, run_named_queries, table_counts
from rollbook.record.evidence import CheckResult
from rollbook.runbook.migrations import Migrations
from rollbook.verdicts import key_types, orphans


def revision_is(migrations: Migrations, expected: str) -> CheckResult:
    current = migrations.current()
    ok = current == [expected]
    summary = (f"alembic current is {expected}" if ok else
               f"alembic current is {','.join(current) or '<none>'}, expected {expected}")
    return CheckResult("alembic revision", ok, summary,
                       sql=["SELECT version_num FROM alembic_version"],
                       observed={"current": current, "expected": expected})


def counts_vs_baseline(conn: psycopg.Connection, baseline: Baseline, added: dict[str, int],
                       tables: tuple[str, ...] | None = None) -> list[CheckResult]:
    """Each table (all of the baseline's, or those named) holds exactly its baseline rows plus
    the rows known to be added since."""
    counts, _ = table_counts(conn)
    results = []
    for table, before in _selected(baseline, tables):
        expected = before.rows + added.get(table, 0)
        actual = counts.get(table)
        ok = actual == expected
        if actual is None:
            summary = f"{table} is missing (had {before.rows} rows)"
        elif ok:
            summary = f"{table}: {actual} rows = {before.rows} baseline + {added.get(table, 0)} new"
        else:
            gap = (f"{expected - actual} rows lost" if actual < expected else
                   f"{actual - expected} rows nobody accounts for")
            summary = (f"{table}: {actual} rows, expected {expected} ({before.rows} baseline + "
                       f"{added.get(table, 0)} new): {gap}")
        results.append(CheckResult(
            f"row count: {table}", ok, summary, sql=[count_statement(table).as_string(conn)],
            observed={"baseline": before.rows, "added": added.get(table, 0), "actual": actual}))
    return results


def baseline_rows_unchanged(conn: psycopg.Connection, baseline: Baseline,
                            tables: tuple[str, ...] | None = None) -> list[CheckResult]:
    """The fingerprint of the rows that existed at baseline time is what it was then."""
    results = []
    for table, before in _selected(baseline, tables):
        # Baseline rows are those with key <= the baseline's max key; without an integer key
        # to tell them apart, the whole table is compared.
        by_key = before.key and (before.key_max is not None or before.rows == 0)
        key_range = (None, before.key_max) if by_key else None
        try:
            now = fingerprint.fingerprint_table(conn, table, key=before.key,
                                                key_range=key_range)
        except psycopg.Error as exc:
            results.append(CheckResult(
                f"content: {table}", False,
                f"{table}: cannot select the baseline rows by {before.key} <= "
                f"{before.key_max}: {str(exc).splitlines()[0]}",
                observed={"baseline": vars(before)}))
            continue
        ok = (now.rows, now.digest) == (before.rows, before.digest)
        scope = f"{before.key} <= {before.key_max}" if key_range else "all rows"
        summary = (f"{table}: {now.rows} rows ({scope}) match the baseline fingerprint" if ok else
                   f"{table}: baseline rows changed ({scope}): {before.rows} rows "
                   f"{before.digest[:12]}… then, {now.rows} rows {now.digest[:12]}… now")
        results.append(CheckResult(f"content: {table}", ok, summary,
                                   sql=[now.sql],
                                   observed={"baseline": vars(before), "now": now.to_dict()}))
    return results


def _selected(baseline: Baseline, tables: tuple[str, ...] | None):
    return sorted((name, before) for name, before in baseline.tables.items()
                  if tables is None or name in tables)


def query_returns_rows(conn: psycopg.Connection, name: str, query: str) -> CheckResult:
    rows = run_named_queries(conn, {name: query})[name]
    ok = bool(rows)
    return CheckResult(f"query returns rows: {name}", ok,
                       f"{len(rows)} rows" if ok else f"{name} returned no rows",
                       sql=[query], observed={"rows": rows[:10]})


def validate_rollback(conn: psycopg.Connection, *, migrations: Migrations, baseline: Baseline,
                      expected_revision: str, added: dict[str, int],
                      queries: dict[str, str]) -> list[CheckResult]:
    """Everything the runbook checks after a database rollback, each evaluated."""
    return [
        revision_is(migrations, expected_revision),
        key_types.information_schema_ids(conn),
        *key_types.key_column_types(conn),
        catalog.compare_schema(conn, baseline.schema_snapshot()),
        *counts_vs_baseline(conn, baseline, added),
        *baseline_rows_unchanged(conn, baseline),
        *orphans.check_all_orphans(conn),
        *orphans.sequences_behind(conn),
        *(query_returns_rows(conn, name, text) for name, text in queries.items()),
    ]
