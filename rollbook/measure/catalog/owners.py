"""Owners of schemas, tables, views, sequences, routines and types."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind
from rollbook.measure.catalog.objects import OBJECTS_CTE, object_name, relation_of

OWNERS_SQL = OBJECTS_CTE + """\
SELECT i.type, i.identity, s.relnsp, s.relname, pg_get_userbyid(s.owner)
FROM scoped s, pg_identify_object(s.classid, s.objid, 0) i
WHERE s.owner IS NOT NULL
ORDER BY 1, 2"""


@dataclass(frozen=True)
class Owner:
    role: str
    table: str | None  # the relation it belongs to
    object: str  # what it is of, e.g. "function f(integer)"


def _read(rows: list[tuple]) -> dict[str, Owner]:
    return {f"of {object_name(kind, identity)}": Owner(
                role, relation_of(relnsp, relname), object_name(kind, identity))
            for kind, identity, relnsp, relname, role in rows}


OWNERS = Kind("owner", "owners", OWNERS_SQL, _read, Owner, ("role",),
              brief=lambda o: o.role,
              of=lambda r: r.object, table_of=lambda name, o: o.table)
