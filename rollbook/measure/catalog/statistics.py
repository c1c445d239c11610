"""Extended statistics objects (CREATE STATISTICS): their columns or expressions and kinds, and
their statistics target (ALTER STATISTICS ... SET STATISTICS)."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind, display_name

STATISTICS_SQL = """\
SELECT n.nspname, s.stxname, tn.nspname, t.relname, pg_get_statisticsobjdef(s.oid),
       nullif(s.stxstattarget, -1)
FROM pg_statistic_ext s
JOIN pg_namespace n ON n.oid = s.stxnamespace
JOIN pg_class t ON t.oid = s.stxrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""


@dataclass(frozen=True)
class Statistics:
    table: str
    definition: str
    statistics_target: int | None  # None: the default


STATISTICS = Kind(
    "statistics", "statistics", STATISTICS_SQL,
    lambda rows: {display_name(nsp, name): Statistics(display_name(tnsp, table), definition,
                                                      target)
                  for nsp, name, tnsp, table, definition, target in rows},
    Statistics, ("definition", "statistics_target"), brief=lambda s: s.definition,
    table_of=lambda name, s: s.table)
