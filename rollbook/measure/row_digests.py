"""Row digests: each baseline row's whole key and 64-bit hash, kept in a compressed sidecar file
next to the baseline JSON, so a content mismatch names the rows themselves (changed, missing,
added) from the baseline alone, after the database they came from is gone.

Each table's rows are read once in key order (row_digests_keys.py: a key of integer columns as
numbers or tuples, along its unique index when it has one in key order, one statement a block,
nothing sorted; any other key as its row text, one statement whose server-side cursor hands the
blocks over one at a time). PostgreSQL hashes each row and joins a block of BLOCK_ROWS rows into
one value: its keys and hashes as 8-byte numbers for a key of integers, else its keys' lines
and its hashes' bytes; Python packs a block (row_digests_blocks.py: the keys compressed, then the
hashes as they are) in a thread while the server reads the next block, and the baseline records
where each block starts (its first key), its offset and length in the file, its rows, and the
file's sha256. A row's hash is the one the table digest sums (fingerprint.row_hash), so the
sidecar's hashes add up to it, and the survey's per-leaf counts and sums (survey.py) come from
the same blocks: for a key of integers, by bisecting a block's keys at the leaves' ends (the
leaves follow the key's order), otherwise summed in SQL. Reading and comparing them:
row_digests_read.py.
"""
from __future__ import annotations

import bisect
import hashlib
import os
import shutil
import struct
import tempfile
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint
from rollbook.measure.catalog import relation
from rollbook.measure.row_digests_blocks import Received
from rollbook.measure.row_digests_keys import KeyForm, read_form
from rollbook.record.evidence import as_text

BLOCK_ROWS = 65_536  # rows per block
FORMAT = 2
SUFFIX = ".rows"

# rows per database below which `rollbook snapshot` keeps row digests unless told
DEFAULT_BELOW_ROWS = 10_000_000


@dataclass
class Layout:
    """How one table's rows are kept: its whole key and its form (row_digests_keys.py), and its
    blocks as [first key, offset, length, rows]; `format`: the blocks' (row_digests_blocks.py;
    1: lines "key TAB hash" compressed whole)."""

    key: tuple[str, ...]
    form: str
    rows: int = 0
    blocks: list[list[Any]] = field(default_factory=list)
    format: int = FORMAT

    @property
    def keys(self) -> KeyForm:
        return KeyForm(self.form, self.key)

    def to_dict(self) -> dict[str, Any]:
        return {"key": list(self.key), "form": self.form, "format": self.format,
                "rows": self.rows, "blocks": self.blocks}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> "Layout":
        if "format" in body:
            form, version = body["form"], int(body["format"])
        else:  # format 1 told a key of one integer column from any other, kept as row text
            form, version = ("integer" if body["integer"] else "text"), 1
        keys = KeyForm(form, tuple(body["key"]))
        return cls(keys.columns, form, int(body["rows"]),
                   [[keys.from_json(b[0]), *b[1:]] for b in body["blocks"]], version)


@dataclass(frozen=True)
class Tally:
    """What survey.py reads along with a table's row digests: per leaf (a range of `width`
    values of the key's first column `column` from `lo`; `leaf` in SQL) its rows' count and
    hash sum, and their oldest and newest `time`."""

    leaf: sql.Composable
    time: sql.Composable
    column: str | None = None
    lo: int | None = None
    width: int | None = None


NO_TALLY = Tally(sql.SQL("NULL::bigint"), sql.SQL("NULL::int"))


def _statement(keys: KeyForm, columns: dict[str, str], table: str, algorithm: str,
               tally: Tally, where: sql.Composable | None, limit: bool) -> sql.Composed:
    """The statement that reads `table`'s rows (`where`) in key order: with `limit`, the first
    BLOCK_ROWS of them (one block), else every row, numbered into blocks; and returns per block
    (block, rows, oldest, newest, keys' lines, hashes (row_digests_blocks.py), leaf pieces
    [[leaf, rows, hash sum]]).
    The leaf pieces are summed in SQL only where Python cannot find a block's leaves by
    bisecting its keys (_leaf_tallies): a key of row text, or a tally over another column."""
    ordered = keys.order()
    names = [sql.Identifier(f"o{i}") for i in range(len(ordered))]
    by = sql.SQL(", ").join(names)
    picked = sql.SQL(", ").join(sql.SQL("{} AS {}").format(o, n)
                                for o, n in zip(ordered, names, strict=True))
    selected = sql.SQL(" WHERE {}").format(where) if where is not None else sql.SQL("")
    if limit:
        block, group = sql.SQL("0"), sql.SQL("")
        tail = sql.SQL(" ORDER BY {} LIMIT {}").format(sql.SQL(", ").join(ordered),
                                                       sql.Literal(BLOCK_ROWS))
    else:
        block = sql.SQL("(row_number() OVER (ORDER BY {}) - 1) / {}").format(
            sql.SQL(", ").join(ordered), sql.Literal(BLOCK_ROWS))
        group, tail = sql.SQL(" GROUP BY block ORDER BY block"), sql.SQL("")
    rows = sql.SQL("SELECT {picked}, {h} AS h, {leaf} AS leaf, {tm} AS tm, {block} AS block"
                   " FROM {t} AS t{where}{tail}").format(
        picked=picked, h=fingerprint.row_hash(columns, algorithm), leaf=tally.leaf,
        tm=tally.time, block=block, t=relation(table), where=selected, tail=tail)
    pieces = sql.SQL(
        "(SELECT json_agg(json_build_array(l, n, s)) FROM (SELECT l, count(*) AS n,"
        " sum(x) AS s FROM unnest(array_agg(leaf), array_agg(h)) AS u(l, x) GROUP BY l) AS p)"
    ) if tally is not NO_TALLY and not _bisected(keys, tally) else sql.SQL("NULL::json")
    if keys.numeric:  # no text: each row's key columns and hash, 8 bytes each
        text = sql.SQL("NULL::text")
        blob = sql.SQL(" || ").join([*(sql.SQL("int8send({}::bigint)").format(n) for n in names),
                                     sql.SQL("int8send(h)")])
    else:
        text = sql.SQL("string_agg({}, E'\n' ORDER BY {})").format(keys.line(names), by)
        blob = sql.SQL("int8send(h)")
    return sql.SQL(
        "SELECT {block}, count(*), min(tm), max(tm), {text}, string_agg({blob}, ''::bytea"
        " ORDER BY {by}), {pieces} FROM ({rows}) AS r{group}"
    ).format(block=sql.SQL("0") if limit else sql.SQL("block"), text=text, blob=blob, by=by,
             pieces=pieces, rows=rows, group=group)


def _bisected(keys: KeyForm, tally: Tally) -> bool:
    """Whether a block's leaves are found by bisecting its keys: the leaf column is the key's
    first, and the key of integers (then its leaves follow one another in key order)."""
    return keys.numeric and tally.width is not None and tally.column == keys.columns[0]


def _leaf_tallies(tally: Tally, firsts: tuple[int, ...], hashes: tuple[int, ...]
                  ) -> list[tuple[Any, int, int, Any, Any]]:
    """(leaf, rows, hash sum, None, None) of each leaf of a block of a key of integers, its key's
    first column's values (`firsts`, in order) bisected at the leaves' ends; a leaf is
    (value - lo) / width truncated toward zero, as PostgreSQL divides integers."""
    lo, width = tally.lo, tally.width
    found, start = [], 0
    while start < len(firsts):
        offset = firsts[start] - lo
        leaf = offset // width if offset >= 0 else -(-offset // width)
        # the first value past the leaf: (leaf + 1) * width on, or for a negative leaf (rows
        # below lo) above leaf * width
        past = lo + ((leaf + 1) * width if leaf >= 0 else leaf * width + 1)
        end = bisect.bisect_left(firsts, past, lo=start)
        found.append((leaf, end - start, sum(hashes[start:end]), None, None))
        start = end
    return found


def rows_statement(conn: psycopg.Connection, table: str, columns: dict[str, str],
                   keys: KeyForm, algorithm: str, where: sql.Composable | None = None,
                   tally: Tally = NO_TALLY) -> str:
    """The one statement that reads `table`'s rows (`where`) once, in key order, as blocks
    (_statement's): PostgreSQL hashes and joins them, Python receives one row a block."""
    return as_text(_statement(keys, columns, table, algorithm, tally, where, limit=False), conn)


def read_blocks(conn: psycopg.Connection, statement: str) -> Iterator[tuple[Any, ...]]:
    """Each block of `statement` (rows_statement's), one at a time (a server-side cursor),
    under pinned output settings."""
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        with conn.cursor(name="rollbook_row_digests") as cursor:
            cursor.itersize = 1
            cursor.execute(statement)
            yield from cursor


def _ranged_blocks(conn: psycopg.Connection, table: str, columns: dict[str, str],
                   keys: KeyForm, algorithm: str, statements: list[str], tally: Tally
                   ) -> Iterator[tuple[Any, ...]]:
    """Each block of a table read along its key's index: one statement a block, the next
    BLOCK_ROWS rows after the last block's last key, so that nothing is sorted (the aggregates'
    ORDER BY is their input's; PostgreSQL 16+ sorts nothing for it)."""
    after = None
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        while True:
            statement = as_text(_statement(keys, columns, table, algorithm, tally, after,
                                           limit=True), conn)
            statements.append(statement)
            block = conn.execute(statement).fetchone()
            if not block[1]:
                return
            rows, blob = block[1], block[5]
            yield block
            if rows < BLOCK_ROWS:
                return
            last = struct.unpack_from(f">{len(keys.columns)}q", blob,
                                      (rows - 1) * (len(keys.columns) + 1) * 8)
            after = keys.compared(">", last[0] if keys.form == "integer" else last)
            del block, blob  # one block held at a time


def received(keys: KeyForm, tally: Tally, block: tuple[Any, ...]
             ) -> tuple[Received, list[tuple]]:
    """A block as read, and its tallies (leaf, rows, hash sum, oldest, newest): none without
    `tally`."""
    _block, rows, oldest, newest, text, blob, pieces = block
    got = Received(keys, rows, text, blob)
    if tally is NO_TALLY:
        return got, []
    if pieces is not None:
        found = [(p[0], p[1], int(p[2]), None, None) for p in pieces]
    elif _bisected(keys, tally):
        found = _leaf_tallies(tally, got.columns[0], got.hashes)
    else:
        found = [(None, rows, sum(got.hashes), None, None)]
    return got, [*found, (None, 0, 0, oldest, newest)]


class Writer:
    """The sidecar being written: a temporary file until Baseline.save places it."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()
        # a snapshot never saved (a drill's in-memory baseline) closes it when collected
        self.close = weakref.finalize(self, self.file.close)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.tables: dict[str, Layout] = {}
        self.writing = threading.Lock()  # tables may be added from two threads at once

    def add(self, conn: psycopg.Connection, table: str, key: tuple[str, ...],
            algorithm: str, tally: Tally = NO_TALLY, statements: list[str] | None = None
            ) -> list[tuple[Any, ...]]:
        """`table`'s keys and row hashes, a block at a time: read along its key's index where it
        has one in key order, else by one statement; what `tally` asks of each block's leaves,
        as (leaf, rows, hash sum, oldest, newest); the statements it sent are added to
        `statements`. Two tables may be added at once, from two threads on two connections."""
        statements = [] if statements is None else statements
        columns = fingerprint.table_columns(conn, table) or {}
        keys, indexed = read_form(conn, table, columns, key)
        if indexed:
            read = _ranged_blocks(conn, table, columns, keys, algorithm, statements, tally)
        else:
            statement = rows_statement(conn, table, columns, keys, algorithm, tally=tally)
            statements.append(statement)
            read = read_blocks(conn, statement)
        layout = self.tables[table] = Layout(keys.columns, keys.form)
        tallied: list[tuple[Any, ...]] = []
        # a block is packed and written while the server reads the next; one at a time
        with ThreadPoolExecutor(1, thread_name_prefix="rollbook-row-digests") as packer:
            pending = None
            for block in read:
                if pending is not None:
                    tallied += pending.result()
                pending = packer.submit(self._write, layout, keys, tally, block)
                del block
            if pending is not None:
                tallied += pending.result()
        return tallied

    def _write(self, layout: Layout, keys: KeyForm, tally: Tally, block: tuple[Any, ...]
               ) -> list[tuple[Any, ...]]:
        got, tallies = received(keys, tally, block)
        del block
        packed = got.packed()
        with self.writing:  # each block lies where its layout says; a table's blocks in order
            layout.blocks.append([got.key(0), self.size, len(packed), got.rows])
            layout.rows += got.rows
            self.file.write(packed)
            self.sha256.update(packed)
            self.size += len(packed)
        return tallies

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
