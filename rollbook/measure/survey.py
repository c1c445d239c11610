"""`rollbook snapshot`'s one read of a table: its count and digest, its integer key's range,
its time column's oldest and newest value and the key-range digests ("leaves", content.py's
bisection) from one GROUP BY over the table, or, when row digests are kept, from the blocks the
row digests are written from (row_digests.py: along the key's index for a key of integer
columns), each block's rows counted and hashed per leaf. The key's range is read first from the
ends of its index (two index probes, no table scan), since the leaves' width depends on it.
The table's digest is the sum of its leaves' (plus the rows whose key is NULL, which no leaf
holds), so it is exactly fingerprint.measure_table's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint, row_digests
from rollbook.measure.catalog import relation
from rollbook.record.evidence import as_text


@dataclass
class Survey:
    rows: int
    digest: str
    key_range: tuple[Any, Any] | None = None
    time_range: tuple[Any, Any] | None = None
    leaves: dict[str, Any] | None = None
    sql: list[str] = field(default_factory=list)


def survey_table(conn: psycopg.Connection, table: str, algorithm: str, key: str | None,
                 time_column: str | None, leaves: int,
                 rows: tuple[row_digests.Writer, tuple[str, ...]] | None = None) -> Survey:
    """`table` read once (see the module's docstring); `key` is the first column of its whole
    key, taken as a range only when it is an integer. With `rows` (a sidecar being written and
    the table's whole key) its row digests are written by that same read."""
    rel = relation(table)
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        columns = fingerprint.table_columns(conn, table) or {}
        integer = key is not None and columns.get(key) in fingerprint.INTEGER_TYPES
        k = sql.Identifier("t", key) if integer else None
        statements: list[str] = []
        lo = hi = None
        if integer:
            ends = as_text(sql.SQL("SELECT min({k}), max({k}) FROM {t} AS t").format(k=k, t=rel),
                           conn)
            statements.append(ends)
            lo, hi = conn.execute(ends).fetchone()
        width = max(1, math.ceil((hi - lo + 1) / leaves)) if lo is not None else None
        leaf = (sql.SQL("({} - {}) / {}").format(k, sql.Literal(lo), sql.Literal(width))
                if width is not None else sql.SQL("NULL::bigint"))
        timed = time_column is not None and time_column in columns
        tm = sql.Identifier("t", time_column) if timed else sql.SQL("NULL::int")
        if rows is not None:
            tally = row_digests.Tally(leaf, tm, key if width is not None else None, lo, width)
            groups = _with_row_digests(conn, table, algorithm, rows, tally, statements)
        else:
            statement = as_text(sql.SQL(
                "SELECT {leaf} AS leaf, count(*), {digest}, min({tm}), max({tm}) FROM {t} AS t"
                " GROUP BY 1 ORDER BY 1").format(leaf=leaf, digest=fingerprint.digest_sum(
                    columns, algorithm), tm=tm, t=rel), conn)
            statements.append(statement)
            groups = conn.execute(statement).fetchall()
    total = sum(int(g[2]) for g in groups)
    oldest = [g[3] for g in groups if g[3] is not None]
    newest = [g[4] for g in groups if g[4] is not None]
    found = Survey(sum(g[1] for g in groups), fingerprint.hex_digest(total),
                   key_range=(lo, hi) if integer else None,
                   time_range=(min(oldest, default=None), max(newest, default=None))
                   if timed else None, sql=[fingerprint.PIN_OUTPUT_SETTINGS, *statements])
    if width is not None:
        found.leaves = {"key": key, "lo": lo, "hi": hi, "width": width,
                        "leaves": {str(g[0]): [g[1], fingerprint.hex_digest(g[2])]
                                   for g in groups if g[0] is not None}}
    return found


def _with_row_digests(conn: psycopg.Connection, table: str, algorithm: str,
                      rows: tuple[row_digests.Writer, tuple[str, ...]],
                      tally: row_digests.Tally, statements: list[str]) -> list[tuple[Any, ...]]:
    """The survey's groups (leaf, count, hash sum, oldest, newest) from the blocks the row
    digests are written from: the tallies of every block's leaves added up."""
    writer, whole_key = rows
    leaves: dict[Any, list[Any]] = {}
    for leaf, count, total, oldest, newest in writer.add(conn, table, whole_key, algorithm,
                                                         tally, statements):
        summed = leaves.setdefault(leaf, [0, 0, None, None])
        summed[0] += count
        summed[1] += total
        if oldest is not None:
            summed[2] = oldest if summed[2] is None else min(summed[2], oldest)
            summed[3] = newest if summed[3] is None else max(summed[3], newest)
    return [(leaf, *summed) for leaf, summed in leaves.items()]
