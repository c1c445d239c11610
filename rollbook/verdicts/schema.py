"""Schema after a rollback: everything pg_dump --schema-only would print, against the baseline.

One comparison (snapshot the database as the baseline's snapshot was taken, diff the two)
serves every verdict: per table (its columns, options, constraints, indexes, owned sequences,
triggers, policies, owner, grants and comments), per kind for the objects that belong to no
table (schemas, extensions, types, views, routines, free sequences, ...), or the whole schema
at once. Each difference is one line naming the object and what changed.

Without a baseline, the profile's tables must exist and have a primary key.
"""
from __future__ import annotations

from typing import NamedTuple

import psycopg

from rollbook.measure import catalog
from rollbook.record.evidence import CheckResult, as_text

PRIMARY_KEY_SQL = """\
SELECT to_regclass(%(relation)s) IS NOT NULL,
       EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = to_regclass(%(relation)s) AND contype = 'p')"""
# Difference kinds that can belong to no table ("table" and "column" always belong to one).
KINDS_OUTSIDE_TABLES = tuple(k for k in catalog.DIFFERENCE_KINDS if k not in ("table", "column"))
COUNT = "\x00"  # where a summary says how many differences
RETAKE = "retake the baseline with `rollbook snapshot` to compare them"


class Comparison(NamedTuple):
    expected: catalog.Schema
    found: catalog.Schema
    differences: list[catalog.Difference]

    @property
    def tables(self) -> set[str]:
        return set(self.expected.tables) | set(self.found.tables)

    def of_table(self, table: str) -> list[catalog.Difference]:
        return [d for d in self.differences if d.table == table]

    def outside_tables(self, kind: str | None = None) -> list[catalog.Difference]:
        """Differences that belong to no table (of `kind`, if given)."""
        return [d for d in self.differences if d.table not in self.tables
                and kind in (None, d.kind)]


def compare(conn: psycopg.Connection, expected: catalog.Schema) -> Comparison:
    """Snapshot the database as `expected` was taken (same schemas, same kinds) and diff."""
    found = catalog.snapshot(conn, expected.selection, expected.kinds)
    return Comparison(expected, found, catalog.diff(expected, found))


def differences(conn: psycopg.Connection,
                expected: catalog.Schema) -> list[catalog.Difference]:
    """Every difference from the expected schema, one line each."""
    return compare(conn, expected).differences


def _result(name: str, found: list[catalog.Difference], comparison: Comparison,
            passed: str, failed: str, observed: dict) -> CheckResult:
    """The verdict on `found`: `passed` as the summary, or `failed` (where COUNT stands in
    for the number of differences) followed by the first difference."""
    observed = {**observed, "differences": [d.to_dict() for d in found],
                "diff": catalog.format_diff(found)}
    not_recorded = comparison.expected.not_recorded()
    if not_recorded:
        observed["not recorded in the baseline"] = not_recorded
        observed["hint"] = RETAKE
    sql = catalog.statements(comparison.expected.kinds)
    if not found:
        return CheckResult(name, True, passed, sql, observed)
    plural = "difference" if len(found) == 1 else "differences"
    summary = failed.replace(COUNT, f"{len(found)} {plural}")
    return CheckResult(name, False, f"{summary}; first: {found[0]}", sql, observed)


def table_matches(conn: psycopg.Connection, expected: catalog.Schema, table: str | None,
                  comparison: Comparison | None = None) -> CheckResult:
    """The table, and everything that belongs to it, is as in `expected`; for None, every
    object that belongs to no table. Pass the `comparison` of `compare` to judge many tables
    on one snapshot."""
    comparison = comparison or compare(conn, expected)
    if table is None:
        label = "objects outside tables"
        return _result(f"schema: {label}", comparison.outside_tables(), comparison,
                       f"{label}: as in the baseline", f"{label}: {COUNT} from the baseline",
                       {})
    columns = comparison.expected.tables.get(table)
    passed = "not in the baseline" if columns is None else "as in the baseline"
    observed = {"expected": {column: vars(c) for column, c in (columns or {}).items()}}
    return _result(f"schema: {table}", comparison.of_table(table), comparison,
                   f"{table}: {passed}", f"{table}: {COUNT} from the baseline", observed)


def kind_matches(comparison: Comparison, kind: str) -> CheckResult:
    """Every object of `kind` (a difference kind: "view", "function", "grant", ...) that belongs
    to no table is as in the baseline."""
    label = f"{kind} objects outside tables"
    return _result(f"schema: {label}", comparison.outside_tables(kind), comparison,
                   f"{label}: as in the baseline", f"{label}: {COUNT} from the baseline",
                   {"kind": kind})


def recorded(expected: catalog.Schema, kind: str) -> bool:
    """Whether the baseline recorded objects of this difference kind at all."""
    return any(k.key in expected.objects for k in catalog.KINDS
               if kind == k.name or (kind == "column" and k.key == "tables"))


SCHEMA_FIELDS = ("schemas", "selection")  # what a baseline's schema holds beside its kinds


def kinds_compared(recorded_schema: dict) -> CheckResult:
    """Every kind of object the baseline recorded is one this rollbook compares; a kind it does
    not know (a baseline from a newer rollbook, or an edited one) is named "not compared",
    never dropped without a word."""
    known = {kind.key for kind in catalog.KINDS} | set(SCHEMA_FIELDS)
    unknown = sorted(key for key in recorded_schema if key not in known)
    observed = {"unknown_kinds": {key: len(recorded_schema[key] or ()) for key in unknown}}
    if not unknown:
        return CheckResult("schema: every recorded kind compared", True,
                           "every kind of object the baseline recorded is compared", [],
                           observed)
    shown = ", ".join(f"{key} ({count} objects)" for key, count in
                      observed["unknown_kinds"].items())
    return CheckResult("schema: every recorded kind compared", False,
                       f"not compared: the baseline recorded kinds this rollbook does not know: "
                       f"{shown}. Hint: compare with the rollbook version that took the "
                       "baseline, or take a new baseline with `rollbook snapshot`", [], observed)


def schema_matches(conn: psycopg.Connection, expected: catalog.Schema) -> CheckResult:
    """The whole schema at once, one result: every difference from `expected`."""
    comparison = compare(conn, expected)
    observed = {"schemas": list(comparison.found.schemas),
                "found": comparison.found.describe(), "expected": expected.describe()}
    return _result("schema matches baseline", comparison.differences, comparison,
                   f"schema matches baseline: {comparison.found.describe()}",
                   f"schema differs from baseline: {COUNT}", observed)


def table_present(conn: psycopg.Connection, table: str) -> CheckResult:
    """Without a baseline: the table exists and has a primary key."""
    relation = as_text(catalog.relation(table), conn)
    exists, has_pk = conn.execute(PRIMARY_KEY_SQL, {"relation": relation}).fetchone()
    observed = {"exists": exists, "primary_key": has_pk}
    if not exists:
        return CheckResult(f"schema: {table}", False, f"table {table} does not exist. Hint: the "
                           "profile lists it under [tables]", [PRIMARY_KEY_SQL], observed)
    if not has_pk:
        return CheckResult(f"schema: {table}", False, f"table {table} has no primary key",
                           [PRIMARY_KEY_SQL], observed)
    return CheckResult(f"schema: {table}", True, f"{table} exists with a primary key (no "
                       "baseline: columns are not compared)", [PRIMARY_KEY_SQL], observed)
