"""What the checks' role could do if its connection let it: a warning, never a failure.

The checks cannot write whatever the role may (every transaction is READ ONLY), but a role that
can only read is the second lock, and the one an auditor asks for.
"""
from __future__ import annotations

import psycopg

WRITABLE_SQL = """
SELECT current_user, r.rolsuper,
       count(c.oid) FILTER (WHERE has_table_privilege(c.oid,
           'INSERT, UPDATE, DELETE, TRUNCATE')),
       min(format('%I.%I', n.nspname, c.relname)) FILTER (WHERE has_table_privilege(c.oid,
           'INSERT, UPDATE, DELETE, TRUNCATE'))
FROM pg_roles r
LEFT JOIN pg_class c ON c.relkind IN ('r', 'p')
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rolname = current_user
  AND (c.oid IS NULL OR (n.nspname NOT IN ('pg_catalog', 'information_schema')
                         AND n.nspname NOT LIKE 'pg\\_toast%'))
GROUP BY r.rolsuper
"""
FIX = ("Hint: run the checks as a role that can only read: CREATE ROLE rollbook_checker LOGIN "
       "IN ROLE pg_read_all_data, pg_read_all_stats;")


def write_warning(conn: psycopg.Connection) -> str | None:
    """One line when the connected role could write (superuser, or write grants on tables)."""
    row = conn.execute(WRITABLE_SQL).fetchone()
    if row is None:
        return None
    user, superuser, writable, example = row
    if superuser:
        could = "is a superuser"
    elif writable:
        could = f"may write {writable} table(s), e.g. {example}"
    else:
        return None
    return (f"warning: role {user} {could}; the checks still cannot write (every transaction "
            f"is READ ONLY), but a read-only role is the second lock. {FIX}")


UNREADABLE_SQL = """
SELECT current_user, count(*), string_agg(name, ', ' ORDER BY name) FILTER (WHERE rank <= 5)
FROM (SELECT format('%I.%I', n.nspname, c.relname) AS name,
             row_number() OVER (ORDER BY n.nspname, c.relname) AS rank
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT has_table_privilege(c.oid, 'SELECT')) AS unreadable
"""


def unreadable_tables(conn: psycopg.Connection) -> str | None:
    """One line naming the tables the role cannot SELECT from, or None when it reads them all."""
    user, count, names = conn.execute(UNREADABLE_SQL).fetchone()
    if not count:
        return None
    more = f" and {count - 5} more" if count > 5 else ""
    return (f"role {user} cannot read {count} table(s): {names}{more}. Hint: GRANT "
            f"pg_read_all_data TO {user}; (or GRANT SELECT on those tables).")
