"""Key queries measured: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), repeated and summarised.

A run measures each key query once (`Measurements` keeps it by name): the plan check, the time
check and the Performance Degradation trigger read the same runs, and rollbook/verdicts/
performance.py judges them. A measurement repeats the query up to `repeats` times, stopping
early once its runs took `repeat_within_ms` in all (a heavy query runs fewer times: its jitter
is small next to its time), and keeps every run's time, their median and spread, the plan's
shape and the buffers it touched. The baseline keeps the same summary (`Timing`), so both sides
of a comparison carry the same evidence.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollbook.measure.memo import InMemory
from rollbook.pg import query_guard
from rollbook.settings.profile import KeyQuery, Performance

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
FORCE_INDEX_SQL = "SELECT set_config('enable_seqscan', 'off', true)"
INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
PAGES_SQL = "SELECT relpages FROM pg_class WHERE oid = to_regclass(%s)"
INDEX_TABLE_SQL = """\
SELECT ix.indrelid::regclass::text, t.relpages FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid WHERE ix.indexrelid = to_regclass(%s)"""
# EXPLAIN's text names for the JSON's Aggregate strategies
AGGREGATES = {"Hashed": "HashAggregate", "Sorted": "GroupAggregate", "Mixed": "MixedAggregate"}
LEGACY_BASELINE = ("an older baseline: its best run stands for its time (no median, no "
                   "spread), its plan is known by indexes and Seq Scans only")


def _label(node: dict[str, Any]) -> str:
    """A plan node as EXPLAIN's text names it, e.g. "Index Scan using users_pkey on users"."""
    kind = node.get("Node Type", "?")
    if kind == "Aggregate":
        kind = AGGREGATES.get(node.get("Strategy", ""), kind)
    if node.get("Index Name"):
        kind += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        kind += f" on {node['Relation Name']}"
    return kind


@dataclass
class Plan:
    query: str
    execution_ms: float
    planning_ms: float
    nodes: list[dict[str, Any]]
    shared_hit: int
    shared_read: int
    raw: Any = field(repr=False)
    forced: bool = False

    @property
    def seq_scans(self) -> list[str]:
        return [n["relation"] for n in self.nodes if n["type"] == "Seq Scan"]

    @property
    def indexes(self) -> list[str]:
        return [n["index"] for n in self.nodes if n["type"] in INDEX_NODES and n["index"]]

    @property
    def shape(self) -> list[str]:
        """The plan tree, one node a line, indented by depth: what decides the work done."""
        return ["  " * n["depth"] + n["label"] for n in self.nodes]

    @property
    def buffers(self) -> int:
        """Shared blocks the whole plan touched (the top node's counts include its children's),
        from cache or from disk alike: the same plan over the same data touches the same."""
        return self.shared_hit + self.shared_read


def _walk(node: dict[str, Any], out: list[dict[str, Any]], depth: int = 0) -> None:
    out.append({"type": node.get("Node Type"), "relation": node.get("Relation Name"),
                "index": node.get("Index Name"), "rows": node.get("Actual Rows"),
                "loops": node.get("Actual Loops"), "label": _label(node), "depth": depth})
    for child in node.get("Plans", []):
        _walk(child, out, depth + 1)


def bind(conn: psycopg.Connection, query: KeyQuery) -> str | None:
    """The query text with its parameters' values bound; None when the params query found
    nothing to look up (an empty table)."""
    if not query.params:
        return query.sql
    cur = conn.execute(query.params)
    row = cur.fetchone()
    if row is None or any(value is None for value in row):
        return None
    values = dict(zip([c.name for c in cur.description], row, strict=True))
    return psycopg.ClientCursor(conn).mogrify(query.sql, values)


def explain(conn: psycopg.Connection, text: str, *, force_index: bool = False) -> Plan:
    with conn.transaction():
        if force_index:
            conn.execute(FORCE_INDEX_SQL)
        [document] = conn.execute(EXPLAIN + text).fetchone()[0]
    nodes: list[dict[str, Any]] = []
    _walk(document["Plan"], nodes)
    top = document["Plan"]
    return Plan(text, document.get("Execution Time", 0.0), document.get("Planning Time", 0.0),
                nodes, top.get("Shared Hit Blocks", 0), top.get("Shared Read Blocks", 0),
                document, force_index)


def index_table(conn: psycopg.Connection, index: str) -> tuple[str, int] | None:
    """The table an index belongs to and that table's pages; None when there is no such index."""
    row = conn.execute(INDEX_TABLE_SQL, (index,)).fetchone()
    return (row[0], row[1]) if row else None


def relation_pages(conn: psycopg.Connection, relation: str) -> int | None:
    row = conn.execute(PAGES_SQL, (relation,)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Timing:
    """What a time verdict compares of a key query, now or at the baseline: its runs' times,
    their median and spread (median absolute deviation), and the work behind them (the plan's
    shape, its buffers). `legacy` says why a baseline entry carries less than that."""

    sql: str | None
    runs_ms: tuple[float, ...]
    median_ms: float
    spread_ms: float
    shape: tuple[str, ...] | None
    buffers: int | None
    indexes: tuple[str, ...]
    seq_scans: tuple[str, ...]
    legacy: str = ""

    @classmethod
    def of_runs(cls, sql: str, runs: list[Plan]) -> "Timing":
        times = [p.execution_ms for p in runs]
        median = statistics.median(times)
        spread = statistics.median(abs(t - median) for t in times)
        typical = runs[-1]  # the runs share one plan; the last one ran on a warm cache
        return cls(sql, tuple(round(t, 3) for t in times), round(median, 3), round(spread, 3),
                   tuple(typical.shape), typical.buffers, tuple(typical.indexes),
                   tuple(typical.seq_scans))

    @classmethod
    def from_baseline(cls, entry: dict[str, Any]) -> "Timing | None":
        """A baseline's record of a query; an older one (best time only) is read as such, and
        None when it holds no time at all."""
        if "median_ms" in entry:
            return cls(entry.get("sql"), tuple(entry.get("all_runs_ms", ())),
                       float(entry["median_ms"]), float(entry.get("spread_ms", 0.0)),
                       tuple(entry["shape"]) if entry.get("shape") is not None else None,
                       entry.get("buffers"), tuple(entry.get("indexes", ())),
                       tuple(entry.get("seq_scans", ())))
        if entry.get("execution_ms") is None:
            return None
        hit, read = entry.get("shared_hit"), entry.get("shared_read")
        return cls(entry.get("sql"), tuple(entry.get("all_runs_ms", ())),
                   float(entry["execution_ms"]), 0.0, None,
                   hit + read if hit is not None and read is not None else None,
                   tuple(entry.get("indexes", ())), tuple(entry.get("seq_scans", ())),
                   legacy=LEGACY_BASELINE)

    def to_dict(self) -> dict[str, Any]:
        """The baseline's entry for this query (and the evidence of a measurement)."""
        body = {"sql": self.sql, "all_runs_ms": list(self.runs_ms), "median_ms": self.median_ms,
                "spread_ms": self.spread_ms,
                "shape": list(self.shape) if self.shape is not None else None,
                "buffers": self.buffers, "indexes": list(self.indexes),
                "seq_scans": list(self.seq_scans)}
        if self.legacy:
            body["legacy"] = self.legacy
        return body


@dataclass
class Measurement:
    """One key query measured: its bound text (None: nothing to look up), its runs, or the
    first line of the error that stopped it."""

    name: str
    sql: str | None
    runs: list[Plan]
    error: str | None = None

    @property
    def measured(self) -> bool:
        return self.error is None and self.sql is not None and bool(self.runs)

    @property
    def plan(self) -> Plan:
        return self.runs[-1]

    @property
    def timing(self) -> Timing:
        return Timing.of_runs(self.sql or "", self.runs)


def measure(conn: psycopg.Connection, query: KeyQuery, performance: Performance) -> Measurement:
    """Bind `query` and EXPLAIN ANALYZE it up to `repeats` times, stopping once the runs took
    `repeat_within_ms` in all. What it calls is judged on this server first (a refusal is the
    measurement's error, and nothing runs). A failing statement is kept as the measurement's
    error; a lost connection is raised (nothing after it can be measured)."""
    text = None
    try:
        refusal = query_guard.query_refusal(conn, query)
        if refusal:
            return Measurement(query.name, None, [], error=refusal)
        text = bind(conn, query)
        if text is None:
            return Measurement(query.name, None, [])
        runs: list[Plan] = []
        spent_ms = 0.0
        while len(runs) < performance.repeats and (
                not runs or spent_ms < performance.repeat_within_ms):
            runs.append(explain(conn, text))
            spent_ms += runs[-1].execution_ms
        return Measurement(query.name, text, runs)
    except psycopg.Error as exc:
        if conn.broken or conn.closed:
            raise
        return Measurement(query.name, text, [],
                           error=(str(exc).strip().splitlines() or [type(exc).__name__])[0])


class Measurements:
    """Each key query measured once, kept by name for the whole run (a pytest session, an
    `assess`, a drill step): every verdict about a query reads the same runs."""

    def __init__(self, performance: Performance, memo: InMemory | None = None) -> None:
        self.performance = performance
        self._memo = memo if memo is not None else InMemory()

    def of(self, conn: psycopg.Connection, query: KeyQuery) -> Measurement:
        return self._memo.get(("key query", query.name),
                              lambda: measure(conn, query, self.performance))


def measure_for_baseline(conn: psycopg.Connection, queries: tuple[KeyQuery, ...],
                         performance: Performance) -> dict[str, Any]:
    """What the baseline keeps of each key query: its bound SQL, every run's time, their median
    and spread, the plan's shape, buffers and indexes; for a query that could not run, why."""
    found: dict[str, Any] = {}
    for query in queries:
        measured = measure(conn, query, performance)
        if measured.measured:
            found[query.name] = measured.timing.to_dict()
        elif measured.error is not None:
            found[query.name] = {"sql": measured.sql, "error": measured.error}
    return found
