"""Views and materialized views: their query (as PostgreSQL prints it back) and options."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import NOT_FROM_EXTENSION, Kind, display_name

VIEWS_SQL = f"""\
SELECT n.nspname, c.relname, CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
       pg_get_viewdef(c.oid, true), coalesce(c.reloptions, '{{}}')
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


def _read(rows: list[tuple]) -> dict[str, View]:
    return {display_name(nsp, name): View(kind, definition, tuple(options))
            for nsp, name, kind, definition, options in rows}


VIEWS = Kind("view", "views", VIEWS_SQL, _read, View, ("kind", "definition", "options"),
             brief=lambda v: f"{v.kind} AS {v.definition}", table_of=lambda name, v: name)
