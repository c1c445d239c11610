"""Tables and their columns (by name: their order is compared by `column_order`), each
column's statistics target, storage, compression and options, and the table's own properties:
persistence, storage options (its TOAST table's too), row-level security, partitioning,
inheritance, replica identity."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rollbook.measure.catalog.base import Difference, Kind, display_name, load, short_identity

COLUMNS_SQL = """\
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
       nullif(a.attstattarget, -1),
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
       nullif(a.attcompression::text, ''), coalesce(a.attoptions, '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2, 3"""

TABLE_OPTIONS_SQL = """\
SELECT n.nspname, c.relname,
       CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary'
            ELSE 'permanent' END,
       coalesce(c.reloptions, '{}'), coalesce(toast.reloptions, '{}'), am.amname, ts.spcname,
       c.relrowsecurity, c.relforcerowsecurity, pg_get_partkeydef(c.oid), p.relname, pn.nspname,
       pg_get_expr(c.relpartbound, c.oid),
       ARRAY(SELECT h.inhparent::regclass::text FROM pg_inherits h
             WHERE h.inhrelid = c.oid AND NOT c.relispartition ORDER BY h.inhseqno),
       CASE c.relreplident WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full'
            WHEN 'i' THEN 'using index' ELSE 'default' END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class toast ON toast.oid = c.reltoastrelid
LEFT JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""

IDENTITY_KINDS = {"a": "always", "d": "by default"}
GENERATED_KINDS = {"s": "stored", "v": "virtual"}
# attstorage where it is not the type's own; attcompression where one is set
STORAGE = {"p": "plain", "e": "external", "m": "main", "x": "extended"}
COMPRESSION = {"p": "pglz", "l": "lz4"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str | None  # "always", "by default" or None
    generated: str | None  # "stored", "virtual" or None
    collation: str | None  # only when it is not the type's default collation
    statistics_target: int | None  # SET STATISTICS; None: the default
    storage: str | None  # SET STORAGE, only when it is not the type's default
    compression: str | None  # SET COMPRESSION; None: the server's default_toast_compression
    options: tuple[str, ...]  # SET (n_distinct = ...)


@dataclass(frozen=True)
class TableOptions:
    persistence: str  # "permanent", "unlogged"
    options: tuple[str, ...]  # storage parameters, e.g. ("fillfactor=70",)
    toast_options: tuple[str, ...]  # its TOAST table's, e.g. ("autovacuum_enabled=false",)
    access_method: str | None
    tablespace: str | None  # None: the database's default
    row_security: bool
    force_row_security: bool
    partition_key: str | None  # "RANGE (created_at)" on a partitioned table
    partition_of: str | None  # the parent of a partition
    partition_bound: str | None  # "FOR VALUES FROM (...) TO (...)"
    inherits: tuple[str, ...]  # parents by INHERITS (not partitioning)
    replica_identity: str  # "default", "full", "nothing", "using index"


def _read_columns(rows: list[tuple]) -> dict[str, dict[str, Column]]:
    tables: dict[str, dict[str, Column]] = {}
    for (nsp, rel, col, typ, not_null, default, identity, generated, collation, target,
         storage, compression, options) in rows:
        columns = tables.setdefault(display_name(nsp, rel), {})
        if col is not None:
            columns[col] = Column(col, typ, not_null, default, IDENTITY_KINDS.get(identity),
                                  GENERATED_KINDS.get(generated), collation, target,
                                  STORAGE.get(storage, storage),
                                  COMPRESSION.get(compression, compression), tuple(options))
    return tables


def _read_options(rows: list[tuple]) -> dict[str, TableOptions]:
    return {display_name(nsp, rel): TableOptions(
                persistence, tuple(options), tuple(toast), method, space, rls, force, key,
                display_name(pnsp, parent) if parent else None, bound,
                tuple(short_identity(p) for p in inherits), replica)
            for nsp, rel, persistence, options, toast, method, space, rls, force, key, parent,
            pnsp, bound, inherits, replica in rows}


def _columns_brief(columns: dict[str, Any]) -> str:
    return f"{len(columns)} columns: {', '.join(sorted(columns))}"


class _Tables(Kind):
    """A table missing or extra is one line; the columns of a table on both sides are compared
    one by one."""

    def compare(self, before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
        found = [self.absent(name, before.get(name), after.get(name))
                 for name in sorted(before.keys() ^ after.keys())]
        for table in sorted(before.keys() & after.keys()):
            found += [d._replace(name=f"{table}.{d.name}", table=table)
                      for d in COLUMN.compare(before[table], after[table])]
        return found

    def unrecorded(self, records: dict[str, Any]) -> set[str]:
        return {f"columns.{attr}" for columns in records.values()
                for attr in COLUMN.unrecorded(columns)}


COLUMN = Kind("column", "columns", COLUMNS_SQL, _read_columns, Column,
              ("type", "not_null", "default", "identity", "generated", "collation",
               "statistics_target", "storage", "compression", "options"),
              brief=lambda c: c.type)

TABLES = _Tables(
    "table", "tables", COLUMNS_SQL, _read_columns, dict,
    compared=(), brief=_columns_brief, table_of=lambda name, columns: name,
    dump=lambda columns: {name: asdict(c) for name, c in columns.items()},
    undump=lambda data: {name: load(Column, c) for name, c in data.items()})

TABLE_OPTIONS = Kind(
    "table", "table_options", TABLE_OPTIONS_SQL, _read_options, TableOptions,
    ("persistence", "options", "toast_options", "access_method", "tablespace", "row_security",
     "force_row_security", "partition_key", "partition_of", "partition_bound", "inherits",
     "replica_identity"),
    brief=lambda o: o.persistence, table_of=lambda name, options: name)
