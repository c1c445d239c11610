"""The database itself, as `pg_dump --create` prints it: its owner, connection limit, template
flag, comment and privileges, its settings (ALTER DATABASE ... SET) and its roles' settings
in it (ALTER ROLE ... IN DATABASE ... SET). Named "current": a baseline taken of one database
compares with another of a different name."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind

DATABASE_SQL = """\
SELECT pg_get_userbyid(d.datdba), d.datconnlimit, d.datistemplate,
       shobj_description(d.oid, 'pg_database'),
       ARRAY(SELECT format('%%s: %%s', CASE a.grantee WHEN 0 THEN 'PUBLIC'
                                       WHEN d.datdba THEN '(owner)'
                                       ELSE pg_get_userbyid(a.grantee)::text END,
                           string_agg(a.privilege_type || CASE WHEN a.is_grantable
                                      THEN ' WITH GRANT OPTION' ELSE '' END, ', '
                                      ORDER BY a.privilege_type))
             FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
             GROUP BY a.grantee ORDER BY 1),
       ARRAY(SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
             WHERE s.setdatabase = d.oid AND s.setrole = 0 ORDER BY 1),
       ARRAY(SELECT format('%%s: %%s', pg_get_userbyid(s.setrole), c)
             FROM pg_db_role_setting s, unnest(s.setconfig) c
             WHERE s.setdatabase = d.oid AND s.setrole <> 0 ORDER BY 1)
FROM pg_database d
WHERE d.datname = current_database()"""


@dataclass(frozen=True)
class Database:
    owner: str
    connection_limit: int  # -1: none
    is_template: bool
    comment: str | None
    privileges: tuple[str, ...]  # "grantee: PRIVILEGE, ..."
    settings: tuple[str, ...]  # "name=value"
    role_settings: tuple[str, ...]  # "role: name=value"


def _read(rows: list[tuple]) -> dict[str, Database]:
    (row,) = rows
    return {"current": Database(*row[:4], *(tuple(values) for values in row[4:]))}


DATABASE = Kind(
    "database", "database", DATABASE_SQL, _read,
    Database, ("owner", "connection_limit", "is_template", "comment", "privileges", "settings",
               "role_settings"), brief=lambda d: f"owned by {d.owner}",
    covers=("event trigger", "extension", "statistics object"))
