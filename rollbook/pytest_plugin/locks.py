"""The drill step that records each migration's lock footprint and judges the [locks] budget."""
from __future__ import annotations

from rollbook.measure.lock_footprint import Footprint, mode_name, statement_label
from rollbook.runbook.migrations import Migrations
from rollbook.runbook.writers import Write
from rollbook.verdicts.locks import lock_budget, writes_accounted

TITLE = "Lock footprint"


def footprint_rows(footprints: list[Footprint]) -> list[dict[str, str]]:
    """The record's table: per migration and table it locked, the longest ACCESS EXCLUSIVE
    hold and the statement that held it, whether the table was rewritten, the migration's
    timeouts, and the longest wait of another session on that table. A table the migration
    neither locked, rewrote nor made anyone wait on is no row; the longest hold comes first
    (the headline row a collapsed table shows)."""
    held = []
    for footprint in footprints:
        timeouts = "; ".join(f"{name} {'set' if footprint.timeouts.get(name) else 'not set'}"
                             for name in ("lock_timeout", "statement_timeout"))
        for row in footprint.table_rows():
            if not locked(row):
                continue
            held.append((row["exclusive_ms"] or 0.0, {
                "Migration": footprint.command, "Table": row["table"],
                "Longest ACCESS EXCLUSIVE": _ms(row["exclusive_ms"], "not taken"),
                "Statement that held it": row["statement"] or "none: no ACCESS EXCLUSIVE",
                "Rewritten (relfilenode)": row["rewritten"],
                "Locks taken": ", ".join(row["modes"]) or "none",
                "Writers' longest wait": _ms(row["writers_longest_wait_ms"],
                                             "no session waited"),
                "Timeouts set by the migration": timeouts}))
    return [row for _, row in sorted(held, key=lambda pair: -pair[0])]


def locked(row: dict) -> bool:
    """The migration touched this table: held a lock on it, changed its relfilenode (rewrote,
    created or dropped it), or made another session wait on it."""
    return bool(row["modes"] or row["rewritten"] != "kept"
                or row["writers_longest_wait_ms"] is not None)


def _ms(value: float | None, none: str) -> str:
    """Milliseconds, or what it means that there were none (no empty cell in the record)."""
    return none if value is None else f"{value:,.0f} ms"


def check_lock_footprint(drill, migrations: Migrations) -> None:
    """Record the footprint of every upgrade and downgrade `migrations` ran (it must measure
    locks) and fail the drill when the profile's [locks] budget is broken."""
    with drill.step("Lock footprint of every migration within the profile's [locks] budget") \
            as step:
        drill.table(TITLE, footprint_rows(migrations.footprints))
        drill.attach_json("lock footprint, statement by statement",
                          [f.to_dict() for f in migrations.footprints])
        result = drill.check(lock_budget(migrations.footprints, drill.profile.locks))
        step.detail = result.summary


def writes_met_locks(drill, footprint: Footprint, writes: list[Write]) -> None:
    """Every write that waited or failed during the migration is accounted for by its
    footprint; the record shows the writers' longest wait beside the longest lock."""
    with drill.step("Every write that waited or failed is accounted for by the lock footprint") \
            as step:
        result = writes_accounted(footprint, writes)
        drill.attach_json("writes that met the migration", result.observed)
        wait = max(footprint.waits, key=lambda w: w.waited_ms, default=None)
        hold = footprint.longest()
        drill.fact("writers_longest_wait", f"{wait.waited_ms:,.0f} ms on {wait.lock}"
                   if wait else "no write waited")
        drill.fact("longest_lock", f"{mode_name(hold.mode)} {hold.held_ms:,.0f} ms on "
                   f"{hold.relation} ({statement_label(hold)})" if hold else "none")
        step.detail = drill.check(result).summary
