"""What a restore would throw away: rows written since the backup was taken."""
from __future__ import annotations

import psycopg

from rollbook.measure.baseline import Baseline
from rollbook.measure.impact import table_counts
from rollbook.record.evidence import CheckResult


def rows_written_since(conn: psycopg.Connection, at_backup: Baseline) -> CheckResult:
    """Per table, rows now minus rows when the backup was taken: what a restore discards.

    Net counts: a row deleted and another written since cancel out, so the figure is a floor.
    The verdict is informational (ok); the operator decides with the numbers in front of them.
    """
    counts, statements = table_counts(conn)
    since = {table: counts.get(table, 0) - before.rows
             for table, before in sorted(at_backup.tables.items())}
    written = {table: n for table, n in since.items() if n > 0}
    total = sum(written.values())
    summary = (f"a restore from the backup of {at_backup.created_at} discards {total} rows "
               f"written since: " + ", ".join(f"{t} {n}" for t, n in written.items())
               if written else "no rows written since the backup: a restore discards nothing")
    return CheckResult("rows a restore would discard", True, summary, sql=statements,
                       observed={"written_since_backup": written, "net_change": since,
                                 "total": total})
