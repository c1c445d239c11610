"""Row digests: each baseline row's whole key and 64-bit hash, kept in a compressed sidecar file
next to the baseline JSON, so a content mismatch names the rows themselves (changed, missing,
added) from the baseline alone, after the database they came from is gone.

Each table's rows are read once in key order; PostgreSQL hashes each row and joins them into
blocks of BLOCK_ROWS lines "key TAB hash" (a key of one integer column: one statement a block,
over the key's index, nothing sorted; any other key: one statement whose server-side cursor
hands the blocks over one at a time); each is compressed on its own, and the baseline records
where each block starts (its first key), its offset and length in the file, and the file's
sha256. A row's hash is the one the table digest sums (fingerprint.row_hash), so the sidecar's
hashes add up to it. Reading and comparing them: row_digests_read.py.

Keys: a whole key of one integer column is kept as its number and ordered as one; any other
whole key as its row text (fingerprint.key_text), ordered in the "C" collation, which orders
as Python orders the strings' code points.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint
from rollbook.measure.catalog import relation
from rollbook.record.evidence import as_text

BLOCK_ROWS = 65_536  # rows per block
LEVEL = 1  # zlib level: 1 costs a quarter of 6 for 5% more bytes (13 a row of 1M journals)
SUFFIX = ".rows"

# rows per database below which `rollbook snapshot` keeps row digests unless told
DEFAULT_BELOW_ROWS = 10_000_000


@dataclass
class Layout:
    """How one table's rows are kept: its whole key, whether it is one integer column, and
    its blocks as [first key, offset, length, rows]."""

    key: tuple[str, ...]
    integer: bool
    rows: int = 0
    blocks: list[list[Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"key": list(self.key), "integer": self.integer, "rows": self.rows,
                "blocks": self.blocks}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "Layout":
        return cls(tuple(body["key"]), bool(body["integer"]), int(body["rows"]),
                   [list(b) for b in body["blocks"]])


def key_expression(columns: dict[str, str], key: tuple[str, ...]
                    ) -> tuple[sql.Composable, bool]:
    if len(key) == 1 and columns.get(key[0]) in fingerprint.INTEGER_TYPES:
        return sql.Identifier("t", key[0]), True
    return sql.SQL('{} COLLATE "C"').format(fingerprint.key_text(key)), False


# a key's text with the backslash, tab and newline escaped, as one line of a block holds it
ESCAPED = sql.SQL(r"""replace(replace(replace({}, '\', '\\'), E'\t', '\t'), E'\n', '\n')""")


@dataclass(frozen=True)
class Tally:
    """What survey.py reads along with a table's row digests: each block's oldest and newest
    `time` and, per `leaf` (a key range), its rows' count and hash sum."""

    leaf: sql.Composable
    time: sql.Composable


def _blocks(rows: sql.Composable, text: sql.Composable, tally: Tally | None,
            grouped: bool) -> sql.Composed:
    """The statement that joins `rows` (k, h[, leaf, tm][, block]: key, hash, in key order) into
    blocks: (first key, rows, lines "key TAB hash", last key[, oldest, newest, leaf pieces
    [[leaf, count, hash sum]]])."""
    group = sql.SQL(" GROUP BY block ORDER BY block") if grouped else sql.SQL("")
    blocks = sql.SQL(
        "SELECT min(k) AS first, count(*) AS rows,"
        " string_agg({text} || E'\t' || h::text, E'\n' ORDER BY k) AS lines, max(k) AS last"
        "{tallied} FROM ({rows}) AS r{group}").format(
        text=text, rows=rows, group=group, tallied=sql.SQL(
            ", min(tm) AS oldest, max(tm) AS newest, array_agg(leaf) AS leafs,"
            " array_agg(h) AS hashes{}").format(sql.SQL(", block") if grouped else sql.SQL(""))
        if tally is not None else sql.SQL(""))
    if tally is None:
        return blocks
    return sql.SQL(
        "SELECT first, rows, lines, last, oldest, newest, (SELECT json_agg(json_build_array("
        "l, n, s)) FROM (SELECT l, count(*) AS n, sum(x) AS s FROM unnest(b.leafs, b.hashes)"
        " AS u(l, x) GROUP BY l) AS p) FROM ({blocks}) AS b{order}").format(
        blocks=blocks, order=sql.SQL(" ORDER BY block") if grouped else sql.SQL(""))


def _row_columns(k: sql.Composable, columns: dict[str, str], algorithm: str,
                 tally: Tally | None) -> sql.Composed:
    tallied = (sql.SQL(", {} AS leaf, {} AS tm").format(tally.leaf, tally.time)
               if tally is not None else sql.SQL(""))
    return sql.SQL("{} AS k, {} AS h{}").format(k, fingerprint.row_hash(columns, algorithm),
                                               tallied)


def rows_statement(conn: psycopg.Connection, table: str, columns: dict[str, str],
                   key: tuple[str, ...], algorithm: str,
                   where: sql.Composable | None = None,
                   tally: Tally | None = None) -> tuple[str, bool]:
    """(the statement that reads `table`'s rows once, in key order, as blocks of BLOCK_ROWS
    lines "key TAB hash", each with its first and last key and row count (and `tally`'s);
    whether the key is an integer). PostgreSQL hashes and joins the lines: Python receives a
    few rows a table."""
    expression, integer = key_expression(columns, key)
    text = sql.SQL("k::text") if integer else ESCAPED.format(sql.SQL("k"))
    selected = sql.SQL(" WHERE {}").format(where) if where is not None else sql.SQL("")
    rows = sql.SQL(
        "SELECT {columns}, (row_number() OVER (ORDER BY {k}) - 1) / {n} AS block"
        " FROM {t} AS t{w}").format(columns=_row_columns(expression, columns, algorithm, tally),
                                    k=expression, n=sql.Literal(BLOCK_ROWS), t=relation(table),
                                    w=selected)
    return as_text(_blocks(rows, text, tally, grouped=True), conn), integer


def read_blocks(conn: psycopg.Connection, statement: str) -> Iterator[tuple[Any, ...]]:
    """Each block of `statement` (rows_statement's), one at a time (a server-side cursor),
    under pinned output settings."""
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        with conn.cursor(name="rollbook_row_digests") as cursor:
            cursor.itersize = 1
            cursor.execute(statement)
            yield from cursor


def _ranged_blocks(conn: psycopg.Connection, table: str, columns: dict[str, str], column: str,
                   algorithm: str, statements: list[str], tally: Tally | None
                   ) -> Iterator[tuple[Any, ...]]:
    """Each block of a table whose whole key is one integer `column`: one statement a block,
    the next BLOCK_ROWS rows after the last block's last key in the key's index order, so that
    nothing is sorted (the aggregate's ORDER BY is its input's; PostgreSQL 16+ sorts nothing
    for it)."""
    k = sql.Identifier("t", column)
    after = sql.SQL("{} IS NOT NULL").format(k)
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        while True:
            rows = sql.SQL("SELECT {columns} FROM {t} AS t WHERE {after} ORDER BY {k}"
                           " LIMIT {n}").format(
                columns=_row_columns(k, columns, algorithm, tally), t=relation(table),
                after=after, k=k, n=sql.Literal(BLOCK_ROWS))
            statement = as_text(_blocks(rows, sql.SQL("k::text"), tally, grouped=False), conn)
            statements.append(statement)
            block = conn.execute(statement).fetchone()
            if block[1]:
                yield block
            if block[1] < BLOCK_ROWS:
                return
            after = sql.SQL("{} > {}").format(k, sql.Literal(block[3]))


class Writer:
    """The sidecar being written: a temporary file until Baseline.save places it."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()
        # a snapshot never saved (a drill's in-memory baseline) closes it when collected
        self.close = weakref.finalize(self, self.file.close)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.tables: dict[str, Layout] = {}
        self.sql: list[str] = []

    def add(self, conn: psycopg.Connection, table: str, key: tuple[str, ...],
            algorithm: str, tally: Tally | None = None) -> list[tuple[Any, ...]]:
        """`table`'s key and row hashes, each block compressed on its own: read by one
        statement, or, for a key of one integer column, block by block over its index; what
        `tally` asks of each block, one tuple a block."""
        columns = fingerprint.table_columns(conn, table) or {}
        _, integer = key_expression(columns, key)
        if integer:
            blocks = _ranged_blocks(conn, table, columns, key[0], algorithm, self.sql, tally)
        else:
            statement, _ = rows_statement(conn, table, columns, key, algorithm, tally=tally)
            self.sql.append(statement)
            blocks = read_blocks(conn, statement)
        layout = self.tables[table] = Layout(key, integer)
        tallied = []
        for first, rows, lines, _last, *extra in blocks:
            tallied.append(tuple(extra))
            packed = zlib.compress(lines.encode(), LEVEL)
            layout.blocks.append([first, self.size, len(packed), rows])
            layout.rows += rows
            self.file.write(packed)
            self.sha256.update(packed)
            self.size += len(packed)
        return tallied

    def facts(self, name: str) -> dict[str, Any]:
        return {"file": name, "sha256": self.sha256.hexdigest(), "bytes": self.size,
                "tables": {t: layout.to_dict() for t, layout in sorted(self.tables.items())}}

    def place(self, path: Path) -> None:
        """Write the sidecar to `path`, whole or not at all."""
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        try:
            self.file.seek(0)
            with partial.open("wb") as out:
                shutil.copyfileobj(self.file, out)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)


def sidecar_name(baseline_name: str) -> str:
    return Path(baseline_name).stem + SUFFIX


def _unescape(text: str) -> str:
    """A key's text as ESCAPED wrote it, as its value."""
    if "\\" not in text:
        return text
    escapes = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_line(line: str, integer: bool) -> tuple[Any, int]:
    key, _, digest = line.partition("\t")
    return (int(key) if integer else _unescape(key)), int(digest)
