"""The value of one column in row `s.g` of a generated seed: from its type's category, within
what its CHECK constraints and its domain allow (read by seed_checks), so that every value is the
same on every run and unique columns stay unique. `generic_seed` composes them into one
`INSERT ... SELECT ... FROM generate_series` per table.
"""
from __future__ import annotations

import math

import psycopg
from psycopg import sql

from rollbook.errors import RollbookError
from rollbook.measure import catalog
from rollbook.runbook import seed_checks

SEED_HINT = ("name a seeder for the table in the profile ([tables.NAME] seed = "
             "\"module:function\"), or for the database ([embedded] seed).")

# The base type of a column's type (through a domain), its category and whether it is an enum.
TYPE_SQL = """\
SELECT b.typname, b.typcategory, b.typtype = 'e'
FROM pg_type t
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE t.oid = %s::regtype"""

# the CHECK constraints of a domain
DOMAIN_CHECKS_SQL = """\
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contypid = %s::regtype AND contype = 'c' ORDER BY conname"""
INTEGER_NAMES = ("int2", "int4", "int8")


G = sql.SQL("s.g")
EPOCH = sql.SQL("timestamp '2024-01-01 00:00:00'")


class SeedError(RollbookError):
    """A schema rollbook cannot seed by itself."""


def column_value(conn: psycopg.Connection, table: str, column: catalog.Column,
                 allowed: seed_checks.Allowed | None = None) -> sql.Composable:
    """The value of `column` in row s.g, from its type's category, within what its CHECK
    constraints and its domain's allow (`allowed`: the table's own, read by seed_checks); NULL
    for a type this does not know when the column allows it."""
    typename, category, is_enum = conn.execute(TYPE_SQL, (column.type,)).fetchone()
    domain = seed_checks.read(conn.execute(DOMAIN_CHECKS_SQL, (column.type,)).fetchall(),
                              domain=True).get("value")
    allowed = (allowed or seed_checks.Allowed()).merged(domain)
    # format_type() prints the type as SQL (quoted where needed): safe to compose as SQL text
    typ = sql.SQL(column.type)
    label = sql.Literal(f"{column.name}-")
    if allowed.values is not None:
        choices = [v for v in allowed.values if allowed.admits(v)]
        if not choices:
            raise SeedError(f"{table}.{column.name}: no value satisfies its CHECK constraints "
                            f"(one of {', '.join(map(str, allowed.values))}, within their range"
                            " and length).", hint=SEED_HINT)
        value = sql.SQL("(ARRAY[{}])[1 + s.g %% {}]").format(
            sql.SQL(", ").join(sql.Literal(str(v)) for v in choices), sql.Literal(len(choices)))
    elif allowed.bounded() and category == "N":
        value = _in_range(table, column, allowed, integer=typename in INTEGER_NAMES)
    elif category == "S" and (allowed.min_len or allowed.max_len is not None):
        value = sql.SQL("{} || s.g").format(label)
        if allowed.min_len:
            value = sql.SQL("{v} || repeat('x', {n} - length({v}))").format(
                v=value, n=sql.Literal(allowed.min_len))
        if allowed.max_len is not None:
            value = sql.SQL("right({}, {})").format(value, sql.Literal(allowed.max_len))
    elif is_enum:
        value = sql.SQL("(enum_range(NULL::{t}))[1 + s.g %% cardinality(enum_range(NULL::{t}))]"
                        ).format(t=typ)
    elif typename == "int2":
        value = sql.SQL("s.g %% 32000")
    elif category == "N":
        value = G
    elif category == "S":
        value = sql.SQL("{} || s.g").format(label)
    elif category == "B":
        value = sql.SQL("s.g %% 2 = 0")
    elif category == "D":
        value = sql.SQL("{} + s.g * interval '1 minute'").format(EPOCH)
    elif category == "T":
        value = sql.SQL("s.g * interval '1 second'")
    elif typename == "uuid":
        value = sql.SQL("md5({} || s.g)::uuid").format(sql.Literal(f"{table}.{column.name}"))
    elif typename in ("json", "jsonb"):
        value = sql.SQL("jsonb_build_object({}, s.g)").format(sql.Literal(column.name))
    elif typename == "bytea":
        value = sql.SQL("convert_to({} || s.g, 'UTF8')").format(label)
    elif category == "I":
        value = sql.SQL("'10.0.0.0'::inet + s.g")
    elif not column.not_null:
        value = sql.SQL("NULL")
    else:
        raise SeedError(f"column {table}.{column.name} of type {column.type} is required and "
                        "rollbook does not know how to make its values.", hint=SEED_HINT)
    return sql.SQL("({})::{}").format(value, typ)


def _in_range(table: str, column: catalog.Column, allowed: seed_checks.Allowed,
              integer: bool) -> sql.Composable:
    """Row s.g's value within the range its CHECK constraints allow: whole steps from the
    lower bound (down from the upper one), cycling within both; their midpoint when the range
    is narrower than a step."""
    lo, hi = allowed.lo, allowed.hi
    first = None if lo is None else (math.floor(lo) + 1 if allowed.lo_open or lo % 1 else lo)
    last = None if hi is None else (math.ceil(hi) - 1 if allowed.hi_open or hi % 1 else hi)
    if first is not None and last is not None and first > last:
        if integer or lo >= hi:
            raise SeedError(f"{table}.{column.name}: no value satisfies its CHECK constraints "
                            f"(between {lo} and {hi}).", hint=SEED_HINT)
        return sql.Literal((lo + hi) / 2)
    if first is not None and last is not None:
        return sql.SQL("{} + (s.g - 1) %% {}").format(sql.Literal(first),
                                                sql.Literal(last - first + 1))
    if first is not None:
        return sql.SQL("{} + s.g - 1").format(sql.Literal(first))
    return sql.SQL("{} - s.g + 1").format(sql.Literal(last))
