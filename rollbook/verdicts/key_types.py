"""Key column types: every primary-key and foreign-key column has the expected type."""
from __future__ import annotations

import psycopg
from psycopg import sql

from rollbook.measure import catalog
from rollbook.measure.fingerprint import INTEGER_TYPES
from rollbook.record.evidence import CheckResult

INFORMATION_SCHEMA_SQL = (
    "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
    " WHERE table_schema = 'public' AND column_name = 'id' ORDER BY table_name")


def information_schema_ids(conn: psycopg.Connection,
                           expected: tuple[str, ...] = INTEGER_TYPES) -> CheckResult:
    """The runbook's own query: data_type of every `id` column in information_schema."""
    rows = conn.execute(INFORMATION_SCHEMA_SQL).fetchall()
    table = [dict(zip(("table_name", "column_name", "data_type", "is_nullable"), r, strict=True))
             for r in rows]
    wrong = [r for r in table if r["data_type"] not in expected]
    summary = (f"{len(table)} id columns, all {'/'.join(expected)}" if not wrong else
               "id columns of the wrong type: " + ", ".join(
                   f"{r['table_name']}.id is {r['data_type']}" for r in wrong))
    return CheckResult("information_schema: id column types", bool(table) and not wrong,
                       summary if table else "no id columns found in public",
                       sql=[INFORMATION_SCHEMA_SQL], observed={"columns": table})


DECLARED_TYPE_SQL = """\
SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
WHERE a.attrelid = to_regclass(%(relation)s) AND a.attname = %(column)s AND NOT a.attisdropped"""


def check_key_column(conn: psycopg.Connection, key: catalog.KeyColumn,
                     expected: tuple[str, ...]) -> CheckResult:
    """One key column: its declared type now, and pg_typeof of a few stored values, against
    `expected` (e.g. the baseline's type of that column, or the profile's integer types)."""
    name = f"key type: {key.table}.{key.column}"
    relation = catalog.relation(key.table)
    params = {"relation": relation.as_string(conn), "column": key.column}
    row = conn.execute(DECLARED_TYPE_SQL, params).fetchone()
    statements = [DECLARED_TYPE_SQL]
    observed = {"role": key.role, "expected": list(expected), "declared": None, "pg_typeof": []}
    if row is None:
        return CheckResult(name, False, f"{key.table}.{key.column} ({key.role}) does not exist;"
                           f" expected {' or '.join(expected)}", statements, observed)
    declared = observed["declared"] = row[0]
    probe = sql.SQL("SELECT DISTINCT pg_typeof(s.{col})::text FROM (SELECT {col} FROM {tbl}"
                    " WHERE {col} IS NOT NULL LIMIT 5) AS s").format(
        col=sql.Identifier(key.column), tbl=relation)
    statements.append(probe.as_string(conn))
    stored = sorted(r[0] for r in conn.execute(probe).fetchall())
    observed["pg_typeof"] = stored
    ok = declared in expected and all(s in expected for s in stored)
    sampled = f"; pg_typeof of stored values: {', '.join(stored)}" if stored else \
        "; no stored values to sample"
    summary = f"{key.table}.{key.column} ({key.role}) is {declared}{sampled}"
    if not ok:
        summary = (f"{key.table}.{key.column} ({key.role}) is {declared}, expected "
                   f"{' or '.join(expected)}{sampled}. Hint: the rollback did not restore this"
                   " column's type; see the schema check for the full difference")
    return CheckResult(name, ok, summary, statements, observed)
