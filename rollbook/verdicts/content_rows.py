"""Content's rows named: where a table's baseline rows no longer hash as they did, the keys of
the rows that changed, went missing or were added, from the baseline's row digests alone
(measure/row_digests.py), within the key ranges bisection found, else over all the baseline
rows. The screen shows the first few of each; the check's evidence holds every key."""
from __future__ import annotations

from typing import Any

from psycopg import sql

from rollbook.measure import fingerprint, row_digests_read
from rollbook.verdicts.measured import Measured

SHOWN = 10  # keys of each kind in the one-line summary
COLUMNS_HINT = ("`rollbook diff-rows --baseline BASELINE --against DSN` names the columns that "
                "differ for each changed key, DSN a database holding the rows as they were (the "
                "pre-rollback backup restored)")


def name_rows(run: Measured, table: str, ranges: list[dict[str, Any]] | None,
              span: tuple[int | None, int | None] = (None, None)
              ) -> row_digests_read.Differences | None:
    """The rows of `table` that differ from its row digests, in the bisection's `ranges` (None:
    every baseline row within `span`); None when the baseline kept no row digests for it."""
    baseline = run.baseline
    layout = baseline.row_layout(table) if baseline is not None else None
    if layout is None:
        return None
    columns = fingerprint.table_columns(run.conn, table) or {}
    by_key = baseline.range_key(table)
    scope = None
    if by_key and columns.get(by_key[0]) in fingerprint.INTEGER_TYPES:
        scope = sql.SQL("{} <= {}").format(sql.Identifier("t", by_key[0]),
                                           sql.Literal(by_key[1]))
    scope = fingerprint.without(scope, run.leave_out.get(table), columns)
    if not layout.keys.numeric:  # bisection's ranges are of the key's first column
        spans = [(None, None)]
    elif ranges is not None:
        spans = [(r["from"], r["to"]) for r in ranges]
    else:
        spans = [span]
    return row_digests_read.compare(run.conn, baseline.rows_path, table, layout, run.algorithm,
                               spans, scope)


def describe(found: row_digests_read.Differences, key: tuple[str, ...]) -> str:
    """One line: how many rows of each kind, and the first SHOWN keys of each."""
    parts = []
    for kind, keys in (("changed", found.changed), ("missing", found.missing),
                       ("added", found.added)):
        if keys:
            more = f", … {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
            parts.append(f"{kind} {len(keys)}: {', '.join(map(str, keys[:SHOWN]))}{more}")
    if not parts:
        return (f"the row digests name no row ({found.compared} baseline rows compared); "
                "the baseline's digest and its row digests disagree")
    return f"rows by key ({', '.join(key)}): " + "; ".join(parts) + " (all in the evidence)"
