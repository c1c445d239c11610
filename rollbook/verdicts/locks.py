"""Locks: the measured lock footprint of a drill's migrations against the profile's [locks]
budget. A table held ACCESS EXCLUSIVE longer than its limit, or a migration that never set
lock_timeout where the profile requires one, fails with a line naming table, statement, mode
and time."""
from __future__ import annotations

from rollbook.measure.lock_footprint import ACCESS_EXCLUSIVE, Footprint, mode_name, statement_label
from rollbook.record.evidence import CheckResult
from rollbook.runbook.writers import Write
from rollbook.settings.locks import LockBudget


def budget_breaches(footprint: Footprint, budget: LockBudget) -> list[str]:
    """One line per broken limit of one migration."""
    lines = []
    for row in footprint.table_rows():
        limit, hold = budget.limit_for(row["table"]), footprint.longest(row["table"])
        if limit is not None and hold is not None and hold.held_ms > limit:
            lines.append(f"{row['table']}: {mode_name(ACCESS_EXCLUSIVE)} held "
                         f"{hold.held_ms:,.0f} ms by statement {statement_label(hold)} of "
                         f"{footprint.command} (budget {limit:,.0f} ms)")
    if budget.require_lock_timeout and footprint.timeouts.get("lock_timeout") is None:
        lines.append(f"{footprint.command}: never set lock_timeout ([locks] "
                     "require_lock_timeout = true)")
    return lines


def lock_budget(footprints: list[Footprint], budget: LockBudget) -> CheckResult:
    """The verdict over every upgrade and downgrade the drill measured."""
    breaches = [line for footprint in footprints for line in budget_breaches(footprint, budget)]
    longest = [(f.command, row) for f in footprints for row in f.table_rows()
               if row["exclusive_ms"] is not None]
    command, worst = max(longest, key=lambda pair: pair[1]["exclusive_ms"],
                         default=(None, None))
    seen = (f"longest {mode_name(ACCESS_EXCLUSIVE)}: {worst['table']} "
            f"{worst['exclusive_ms']:,.0f} ms ({command}, {worst['statement']})"
            if worst else "no ACCESS EXCLUSIVE lock on a table")
    if not footprints:
        return CheckResult("locks: footprint within budget", False,
                           "no migration's locks were measured; could not verify the budget")
    summary = ("; ".join(breaches) if breaches else
               f"{len(footprints)} migration(s) within the lock budget; {seen}"
               + ("" if budget.any else " (no [locks] budget in the profile)"))
    return CheckResult(
        name="locks: footprint within budget", ok=not breaches, summary=summary,
        observed={"budget": {"max_exclusive_ms": budget.max_exclusive_ms,
                             "tables": budget.tables,
                             "require_lock_timeout": budget.require_lock_timeout},
                  "breaches": breaches,
                  "migrations": [f.summary() for f in footprints]})


SLOW_FLOOR_MS = 250.0  # a write this slow waited, whatever the machine's load


def slow_after(writes: list[Write], before: float) -> float:
    """How slow a write must be to have waited: three times the p95 of the writes answered
    before `before`, and at least SLOW_FLOOR_MS."""
    times = sorted(w.elapsed_ms for w in writes if w.ended < before and w.ok)
    p95 = times[int(0.95 * (len(times) - 1))] if times else 0.0
    return max(SLOW_FLOOR_MS, 3 * p95)


def why(write: Write, footprint: Footprint, taken: set[int]) -> str | None:
    """What in the footprint explains a write that waited or failed, or None. Each wait the
    sampler saw explains one write (`taken`: those already used) unless every overlapping one
    is taken: then the write queued behind them for one of the API's connections."""
    waits = [w for w in footprint.waits if w.first_seen <= write.ended
             and (w.ended or footprint.ended) >= write.started]
    free = [w for w in waits if id(w) not in taken]
    if waits:
        wait = min(free or waits, key=lambda w: abs(w.waited_ms - write.elapsed_ms))
        taken.add(id(wait))
        return (f"{'waited' if free else 'queued behind a write that waited'} "
                f"{wait.waited_ms:,.0f} ms for {mode_name(wait.mode)} on {wait.lock} "
                f"(backend {wait.pid}, from statement #{wait.statement})"
                + ("" if write.ok else f", then {write.outcome}"))
    if not write.ok and write.ended >= footprint.committed - footprint.interval_ms / 1000:
        return f"{write.outcome} once the downgrade had committed: the schema changed under it"
    return None


def writes_accounted(footprint: Footprint, writes: list[Write]) -> CheckResult:
    """Every write that waited (slower than slow_after) or failed while the migration ran is
    explained by its footprint: a wait the sampler saw, or the commit that changed the schema."""
    slow_ms = slow_after(writes, footprint.started)
    met = sorted((w for w in writes if w.started < footprint.ended
                  and w.ended > footprint.started and (not w.ok or w.elapsed_ms > slow_ms)),
                 key=lambda w: w.started)
    taken: set[int] = set()
    rows = [{"sent_s": round(w.started - footprint.started, 3),
             "elapsed_ms": round(w.elapsed_ms, 1), "outcome": w.outcome,
             "accounted_for_by": why(w, footprint, taken)} for w in met]
    missing = [r for r in rows if r["accounted_for_by"] is None]
    longest = max(footprint.waits, key=lambda w: w.waited_ms, default=None)
    seen = (f"{len(met)} writes waited (> {slow_ms:,.0f} ms) or failed during "
            f"{footprint.command}, {len(footprint.waits)} waits on its backend measured"
            + (f"; the writers' longest wait {longest.waited_ms:,.0f} ms on {longest.lock}"
               if longest else ""))
    summary = (f"{len(missing)} of {len(met)} writes that waited or failed are not in the lock "
               "footprint: " + "; ".join(f"sent at +{r['sent_s']} s, {r['elapsed_ms']} ms, "
                                         f"{r['outcome']}" for r in missing[:5])
               if missing else seen)
    return CheckResult("locks: every write that met the migration accounted for", not missing,
                       summary, observed={"slow_ms": slow_ms, "writes": rows,
                                          "waits": [f"{w.pid} {w.lock} {w.waited_ms:,.0f} ms"
                                                    for w in footprint.waits]})
