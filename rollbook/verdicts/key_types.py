"""Key column types: every primary-key and foreign-key column has the expected type."""
from __future__ import annotations

import psycopg
from psycopg import sql

from rollbook.measure import catalog
from rollbook.record.evidence import CheckResult

INFORMATION_SCHEMA_SQL = (
    "SELECT table_schema, table_name, column_name, data_type, is_nullable"
    " FROM information_schema.columns"
    " WHERE table_schema = ANY(%(schemas)s) AND column_name = 'id' ORDER BY 1, 2")
# a type's name as information_schema and pg_typeof print it: without its modifier
# (character varying(32) -> character varying)
VALUE_TYPES_SQL = "SELECT to_regtype(t)::text FROM unnest(%s::text[]) AS t"


def information_schema_ids(conn: psycopg.Connection, expected: tuple[str, ...],
                           schemas: tuple[str, ...] | None = None) -> CheckResult:
    """The runbook's own query: data_type of every `id` column in information_schema, over the
    schemas in scope (None: every non-system schema). Only for a profile that declares the
    expectation ([keys] id_columns = true): what is true of Vibes is no default."""
    scope = list(schemas) if schemas is not None else list(catalog.user_schemas(conn))
    rows = conn.execute(INFORMATION_SCHEMA_SQL, {"schemas": scope}).fetchall()
    fields = ("table_schema", "table_name", "column_name", "data_type", "is_nullable")
    table = [dict(zip(fields, r, strict=True)) for r in rows]
    allowed = _value_types(conn, expected)
    wrong = [r for r in table if r["data_type"] not in allowed]
    where = ", ".join(scope) or "no schema"

    def name(r):
        return catalog.display_name(r["table_schema"], r["table_name"])

    summary = (f"{len(table)} id columns, all {'/'.join(expected)}" if not wrong else
               "id columns of the wrong type: " + ", ".join(
                   f"{name(r)}.id is {r['data_type']}" for r in wrong))
    return CheckResult("information_schema: id column types", bool(table) and not wrong,
                       summary if table else f"no id columns found in {where}",
                       sql=[INFORMATION_SCHEMA_SQL], observed={"schemas": scope,
                                                               "columns": table})


def _value_types(conn: psycopg.Connection, types: tuple[str, ...]) -> set[str]:
    return {r[0] for r in conn.execute(VALUE_TYPES_SQL, [list(types)]).fetchall() if r[0]}


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
    # pg_typeof names a value's type without its modifier (character varying, not
    # character varying(32)): stored values are judged against the expected types' own names
    value_types = _value_types(conn, expected)
    statements.append(VALUE_TYPES_SQL)
    ok = declared in expected and all(s in value_types for s in stored)
    sampled = f"; pg_typeof of stored values: {', '.join(stored)}" if stored else \
        "; no stored values to sample"
    summary = f"{key.table}.{key.column} ({key.role}) is {declared}{sampled}"
    if not ok:
        summary = (f"{key.table}.{key.column} ({key.role}) is {declared}, expected "
                   f"{' or '.join(expected)}{sampled}. Hint: the rollback did not restore this"
                   " column's type; see the schema check for the full difference")
    return CheckResult(name, ok, summary, statements, observed)
