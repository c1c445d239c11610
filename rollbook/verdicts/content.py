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

from rollbook.errors import RollbookError
from rollbook.measure import fingerprint
from rollbook.measure.baseline import Baseline, TableBaseline
from rollbook.measure.catalog import Schema, relation
from rollbook.record.evidence import CheckResult, as_text
from rollbook.verdicts.key_types import INTEGER_TYPES

LEAVES = 256
MAX_QUERIES = 48
MAX_RANGES = 10
MOD = 2 ** 64



def capture_leaves(conn: psycopg.Connection, table: str, key: str,
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
        columns = conn.execute(fingerprint.TABLE_COLUMNS_SQL,
                               {"relation": as_text(rel, conn)}).fetchone()[1]
        statement = sql.SQL(
            "SELECT ({k} - {lo}) / {w} AS leaf, count(*), {digest} FROM {t} AS t"
            " WHERE {k} BETWEEN {lo} AND {hi} GROUP BY 1 ORDER BY 1").format(
            k=sql.Identifier("t", key), lo=sql.Literal(lo), hi=sql.Literal(hi),
            w=sql.Literal(width), digest=fingerprint.digest_expression(columns),
            t=rel)
        rows = conn.execute(statement).fetchall()
    return {"key": key, "lo": lo, "hi": hi, "width": width,
            "leaves": {str(leaf): [count, format(int(digest) % MOD, "016x")]
                       for leaf, count, digest in rows}}


def capture_all(conn: psycopg.Connection, baseline: Baseline, schema: Schema,
                leaves: int = LEAVES) -> dict[str, Any]:
    """Leaves of every baseline table whose baseline key is an integer column."""
    found = {}
    for table, before in sorted(baseline.tables.items()):
        column = schema.tables.get(table, {}).get(before.key or "")
        if column is not None and column.type in INTEGER_TYPES and before.rows:
            info = capture_leaves(conn, table, before.key, leaves)
            if info is not None:
                found[table] = info
    return found


@dataclass
class _Span:
    first: int  # leaf index, inclusive
    last: int  # leaf index, exclusive


class _Bisection:
    def __init__(self, conn: psycopg.Connection, table: str, info: dict[str, Any],
                 key_max: int | None):
        self.conn, self.table, self.info = conn, table, info
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
        found = fingerprint.fingerprint_table(self.conn, self.table, key=self.info["key"],
                                              key_range=self.bounds(span))
        self.queries.append(found.sql)
        return found.rows, int(found.digest, 16)

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


def compare_table(conn: psycopg.Connection, table: str, before: TableBaseline,
                  leaves: dict[str, Any] | None) -> CheckResult:
    """The rows that existed at baseline (key <= the baseline's max key) hash as they did; on a
    mismatch, the key ranges that differ, found by bisection."""
    name = f"content: {table}"
    by_key = bool(before.key) and before.key_max is not None
    key_range = (None, before.key_max) if by_key else None
    scope = f"{before.key} <= {before.key_max}" if by_key else "all rows"
    observed: dict[str, Any] = {"baseline": vars(before), "scope": scope}
    try:
        now = fingerprint.fingerprint_table(conn, table, key=before.key if by_key else None,
                                            key_range=key_range)
    except (psycopg.Error, RollbookError) as exc:
        first = str(exc).splitlines()[0]
        return CheckResult(name, False, f"{table}: cannot fingerprint the baseline rows "
                           f"({scope}): {first}", [], observed)
    observed["now"] = now.to_dict()
    if (now.rows, now.digest) == (before.rows, before.digest):
        return CheckResult(name, True, f"{table}: {now.rows} rows ({scope}) match the baseline "
                           f"fingerprint {now.digest}", [now.sql], observed)
    summary = (f"{table}: baseline rows ({scope}) changed: {before.rows} rows digest "
               f"{before.digest} then, {now.rows} rows digest {now.digest} now")
    if not leaves:
        why = ("the baseline has no key-range digests (take it with `rollbook snapshot`) to "
               "narrow this down" if by_key else "the table has no integer key to narrow this "
               "down by; compare it with the pre-rollback backup")
        return CheckResult(name, False, f"{summary}. Hint: {why}", [now.sql], observed)
    bisection = _Bisection(conn, table, leaves, before.key_max)
    bisection.walk(_Span(0, bisection.count), (now.rows, int(now.digest, 16)))
    ranges = _merge(bisection.differing)
    observed.update(differing_ranges=ranges, bisection_queries=len(bisection.queries),
                    truncated=bisection.truncated, leaf_width=leaves["width"])
    shown = "; ".join(_describe(leaves["key"], r) for r in ranges[:5])
    more = " (and more; bisection stopped early)" if bisection.truncated else ""
    return CheckResult(name, False, f"{summary}. Differs in {len(ranges)} key range(s): "
                       f"{shown}{more}; found with {len(bisection.queries)} bisection queries. "
                       "Hint: compare those rows with the pre-rollback backup",
                       [now.sql, *bisection.queries], observed)


def baseline_leaves(baseline: Baseline, table: str) -> dict[str, Any] | None:
    return baseline.facts.get("leaves", {}).get(table)
