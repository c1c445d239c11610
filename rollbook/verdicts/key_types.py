"""Key column types: every primary-key and foreign-key column has the expected type."""
from __future__ import annotations

import psycopg
from psycopg import sql

from rollbook.measure import catalog
from rollbook.record.evidence import CheckResult
from rollbook.runbook.migrations import VERSION_TABLE

INTEGER_TYPES = ("smallint", "integer", "bigint")
INFORMATION_SCHEMA_SQL = (
    "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
    " WHERE table_schema = 'public' AND column_name = 'id' ORDER BY table_name")


def key_column_types(conn: psycopg.Connection, expected: tuple[str, ...] = INTEGER_TYPES,
                     ) -> list[CheckResult]:
    """One result per key column: the catalog type, and pg_typeof of a stored value.

    Alembic's own version table is bookkeeping, not a key of the service, and is left out.
    """
    results = []
    for table, column, declared, role in catalog.key_columns(catalog.snapshot(conn)):
        if table == VERSION_TABLE:
            continue
        probe = sql.SQL("SELECT pg_typeof({col})::text FROM {tbl} WHERE {col} IS NOT NULL"
                        " LIMIT 1").format(col=sql.Identifier(column), tbl=sql.Identifier(table))
        row = conn.execute(probe).fetchone()
        stored = row[0] if row else None
        ok = declared in expected and (stored is None or stored in expected)
        summary = f"{table}.{column} ({role}) is {declared}"
        if stored is not None and stored != declared:
            summary += f", stored values are {stored}"
        if not ok:
            summary += f"; expected one of {', '.join(expected)}"
        results.append(CheckResult(f"key type: {table}.{column}", ok, summary,
                                   sql=[probe.as_string(conn)],
                                   observed={"declared": declared, "pg_typeof": stored,
                                             "role": role}))
    return results


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
