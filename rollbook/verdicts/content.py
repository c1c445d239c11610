"""Content after a rollback: the baseline rows' fingerprint, and where they differ.

A table digest is a sum of row hashes modulo 2^64, so the digests of disjoint key ranges add up
to the digest of their union. `rollbook snapshot` stores, per table with an integer key, the
digests of up to LEAVES equal-width key ranges ("leaves"), computed by one GROUP BY. When the
table's digest no longer matches, bisection fingerprints the left half of a differing span (one
query) and gets the right half by subtraction, recursing only into halves that differ: a few
queries, each a sum inside PostgreSQL, never a row download. What it finds are the leaf key
ranges whose rows changed, with their row counts then and now.

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

import psycopg
from psycopg import sql

from rollbook.measure import fingerprint
from rollbook.measure.baseline import Baseline
from rollbook.measure.catalog import Schema, relation
from rollbook.measure.fingerprint import INTEGER_TYPES, TableMeasurement
from rollbook.record.evidence import CheckResult
from rollbook.verdicts import content_rows
from rollbook.verdicts.measured import Measured

LEAVES = 256
MAX_QUERIES = 48
MAX_RANGES = 10
CHUNK_ROWS = 250_000  # baseline rows per content chunk
MOD = fingerprint.MODULUS


def capture_leaves(conn: psycopg.Connection, table: str, key: str, algorithm: str,
                   leaves: int = LEAVES) -> dict[str, Any] | None:
    """Digests of up to `leaves` equal-width ranges of `key` (an integer column), one query."""
    rel = relation(table)
    lo, hi = conn.execute(sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(
        k=sql.Identifier(key), t=rel)).fetchone()
    if lo is None:
        return None
    width = max(1, math.ceil((hi - lo + 1) / leaves))
    with conn.transaction():
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        columns = fingerprint.table_columns(conn, table)
        statement = sql.SQL(
            "SELECT ({k} - {lo}) / {w} AS leaf, count(*), {digest} FROM {t} AS t"
            " WHERE {k} BETWEEN {lo} AND {hi} GROUP BY 1 ORDER BY 1").format(
            k=sql.Identifier("t", key), lo=sql.Literal(lo), hi=sql.Literal(hi),
            w=sql.Literal(width), digest=fingerprint.digest_sum(columns, algorithm), t=rel)
        rows = conn.execute(statement).fetchall()
    return {"key": key, "lo": lo, "hi": hi, "width": width,
            "leaves": {str(leaf): [count, fingerprint.hex_digest(digest)]
                       for leaf, count, digest in rows}}


def capture_all(conn: psycopg.Connection, baseline: Baseline, schema: Schema,
                leaves: int = LEAVES) -> dict[str, Any]:
    """Leaves of every baseline table whose baseline key is an integer column, digested with
    the baseline's algorithm."""
    found = {}
    for table, before in sorted(baseline.tables.items()):
        column = schema.tables.get(table, {}).get(before.key or "")
        if column is not None and column.type in INTEGER_TYPES and before.rows:
            info = capture_leaves(conn, table, before.key, baseline.digest_algorithm, leaves)
            if info is not None:
                found[table] = info
    return found


@dataclass
class _Span:
    first: int  # leaf index, inclusive
    last: int  # leaf index, exclusive


class _Bisection:
    def __init__(self, conn: psycopg.Connection, table: str, info: dict[str, Any],
                 key_max: int | None, algorithm: str, leave_out=None):
        self.conn, self.table, self.info, self.algorithm = conn, table, info, algorithm
        self.leave_out = leave_out  # rows written since, by whole key (Measured.leave_out)
        self.key_max = key_max if key_max is not None else info["hi"]
        self.count = math.ceil((info["hi"] - info["lo"] + 1) / info["width"])
        self.queries: list[str] = []
        self.differing: list[dict[str, Any]] = []
        self.truncated = False

    def bounds(self, span: _Span) -> tuple[int | None, int]:
        lo = None if span.first == 0 else self.info["lo"] + span.first * self.info["width"]
        hi = (self.key_max if span.last >= self.count
              else self.info["lo"] + span.last * self.info["width"] - 1)
        return lo, hi

    def expected(self, span: _Span) -> tuple[int, int]:
        rows = digest = 0
        for leaf in range(span.first, span.last):
            count, hexdigest = self.info["leaves"].get(str(leaf), (0, "0"))
            rows, digest = rows + count, (digest + int(hexdigest, 16)) % MOD
        return rows, digest

    def measure(self, span: _Span) -> tuple[int, int]:
        rows, digest, statement = fingerprint.measure_range(
            self.conn, self.table, self.info["key"], *self.bounds(span), self.algorithm,
            self.leave_out)
        self.queries.append(statement)
        return rows, digest

    def walk(self, span: _Span, now: tuple[int, int]) -> None:
        if now == self.expected(span):
            return
        if span.last - span.first == 1:
            if len(self.differing) >= MAX_RANGES:
                self.truncated = True
                return
            lo, hi = self.bounds(span)
            self.differing.append({"from": lo, "to": hi, "baseline_rows": self.expected(span)[0],
                                   "rows": now[0]})
            return
        if len(self.queries) >= MAX_QUERIES:
            self.truncated = True
            return
        middle = (span.first + span.last) // 2
        left, right = _Span(span.first, middle), _Span(middle, span.last)
        now_left = self.measure(left)
        now_right = (now[0] - now_left[0], (now[1] - now_left[1]) % MOD)
        self.walk(left, now_left)
        self.walk(right, now_right)


def bisect(conn: psycopg.Connection, table: str, leaves: dict[str, Any], key_max: int | None,
           algorithm: str, now: tuple[int, int], leave_out=None
           ) -> tuple[_Bisection, list[dict[str, Any]]]:
    """The key ranges of `table` whose rows differ from the baseline's `leaves`, given the
    (count, digest) of its baseline rows now (but those `leave_out` names): (the bisection,
    with its queries, and the merged ranges)."""
    bisection = _Bisection(conn, table, leaves, key_max, algorithm, leave_out)
    bisection.walk(_Span(0, bisection.count), now)
    return bisection, _merge(bisection.differing)


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
    bisection = _Bisection(run.conn, table, leaves, before.key_max, run.algorithm,
                           run.leave_out.get(table))
    span = _Span(chunk.first, chunk.last)
    lo, hi = bisection.bounds(span)
    rows, digest, statement = run.chunk(table, leaves["key"], lo, hi)
    expected = bisection.expected(span)
    where = _where(leaves["key"], lo, hi)
    place = f"chunk {chunk.index} of {chunk.of}" + (f", on {run.server}" if run.server else "")
    observed: dict[str, Any] = {"chunk": vars(chunk), "server": run.server, "range": where,
                                "algorithm": run.algorithm,
                                "baseline": {"rows": expected[0],
                                             "digest": fingerprint.hex_digest(expected[1])},
                                "now": {"rows": rows, "digest": fingerprint.hex_digest(digest)}}
    if chunk.index == chunk.of:
        whole = bisection.expected(_Span(0, bisection.count))
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
    ranges = _merge(bisection.differing)
    observed.update(differing_ranges=ranges, bisection_queries=len(bisection.queries),
                    truncated=bisection.truncated, leaf_width=leaves["width"])
    summary = (f"{table}: baseline rows ({where}, {place}) changed: {expected[0]} rows then, "
               f"{rows} now")
    named = content_rows.name_rows(run, table, None if bisection.truncated else ranges,
                                   span=(lo, hi))
    return _differs(name, summary, leaves["key"], ranges, bisection, named,
                    [statement, *bisection.queries], observed, run.baseline.whole_key(table))


def _differs(name: str, summary: str, key: str, ranges: list[dict[str, Any]],
             bisection: _Bisection | None, named, statements: list[str],
             observed: dict[str, Any], whole_key: tuple[str, ...]) -> CheckResult:
    """The failed content result: the rows named by key when the baseline kept row digests,
    else the key ranges bisection found."""
    if named is not None:
        observed["rows"] = named.to_dict()
        return CheckResult(name, False, f"{summary}. {content_rows.describe(named, whole_key)}."
                           " Hint: compare those rows with the pre-rollback backup",
                           [*statements, *named.sql], observed)
    shown = "; ".join(_describe(key, r) for r in ranges[:5])
    more = " (and more; bisection stopped early)" if bisection.truncated else ""
    return CheckResult(name, False, f"{summary}. Differs in {len(ranges)} key range(s): "
                       f"{shown}{more}; found with {len(bisection.queries)} bisection queries. "
                       "Hint: compare those rows with the pre-rollback backup", statements,
                       observed)


def _merge(ranges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for r in ranges:
        if merged and merged[-1]["to"] is not None and r["from"] == merged[-1]["to"] + 1:
            merged[-1] = {"from": merged[-1]["from"], "to": r["to"],
                          "baseline_rows": merged[-1]["baseline_rows"] + r["baseline_rows"],
                          "rows": merged[-1]["rows"] + r["rows"]}
        else:
            merged.append(dict(r))
    return merged


def _where(key: str, lo: int | None, hi: int) -> str:
    return f"{key} <= {hi}" if lo is None else f"{key} {lo}..{hi}"


def _describe(key: str, r: dict[str, Any]) -> str:
    where = _where(key, r["from"], r["to"])
    change = ("content changed" if r["rows"] == r["baseline_rows"] else
              f"{r['baseline_rows']} -> {r['rows']} rows")
    return f"{where} ({change})"


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


def baseline_leaves(baseline: Baseline, table: str) -> dict[str, Any] | None:
    """The key-range digests of `table`: only over its whole key, one integer column (an older
    baseline took them over a composite key's first column, which tells no rows apart)."""
    leaves = baseline.facts.get("leaves", {}).get(table)
    by_key = baseline.range_key(table) if table in baseline.tables else None
    return leaves if leaves and by_key and leaves["key"] == by_key[0] else None
