"""Privileges on schemas, tables, columns, views, sequences, routines and types, per grantee,
from the objects' ACLs. An ACL never set reads as its default (acldefault), so revoking the
owner's own or PUBLIC's default privileges is a difference too. The owner is named "(owner)":
a new owner takes the old one's privileges along, and is said once, by the owners. Who
granted a privilege, when not the owner (a grantee WITH GRANT OPTION), is compared too:
revoking from the grantor cascades to it."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind
from rollbook.measure.catalog.objects import OBJECTS_CTE, object_name, relation_of

_PER_GRANTEE = """\
LATERAL (SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' WHEN {owner} THEN '(owner)'
                     ELSE pg_get_userbyid(a.grantee)::text END AS grantee,
                array_agg(a.privilege_type || CASE WHEN a.is_grantable
                          THEN ' WITH GRANT OPTION' ELSE '' END ORDER BY a.privilege_type)
                    AS privileges,
                array_agg(a.privilege_type || ' by ' || pg_get_userbyid(a.grantor)
                          ORDER BY a.privilege_type, pg_get_userbyid(a.grantor))
                    FILTER (WHERE a.grantor <> {owner}) AS granted_by
         FROM aclexplode({acl}) a GROUP BY 1) g"""

GRANTS_SQL = OBJECTS_CTE + f"""\
SELECT i.type, i.identity, s.relnsp, s.relname, g.grantee, g.privileges, g.granted_by
FROM scoped s, pg_identify_object(s.classid, s.objid, 0) i,
     {_PER_GRANTEE.format(acl="coalesce(s.acl, acldefault(s.acltype, s.owner))",
                          owner="s.owner")}
WHERE s.acltype IS NOT NULL
UNION ALL
SELECT i.type, i.identity, s.relnsp, s.relname, g.grantee, g.privileges, g.granted_by
FROM scoped s
JOIN pg_attribute att ON s.classid = 'pg_class'::regclass AND att.attrelid = s.objid
     AND att.attnum > 0 AND NOT att.attisdropped AND att.attacl IS NOT NULL
JOIN pg_class tab ON tab.oid = s.objid,
     pg_identify_object(s.classid, s.objid, att.attnum) i,
     {_PER_GRANTEE.format(acl="att.attacl", owner="tab.relowner")}
ORDER BY 1, 2, 5"""


@dataclass(frozen=True)
class Grant:
    privileges: tuple[str, ...]
    granted_by: tuple[str, ...]  # "PRIVILEGE by role" for those not granted by the owner
    table: str | None  # the relation it belongs to
    object: str  # what it is of, e.g. "function f(integer)"


def _read(rows: list[tuple]) -> dict[str, Grant]:
    return {f"on {object_name(kind, identity)} to {grantee}": Grant(
                tuple(privileges), tuple(granted_by or ()), relation_of(relnsp, relname),
                object_name(kind, identity))
            for kind, identity, relnsp, relname, grantee, privileges, granted_by in rows}


GRANTS = Kind("grant", "grants", GRANTS_SQL, _read, Grant, ("privileges", "granted_by"),
              brief=lambda g: ", ".join(g.privileges),
              of=lambda r: r.object, table_of=lambda name, g: g.table)
