"""Row digests read back: the sidecar's (key, hash) rows of a key range, or of given keys,
reading only the blocks that can hold them, one at a time; the live rows in the same order; and
the two merged, so that the process holds one block at a time, never the table, and only the
keys that differ (changed, missing, added). The sidecar is written by row_digests.py.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint, row_digests
from rollbook.measure.row_digests import Layout
from rollbook.measure.row_digests_blocks import kept


def _in(key: Any, lo: Any, hi: Any) -> bool:
    return (lo is None or key >= lo) and (hi is None or key <= hi)


def kept_rows(path: Path, layout: Layout, lo: Any = None, hi: Any = None
              ) -> Iterator[tuple[Any, int]]:
    """(key, hash) of the sidecar's rows of one table with lo <= key <= hi, in key order,
    reading only the blocks that can hold them, one at a time."""
    firsts = [b[0] for b in layout.blocks]
    keys = layout.keys
    with path.open("rb") as f:
        for i, (_, offset, length, _rows) in enumerate(layout.blocks):
            if hi is not None and firsts[i] > hi:
                return
            if lo is not None and i + 1 < len(firsts) and firsts[i + 1] <= lo:
                continue
            f.seek(offset)
            for key, digest in zip(*kept(keys, layout.format, f.read(length)), strict=True):
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
    keys = layout.keys
    statement = row_digests.rows_statement(conn, table, columns, keys, algorithm, where)
    if statements is not None:
        statements.append(statement)
    for block in row_digests.read_blocks(conn, statement):
        got, _ = row_digests.received(keys, row_digests.NO_TALLY, block)
        yield from zip(got.keys(), got.hashes, strict=True)


def compare(conn: psycopg.Connection, path: Path, table: str, layout: Layout, algorithm: str,
            spans: list[tuple[Any, Any]], scope: sql.Composable | None = None,
            found: Differences | None = None) -> Differences:
    """Merge the sidecar's rows of each (lo, hi) span of the key's first column, of integers
    (None: unbounded; a key of row text: unbounded only) with the live rows of that span (also
    within `scope`, the baseline rows' selection), both in key order."""
    found = found if found is not None else Differences()
    columns = fingerprint.table_columns(conn, table) or {}
    for lo, hi in spans:
        bounds, lo_key, hi_key = (layout.keys.first_within(lo, hi) if layout.keys.numeric
                                  else ([], None, None))
        bounds = [scope, *bounds] if scope is not None else bounds
        where = sql.SQL(" AND ").join(bounds) if bounds else None
        live = live_rows(conn, table, columns, layout, algorithm, where, found.sql)
        _merge(kept_rows(path, layout, lo_key, hi_key), live, found)
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
            for key, digest in zip(*kept(layout.keys, layout.format, f.read(length)),
                                   strict=True):
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
