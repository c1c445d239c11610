"""Default privileges (ALTER DEFAULT PRIVILEGES): what a role's future tables, sequences,
routines, types and schemas grant, per grantee, database-wide or in one schema. A grantee of
the built-in defaults (PUBLIC, the role itself) that a database-wide entry revokes everything
from is listed with no privileges, so the revoke names it."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind

DEFAULT_PRIVILEGES_SQL = """\
SELECT pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, g.grantee, g.privileges
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace,
LATERAL (SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text
                END AS grantee,
                array_agg(a.privilege_type || CASE WHEN a.is_grantable
                          THEN ' WITH GRANT OPTION' ELSE '' END ORDER BY a.privilege_type)
                    AS privileges
         FROM aclexplode(d.defaclacl) a GROUP BY 1) g
WHERE d.defaclnamespace = 0 OR n.nspname = ANY(%(schemas)s)
UNION ALL
SELECT pg_get_userbyid(d.defaclrole), NULL, d.defaclobjtype,
       CASE b.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(b.grantee)::text END,
       '{}'::text[]
FROM pg_default_acl d,
LATERAL (SELECT DISTINCT a.grantee FROM aclexplode(acldefault(
             CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END,
             d.defaclrole)) a) b
WHERE d.defaclnamespace = 0
  AND b.grantee NOT IN (SELECT x.grantee FROM aclexplode(d.defaclacl) x)
ORDER BY 1, 2, 3, 4"""

OBJECT_TYPES = {"r": "tables", "S": "sequences", "f": "routines", "T": "types", "n": "schemas"}


@dataclass(frozen=True)
class DefaultPrivileges:
    privileges: tuple[str, ...]


def _read(rows: list[tuple]) -> dict[str, DefaultPrivileges]:
    return {f"of {role} on {OBJECT_TYPES.get(kind, kind)}"
            f"{f' in schema {nsp}' if nsp else ''} to {grantee}": DefaultPrivileges(
                tuple(privileges))
            for role, nsp, kind, grantee, privileges in rows}


DEFAULT_PRIVILEGES = Kind(
    "default privileges", "default_privileges", DEFAULT_PRIVILEGES_SQL, _read,
    DefaultPrivileges, ("privileges",),
    brief=lambda d: ", ".join(d.privileges) or "no privileges")
