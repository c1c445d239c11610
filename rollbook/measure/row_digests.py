"""Row digests: each baseline row's whole key and 64-bit hash, kept in a compressed sidecar file
next to the baseline JSON, so a content mismatch names the rows themselves (changed, missing,
added) from the baseline alone, after the database they came from is gone.

One statement per table (a COPY of key and hash, ordered by key) streams out of PostgreSQL in
blocks of about BLOCK_BYTES, each compressed on its own; the baseline records where each block
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

BLOCK_BYTES = 1 << 20  # uncompressed COPY text per block
LEVEL = 6  # zlib level: 1M journals at about 9 bytes a row, as fast as PostgreSQL sends them
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


def _key_expression(columns: dict[str, str], key: tuple[str, ...]
                    ) -> tuple[sql.Composable, bool]:
    if len(key) == 1 and columns.get(key[0]) in fingerprint.INTEGER_TYPES:
        return sql.Identifier("t", key[0]), True
    return sql.SQL('{} COLLATE "C"').format(fingerprint.key_text(key)), False


def rows_statement(conn: psycopg.Connection, table: str, columns: dict[str, str],
                   key: tuple[str, ...], algorithm: str,
                   where: sql.Composable | None = None) -> tuple[str, bool]:
    """(the COPY of `table`'s key and row hash in key order, whether the key is an integer)."""
    expression, integer = _key_expression(columns, key)
    selected = sql.SQL(" WHERE {}").format(where) if where is not None else sql.SQL("")
    statement = sql.SQL("COPY (SELECT {k}, {h} FROM {t} AS t{w} ORDER BY 1) TO STDOUT").format(
        k=expression, h=fingerprint.row_hash(columns, algorithm), t=relation(table), w=selected)
    return as_text(statement, conn), integer


def _stream(conn: psycopg.Connection, statement: str) -> Iterator[bytes]:
    """The COPY's rows as PostgreSQL sends them (one line each), under pinned output settings."""
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        with conn.cursor().copy(statement) as copy:
            for data in copy:
                yield bytes(data)


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

    def _write(self, block: bytearray, first: str, rows: int, layout: Layout) -> None:
        packed = zlib.compress(block, LEVEL)
        layout.blocks.append([first, self.size, len(packed), rows])
        self.file.write(packed)
        self.sha256.update(packed)
        self.size += len(packed)

    def add(self, conn: psycopg.Connection, table: str, key: tuple[str, ...],
            algorithm: str) -> None:
        """Stream `table`'s key and row hashes (one statement) into compressed blocks."""
        columns = fingerprint.table_columns(conn, table) or {}
        statement, integer = rows_statement(conn, table, columns, key, algorithm)
        layout = self.tables[table] = Layout(key, integer)
        block, first, rows = bytearray(), "", 0
        for line in _stream(conn, statement):
            if not rows:
                first = line.split(b"\t", 1)[0].decode()
            block += line
            rows += 1
            if len(block) >= BLOCK_BYTES:
                self._write(block, first, rows, layout)
                layout.rows += rows
                block, rows = bytearray(), 0
        if rows:
            self._write(block, first, rows, layout)
            layout.rows += rows
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
    """A COPY text field as its value (key texts may hold backslashes, tabs, newlines)."""
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


def _parse(line: bytes, integer: bool) -> tuple[Any, int]:
    key, _, digest = line.rstrip(b"\n").partition(b"\t")
    return (int(key) if integer else _unescape(key.decode())), int(digest)


def _in(key: Any, lo: Any, hi: Any) -> bool:
    return (lo is None or key >= lo) and (hi is None or key <= hi)


def kept_rows(path: Path, layout: Layout, lo: Any = None, hi: Any = None
              ) -> Iterator[tuple[Any, int]]:
    """(key, hash) of the sidecar's rows of one table with lo <= key <= hi, in key order,
    reading only the blocks that can hold them, one at a time."""
    firsts = [_parse(b[0].encode() + b"\t0", layout.integer)[0] for b in layout.blocks]
    with path.open("rb") as f:
        for i, (_, offset, length, _rows) in enumerate(layout.blocks):
            if hi is not None and firsts[i] > hi:
                return
            if lo is not None and i + 1 < len(firsts) and firsts[i + 1] <= lo:
                continue
            f.seek(offset)
            for line in zlib.decompress(f.read(length)).splitlines():
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


def compare(conn: psycopg.Connection, path: Path, table: str, layout: Layout, algorithm: str,
            spans: list[tuple[Any, Any]], scope: sql.Composable | None = None,
            found: Differences | None = None) -> Differences:
    """Merge the sidecar's rows of each (lo, hi) span (None: unbounded) with the live rows of
    that span (also within `scope`, the baseline rows' selection), both in key order."""
    found = found if found is not None else Differences()
    columns = fingerprint.table_columns(conn, table) or {}
    expression, _ = _key_expression(columns, layout.key)
    for lo, hi in spans:
        bounds = [scope] if scope is not None else []
        if lo is not None:
            bounds.append(sql.SQL("{} >= {}").format(expression, sql.Literal(lo)))
        if hi is not None:
            bounds.append(sql.SQL("{} <= {}").format(expression, sql.Literal(hi)))
        where = sql.SQL(" AND ").join(bounds) if bounds else None
        statement, _ = rows_statement(conn, table, columns, layout.key, algorithm, where)
        found.sql.append(statement)
        live = (_parse(line, layout.integer) for line in _stream(conn, statement))
        _merge(kept_rows(path, layout, lo, hi), live, found)
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
