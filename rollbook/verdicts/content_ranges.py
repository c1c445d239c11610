"""Content's key ranges: where a table's baseline rows differ, narrowed without a row download.

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
from rollbook.measure.fingerprint import INTEGER_TYPES

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
class Span:
    first: int  # leaf index, inclusive
    last: int  # leaf index, exclusive


class Bisection:
    def __init__(self, conn: psycopg.Connection, table: str, info: dict[str, Any],
                 key_max: int | None, algorithm: str, leave_out=None):
        self.conn, self.table, self.info, self.algorithm = conn, table, info, algorithm
        self.leave_out = leave_out  # rows written since, by whole key (Measured.leave_out)
        self.key_max = key_max if key_max is not None else info["hi"]
        self.count = math.ceil((info["hi"] - info["lo"] + 1) / info["width"])
        self.queries: list[str] = []
        self.differing: list[dict[str, Any]] = []
        self.truncated = False

    def bounds(self, span: Span) -> tuple[int | None, int]:
        lo = None if span.first == 0 else self.info["lo"] + span.first * self.info["width"]
        hi = (self.key_max if span.last >= self.count
              else self.info["lo"] + span.last * self.info["width"] - 1)
        return lo, hi

    def expected(self, span: Span) -> tuple[int, int]:
        rows = digest = 0
        for leaf in range(span.first, span.last):
            count, hexdigest = self.info["leaves"].get(str(leaf), (0, "0"))
            rows, digest = rows + count, (digest + int(hexdigest, 16)) % MOD
        return rows, digest

    def measure(self, span: Span) -> tuple[int, int]:
        rows, digest, statement = fingerprint.measure_range(
            self.conn, self.table, self.info["key"], *self.bounds(span), self.algorithm,
            self.leave_out)
        self.queries.append(statement)
        return rows, digest

    def walk(self, span: Span, now: tuple[int, int]) -> None:
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
        left, right = Span(span.first, middle), Span(middle, span.last)
        now_left = self.measure(left)
        now_right = (now[0] - now_left[0], (now[1] - now_left[1]) % MOD)
        self.walk(left, now_left)
        self.walk(right, now_right)


def bisect(conn: psycopg.Connection, table: str, leaves: dict[str, Any], key_max: int | None,
           algorithm: str, now: tuple[int, int], leave_out=None
           ) -> tuple[Bisection, list[dict[str, Any]]]:
    """The key ranges of `table` whose rows differ from the baseline's `leaves`, given the
    (count, digest) of its baseline rows now (but those `leave_out` names): (the bisection,
    with its queries, and the merged ranges)."""
    bisection = Bisection(conn, table, leaves, key_max, algorithm, leave_out)
    bisection.walk(Span(0, bisection.count), now)
    return bisection, merge_ranges(bisection.differing)


def merge_ranges(ranges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for r in ranges:
        if merged and merged[-1]["to"] is not None and r["from"] == merged[-1]["to"] + 1:
            merged[-1] = {"from": merged[-1]["from"], "to": r["to"],
                          "baseline_rows": merged[-1]["baseline_rows"] + r["baseline_rows"],
                          "rows": merged[-1]["rows"] + r["rows"]}
        else:
            merged.append(dict(r))
    return merged


def range_text(key: str, lo: int | None, hi: int) -> str:
    return f"{key} <= {hi}" if lo is None else f"{key} {lo}..{hi}"


def describe_range(key: str, r: dict[str, Any]) -> str:
    where = range_text(key, r["from"], r["to"])
    change = ("content changed" if r["rows"] == r["baseline_rows"] else
              f"{r['baseline_rows']} -> {r['rows']} rows")
    return f"{where} ({change})"


def baseline_leaves(baseline: Baseline, table: str) -> dict[str, Any] | None:
    """The key-range digests of `table`: only over its whole key, one integer column (an older
    baseline took them over a composite key's first column, which tells no rows apart)."""
    leaves = baseline.facts.get("leaves", {}).get(table)
    by_key = baseline.range_key(table) if table in baseline.tables else None
    return leaves if leaves and by_key and leaves["key"] == by_key[0] else None
