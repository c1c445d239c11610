"""A snapshot of the schema surface from pg_catalog, and the differences between two.

A snapshot holds, per kind of object (see registry.KINDS), every object of the selected
schemas keyed by its display name. It round-trips through JSON for the baseline manifest; a
manifest written before a kind existed simply lacks it, and `diff` compares only the kinds
both sides recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from rollbook.measure.catalog.base import PIN_SEARCH_PATH, Difference
from rollbook.measure.catalog.registry import BY_KEY, KINDS, OWNED, RELATIONS

# Every schema but PostgreSQL's own and those an extension created.
USER_SCHEMAS_SQL = """\
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.deptype = 'e'
                  AND e.classid = 'pg_namespace'::regclass AND e.objid = n.oid)
ORDER BY 1"""
LABELS = {"namespaces": "schemas"}


@dataclass
class Schema:
    """Objects per kind key (registry.KINDS), each mapping keyed by display name.

    `selection` is what was asked for: None for every non-system schema, else their names;
    `schemas` the schemas the snapshot found. `unrecorded` names the compared attributes an
    older baseline lacks (derived on load, never written).
    """

    schemas: tuple[str, ...]
    objects: dict[str, dict[str, Any]]
    selection: tuple[str, ...] | None = None
    unrecorded: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.objects.get("tables", {})

    @property
    def constraints(self) -> dict[str, Any]:
        return self.objects.get("constraints", {})

    @property
    def indexes(self) -> dict[str, Any]:
        return self.objects.get("indexes", {})

    @property
    def sequences(self) -> dict[str, Any]:
        return self.objects.get("sequences", {})

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kind keys this snapshot recorded, in registry order."""
        return tuple(kind.key for kind in KINDS if kind.key in self.objects)

    def not_recorded(self) -> list[str]:
        """Kinds (and attributes) an older baseline did not record, so were not compared."""
        return [kind.key for kind in KINDS if kind.key not in self.objects] + sorted(
            self.unrecorded)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": list(self.schemas),
                                "selection": None if self.selection is None
                                else list(self.selection)}
        for key, records in self.objects.items():
            body[key] = {name: BY_KEY[key].dump(r) for name, r in records.items()}
        return body

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        objects = {kind.key: {name: kind.load(r) for name, r in data[kind.key].items()}
                   for kind in KINDS if kind.key in data}
        unrecorded = frozenset(attr if "." in attr else f"{kind.key}.{attr}"
                               for kind in KINDS if kind.key in objects
                               for attr in kind.unrecorded(objects[kind.key]))
        # A baseline from before `selection` existed captured exactly its `schemas`.
        selection = data["selection"] if "selection" in data else data["schemas"]
        return cls(tuple(data["schemas"]), objects,
                   None if selection is None else tuple(selection), unrecorded)

    def describe(self) -> str:
        counts = [(len(self.tables), "tables"),
                  (sum(len(c) for c in self.tables.values()), "columns")]
        counts += [(len(records), LABELS.get(key, key.replace("_", " ")))
                   for key, records in self.objects.items()
                   if key not in ("tables", "table_options", "column_order", "database")]
        return ", ".join(f"{n} {label}" for n, label in counts if n)


def user_schemas(conn: psycopg.Connection) -> tuple[str, ...]:
    return tuple(row[0] for row in conn.execute(USER_SCHEMAS_SQL).fetchall())


def snapshot(conn: psycopg.Connection, schemas: tuple[str, ...] | list[str] | None = None,
             kinds: tuple[str, ...] | None = None) -> Schema:
    """Read the schema surface of `schemas` (None: every non-system schema) from pg_catalog;
    `kinds` (kind keys) limits it to some kinds of objects."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(PIN_SEARCH_PATH)
        found = tuple(schemas) if schemas is not None else user_schemas(conn)
        params = {"schemas": list(found)}
        objects = {kind.key: kind.read(cur.execute(kind.sql, params).fetchall())
                   for kind in KINDS if kinds is None or kind.key in kinds}
    return Schema(found, objects, None if schemas is None else tuple(schemas))


def statements(kinds: tuple[str, ...] | None = None) -> list[str]:
    """The SQL a snapshot of `kinds` (None: all) runs, for the evidence."""
    return [PIN_SEARCH_PATH, USER_SCHEMAS_SQL,
            *(k.sql for k in KINDS if kinds is None or k.key in kinds)]


def diff(before: Schema, after: Schema) -> list[Difference]:
    """Every difference from `before` (expected) to `after` (found), over the kinds both
    recorded.

    What belongs to a table or view that is missing or extra as a whole (its columns,
    constraints, indexes, grants, ...), and the owner, grants and comment of a schema, type or
    routine missing or extra as a whole, are not listed again: the object's own line says it.
    The owners, grants and comments of object types a kind `covers` are compared only when
    `before` recorded that kind.
    """
    compared = [(kind, kind.compare(before.objects[kind.key], after.objects[kind.key]))
                for kind in KINDS if kind.key in before.objects and kind.key in after.objects]
    whole = {d.name for kind, found in compared if kind in RELATIONS for d in found
             if d.change != "changed"}
    objects = {f"{d.kind} {d.name}" for kind, found in compared if kind in OWNED for d in found
               if d.change != "changed"}
    uncovered = tuple(f"{t} " for kind in KINDS if kind.key not in before.objects
                      for t in kind.covers)
    return [d for kind, found in compared for d in found
            if (d.table not in whole or (kind in RELATIONS and d.change != "changed"))
            and d.of not in objects and not (d.of and d.of.startswith(uncovered))]


def format_diff(diffs: list[Difference]) -> str:
    """One readable line per difference, e.g. `column journals.user_id: type integer -> uuid`."""
    return "\n".join(str(d) for d in diffs)
