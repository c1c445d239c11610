"""Referential and structural integrity: orphans, sequences behind their column, leftovers of
interrupted DDL (NOT VALID constraints, invalid indexes).

Each check is one SQL statement run inside PostgreSQL; Python sees counts and a few samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from rollbook.measure.catalog import CONSTRAINT_ENDS_SQL, display_name
from rollbook.record.evidence import CheckResult, as_text

SAMPLE_SIZE = 5
# Hash joins are turned off (the child's key merged with the parent's in order) only where a
# merge reads the child in heap order: a parent larger than a hash may take (work_mem x
# hash_mem_multiplier, which spills in batches: at 1M integer keys 2-5x slower than the merge)
# and a child whose key columns follow its heap order (pg_stats correlation >= 0.9). Otherwise
# the planner hashes as it likes: merging along a child index in random heap order (uuid keys,
# or a table just rewritten and not analyzed) was 2-5x slower than the hash at 1M, and outran
# the 30 s statement timeout at 5M.
JOIN_CHOICE = """\
SELECT set_config('enable_hashjoin', CASE
  WHEN pg_relation_size((quote_ident({ref_schema}) || '.' || quote_ident({ref_table}))::regclass)
       > pg_size_bytes(current_setting('work_mem'))
         * current_setting('hash_mem_multiplier')::float8
   AND (SELECT count(*) = cardinality({columns}::name[]) AND min(abs(s.correlation)) >= 0.9
        FROM pg_stats s WHERE s.schemaname = {schema} AND s.tablename = {table}
         AND s.attname = ANY({columns}::name[])) THEN 'off'
  ELSE current_setting('enable_hashjoin') END, true)"""


def join_choice(fk: ForeignKey) -> sql.Composed:
    """For its transaction: no hash join where merging `fk`'s keys reads the child in heap
    order and the parent outgrows a hash's memory."""
    return sql.SQL(JOIN_CHOICE).format(
        ref_schema=sql.Literal(fk.ref_schema), ref_table=sql.Literal(fk.ref_table),
        schema=sql.Literal(fk.schema), table=sql.Literal(fk.table),
        columns=sql.Literal(list(fk.columns)))


FOREIGN_KEYS_SQL = f"""\
SELECT con.conname, n.nspname, t.relname,
{CONSTRAINT_ENDS_SQL},
       con.convalidated
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class r ON r.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE con.contype = 'f' AND n.nspname = ANY(%(schemas)s)
ORDER BY n.nspname, t.relname, con.conname"""

OWNED_SEQUENCES_SQL = """\
SELECT sn.nspname, s.relname, seq.seqincrement, tn.nspname, t.relname, a.attname::text
FROM pg_sequence seq
JOIN pg_class s ON s.oid = seq.seqrelid
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                AND d.refobjsubid > 0
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE sn.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""

NOT_VALID_CONSTRAINTS_SQL = """\
SELECT n.nspname, t.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE NOT con.convalidated AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2, 3"""

INVALID_INDEXES_SQL = """\
SELECT n.nspname, i.relname, t.relname, pg_get_indexdef(ix.indexrelid), ix.indisready
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE NOT ix.indisvalid AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""

COUNT_INDEXES_SQL = """\
SELECT count(*) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = ANY(%(schemas)s)"""


@dataclass(frozen=True)
class ForeignKey:
    """A reference from table(columns) to ref_table(ref_columns).

    soft=True marks a reference the database does not enforce (no constraint), declared by
    the caller, e.g. ForeignKey.soft_key("audit_log", ["user_id"], "users", ["id"]).
    """

    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    validated: bool
    soft: bool = False
    schema: str = "public"
    ref_schema: str = "public"

    @classmethod
    def soft_key(cls, table: str, columns, ref_table: str, ref_columns, *,
                 schema: str = "public", ref_schema: str = "public") -> ForeignKey:
        columns, ref_columns = tuple(columns), tuple(ref_columns)
        return cls(f"soft {table}({', '.join(columns)})", table, columns, ref_table,
                   ref_columns, False, True, schema, ref_schema)

    def describe(self) -> str:
        child = f"{display_name(self.schema, self.table)}.{_columns(self.columns)}"
        parent = f"{display_name(self.ref_schema, self.ref_table)}.{_columns(self.ref_columns)}"
        return f"{child} -> {parent}"


def _columns(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def foreign_keys(conn: psycopg.Connection,
                 schemas: tuple[str, ...] = ("public",)) -> list[ForeignKey]:
    """Every foreign-key constraint declared on tables in `schemas`, multi-column included."""
    rows = conn.execute(FOREIGN_KEYS_SQL, {"schemas": list(schemas)}).fetchall()
    return [ForeignKey(name, table, tuple(columns), ref_table, tuple(ref_columns), validated,
                       False, schema, ref_schema)
            for name, schema, table, columns, ref_schema, ref_table, ref_columns, validated
            in rows]


def orphans_statement(fk: ForeignKey) -> sql.Composed:
    """Child rows whose key is fully non-null and has no parent: count and a few samples."""
    child = [sql.Identifier("c", column) for column in fk.columns]
    matches = sql.SQL(" AND ").join(
        sql.SQL("p.{} = {}").format(sql.Identifier(ref), column)
        for ref, column in zip(fk.ref_columns, child, strict=True))
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in child)
    keys = sql.SQL(", ").join(child)
    return sql.SQL(
        "WITH orphan AS MATERIALIZED (\n"
        "  SELECT {keys} FROM {child} AS c\n"
        "  WHERE {not_null}\n"
        "    AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {matches}))\n"
        "SELECT (SELECT count(*) FROM orphan),\n"
        "       (SELECT json_agg(s) FROM (SELECT * FROM orphan ORDER BY {order} LIMIT {n}) s)"
    ).format(keys=keys, child=sql.Identifier(fk.schema, fk.table), not_null=not_null,
             parent=sql.Identifier(fk.ref_schema, fk.ref_table), matches=matches,
             order=sql.SQL(", ").join(sql.Identifier(c) for c in fk.columns),
             n=sql.Literal(SAMPLE_SIZE))


def find_orphans(conn: psycopg.Connection, fk: ForeignKey) -> CheckResult:
    """Count child rows of `fk` whose non-null key has no parent row (NOT EXISTS anti-join)."""
    name = f"orphans: {fk.describe()}"
    statement = as_text(orphans_statement(fk), conn)
    choice = as_text(join_choice(fk), conn)
    observed: dict[str, Any] = {"foreign_key": fk.name, "soft": fk.soft,
                                "validated": fk.validated}
    try:
        with conn.transaction():
            conn.execute(choice)
            count, samples = conn.execute(statement).fetchone()
    except (psycopg.ProgrammingError, psycopg.DataError) as exc:
        first = str(exc).strip().splitlines()[0]
        observed["error"] = str(exc)
        return CheckResult(name, False, f"cannot look for orphans of {fk.describe()}: {first}."
                           " Hint: the key columns may be missing or of different types",
                           [choice, statement], observed)
    except psycopg.InternalError as exc:  # class XX: data or index corrupted
        first = str(exc).strip().splitlines()[0]
        observed["error"] = str(exc)
        return CheckResult(name, False, f"cannot look for orphans of {fk.describe()}: the "
                           f"server reports corruption ({exc.sqlstate}: {first}). Hint: run "
                           "amcheck and restore the damaged relation", [choice, statement],
                           observed)
    observed.update(orphans=count, samples=samples or [])
    if count == 0:
        return CheckResult(name, True, f"no orphans: every non-null"
                           f" {fk.describe().replace(' -> ', ' has a matching ')}",
                           [choice, statement], observed)
    example = ", ".join(f"{k}={v}" for k, v in (samples or [{}])[0].items())
    rows = "row" if count == 1 else "rows"
    return CheckResult(name, False, f"{count} orphan {rows} in"
                       f" {display_name(fk.schema, fk.table)}: {fk.describe()} has no parent"
                       f" (e.g. {example}). Hint: see observed.samples; re-run the sql to list"
                       " them all", [choice, statement], observed)


class OwnedSequence(NamedTuple):
    """A sequence owned by a column (serial or identity)."""

    seq_schema: str
    seq_name: str
    increment: int
    schema: str
    table: str
    column: str

    @property
    def label(self) -> str:
        return display_name(self.seq_schema, self.seq_name)


def owned_sequences(conn: psycopg.Connection,
                    schemas: tuple[str, ...] = ("public",)) -> list[OwnedSequence]:
    """Every sequence in `schemas` owned by a column, with that column."""
    rows = conn.execute(OWNED_SEQUENCES_SQL, {"schemas": list(schemas)}).fetchall()
    return [OwnedSequence(*row) for row in rows]


def sequence_ahead(conn: psycopg.Connection, owned: OwnedSequence) -> CheckResult:
    """Is `owned`'s next value past its column's max (min, for descending sequences)?"""
    return _sequence_check(conn, *owned)


def _sequence_check(conn: psycopg.Connection, seq_schema: str, seq_name: str, increment: int,
                    schema: str, table: str, column: str) -> CheckResult:
    sequence = sql.Identifier(seq_schema, seq_name)
    aggregate = "max" if increment > 0 else "min"
    extreme = sql.SQL(aggregate)
    statement = as_text(sql.SQL(
        "SELECT s.last_value, s.is_called, (SELECT {extreme}({column}) FROM {table})"
        " FROM {sequence} AS s").format(extreme=extreme, column=sql.Identifier(column),
                                        table=sql.Identifier(schema, table),
                                        sequence=sequence), conn)
    seq_label = display_name(seq_schema, seq_name)
    column_label = f"{aggregate}({display_name(schema, table)}.{column})"
    name = f"sequence {seq_label} ahead of {column_label}"
    try:
        with conn.transaction():
            last_value, is_called, highest = conn.execute(statement).fetchone()
    except (psycopg.ProgrammingError, psycopg.DataError) as exc:
        first = str(exc).strip().splitlines()[0]
        return CheckResult(name, False, f"cannot compare {seq_label} with {column_label}:"
                           f" {first}", [statement], {"error": str(exc)})
    next_value = last_value + increment if is_called else last_value
    observed = {"last_value": last_value, "is_called": is_called, "next_value": next_value,
                "increment": increment, "column_extreme": highest}
    if highest is None or (next_value > highest if increment > 0 else next_value < highest):
        return CheckResult(name, True, f"{seq_label} next value {next_value} is past"
                           f" {column_label} = {highest}", [statement], observed)
    fix = as_text(sql.SQL("SELECT setval({seq}, (SELECT {extreme}({column}) FROM {table}))")
                  .format(seq=sql.Literal(as_text(sequence, conn)), extreme=extreme,
                          column=sql.Identifier(column), table=sql.Identifier(schema, table)),
                  conn)
    return CheckResult(name, False, f"{seq_label} is behind: next value {next_value} but"
                       f" {column_label} = {highest}; the next insert will collide."
                       f" Hint: {fix}", [statement], observed)


def not_valid_constraints(conn: psycopg.Connection,
                          schemas: tuple[str, ...] = ("public",)) -> list[CheckResult]:
    """One failing result per NOT VALID constraint, or one passing result if there are none."""
    rows = conn.execute(NOT_VALID_CONSTRAINTS_SQL, {"schemas": list(schemas)}).fetchall()
    if not rows:
        return [CheckResult("constraints validated", True, "every constraint is validated",
                            [NOT_VALID_CONSTRAINTS_SQL], {"not_valid": 0})]
    results = []
    for schema, table, constraint, definition in rows:
        fix = as_text(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
            sql.Identifier(schema, table), sql.Identifier(constraint)), conn)
        label = f"{display_name(schema, table)}.{constraint}"
        results.append(CheckResult(
            f"constraint {label} validated", False,
            f"constraint {label} is NOT VALID: existing rows were never checked against"
            f" {definition}. Hint: {fix}", [NOT_VALID_CONSTRAINTS_SQL],
            {"table": display_name(schema, table), "constraint": constraint,
             "definition": definition}))
    return results


def invalid_indexes(conn: psycopg.Connection,
                    schemas: tuple[str, ...] = ("public",)) -> list[CheckResult]:
    """One failing result per invalid index (e.g. a failed CREATE INDEX CONCURRENTLY), or one
    passing result if every index is valid."""
    rows = conn.execute(INVALID_INDEXES_SQL, {"schemas": list(schemas)}).fetchall()
    if not rows:
        total = conn.execute(COUNT_INDEXES_SQL, {"schemas": list(schemas)}).fetchone()[0]
        return [CheckResult("indexes valid", True, f"all {total} indexes are valid",
                            [INVALID_INDEXES_SQL, COUNT_INDEXES_SQL], {"invalid": 0,
                                                                       "indexes": total})]
    results = []
    for schema, index, table, definition, ready in rows:
        fix = as_text(sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(
            sql.Identifier(schema, index)), conn)
        label = display_name(schema, index)
        results.append(CheckResult(
            f"index {label} valid", False,
            f"index {label} on {display_name(schema, table)} is invalid: queries do not use it"
            f"{' and writes still maintain it' if ready else ''}. Hint: {fix}, or drop it and"
            " create it again", [INVALID_INDEXES_SQL],
            {"index": label, "table": display_name(schema, table), "definition": definition,
             "ready": ready}))
    return results
