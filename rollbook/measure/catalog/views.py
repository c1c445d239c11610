"""Views and materialized views: their query (as PostgreSQL prints it back), options, column
defaults (ALTER VIEW ... SET DEFAULT) and whether a materialized view is populated (one made
or refreshed WITH NO DATA errors on every read)."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import NOT_FROM_EXTENSION, Kind, display_name

VIEWS_SQL = f"""\
SELECT n.nspname, c.relname, CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
       pg_get_viewdef(c.oid, true), coalesce(c.reloptions, '{{}}'),
       CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
       ARRAY(SELECT format('%%I %%s', a.attname, pg_get_expr(d.adbin, d.adrelid))
             FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid
                  AND a.attnum = d.adnum
             WHERE d.adrelid = c.oid ORDER BY a.attnum),
       ARRAY(SELECT format('%%I=%%s', a.attname, a.attstattarget) FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND a.attstattarget >= 0
             ORDER BY a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(%(schemas)s)
  AND {NOT_FROM_EXTENSION.format(classid="'pg_class'", objid="c.oid")}
ORDER BY 1, 2"""


@dataclass(frozen=True)
class View:
    kind: str  # "view" or "materialized view"
    definition: str
    options: tuple[str, ...]  # security_barrier, check_option, security_invoker, ...
    populated: bool | None  # a materialized view's; None for a view
    defaults: tuple[str, ...]  # "column expression"
    statistics_targets: tuple[str, ...]  # "column=target" of a materialized view's columns


def _read(rows: list[tuple]) -> dict[str, View]:
    return {display_name(nsp, name): View(kind, definition, tuple(options), populated,
                                          tuple(defaults), tuple(targets))
            for nsp, name, kind, definition, options, populated, defaults, targets in rows}


VIEWS = Kind("view", "views", VIEWS_SQL, _read, View,
             ("kind", "definition", "options", "populated", "defaults", "statistics_targets"),
             brief=lambda v: f"{v.kind} AS {v.definition}", table_of=lambda name, v: name)
