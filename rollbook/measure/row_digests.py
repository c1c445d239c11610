"""Row digests: each baseline row's whole key and 64-bit hash, kept in a compressed sidecar file
next to the baseline JSON, so a content mismatch names the rows themselves (changed, missing,
added) from the baseline alone, after the database they came from is gone.

One statement per table reads its rows once in key order; PostgreSQL hashes each row and joins
them into blocks of BLOCK_ROWS lines "key TAB hash", which a server-side cursor hands over one
at a time; each is compressed on its own, and the baseline records where each block
starts (its first key), its offset and length in the file, and the file's sha256. A row's hash
is the one the table digest sums (fingerprint.row_hash), so the sidecar's hashes add up to it.
Comparing streams the live rows of a key range in the same order and merges them with the
blocks of the sidecar that cover it: the pytest process holds one block at a time, never the
table, and only the differing keys.

Keys: a whole key of one integer column is kept as its number and ordered as one; any other
whole key as its row text (fingerprint.key_text), ordered in the "C" collation, which orders
as Python orders the strings' code points.
"""
from __future__ import annotations

import bisect
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


def rows_statement(conn: psycopg.Connection, table: str, columns: dict[str, str],
                   key: tuple[str, ...], algorithm: str,
                   where: sql.Composable | None = None) -> tuple[str, bool]:
    """(the statement that reads `table`'s rows once, in key order, as blocks of BLOCK_ROWS
    lines "key TAB hash", each with its first key and row count; whether the key is an
    integer). PostgreSQL hashes and joins the lines: Python receives a few rows a table."""
    expression, integer = key_expression(columns, key)
    text = (sql.SQL("{}::text").format(expression) if integer
            else ESCAPED.format(expression))
    selected = sql.SQL(" WHERE {}").format(where) if where is not None else sql.SQL("")
    statement = sql.SQL(
        "SELECT min(k), count(*), string_agg(line, E'\\n' ORDER BY k) FROM ("
        "SELECT {k} AS k, {text} || E'\\t' || {h}::text AS line,"
        " (row_number() OVER (ORDER BY {k}) - 1) / {n} AS block FROM {t} AS t{w}) AS r"
        " GROUP BY block ORDER BY block").format(
        k=expression, text=text, h=fingerprint.row_hash(columns, algorithm),
        n=sql.Literal(BLOCK_ROWS), t=relation(table), w=selected)
    return as_text(statement, conn), integer


def _blocks(conn: psycopg.Connection, statement: str) -> Iterator[tuple[Any, int, str]]:
    """(first key, rows, lines) of each block, one at a time (a server-side cursor), under
    pinned output settings."""
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        with conn.cursor(name="rollbook_row_digests") as cursor:
            cursor.itersize = 1
            cursor.execute(statement)
            yield from cursor


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
            algorithm: str) -> None:
        """`table`'s key and row hashes (one statement), each block compressed on its own."""
        columns = fingerprint.table_columns(conn, table) or {}
        statement, integer = rows_statement(conn, table, columns, key, algorithm)
        layout = self.tables[table] = Layout(key, integer)
        for first, rows, lines in _blocks(conn, statement):
            packed = zlib.compress(lines.encode(), LEVEL)
            layout.blocks.append([first, self.size, len(packed), rows])
            layout.rows += rows
            self.file.write(packed)
            self.sha256.update(packed)
            self.size += len(packed)
        self.sql.append(statement)

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


def _parse(line: str, integer: bool) -> tuple[Any, int]:
    key, _, digest = line.partition("\t")
    return (int(key) if integer else _unescape(key)), int(digest)


def _in(key: Any, lo: Any, hi: Any) -> bool:
    return (lo is None or key >= lo) and (hi is None or key <= hi)


def kept_rows(path: Path, layout: Layout, lo: Any = None, hi: Any = None
              ) -> Iterator[tuple[Any, int]]:
    """(key, hash) of the sidecar's rows of one table with lo <= key <= hi, in key order,
    reading only the blocks that can hold them, one at a time."""
    firsts = [b[0] for b in layout.blocks]
    with path.open("rb") as f:
        for i, (_, offset, length, _rows) in enumerate(layout.blocks):
            if hi is not None and firsts[i] > hi:
                return
            if lo is not None and i + 1 < len(firsts) and firsts[i + 1] <= lo:
                continue
            f.seek(offset)
            for line in zlib.decompress(f.read(length)).decode().split("\n"):
                key, digest = _parse(line, layout.integer)
                if hi is not None and key > hi:
                    return
                if _in(key, lo, hi):
                    yield key, digest


@dataclass
class Differences:
    """The keys whose rows differ between the sidecar and the live table, with the statements
    that read the live rows."""

    changed: list[Any] = field(default_factory=list)
    missing: list[Any] = field(default_factory=list)
    added: list[Any] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    compared: int = 0  # baseline rows compared

    def __len__(self) -> int:
        return len(self.changed) + len(self.missing) + len(self.added)

    def to_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "missing": self.missing, "added": self.added,
                "baseline_rows_compared": self.compared}


def live_rows(conn: psycopg.Connection, table: str, columns: dict[str, str], layout: Layout,
              algorithm: str, where: sql.Composable | None = None,
              statements: list[str] | None = None) -> Iterator[tuple[Any, int]]:
    """(key, hash) of `table`'s live rows matching `where`, in the sidecar's key order, its
    statement appended to `statements`."""
    statement, _ = rows_statement(conn, table, columns, layout.key, algorithm, where)
    if statements is not None:
        statements.append(statement)
    for _, _, lines in _blocks(conn, statement):
        for line in lines.split("\n"):
            yield _parse(line, layout.integer)


def compare(conn: psycopg.Connection, path: Path, table: str, layout: Layout, algorithm: str,
            spans: list[tuple[Any, Any]], scope: sql.Composable | None = None,
            found: Differences | None = None) -> Differences:
    """Merge the sidecar's rows of each (lo, hi) span (None: unbounded) with the live rows of
    that span (also within `scope`, the baseline rows' selection), both in key order."""
    found = found if found is not None else Differences()
    columns = fingerprint.table_columns(conn, table) or {}
    expression, _ = key_expression(columns, layout.key)
    for lo, hi in spans:
        bounds = [scope] if scope is not None else []
        if lo is not None:
            bounds.append(sql.SQL("{} >= {}").format(expression, sql.Literal(lo)))
        if hi is not None:
            bounds.append(sql.SQL("{} <= {}").format(expression, sql.Literal(hi)))
        where = sql.SQL(" AND ").join(bounds) if bounds else None
        live = live_rows(conn, table, columns, layout, algorithm, where, found.sql)
        _merge(kept_rows(path, layout, lo, hi), live, found)
    return found


def kept_hashes(path: Path, layout: Layout, keys: list[Any]) -> dict[Any, int]:
    """The sidecar's hash of each of `keys` it holds, reading only the blocks they fall in."""
    wanted = sorted(set(keys))
    firsts = [b[0] for b in layout.blocks]
    found: dict[Any, int] = {}
    with path.open("rb") as f:
        for i, (_, offset, length, _rows) in enumerate(layout.blocks):
            lo = bisect.bisect_left(wanted, firsts[i])
            hi = (bisect.bisect_left(wanted, firsts[i + 1]) if i + 1 < len(firsts)
                  else len(wanted))
            if lo == hi:
                continue
            inside = set(wanted[lo:hi])
            f.seek(offset)
            for line in zlib.decompress(f.read(length)).decode().split("\n"):
                key, digest = _parse(line, layout.integer)
                if key in inside:
                    found[key] = digest
    return found


def _merge(kept: Iterator[tuple[Any, int]], live: Iterator[tuple[Any, int]],
           found: Differences) -> None:
    before, now = next(kept, None), next(live, None)
    while before is not None or now is not None:
        if now is None or (before is not None and before[0] < now[0]):
            found.missing.append(before[0])
            found.compared += 1
            before = next(kept, None)
        elif before is None or now[0] < before[0]:
            found.added.append(now[0])
            now = next(live, None)
        else:
            if before[1] != now[1]:
                found.changed.append(before[0])
            found.compared += 1
            before, now = next(kept, None), next(live, None)
