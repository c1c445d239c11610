"""User-defined types: enums (labels in order), domains (base type, collation, default, NOT
NULL, constraints), composite types (attributes in order) and range types."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import NOT_FROM_EXTENSION, Kind, display_name

TYPES_SQL = f"""\
SELECT n.nspname, t.typname, t.typtype, CASE t.typtype
    WHEN 'e' THEN 'ENUM (' || (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                                 ORDER BY e.enumsortorder)
                               FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
    WHEN 'd' THEN concat_ws(' ', 'DOMAIN', format_type(t.typbasetype, t.typtypmod),
        CASE WHEN t.typcollation <> bt.typcollation
             THEN 'COLLATE ' || t.typcollation::regcollation END,
        'DEFAULT ' || pg_get_expr(t.typdefaultbin, 0),
        CASE WHEN t.typnotnull THEN 'NOT NULL' END,
        (SELECT string_agg(format('CONSTRAINT %%I %%s', con.conname,
                                  pg_get_constraintdef(con.oid)), ' ' ORDER BY con.conname)
         FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype <> 'n'))
    WHEN 'c' THEN '(' || (SELECT string_agg(format('%%I %%s', a.attname,
                                                   format_type(a.atttypid, a.atttypmod)),
                                            ', ' ORDER BY a.attnum)
                          FROM pg_attribute a
                          WHERE a.attrelid = t.typrelid AND a.attnum > 0
                            AND NOT a.attisdropped) || ')'
    ELSE (SELECT format('RANGE (SUBTYPE = %%s)', format_type(r.rngsubtype, NULL))
          FROM pg_range r WHERE r.rngtypid = t.oid) END
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_class k ON k.oid = t.typrelid
WHERE t.typtype IN ('e', 'd', 'c', 'r') AND (t.typtype <> 'c' OR k.relkind = 'c')
  AND n.nspname = ANY(%(schemas)s)
  AND {NOT_FROM_EXTENSION.format(classid="'pg_type'", objid="t.oid")}
ORDER BY 1, 2"""

TYPE_KINDS = {"e": "enum", "d": "domain", "c": "composite type", "r": "range type"}


@dataclass(frozen=True)
class UserType:
    kind: str  # "enum", "domain", "composite type", "range type"
    definition: str


def _read(rows: list[tuple]) -> dict[str, UserType]:
    return {display_name(nsp, name): UserType(TYPE_KINDS.get(kind, kind), definition)
            for nsp, name, kind, definition in rows}


TYPES = Kind("type", "types", TYPES_SQL, _read, UserType, ("kind", "definition"),
             brief=lambda t: t.definition)
