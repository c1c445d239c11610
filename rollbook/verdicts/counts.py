"""Counts after a rollback: no baseline row lost, rows added since reported, unique keys still
unique, oldest and newest timestamps where they were. Row counts and time ranges are read
from the table's one measurement (rollbook.verdicts.measured); unique keys count on their own.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from rollbook.measure.baseline import Baseline
from rollbook.measure.catalog import relation
from rollbook.record.evidence import CheckResult, as_text
from rollbook.settings.profile import TableExpectation
from rollbook.verdicts.content import unmeasurable
from rollbook.verdicts.measured import Measured

PIN_UTC = "SELECT set_config('TimeZone', 'UTC', true)"
# A unique key's groups read in key order (its unique index, or a sort) rather than hashed: at
# 1M rows a composite key's count(DISTINCT (a, b)) sorts records and spills to disk, and a hash
# of every key outgrows work_mem, where reading the index in order takes a fraction of either.
SORTED_GROUPS = "SELECT set_config('enable_hashagg', 'off', true)"


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                        (as_text(relation(table), conn),)).fetchone()[0]


def row_count(run: Measured, table: str, expectation: TableExpectation | None = None,
              added: int | None = None) -> CheckResult:
    """Rows now vs the baseline: every baseline row still there (counted within the baseline's
    key range when the table has an integer key), rows added since reported; without a
    baseline (or for a table the baseline does not have), at least the profile's min_rows.
    With `added` (a drill knows the rows it wrote since), the count must be exactly the
    baseline's plus those."""
    name = f"row count: {table}"
    before = run.before(table)
    now = run.table(table)
    unmeasured = unmeasurable(run, table, now)
    if unmeasured is not None:
        return CheckResult(name, False, unmeasured, now.sql, {"exists": now.exists})
    total = now.rows
    observed: dict[str, Any] = {"rows": total}
    if before is None:
        minimum = expectation.min_rows if expectation else 0
        observed["min_rows"] = minimum
        ok = total >= minimum
        why = "not in the baseline: a new table" if run.baseline else "no baseline"
        summary = (f"{table}: {total} rows ({why}; the profile expects at least {minimum})"
                   if ok else f"{table}: {total} rows, the profile expects at least {minimum}")
        return CheckResult(name, ok, summary, now.sql, observed)
    kept = now.selected[0] if now.selected is not None else 0
    scope = f" with {now.scope}" if now.upto is not None else ""
    observed.update(baseline_rows=before.rows, kept=kept, added_since=total - before.rows)
    if kept < before.rows:
        return CheckResult(name, False, f"{table}: {before.rows - kept} baseline rows lost: "
                           f"{kept} rows{scope} now, {before.rows} at baseline (total now "
                           f"{total}). Hint: compare with the pre-rollback backup; the content "
                           "check narrows down the key ranges", now.sql, observed)
    if added is not None and total != before.rows + added:
        expected = before.rows + added
        observed["added"] = added
        gap = (f"{expected - total} rows lost" if total < expected else
               f"{total - expected} rows nobody accounts for")
        return CheckResult(name, False, f"{table}: {total} rows, expected {expected} "
                           f"({before.rows} baseline + {added} kept): {gap}", now.sql, observed)
    grown = total - before.rows
    note = f", {grown} added since" if grown > 0 else ""
    extra = kept - before.rows
    if extra > 0:
        note += f" ({extra} of them inside the baseline's key range)"
    return CheckResult(name, True, f"{table}: {total} rows = {before.rows} baseline rows kept"
                       f"{note}", now.sql, observed)


def unique_values(conn: psycopg.Connection, table: str, columns: tuple[str, ...]) -> CheckResult:
    """count(*) = count(DISTINCT ...) over rows whose key columns are all non-null (the
    runbook's `COUNT(DISTINCT email)`)."""
    label = f"{table}({', '.join(columns)})"
    name = f"unique: {label}"
    if not _exists(conn, table):
        return CheckResult(name, False, f"table {table} does not exist", [], {"exists": False})
    statement = as_text(_unique_statement(table, columns), conn)
    try:
        with conn.transaction():
            conn.execute(SORTED_GROUPS)
            rows, unique = conn.execute(statement).fetchone()
    except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction) as exc:
        return CheckResult(name, False, f"cannot count distinct {label}: "
                           f"{str(exc).splitlines()[0]}", [SORTED_GROUPS, statement],
                           {"error": str(exc)})
    observed = {"rows": rows, "distinct": unique}
    if rows == unique:
        return CheckResult(name, True, f"{label}: {rows} rows, {unique} distinct",
                           [SORTED_GROUPS, statement], observed)
    return CheckResult(name, False, f"{label}: {rows - unique} duplicate values ({rows} rows, "
                       f"{unique} distinct). Hint: GROUP BY {', '.join(columns)} HAVING "
                       "count(*) > 1 lists them", [SORTED_GROUPS, statement], observed)


def _unique_statement(table: str, columns: tuple[str, ...]) -> sql.Composed:
    """The rows whose key columns are all non-null, and their distinct keys: one group per
    key, so the groups' sizes add up to the rows and their number is count(DISTINCT ...)."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c))
                                     for c in columns)
    return sql.SQL(
        "SELECT coalesce(sum(g.n), 0)::bigint, count(*) FROM"
        " (SELECT count(*) AS n FROM {t} WHERE {nn} GROUP BY {cols}) AS g"
    ).format(t=relation(table), nn=not_null, cols=cols)


def _time_statement(conn: psycopg.Connection, table: str, column: str) -> str:
    return as_text(sql.SQL("SELECT min({c}), max({c}) FROM {t}").format(
        c=sql.Identifier(column), t=relation(table)), conn)


def time_range(run: Measured, table: str, column: str) -> CheckResult:
    """Oldest and newest `column`: the oldest must be the baseline's oldest (older rows not
    lost), the newest at least the baseline's newest. Without a baseline: reported."""
    name = f"time range: {table}.{column}"
    now = run.table(table)
    if now.error is not None or not now.exists:
        return CheckResult(name, False, unmeasurable(run, table, now), now.sql,
                           {"exists": now.exists})
    if now.time_range is None:
        return CheckResult(name, False, f"{table}.{column} does not exist", now.sql,
                           {"exists": False})
    oldest, newest = now.time_range
    before = baseline_time_range(run.baseline, table, column)
    observed = {"oldest": time_text(oldest), "newest": time_text(newest), "baseline": before}
    shown = f"oldest {time_text(oldest)}, newest {time_text(newest)}"
    if before is None:
        return CheckResult(name, True, f"{table}.{column}: {shown} (no baseline to compare)",
                           now.sql, observed)
    then_old, then_new = (_parse(v, oldest if oldest is not None else newest) for v in before)
    problems = []
    if then_old is not None and oldest != then_old:
        problems.append(f"oldest is {time_text(oldest)}, was {before[0]}")
    if then_new is not None and (newest is None or newest < then_new):
        problems.append(f"newest is {time_text(newest)}, was {before[1]}")
    if problems:
        return CheckResult(name, False, f"{table}.{column}: {'; '.join(problems)}: baseline rows"
                           " are missing or were changed", now.sql, observed)
    return CheckResult(name, True, f"{table}.{column}: {shown}; baseline {before[0]} .. "
                       f"{before[1]}", now.sql, observed)


def capture_time_ranges(conn: psycopg.Connection,
                        columns: list[tuple[str, str]]) -> dict[str, list[str | None]]:
    """For the baseline: oldest and newest value of each (table, column), as ISO text."""
    ranges = {}
    for table, column in columns:
        with conn.transaction():
            conn.execute(PIN_UTC)
            oldest, newest = conn.execute(_time_statement(conn, table, column)).fetchone()
        ranges[f"{table}.{column}"] = [time_text(oldest), time_text(newest)]
    return ranges


def baseline_time_range(baseline: Baseline | None, table: str, column: str) -> list[str] | None:
    if baseline is None:
        return None
    return baseline.facts.get("time_ranges", {}).get(f"{table}.{column}")


def time_text(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _parse(text: str | None, like: Any) -> Any:
    if text is None or like is None:
        return None
    if isinstance(like, dt.datetime):
        return dt.datetime.fromisoformat(text)
    if isinstance(like, dt.date):
        return dt.date.fromisoformat(text)
    return text
