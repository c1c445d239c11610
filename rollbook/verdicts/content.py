"""Content after a rollback: the baseline rows' fingerprint, and where they differ.

Each table's baseline rows (key <= the baseline's max key) must hash as they did. On a
mismatch, bisection over the baseline's key-range digests (content_ranges.py) finds the key
ranges that differ, and the baseline's row digests (content_rows.py), where kept, name the rows.

A large table is compared in chunks: runs of consecutive leaves holding about CHUNK_ROWS
baseline rows each (sized from the baseline's own per-leaf row counts, identical on every
xdist worker, unlike pg_class.reltuples, which autovacuum may change between two workers'
collections). Each chunk is one test item judged against the sum of its leaves, and the
chunks' digests add up to the table's, so they need nothing beyond the baseline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rollbook.measure import fingerprint
from rollbook.measure.baseline import Baseline
from rollbook.measure.fingerprint import INTEGER_TYPES, TableMeasurement
from rollbook.record.evidence import CheckResult
from rollbook.verdicts import content_rows

# LEAVES, bisect and capture_*: also used as content.* by snapshot, the checks and the bench
from rollbook.verdicts.content_ranges import (  # noqa: F401
    LEAVES,
    Bisection,
    Span,
    baseline_leaves,
    bisect,
    capture_all,
    capture_leaves,
    describe_range,
    merge_ranges,
    range_text,
)
from rollbook.verdicts.measured import Measured

CHUNK_ROWS = 250_000  # baseline rows per content chunk


@dataclass(frozen=True)
class Chunk:
    """Leaves first..last (exclusive) of `table`, the index-th of `of` chunks; a table compared
    whole is one chunk without leaves."""

    table: str
    index: int = 1
    of: int = 1
    first: int | None = None
    last: int | None = None

    @property
    def label(self) -> str:
        return self.table if self.of == 1 else f"{self.table}[{self.index}/{self.of}]"


def plan_chunks(baseline: Baseline | None, table: str,
                rows_per_chunk: int | None = None) -> list[Chunk]:
    """`table`'s content chunks: runs of whole leaves of about `rows_per_chunk` baseline rows
    each; one chunk (the whole table) when it is small or has no key-range digests."""
    limit = rows_per_chunk or CHUNK_ROWS
    leaves = baseline_leaves(baseline, table) if baseline is not None else None
    before = baseline.tables.get(table) if baseline is not None else None
    if not leaves or before is None or before.rows <= limit:
        return [Chunk(table)]
    count = math.ceil((leaves["hi"] - leaves["lo"] + 1) / leaves["width"])
    spans, first, rows = [], 0, 0
    for leaf in range(count):
        rows += leaves["leaves"].get(str(leaf), (0, "0"))[0]
        if rows >= limit and leaf + 1 < count:
            spans.append((first, leaf + 1))
            first, rows = leaf + 1, 0
    spans.append((first, count))
    if len(spans) == 1:  # the last leaves hold what reached the limit: the whole table
        return [Chunk(table)]
    return [Chunk(table, i, len(spans), a, b) for i, (a, b) in enumerate(spans, start=1)]


def chunked_tables(baseline: Baseline | None, rows_per_chunk: int | None = None) -> frozenset:
    """The baseline tables compared in more than one chunk."""
    if baseline is None:
        return frozenset()
    return frozenset(t for t in baseline.tables if len(plan_chunks(baseline, t,
                                                                   rows_per_chunk)) > 1)


def compare_chunk(run: Measured, chunk: Chunk) -> CheckResult:
    """`chunk`'s rows hash as its baseline leaves did (bisected to the differing key ranges on a
    mismatch); the last chunk also checks that the leaves add up to the table's baseline
    digest, so the chunks together judge the whole table. A one-chunk table: compare_table."""
    if chunk.of == 1:
        return compare_table(run, chunk.table)
    table, before = chunk.table, run.before(chunk.table)
    name = f"content: {chunk.label}"
    leaves = baseline_leaves(run.baseline, table)
    columns = fingerprint.table_columns(run.conn, table)
    key_type = (columns or {}).get(leaves["key"])
    unmeasured = _why_unmeasurable(run, table, error=run.hidden(table),
                                   exists=columns is not None,
                                   selectable=key_type in INTEGER_TYPES, key_type=key_type,
                                   scope=f"{leaves['key']} <= {before.key_max}")
    if unmeasured is not None:
        return CheckResult(name, False, unmeasured, [], {"chunk": vars(chunk),
                                                         "server": run.server})
    bisection = Bisection(run.conn, table, leaves, before.key_max, run.algorithm,
                           run.leave_out.get(table))
    span = Span(chunk.first, chunk.last)
    lo, hi = bisection.bounds(span)
    rows, digest, statement = run.chunk(table, leaves["key"], lo, hi)
    expected = bisection.expected(span)
    where = range_text(leaves["key"], lo, hi)
    place = f"chunk {chunk.index} of {chunk.of}" + (f", on {run.server}" if run.server else "")
    observed: dict[str, Any] = {"chunk": vars(chunk), "server": run.server, "range": where,
                                "algorithm": run.algorithm,
                                "baseline": {"rows": expected[0],
                                             "digest": fingerprint.hex_digest(expected[1])},
                                "now": {"rows": rows, "digest": fingerprint.hex_digest(digest)}}
    if chunk.index == chunk.of:
        whole = bisection.expected(Span(0, bisection.count))
        if whole != (before.rows, int(before.digest, 16)):
            return CheckResult(name, False, f"{table}: the baseline's key-range digests do not "
                               f"add up to its table digest ({whole[0]} rows vs {before.rows})."
                               " Hint: take the baseline again with `rollbook snapshot`",
                               [statement], observed)
    if (rows, digest) == expected:
        return CheckResult(name, True, f"{table}: {rows} rows ({where}, {place}) match the "
                           "baseline fingerprint "
                           f"{fingerprint.hex_digest(digest)}", [statement], observed)
    bisection.walk(span, (rows, digest))
    ranges = merge_ranges(bisection.differing)
    observed.update(differing_ranges=ranges, bisection_queries=len(bisection.queries),
                    truncated=bisection.truncated, leaf_width=leaves["width"])
    summary = (f"{table}: baseline rows ({where}, {place}) changed: {expected[0]} rows then, "
               f"{rows} now")
    named = content_rows.name_rows(run, table, None if bisection.truncated else ranges,
                                   span=(lo, hi))
    return _differs(name, summary, leaves["key"], ranges, bisection, named,
                    [statement, *bisection.queries], observed, run.baseline.whole_key(table))


def _differs(name: str, summary: str, key: str, ranges: list[dict[str, Any]],
             bisection: Bisection | None, named, statements: list[str],
             observed: dict[str, Any], whole_key: tuple[str, ...]) -> CheckResult:
    """The failed content result: the rows named by key when the baseline kept row digests,
    else the key ranges bisection found."""
    if named is not None:
        observed["rows"] = named.to_dict()
        return CheckResult(name, False, f"{summary}. {content_rows.describe(named, whole_key)}."
                           f" Hint: {content_rows.COLUMNS_HINT}", [*statements, *named.sql],
                           observed)
    shown = "; ".join(describe_range(key, r) for r in ranges[:5])
    more = " (and more; bisection stopped early)" if bisection.truncated else ""
    return CheckResult(name, False, f"{summary}. Differs in {len(ranges)} key range(s): "
                       f"{shown}{more}; found with {len(bisection.queries)} bisection queries. "
                       "Hint: compare those rows with the pre-rollback backup", statements,
                       observed)


def compare_table(run: Measured, table: str) -> CheckResult:
    """The rows that existed at baseline (key <= the baseline's max key) hash as they did; on a
    mismatch, the key ranges that differ, found by bisection."""
    name = f"content: {table}"
    before = run.before(table)
    now = run.table(table)
    observed: dict[str, Any] = {"baseline": vars(before), "scope": now.scope,
                                "algorithm": now.algorithm}
    unmeasured = unmeasurable(run, table, now)
    if unmeasured is not None:
        return CheckResult(name, False, unmeasured, now.sql, observed)
    if before.rows == 0:
        return CheckResult(name, True, f"{table}: empty at baseline, no baseline rows to "
                           "compare", now.sql, observed)
    rows, digest = now.selected
    observed["now"] = {"rows": rows, "digest": digest}
    if (rows, digest) == (before.rows, before.digest):
        return CheckResult(name, True, f"{table}: {rows} rows ({now.scope}) match the baseline "
                           f"fingerprint {digest}", now.sql, observed)
    summary = (f"{table}: baseline rows ({now.scope}) changed: {before.rows} rows digest "
               f"{before.digest} then, {rows} rows digest {digest} now")
    leaves = baseline_leaves(run.baseline, table)
    whole_key = run.baseline.whole_key(table)
    if not leaves:
        named = content_rows.name_rows(run, table, None)
        if named is not None:
            return _differs(name, summary, "", [], None, named, now.sql, observed, whole_key)
        why = ("the baseline has no key-range digests (take it with `rollbook snapshot`) to "
               "narrow this down" if now.upto is not None else "the table has no integer key "
               "to narrow this down by; compare it with the pre-rollback backup")
        return CheckResult(name, False, f"{summary}. Hint: {why}", now.sql, observed)
    bisection, ranges = bisect(run.conn, table, leaves, before.key_max, now.algorithm,
                               (rows, int(digest, 16)), run.leave_out.get(table))
    observed.update(differing_ranges=ranges, bisection_queries=len(bisection.queries),
                    truncated=bisection.truncated, leaf_width=leaves["width"])
    named = content_rows.name_rows(run, table, None if bisection.truncated else ranges)
    return _differs(name, summary, leaves["key"], ranges, bisection, named,
                    [*now.sql, *bisection.queries], observed, whole_key)


def unmeasurable(run: Measured, table: str, now: TableMeasurement) -> str | None:
    """Why the baseline rows of `table` cannot be told apart now, in one line (None: they can).
    Shared by the counts and content verdicts."""
    return _why_unmeasurable(run, table, error=now.error, exists=now.exists,
                             selectable=now.upto is None or now.selected is not None,
                             key_type=now.key_type, scope=now.scope)


def _why_unmeasurable(run: Measured, table: str, *, error: str | None, exists: bool,
                      selectable: bool, key_type: str | None, scope: str) -> str | None:
    before = run.before(table)
    if error is not None:
        return f"{table}: cannot measure the table: {error}"
    if not exists:
        had = f" (had {before.rows} rows at baseline)" if before is not None else ""
        return f"table {table} does not exist{had}"
    if before is not None and before.rows and not selectable:
        was, found = run.baseline_key_type(table) or "an integer", key_type or "missing"
        return (f"{table}.{before.key}: key type changed: {was} at baseline, {found} now, so the"
                f" baseline rows ({scope}) cannot be selected. Hint: the rollback did not "
                "restore this column; see the types and schema checks")
    return None
