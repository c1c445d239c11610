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
