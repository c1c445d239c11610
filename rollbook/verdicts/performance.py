"""Performance: the runbook's "Test query performance", judged from one measurement per key query
(rollbook/measure/plans.py); `compare` is also the slowdown the Performance Degradation trigger
reads, so the check and the trigger cannot disagree.

plan_verdict  the expected indexes are used and a key lookup does not Seq Scan. On a small table
              the planner rightly prefers a Seq Scan; there the plan is taken again with
              enable_seqscan off (SET LOCAL, read-only), which still proves the index usable.
time_verdict  the median run within the query's budget, and no slowdown against the baseline.
compare       a slowdown decided on evidence that holds on a shared machine:
  - now's median against the baseline's median plus SPREADS spreads (the spread is the runs'
    median absolute deviation), and, unless the plan changed, less SPREADS spreads of its own:
    a ratio judged with the spread of both sides;
  - times below the noise floor count as the floor: sub-millisecond jitter is not a ratio;
  - the work decides the limit. A plan of another shape (a Seq Scan where an Index Scan was) or
    query_slowdown_ratio times the baseline's buffers is the database doing more: that is
    evidence on its own, and the runbook's limit applies (1.5x). The same shape and buffers is
    the same work: a slower time is then the machine's load, and counts only beyond
    same_plan_slowdown_ratio (3x).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from rollbook.measure.plans import (
    EXPLAIN,
    FORCE_INDEX_SQL,
    INDEX_TABLE_SQL,
    PAGES_SQL,
    Measurement,
    Plan,
    Timing,
    explain,
    index_table,
    relation_pages,
)
from rollbook.record.evidence import CheckResult
from rollbook.settings.profile import KeyQuery, Profile

SPREADS = 2  # how many spreads of each side a ratio must clear
SAME, CHANGED, UNKNOWN = "same", "changed", "unknown"


@dataclass(frozen=True)
class Thresholds:
    max_ratio: float         # the runbook's "> 50 % slower": query_slowdown_ratio
    same_plan_ratio: float   # same plan and buffers: same_plan_slowdown_ratio
    noise_floor_ms: float

    @classmethod
    def of(cls, profile: Profile) -> "Thresholds":
        return cls(profile.triggers.query_slowdown_ratio,
                   profile.triggers.same_plan_slowdown_ratio,
                   profile.performance.noise_floor_ms)


@dataclass(frozen=True)
class Slowdown:
    """Now against the baseline: the work compared, the limit that follows, the verdict."""

    now: Timing
    before: Timing
    thresholds: Thresholds
    work: str         # SAME, CHANGED or UNKNOWN
    work_detail: str

    @property
    def reference_ms(self) -> float:
        return max(self.before.median_ms + SPREADS * self.before.spread_ms,
                   self.thresholds.noise_floor_ms)

    @property
    def limit_ratio(self) -> float:
        t = self.thresholds
        return t.same_plan_ratio if self.work == SAME else t.max_ratio

    @property
    def now_spreads_ms(self) -> float:
        """How much now's own jitter widens the limit: nothing when the plan changed."""
        return 0.0 if self.work == CHANGED else SPREADS * self.now.spread_ms

    @property
    def limit_ms(self) -> float:
        return self.limit_ratio * self.reference_ms + self.now_spreads_ms

    @property
    def ratio(self) -> float:
        """Now's median over the baseline's, as measured (the limit applies the floor)."""
        return self.now.median_ms / max(self.before.median_ms, 1e-9)

    @property
    def slow(self) -> bool:
        return self.now.median_ms > self.limit_ms

    def measured(self) -> str:
        best = " (its best run: an older baseline)" if self.before.legacy else ""
        return (f"{self.now.median_ms:.3f} ms (median of {len(self.now.runs_ms)}, spread "
                f"{self.now.spread_ms:.3f}) vs {self.before.median_ms:.3f} ms at baseline{best}"
                f" ({self.ratio:.2f}x)")

    def threshold(self) -> str:
        """The limit in ms, and how it follows from the ratio, the baseline and the floor."""
        floor, before = self.thresholds.noise_floor_ms, self.before
        spreads = f" + {SPREADS} spreads of {before.spread_ms:.3f}" if before.spread_ms else ""
        if before.median_ms + SPREADS * before.spread_ms < floor:
            reference = (f"the noise floor {floor:g} ms (the baseline's {before.median_ms:.3f} "
                         f"ms{spreads} is below it)")
        else:
            reference = f"the baseline's {before.median_ms:.3f} ms{spreads}"
        now = (f" + {SPREADS} spreads of now ({self.now.spread_ms:.3f})"
               if self.now_spreads_ms else "")
        return f"{self.limit_ms:.3f} ms = {self.limit_ratio:g}x {reference}{now}"

    def line(self) -> str:
        return f"{self.measured()}; {self.work_detail}; limit {self.threshold()}"

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.to_dict(), "baseline": self.before.to_dict(),
                "work": self.work, "work_detail": self.work_detail, "ratio": round(self.ratio, 3),
                "limit_ratio": self.limit_ratio, "limit_ms": round(self.limit_ms, 3),
                "noise_floor_ms": self.thresholds.noise_floor_ms, "spreads": SPREADS,
                "slow": self.slow, "baseline_sql_differs": self.now.sql != self.before.sql,
                "baseline_format": self.before.legacy or "current"}


def _only_in(these: tuple[str, ...], those: tuple[str, ...]) -> list[str]:
    extra = Counter(s.strip() for s in these) - Counter(s.strip() for s in those)
    return sorted(extra.elements())


def _plan_change(now: Timing, before: Timing) -> str | None:
    """How the plan differs from the baseline's, or None when it does not."""
    if now.shape is not None and before.shape is not None:
        if now.shape == before.shape:
            return None
        new, gone = _only_in(now.shape, before.shape), _only_in(before.shape, now.shape)
        if not new and not gone:
            return "plan changed: the same nodes in another tree"
        return ("plan changed: now " + (", ".join(new) or "fewer nodes")
                + (f"; no longer {', '.join(gone)}" if gone else ""))
    if (sorted(now.indexes), sorted(now.seq_scans)) == (sorted(before.indexes),
                                                        sorted(before.seq_scans)):
        return None
    return (f"plan changed: indexes {', '.join(now.indexes) or 'none'} (baseline "
            f"{', '.join(before.indexes) or 'none'}), Seq Scans on "
            f"{', '.join(now.seq_scans) or 'nothing'} (baseline "
            f"{', '.join(before.seq_scans) or 'nothing'})")


def _work(now: Timing, before: Timing, thresholds: Thresholds) -> tuple[str, str]:
    max_ratio = thresholds.max_ratio
    change = _plan_change(now, before)
    notes = [change] if change else []
    buffers_known = now.buffers is not None and before.buffers is not None
    if buffers_known and now.sql == before.sql:
        if now.buffers > max_ratio * max(before.buffers, 1):
            notes.append(f"{now.buffers} buffers vs {before.buffers} at baseline "
                         f"({now.buffers / max(before.buffers, 1):.1f}x)")
        elif not change:
            return SAME, (f"same plan and buffers ({now.buffers} vs {before.buffers}): a "
                          "slowdown is the machine's load, not the database's, below "
                          f"{thresholds.same_plan_ratio:g}x")
    if notes:
        return CHANGED, "; ".join(notes)
    why = ("the baseline bound other values" if now.sql != before.sql
           else "the baseline did not record them")
    return UNKNOWN, f"same plan, buffers not compared ({why})"


def compare(now: Timing, before: Timing, thresholds: Thresholds) -> Slowdown:
    """Is `now` slower than `before`, on the evidence of both spreads and the work done?"""
    return Slowdown(now, before, thresholds, *_work(now, before, thresholds))


def slowdown(measured: Measurement, baseline_entry: dict[str, Any] | None,
             thresholds: Thresholds) -> Slowdown | None:
    """The measurement against its baseline entry; None when either has no time."""
    before = Timing.from_baseline(baseline_entry) if baseline_entry else None
    if before is None or not measured.measured:
        return None
    return compare(measured.timing, before, thresholds)


def _failed_to_run(name: str, query: KeyQuery, measured: Measurement) -> CheckResult:
    return CheckResult(name, False, f"{query.name}: the query failed: {measured.error}. Hint: "
                       "run it in psql; the rollback may have left a table or column out",
                       [EXPLAIN + (measured.sql or query.sql)], {"error": measured.error})


def _problems(query: KeyQuery, plan: Plan) -> list[str]:
    found = [f"index {i} not used" for i in query.expect_indexes if i not in plan.indexes]
    if query.key_lookup:
        found += [f"Seq Scan on {r}" for r in plan.seq_scans]
    return found


def plan_verdict(conn: psycopg.Connection, query: KeyQuery, measured: Measurement,
                 small_table_pages: int) -> CheckResult:
    """The expected indexes appear in the measured plan; a key lookup does not Seq Scan."""
    name = f"plan: {query.name}"
    if measured.error is not None:
        return _failed_to_run(name, query, measured)
    if not measured.measured:
        return CheckResult(name, True, f"{query.name}: nothing to look up (the parameters "
                           "query found no row)", [query.params or ""], {})
    plan, text = measured.plan, measured.sql
    statements = [EXPLAIN + text]
    observed: dict[str, Any] = {"expect_indexes": list(query.expect_indexes),
                                "key_lookup": query.key_lookup, "plan": plan.raw,
                                "indexes": plan.indexes, "seq_scans": plan.seq_scans,
                                "shape": plan.shape, "buffers": plan.buffers}
    problems = _problems(query, plan)
    if not problems:
        used = ", ".join(plan.indexes) or "no index"
        return CheckResult(name, True, f"{query.name}: uses {used}", statements, observed)
    pages: dict[str, int | None] = {}
    for index in query.expect_indexes:
        home = index_table(conn, index)
        if home is None:
            return CheckResult(name, False, f"{query.name}: index {index} does not exist; the "
                               f"plan does {'; '.join(problems)}. Hint: the rollback did not "
                               "restore it (see the schema check)", [*statements,
                                                                     INDEX_TABLE_SQL], observed)
        pages[home[0]] = home[1]
    for relation in plan.seq_scans:
        pages[relation] = relation_pages(conn, relation)
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


def time_verdict(query: KeyQuery, measured: Measurement, baseline_entry: dict[str, Any] | None,
                 profile: Profile) -> CheckResult:
    """The median run within the query's budget, and no slowdown against the baseline."""
    name = f"time: {query.name}"
    if measured.error is not None:
        return _failed_to_run(name, query, measured)
    if not measured.measured:
        return CheckResult(name, True, f"{query.name}: nothing to look up", [], {})
    timing = measured.timing
    performance = profile.performance
    budget = query.budget_ms if query.budget_ms is not None else performance.default_budget_ms
    observed: dict[str, Any] = {**timing.to_dict(), "budget_ms": budget,
                                "plan": measured.plan.raw}
    problems = []
    if timing.median_ms > budget:
        problems.append(f"{timing.median_ms:.3f} ms (median of {len(timing.runs_ms)}) is over "
                        f"its budget of {budget:g} ms")
    shown = (f"{timing.median_ms:.3f} ms (median of {len(timing.runs_ms)}), budget "
             f"{budget:g} ms")
    found = slowdown(measured, baseline_entry, Thresholds.of(profile))
    if found is not None:
        observed["slowdown"] = found.to_dict()
        shown = found.line() + f"; budget {budget:g} ms"
        if found.slow:
            problems.append(f"slower than at baseline: {found.line()}")
    elif baseline_entry:
        observed["baseline"] = baseline_entry
        shown += (f"; the baseline holds no time for it "
                  f"({baseline_entry.get('error', 'no time recorded')})")
    if problems:
        return CheckResult(name, False, f"{query.name}: {'; '.join(problems)}. Hint: compare "
                           "the attached plan with the baseline's (shape, buffers)",
                           [EXPLAIN + measured.sql], observed)
    return CheckResult(name, True, f"{query.name}: {shown}", [EXPLAIN + measured.sql], observed)


def query_verdicts(conn: psycopg.Connection, query: KeyQuery, measured: Measurement,
                   profile: Profile, baseline_plans: dict[str, Any] | None
                   ) -> list[CheckResult]:
    """Plan and time of one key query, from its one measurement."""
    return [plan_verdict(conn, query, measured, profile.performance.small_table_pages),
            time_verdict(query, measured, (baseline_plans or {}).get(query.name), profile)]
