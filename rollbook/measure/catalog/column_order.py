"""The order of a table's columns, which `INSERT` without a column list and `COPY` depend on:
a downgrade that re-adds a column puts it at the end. Only the columns on both sides are
compared in order; one added or dropped is the tables comparator's line."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollbook.measure.catalog.base import Difference, Kind, display_name

COLUMN_ORDER_SQL = """\
SELECT n.nspname, c.relname,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""


@dataclass(frozen=True)
class ColumnOrder:
    columns: tuple[str, ...]


class _ColumnOrder(Kind):
    def compare(self, before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
        found = []
        for table in sorted(before.keys() & after.keys()):
            old, new = before[table].columns, after[table].columns
            old_common = tuple(c for c in old if c in new)
            new_common = tuple(c for c in new if c in old)
            if old_common != new_common:
                found.append(Difference(self.name, table, "changed", old, new, "column_order",
                                        table))
        return found


COLUMN_ORDER = _ColumnOrder(
    "table", "column_order", COLUMN_ORDER_SQL,
    lambda rows: {display_name(nsp, rel): ColumnOrder(tuple(columns))
                  for nsp, rel, columns in rows},
    ColumnOrder, ("columns",), brief=lambda o: ", ".join(o.columns),
    table_of=lambda name, order: name)
