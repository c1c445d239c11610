"""Query plans: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), parsed, asserted, compared to a baseline.

Two verdicts per key query. Plan: the expected indexes are used, and a key lookup does not Seq
Scan. On a small table the planner rightly prefers a Seq Scan; there the plan is taken again
with enable_seqscan off (SET LOCAL, read-only), which still proves the index exists and is
usable. Time: the best of N executions within the query's budget and within
query_slowdown_ratio x the baseline's time (the runbook's "> 50 % slower" trigger), with a
noise floor so sub-millisecond queries do not fail on jitter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollbook.record.evidence import CheckResult
from rollbook.settings.profile import KeyQuery, Performance

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
FORCE_INDEX_SQL = "SELECT set_config('enable_seqscan', 'off', true)"
INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
PAGES_SQL = "SELECT relpages FROM pg_class WHERE oid = to_regclass(%s)"
INDEX_TABLE_SQL = """\
SELECT ix.indrelid::regclass::text, t.relpages FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid WHERE ix.indexrelid = to_regclass(%s)"""


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

    def facts(self) -> dict[str, Any]:
        return {"execution_ms": round(self.execution_ms, 3),
                "planning_ms": round(self.planning_ms, 3), "shared_hit": self.shared_hit,
                "shared_read": self.shared_read, "indexes": self.indexes,
                "seq_scans": self.seq_scans, "forced_index": self.forced}


def _walk(node: dict[str, Any], out: list[dict[str, Any]]) -> None:
    out.append({"type": node.get("Node Type"), "relation": node.get("Relation Name"),
                "index": node.get("Index Name"), "rows": node.get("Actual Rows"),
                "loops": node.get("Actual Loops")})
    for child in node.get("Plans", []):
        _walk(child, out)


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


def measure(conn: psycopg.Connection, text: str, repeats: int) -> tuple[Plan, list[float]]:
    """The fastest of `repeats` executions (the first one warms the cache), and all times."""
    plans = [explain(conn, text) for _ in range(repeats)]
    return min(plans, key=lambda p: p.execution_ms), [round(p.execution_ms, 3) for p in plans]


def _problems(query: KeyQuery, plan: Plan) -> list[str]:
    found = [f"index {i} not used" for i in query.expect_indexes if i not in plan.indexes]
    if query.key_lookup:
        found += [f"Seq Scan on {r}" for r in plan.seq_scans]
    return found


def check_plan(conn: psycopg.Connection, query: KeyQuery, text: str | None, plan: Plan | None,
               small_table_pages: int) -> CheckResult:
    name = f"plan: {query.name}"
    if text is None or plan is None:
        return CheckResult(name, True, f"{query.name}: nothing to look up (the parameters "
                           "query found no row)", [query.params or ""], {})
    statements = [EXPLAIN + text]
    observed: dict[str, Any] = {"expect_indexes": list(query.expect_indexes),
                                "key_lookup": query.key_lookup, "plan": plan.raw,
                                **plan.facts()}
    problems = _problems(query, plan)
    if not problems:
        used = ", ".join(plan.indexes) or "no index"
        return CheckResult(name, True, f"{query.name}: uses {used}", statements, observed)
    pages: dict[str, int | None] = {}
    for index in query.expect_indexes:
        row = conn.execute(INDEX_TABLE_SQL, (index,)).fetchone()
        if row is None:
            return CheckResult(name, False, f"{query.name}: index {index} does not exist; the "
                               f"plan does {'; '.join(problems)}. Hint: the rollback did not "
                               "restore it (see the schema check)", [*statements,
                                                                     INDEX_TABLE_SQL], observed)
        pages[row[0]] = row[1]
    for relation in plan.seq_scans:
        row = conn.execute(PAGES_SQL, (relation,)).fetchone()
        pages[relation] = row[0] if row else None
    observed["relation_pages"] = pages
    statements.append(PAGES_SQL)
    small = all(p is not None and p <= small_table_pages for p in pages.values())
    sizes = ", ".join(f"{table} {count} pages" for table, count in pages.items())
    if small:
        forced = explain(conn, text, force_index=True)
        observed["forced_plan"] = forced.raw
        statements += [FORCE_INDEX_SQL, EXPLAIN + text]
        still = _problems(query, forced)
        if not still:
            return CheckResult(name, True, f"{query.name}: small tables ({sizes}) are Seq "
                               "Scanned by choice; with enable_seqscan off the plan uses "
                               f"{', '.join(forced.indexes)}", statements, observed)
        problems = still
    return CheckResult(name, False, f"{query.name}: {'; '.join(problems)} ({sizes})."
                       " Hint: check that the index exists and is valid, then ANALYZE"
                       " the table", statements, observed)


def check_time(query: KeyQuery, text: str | None, plan: Plan | None, times: list[float],
               baseline_entry: dict[str, Any] | None, *, ratio: float, noise_floor_ms: float,
               default_budget_ms: float) -> CheckResult:
    name = f"time: {query.name}"
    if text is None or plan is None:
        return CheckResult(name, True, f"{query.name}: nothing to look up", [], {})
    budget = query.budget_ms if query.budget_ms is not None else default_budget_ms
    took = plan.execution_ms
    observed: dict[str, Any] = {"execution_ms": round(took, 3), "all_runs_ms": times,
                                "budget_ms": budget, "ratio": ratio, "plan": plan.raw}
    problems = []
    if took > budget:
        problems.append(f"{took:.3f} ms is over its budget of {budget:g} ms")
    shown = f"{took:.3f} ms (best of {len(times)}), budget {budget:g} ms"
    if baseline_entry and baseline_entry.get("execution_ms") is not None:
        then = float(baseline_entry["execution_ms"])
        limit = ratio * max(then, noise_floor_ms)
        observed.update(baseline_ms=then, limit_ms=round(limit, 3),
                        baseline_sql_differs=baseline_entry.get("sql") not in (None, text))
        shown += f", baseline {then:.3f} ms (limit {limit:.3f} ms = {ratio:g}x)"
        if took > limit:
            problems.append(f"{took:.3f} ms is {took / max(then, 1e-9):.1f}x the baseline's "
                            f"{then:.3f} ms (limit {ratio:g}x, floor {noise_floor_ms:g} ms)")
    if problems:
        return CheckResult(name, False, f"{query.name}: {'; '.join(problems)}. Hint: compare "
                           "the attached plan with the baseline's (indexes, buffers)",
                           [EXPLAIN + text], observed)
    return CheckResult(name, True, f"{query.name}: {shown}", [EXPLAIN + text], observed)


def measure_for_baseline(conn: psycopg.Connection, queries: tuple[KeyQuery, ...],
                         repeats: int) -> dict[str, Any]:
    """What the baseline keeps of each key query: its bound SQL, best time, buffers, indexes."""
    found = {}
    for query in queries:
        text = bind(conn, query)
        if text is None:
            continue
        plan, times = measure(conn, text, repeats)
        found[query.name] = {"sql": text, "all_runs_ms": times, **plan.facts()}
    return found


def plan_check(conn: psycopg.Connection, query: KeyQuery, performance: Performance
               ) -> CheckResult:
    """Bind, EXPLAIN ANALYZE once, and judge the plan of `query`."""
    text = bind(conn, query)
    plan = explain(conn, text) if text is not None else None
    return check_plan(conn, query, text, plan, performance.small_table_pages)


def time_check(conn: psycopg.Connection, query: KeyQuery, performance: Performance,
               baseline_plans: dict[str, Any] | None, ratio: float) -> CheckResult:
    """Bind, EXPLAIN ANALYZE `repeats` times, and judge the best time of `query`."""
    text = bind(conn, query)
    plan, times = measure(conn, text, performance.repeats) if text is not None else (None, [])
    return check_time(query, text, plan, times, (baseline_plans or {}).get(query.name),
                      ratio=ratio, noise_floor_ms=performance.noise_floor_ms,
                      default_budget_ms=performance.default_budget_ms)
