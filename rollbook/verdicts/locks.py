"""Locks: the measured lock footprint of a drill's migrations against the profile's [locks]
budget. A table held ACCESS EXCLUSIVE longer than its limit, or a migration that never set
lock_timeout where the profile requires one, fails with a line naming table, statement, mode
and time."""
from __future__ import annotations

from rollbook.measure.lock_footprint import ACCESS_EXCLUSIVE, Footprint, mode_name, statement_label
from rollbook.record.evidence import CheckResult
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
