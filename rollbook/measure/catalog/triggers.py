"""Triggers on tables and views (their CREATE TRIGGER text and whether they fire), rules, and
the database's event triggers.

Internal triggers (those behind foreign keys) and the clones a partitioned table's trigger
leaves on each partition are left out, as pg_dump leaves them out.
"""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import NOT_FROM_EXTENSION, Kind, display_name, short_identity

TRIGGERS_SQL = f"""\
SELECT n.nspname, c.relname, tg.tgname, pg_get_triggerdef(tg.oid, true), tg.tgenabled
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND n.nspname = ANY(%(schemas)s)
  AND {NOT_FROM_EXTENSION.format(classid="'pg_class'", objid="c.oid")}
ORDER BY 1, 2, 3"""

RULES_SQL = f"""\
SELECT n.nspname, c.relname, r.rulename, pg_get_ruledef(r.oid, true), r.ev_enabled
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND n.nspname = ANY(%(schemas)s)
  AND {NOT_FROM_EXTENSION.format(classid="'pg_class'", objid="c.oid")}
ORDER BY 1, 2, 3"""

# Event triggers belong to the database, not to a schema: all are listed.
EVENT_TRIGGERS_SQL = f"""\
SELECT et.evtname, et.evtevent, et.evtfoid::regprocedure::text, coalesce(et.evttags, '{{}}'),
       et.evtenabled
FROM pg_event_trigger et
WHERE {NOT_FROM_EXTENSION.format(classid="'pg_event_trigger'", objid="et.oid")}
ORDER BY 1"""

FIRING = {"O": "enabled", "D": "disabled", "R": "replica only", "A": "always"}


@dataclass(frozen=True)
class Trigger:
    table: str
    definition: str
    enabled: str  # "enabled", "disabled", "replica only", "always"


def _read(rows: list[tuple]) -> dict[str, Trigger]:
    return {f"{display_name(nsp, rel)}.{name}": Trigger(display_name(nsp, rel), definition,
                                                        FIRING.get(enabled, enabled))
            for nsp, rel, name, definition, enabled in rows}


TRIGGERS = Kind("trigger", "triggers", TRIGGERS_SQL, _read, Trigger, ("definition", "enabled"),
                brief=lambda t: t.definition, table_of=lambda name, t: t.table)
@dataclass(frozen=True)
class EventTrigger:
    event: str
    function: str
    tags: tuple[str, ...]
    enabled: str


EVENT_TRIGGERS = Kind(
    "event trigger", "event_triggers", EVENT_TRIGGERS_SQL,
    lambda rows: {name: EventTrigger(event, short_identity(function), tuple(tags),
                                     FIRING.get(enabled, enabled))
                  for name, event, function, tags, enabled in rows},
    EventTrigger, ("event", "function", "tags", "enabled"),
    brief=lambda e: f"ON {e.event} EXECUTE FUNCTION {e.function}")
RULES = Kind("rule", "rules", RULES_SQL, _read, Trigger, ("definition", "enabled"),
             brief=lambda t: t.definition, table_of=lambda name, t: t.table)
