"""Content after a rollback: the baseline rows' fingerprint, and where they differ.

A table digest is a sum of row hashes modulo 2^64, so the digests of disjoint key ranges add up
to the digest of their union. `rollbook snapshot` stores, per table with an integer key, the
digests of up to LEAVES equal-width key ranges ("leaves"), computed by one GROUP BY. When the
table's digest no longer matches, bisection fingerprints the left half of a differing span (one
query) and gets the right half by subtraction, recursing only into halves that differ: a few
queries, each a sum inside PostgreSQL, never a row download. What it finds are the leaf key
ranges whose rows changed, with their row counts then and now.
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
from rollbook.verdicts.measured import Measured

LEAVES = 256
MAX_QUERIES = 48
MAX_RANGES = 10
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
                 key_max: int | None, algorithm: str):
        self.conn, self.table, self.info, self.algorithm = conn, table, info, algorithm
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
            self.conn, self.table, self.info["key"], *self.bounds(span), self.algorithm)
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
           algorithm: str, now: tuple[int, int]) -> tuple[_Bisection, list[dict[str, Any]]]:
    """The key ranges of `table` whose rows differ from the baseline's `leaves`, given the
    (count, digest) of its baseline rows now: (the bisection, with its queries, and the merged
    ranges)."""
    bisection = _Bisection(conn, table, leaves, key_max, algorithm)
    bisection.walk(_Span(0, bisection.count), now)
    return bisection, _merge(bisection.differing)


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


def _describe(key: str, r: dict[str, Any]) -> str:
    where = f"{key} <= {r['to']}" if r["from"] is None else f"{key} {r['from']}..{r['to']}"
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
    if not leaves:
        why = ("the baseline has no key-range digests (take it with `rollbook snapshot`) to "
               "narrow this down" if now.upto is not None else "the table has no integer key "
               "to narrow this down by; compare it with the pre-rollback backup")
        return CheckResult(name, False, f"{summary}. Hint: {why}", now.sql, observed)
    bisection, ranges = bisect(run.conn, table, leaves, before.key_max, now.algorithm,
                               (rows, int(digest, 16)))
    observed.update(differing_ranges=ranges, bisection_queries=len(bisection.queries),
                    truncated=bisection.truncated, leaf_width=leaves["width"])
    shown = "; ".join(_describe(leaves["key"], r) for r in ranges[:5])
    more = " (and more; bisection stopped early)" if bisection.truncated else ""
    return CheckResult(name, False, f"{summary}. Differs in {len(ranges)} key range(s): "
                       f"{shown}{more}; found with {len(bisection.queries)} bisection queries. "
                       "Hint: compare those rows with the pre-rollback backup",
                       [*now.sql, *bisection.queries], observed)


def unmeasurable(run: Measured, table: str, now: TableMeasurement) -> str | None:
    """Why the baseline rows of `table` cannot be told apart now, in one line (None: they can).
    Shared by the counts and content verdicts."""
    before = run.before(table)
    if now.error is not None:
        return f"{table}: cannot measure the table: {now.error}"
    if not now.exists:
        had = f" (had {before.rows} rows at baseline)" if before is not None else ""
        return f"table {table} does not exist{had}"
    if before is not None and before.rows and now.upto is not None and now.selected is None:
        was, found = run.baseline_key_type(table) or "an integer", now.key_type or "missing"
        return (f"{table}.{before.key}: key type changed: {was} at baseline, {found} now, so the"
                f" baseline rows ({now.scope}) cannot be selected. Hint: the rollback did not "
                "restore this column; see the types and schema checks")
    return None


def baseline_leaves(baseline: Baseline, table: str) -> dict[str, Any] | None:
    return baseline.facts.get("leaves", {}).get(table)
