"""Comments (COMMENT ON) on schemas, tables, columns, views, sequences, indexes,
constraints, triggers, policies, routines and types."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind
from rollbook.measure.catalog.objects import OBJECTS_CTE, object_name, relation_of

COMMENTS_SQL = OBJECTS_CTE + """\
SELECT i.type, i.identity, s.relnsp, s.relname, d.description
FROM pg_description d
JOIN scoped s ON s.classid = d.classoid AND s.objid = d.objoid,
     pg_identify_object(d.classoid, d.objoid, d.objsubid) i
ORDER BY 1, 2"""


@dataclass(frozen=True)
class Comment:
    text: str
    table: str | None  # the relation it belongs to
    object: str  # what it is of, e.g. "function f(integer)"


def _read(rows: list[tuple]) -> dict[str, Comment]:
    return {f"on {object_name(kind, identity)}": Comment(
                text, relation_of(relnsp, relname), object_name(kind, identity))
            for kind, identity, relnsp, relname, text in rows}


COMMENTS = Kind("comment", "comments", COMMENTS_SQL, _read, Comment, ("text",),
                brief=lambda c: repr(c.text),
              of=lambda r: r.object, table_of=lambda name, c: c.table)
