"""Publications (logical replication): what each publishes (its flags: all tables, which
operations, via the partition root, ...), the schemas it publishes whole, and each table it
names, with its row filter and column list. A table dropped from a publication stops
replicating to whoever subscribes."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind, display_name

# Every flag of pg_publication, on any server version; the schemas of FOR TABLES IN SCHEMA
# (PostgreSQL 15+: pg_publication_namespace, reached through pg_depend to run on older ones).
PUBLICATIONS_SQL = """\
SELECT p.pubname,
       ARRAY(SELECT format('%%s=%%s', key, value)
             FROM jsonb_each_text(to_jsonb(p) - 'oid' - 'pubname' - 'pubowner') ORDER BY 1),
       ARRAY(SELECT n.nspname::text FROM pg_depend d
             JOIN pg_depend s ON s.classid = d.classid AND s.objid = d.objid
                  AND s.refclassid = 'pg_namespace'::regclass
             JOIN pg_namespace n ON n.oid = s.refobjid
             WHERE d.classid = to_regclass('pg_catalog.pg_publication_namespace')
               AND d.refclassid = 'pg_publication'::regclass AND d.refobjid = p.oid
             ORDER BY 1)
FROM pg_publication p
ORDER BY 1"""

# The row filter and column list (PostgreSQL 15+) as pg_publication_tables prints them.
PUBLICATION_TABLES_SQL = """\
SELECT p.pubname, n.nspname, c.relname,
       to_jsonb(pt) ->> 'rowfilter',
       ARRAY(SELECT a.attname::text
             FROM jsonb_array_elements_text(CASE jsonb_typeof(to_jsonb(r) -> 'prattrs')
                                            WHEN 'array' THEN to_jsonb(r) -> 'prattrs'
                                            ELSE '[]' END) k(attnum)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum::int2
             ORDER BY a.attnum)
FROM pg_publication_rel r
JOIN pg_publication p ON p.oid = r.prpubid
JOIN pg_class c ON c.oid = r.prrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname AND pt.schemaname = n.nspname
     AND pt.tablename = c.relname
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2, 3"""


@dataclass(frozen=True)
class Publication:
    options: tuple[str, ...]  # "puballtables=false", "pubinsert=true", ...
    schemas: tuple[str, ...]  # FOR TABLES IN SCHEMA


@dataclass(frozen=True)
class PublicationTable:
    publication: str
    table: str
    row_filter: str | None
    columns: tuple[str, ...]  # the column list; () for every column


PUBLICATIONS = Kind(
    "publication", "publications", PUBLICATIONS_SQL,
    lambda rows: {name: Publication(tuple(options), tuple(schemas))
                  for name, options, schemas in rows},
    Publication, ("options", "schemas"), brief=lambda p: ", ".join(p.options),
    covers=("publication",))

PUBLICATION_TABLES = Kind(
    "publication table", "publication_tables", PUBLICATION_TABLES_SQL,
    lambda rows: {f"{display_name(nsp, rel)} in {pub}": PublicationTable(
                      pub, display_name(nsp, rel), row_filter, tuple(columns))
                  for pub, nsp, rel, row_filter, columns in rows},
    PublicationTable, ("row_filter", "columns"),
    brief=lambda t: f"WHERE {t.row_filter}" if t.row_filter else "every row",
    table_of=lambda name, t: t.table, of=lambda t: f"publication {t.publication}")
