"""Schema after a rollback, table by table: the baseline's columns, types, nullability,
defaults, constraints, indexes and owned sequences, each difference on its own line.

Without a baseline, the profile's tables must exist and have a primary key.
"""
from __future__ import annotations

import psycopg

from rollbook.measure import catalog
from rollbook.record.evidence import CheckResult, as_text

PRIMARY_KEY_SQL = """\
SELECT to_regclass(%(relation)s) IS NOT NULL,
       EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = to_regclass(%(relation)s) AND contype = 'p')"""
CATALOG_SQL = [catalog.PIN_SEARCH_PATH, catalog.COLUMNS_SQL, catalog.CONSTRAINTS_SQL,
               catalog.INDEXES_SQL, catalog.SEQUENCES_SQL]


def _table_of(d: catalog.Difference) -> str | None:
    """The table a difference belongs to (None for a sequence no column owns)."""
    if d.kind == "table":
        return d.name
    if d.kind == "column":
        return d.name.rsplit(".", 1)[0]
    value = d.before if d.before is not None else d.after
    if d.kind == "sequence":
        owner = value.get("owned_by")
        return owner.rsplit(".", 1)[0] if owner else None
    return value.get("table")


def differences(conn: psycopg.Connection,
                expected: catalog.Schema) -> dict[str | None, list[catalog.Difference]]:
    """Every difference from the expected schema, grouped by the table it belongs to."""
    grouped: dict[str | None, list[catalog.Difference]] = {}
    for d in catalog.diff(expected, catalog.snapshot(conn, expected.schemas)):
        grouped.setdefault(_table_of(d), []).append(d)
    return grouped


def table_matches(conn: psycopg.Connection, expected: catalog.Schema,
                  table: str | None) -> CheckResult:
    """The table (or, for None, the sequences no column owns) is as in `expected`."""
    label = table if table is not None else "sequences owned by no column"
    name = f"schema: {label}"
    found = differences(conn, expected).get(table, [])
    observed = {"differences": [d.to_dict() for d in found], "diff": catalog.format_diff(found)}
    if table is not None:
        observed["expected"] = {column: vars(c) for column, c in
                                expected.tables.get(table, {}).items()}
    if not found:
        what = "not in the baseline" if table is not None and table not in expected.tables \
            else "as in the baseline"
        return CheckResult(name, True, f"{label}: {what}", CATALOG_SQL, observed)
    plural = "difference" if len(found) == 1 else "differences"
    return CheckResult(name, False, f"{label}: {len(found)} {plural} from the baseline; first: "
                       f"{found[0]}", CATALOG_SQL, observed)


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
