"""Each table measured once: one SQL statement returns its row count, the count and content
digest of its baseline rows, its key range and its oldest/newest timestamp.

A row's hash covers its columns in name order, so a table rebuilt with another column order
matches; a digest is the sum of row hashes modulo 2^64, so the physical order of rows does not
matter, a duplicated row does not cancel itself out (as with XOR), and the digests of disjoint
key ranges add up to the digest of their union (content's bisection relies on it). Python
receives a few numbers per table, never rows.

Algorithms (the baseline records which one it used; a run digests with the baseline's):
  hash_record_extended  PostgreSQL 14+, the default: the row's values hashed as they are
                        stored. Values of types whose equality is looser than their printed
                        form (numeric 1.0 = 1.00, floats, json, ...) and of collatable types
                        enter as text in the "C" collation, so a digest changes whenever a
                        printed value does. About 3x faster than hashing the row's text.
  hashtextextended      PostgreSQL 12 and 13: a 64-bit hash of the row's text.
  md5                   the first 64 bits of md5 of the row's text (baselines written before
                        the algorithm was recorded).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollbook.measure.catalog import relation
from rollbook.record.evidence import as_text

HASH_RECORD, HASH_TEXT, MD5 = "hash_record_extended", "hashtextextended", "md5"
ALGORITHMS = (HASH_RECORD, HASH_TEXT, MD5)
LEGACY_ALGORITHM = MD5  # what a baseline without an algorithm field was digested with
INTEGER_TYPES = ("smallint", "integer", "bigint")
# Hashed as stored: equal values of these types always print alike (timestamptz under UTC).
VALUE_HASHED_TYPES = frozenset({*INTEGER_TYPES, "boolean", "uuid", "date",
                                "timestamp with time zone", "timestamp without time zone"})
MODULUS = 2 ** 64

# Row text must not depend on the session: pin every setting that changes how values print.
PIN_OUTPUT_SETTINGS = """\
SELECT set_config('search_path', '', true), set_config('TimeZone', 'UTC', true),
       set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
       set_config('extra_float_digits', '1', true), set_config('bytea_output', 'hex', true)"""

TABLE_COLUMNS_SQL = """\
SELECT a.attname::text, format_type(a.atttypid, NULL) FROM pg_attribute a
WHERE a.attrelid = to_regclass(%(relation)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attname"""
EXISTS_SQL = "SELECT to_regclass(%(relation)s) IS NOT NULL"


def algorithm_for(conn: psycopg.Connection) -> str:
    """The fastest algorithm the server offers (hash_record_extended came with PostgreSQL 14)."""
    return HASH_RECORD if conn.info.server_version >= 140000 else HASH_TEXT


def row_hash(columns: dict[str, str], algorithm: str, alias: str = "t") -> sql.Composed:
    """The 64-bit hash of one row of `alias`, its columns (name -> type) in name order."""
    names = sorted(columns)
    if algorithm == HASH_RECORD:
        fields = sql.SQL(", ").join(
            sql.Identifier(alias, n) if columns[n] in VALUE_HASHED_TYPES
            else sql.SQL('{}::text COLLATE "C"').format(sql.Identifier(alias, n)) for n in names)
        return sql.SQL("hash_record_extended(ROW({}), 0)").format(fields)
    row = sql.SQL("ROW({})").format(sql.SQL(", ").join(sql.Identifier(alias, n) for n in names))
    if algorithm == HASH_TEXT:
        return sql.SQL("hashtextextended({}::text, 0)").format(row)
    if algorithm == MD5:
        return sql.SQL("('x' || left(md5({}::text), 16))::bit(64)::bigint").format(row)
    raise ValueError(f"unknown digest algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


def key_text(columns: tuple[str, ...], alias: str = "t") -> sql.Composed:
    """A row's whole key as one text value (under PIN_OUTPUT_SETTINGS): how the rows written
    since a baseline are named, and left out of its rows, in a table without an integer key."""
    return sql.SQL("ROW({})::text").format(
        sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns))


def without(where: sql.Composable | None, leave_out: tuple[tuple[str, ...], tuple[str, ...]] | None,
            columns: dict[str, str]) -> sql.Composable | None:
    """`where`, and not one of the rows `leave_out` names by whole key (when its columns are
    all there)."""
    if (leave_out is None or not leave_out[0] or not leave_out[1]
            or not all(c in columns for c in leave_out[0])):
        return where
    left = sql.SQL("{} <> ALL({})").format(key_text(leave_out[0]), sql.Literal(list(leave_out[1])))
    return left if where is None else sql.SQL("{} AND {}").format(where, left)


def digest_sum(columns: dict[str, str], algorithm: str, where: sql.Composable | None = None,
               alias: str = "t") -> sql.Composed:
    """The aggregate that digests the rows of `alias` (those matching `where`): row hashes
    summed. Every digest is built by it, so that all of them add up."""
    selected = sql.SQL(" FILTER (WHERE {})").format(where) if where is not None else sql.SQL("")
    return sql.SQL("coalesce(sum({}){}, 0)").format(row_hash(columns, algorithm, alias),
                                                    selected)


def hex_digest(total: Any) -> str:
    return format(int(total) % MODULUS, "016x")


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, str] | None:
    """name -> type of each column of `table`, or None when there is no such table."""
    params = {"relation": as_text(relation(table), conn)}
    if not conn.execute(EXISTS_SQL, params).fetchone()[0]:
        return None
    return dict(conn.execute(TABLE_COLUMNS_SQL, params).fetchall())


@dataclass(frozen=True)
class TableMeasurement:
    """What one statement saw of a table.

    rows           count(*) of the whole table
    selected       (count, digest) of the rows the caller asked to digest: those with
                   key <= upto, or all rows; None when no digest was asked for or the rows
                   cannot be selected (the key column is gone or no longer an integer); the
                   digest is None when the caller digests them elsewhere (hash_rows=False)
    key_range      min and max of the key column, when a key was given and is an integer
    time_range     oldest and newest value of the time column, when it exists
    """

    table: str
    algorithm: str
    exists: bool = True
    columns: dict[str, str] = field(default_factory=dict)
    rows: int | None = None
    selected: tuple[int, str | None] | None = None
    key: str | None = None
    upto: int | None = None
    key_range: tuple[Any, Any] | None = None
    time_column: str | None = None
    time_range: tuple[Any, Any] | None = None
    sql: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def key_type(self) -> str | None:
        """The key column's type now (None when the column is gone)."""
        return self.columns.get(self.key) if self.key else None

    @property
    def scope(self) -> str:
        return f"{self.key} <= {self.upto}" if self.upto is not None else "all rows"


def measure_table(conn: psycopg.Connection, table: str, *, algorithm: str,
                  key: str | None = None, upto: int | None = None, digest: bool = True,
                  time_column: str | None = None, hash_rows: bool = True,
                  leave_out: tuple[tuple[str, ...], tuple[str, ...]] | None = None
                  ) -> TableMeasurement:
    """Count `table`, digest its rows with key <= upto (all rows without upto), and read the
    key's range and the time column's oldest/newest value, all in one statement. With
    hash_rows False the selected rows are counted, not hashed (their digest is taken in
    key-range chunks by measure_range). `leave_out` (the whole key's columns, and key_text of
    rows) leaves rows out of the selection by their whole key: the rows a drill wrote since the
    baseline that no key <= upto tells apart (a key of another type, or composite)."""
    with conn.transaction():
        conn.execute(PIN_OUTPUT_SETTINGS)
        columns = table_columns(conn, table)
        if columns is None:
            return TableMeasurement(table, algorithm, exists=False, key=key, upto=upto,
                                    sql=[as_text(EXISTS_SQL, conn)])
        integer_key = key is not None and columns.get(key) in INTEGER_TYPES
        selectable = upto is None or integer_key
        k = sql.Identifier("t", key) if key else None
        where = sql.SQL("{} <= {}").format(k, sql.Literal(upto)) if upto is not None else None
        where = without(where, leave_out, columns)
        parts = [sql.SQL("count(*)")]
        if digest and selectable:
            parts += [sql.SQL("count(*) FILTER (WHERE {})").format(where) if where is not None
                      else sql.SQL("count(*)"),
                      digest_sum(columns, algorithm, where) if hash_rows else sql.SQL("NULL")]
        if integer_key:
            parts.append(sql.SQL("min({k}), max({k})").format(k=k))
        timed = time_column is not None and time_column in columns
        if timed:
            parts.append(sql.SQL("min({c}), max({c})").format(c=sql.Identifier("t", time_column)))
        statement = as_text(sql.SQL("SELECT {} FROM {} AS t").format(
            sql.SQL(", ").join(parts), relation(table)), conn)
        row = list(conn.execute(statement).fetchone())
    rows = row.pop(0)
    if digest and selectable:
        count, total = row.pop(0), row.pop(0)
        selected = (count, hex_digest(total) if hash_rows else None)
    else:
        selected = None
    key_range = (row.pop(0), row.pop(0)) if integer_key else None
    time_range = (row.pop(0), row.pop(0)) if timed else None
    return TableMeasurement(table, algorithm, True, columns, rows, selected, key, upto,
                            key_range, time_column, time_range,
                            [PIN_OUTPUT_SETTINGS, statement])


def measure_range(conn: psycopg.Connection, table: str, key: str, lo: int | None, hi: int,
                  algorithm: str, leave_out: tuple[tuple[str, ...], tuple[str, ...]] | None = None
                  ) -> tuple[int, int, str]:
    """(count, digest as an integer, statement) of the rows with lo <= key <= hi (no lower
    bound for lo None) but those `leave_out` names: one slice of content's bisection."""
    k = sql.Identifier("t", key)
    where = (sql.SQL("{} <= {}").format(k, sql.Literal(hi)) if lo is None else
             sql.SQL("{} BETWEEN {} AND {}").format(k, sql.Literal(lo), sql.Literal(hi)))
    with conn.transaction():
        conn.execute(PIN_OUTPUT_SETTINGS)
        columns = table_columns(conn, table) or {}
        statement = as_text(sql.SQL("SELECT count(*), {} FROM {} AS t WHERE {}").format(
            digest_sum(columns, algorithm), relation(table), without(where, leave_out, columns)),
            conn)
        count, total = conn.execute(statement).fetchone()
    return count, int(total) % MODULUS, statement
