"""Kinds whose objects are one definition each, named as pg_identify_object() names them:
collations, operators, casts, text search objects, foreign-data wrappers, servers and user
mappings, publications. Their owners, grants and comments are compared by `owners`, `grants`
and `comments` (objects.py lists them), for baselines that recorded the kind."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind, short_identity

# The identity of object `objid` of catalog `classid`, and a WHERE clause that leaves out what
# an extension created.
IDENTITY = "(pg_identify_object('{classid}'::regclass, {objid}, 0)).identity"
NOT_FROM_EXTENSION = """NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.deptype = 'e'
                                    AND e.classid = '{classid}'::regclass AND e.objid = {objid})"""


def in_schemas(classid: str, alias: str, nsp_column: str, definition: str) -> str:
    """(identity, definition) of each object of catalog `classid` (as `alias`, its schema in
    column `nsp_column`) in the selected schemas, but an extension's."""
    return f"""\
SELECT {IDENTITY.format(classid=classid, objid=f"{alias}.oid")}, {definition}
FROM {classid} {alias}
JOIN pg_namespace n ON n.oid = {alias}.{nsp_column}
WHERE n.nspname = ANY(%(schemas)s)
  AND {NOT_FROM_EXTENSION.format(classid=classid, objid=f"{alias}.oid")}
ORDER BY 1"""


@dataclass(frozen=True)
class Definition:
    definition: str


def defined(name: str, key: str, sql: str, table_of=None) -> Kind:
    """A kind of object whose `sql` returns (pg_identify_object identity, definition) rows;
    `name` is the object type as pg_identify_object() names it."""
    return Kind(name, key, sql,
                lambda rows: {short_identity(identity): Definition(definition)
                              for identity, definition in rows},
                Definition, ("definition",), brief=lambda d: d.definition, covers=(name,),
                **({"table_of": table_of} if table_of else {}))
