"""Indexes: their definition (columns, method, predicate, uniqueness) and whether they are
valid and ready, which a failed CREATE INDEX CONCURRENTLY leaves false, and whether its table
is clustered on it (CLUSTER ON) or a column of it has a statistics target."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind, display_name

INDEXES_SQL = """\
SELECT n.nspname, i.relname, t.relname, pg_get_indexdef(ix.indexrelid), ix.indisvalid,
       ix.indisready, ix.indisprimary, ix.indisunique, ix.indisclustered,
       ARRAY(SELECT format('%%s=%%s', a.attnum, a.attstattarget) FROM pg_attribute a
             WHERE a.attrelid = i.oid AND a.attstattarget >= 0 ORDER BY a.attnum)
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    definition: str
    valid: bool
    ready: bool
    primary: bool
    unique: bool
    clustered: bool  # ALTER TABLE ... CLUSTER ON this index
    statistics_targets: tuple[str, ...]  # "column number=target" (ALTER INDEX ... SET STATISTICS)


def _read(rows: list[tuple]) -> dict[str, Index]:
    return {display_name(nsp, name): Index(display_name(nsp, name), display_name(nsp, rel),
                                           definition, valid, ready, primary, unique, clustered,
                                           tuple(targets))
            for nsp, name, rel, definition, valid, ready, primary, unique, clustered, targets
            in rows}


INDEXES = Kind("index", "indexes", INDEXES_SQL, _read, Index,
               ("table", "definition", "valid", "ready", "primary", "unique", "clustered",
                "statistics_targets"),
               brief=lambda i: i.definition, table_of=lambda name, i: i.table)
