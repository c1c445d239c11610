"""Foreign-data wrappers, foreign servers, user mappings and foreign tables. A user mapping's
option values are compared by digest: they often hold a password."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import UNRECORDED, Kind, display_name
from rollbook.measure.catalog.definitions import IDENTITY, NOT_FROM_EXTENSION, defined

OPTIONS = "array_to_string(coalesce({column}, '{{}}'), ', ')"

WRAPPERS_SQL = f"""\
SELECT {IDENTITY.format(classid="pg_foreign_data_wrapper", objid="w.oid")},
       format('HANDLER %%s VALIDATOR %%s OPTIONS (%%s)', w.fdwhandler::regprocedure,
              w.fdwvalidator::regprocedure, {OPTIONS.format(column="w.fdwoptions")})
FROM pg_foreign_data_wrapper w
WHERE {NOT_FROM_EXTENSION.format(classid="pg_foreign_data_wrapper", objid="w.oid")}
ORDER BY 1"""

SERVERS_SQL = f"""\
SELECT {IDENTITY.format(classid="pg_foreign_server", objid="s.oid")},
       format('TYPE %%s VERSION %%s FOREIGN DATA WRAPPER %%s OPTIONS (%%s)', s.srvtype,
              s.srvversion, w.fdwname, {OPTIONS.format(column="s.srvoptions")})
FROM pg_foreign_server s
JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
WHERE {NOT_FROM_EXTENSION.format(classid="pg_foreign_server", objid="s.oid")}
ORDER BY 1"""

# pg_user_mappings shows the options only to a superuser, the server's owner and the mapped
# user with USAGE on the server (the view's own rule); to another role they read as not
# recorded, so a baseline taken by one role compares with checks run by another.
USER_MAPPINGS_SQL = f"""\
SELECT format('%%s on server %%s', m.usename, m.srvname),
       CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                 OR pg_has_role(s.srvowner, 'USAGE')
                 OR (m.usename = current_user AND has_server_privilege(m.srvid, 'USAGE'))
       THEN format('OPTIONS (%%s)', (SELECT string_agg(format('%%s (digest %%s)',
                                                              split_part(o, '=', 1),
                                                              left(md5(o), 8)), ', ' ORDER BY o)
                                     FROM unnest(m.umoptions) o))
       ELSE '{UNRECORDED}' END
FROM pg_user_mappings m
JOIN pg_foreign_server s ON s.oid = m.srvid
ORDER BY 1"""

FOREIGN_TABLES_SQL = """\
SELECT n.nspname, c.relname, s.srvname, coalesce(ft.ftoptions, '{}'),
       ARRAY(SELECT concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
                              CASE WHEN a.attnotnull THEN 'NOT NULL' END,
                              'STATISTICS ' || nullif(a.attstattarget, -1),
                              'OPTIONS (' || array_to_string(a.attfdwoptions, ', ') || ')')
             FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                  AND NOT a.attisdropped ORDER BY a.attnum)
FROM pg_foreign_table ft
JOIN pg_class c ON c.oid = ft.ftrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_foreign_server s ON s.oid = ft.ftserver
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2"""


@dataclass(frozen=True)
class ForeignTable:
    server: str
    options: tuple[str, ...]
    columns: tuple[str, ...]  # "name type [NOT NULL] [OPTIONS (...)]", in order


WRAPPERS = defined("foreign-data wrapper", "foreign_data_wrappers", WRAPPERS_SQL)
SERVERS = defined("server", "foreign_servers", SERVERS_SQL)
USER_MAPPINGS = defined("user mapping", "user_mappings", USER_MAPPINGS_SQL)
FOREIGN_TABLES = Kind(
    "foreign table", "foreign_tables", FOREIGN_TABLES_SQL,
    lambda rows: {display_name(nsp, rel): ForeignTable(server, tuple(options), tuple(columns))
                  for nsp, rel, server, options, columns in rows},
    ForeignTable, ("server", "options", "columns"),
    brief=lambda t: f"SERVER {t.server} ({', '.join(t.columns)})",
    table_of=lambda name, t: name)
