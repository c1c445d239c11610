"""What the checks' role could do if its connection let it: a warning, never a failure.

The checks cannot write whatever the role may (every transaction is READ ONLY), but a role that
can only read is the second lock, and the one an auditor asks for.
"""
from __future__ import annotations

import re

import psycopg
from psycopg import sql

WRITABLE_SQL = """
SELECT current_user, r.rolsuper, r.rolreplication,
       count(c.oid) FILTER (WHERE has_table_privilege(c.oid,
           'INSERT, UPDATE, DELETE, TRUNCATE')),
       min(format('%%I.%%I', n.nspname, c.relname)) FILTER (WHERE has_table_privilege(c.oid,
           'INSERT, UPDATE, DELETE, TRUNCATE')),
       (SELECT array_agg(p ORDER BY p) FROM unnest(%(powers)s::text[]) p
        WHERE to_regrole(p) IS NOT NULL AND pg_has_role(current_user, to_regrole(p), 'USAGE'))
FROM pg_roles r
LEFT JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%%') ON c.relkind IN ('r', 'p')
WHERE r.rolname = current_user
GROUP BY r.rolsuper, r.rolreplication
"""
# Predefined roles that let a session act beyond its own reads, and what each lets it do.
POWERS = {"pg_signal_backend": "signal other backends",
          "pg_read_server_files": "read files on the server",
          "pg_write_server_files": "write files on the server",
          "pg_execute_server_program": "run programs on the server",
          "pg_checkpoint": "force checkpoints",
          "pg_signal_autovacuum_worker": "signal autovacuum workers"}
CHECKER_ROLE = "rollbook_checker"


def create_role_sql(name: str = CHECKER_ROLE) -> str:
    """The CREATE ROLE that is enough for the checks: read every table and the statistics,
    nothing more (no superuser, no replication, no signals, no server files)."""
    plain = re.fullmatch(r"[a-z_][a-z0-9_]*", name)
    shown = name if plain else sql.Identifier(name).as_string(None)
    return (f"CREATE ROLE {shown} LOGIN "
            "IN ROLE pg_read_all_data, pg_read_all_stats;")


FIX = f"Hint: run the checks as a role that can only read: {create_role_sql()}"


def write_warning(conn: psycopg.Connection) -> str | None:
    """One line when the connected role could do more than read: superuser, replication,
    signals, server files or programs, or write grants on tables."""
    row = conn.execute(WRITABLE_SQL, {"powers": list(POWERS)}).fetchone()
    if row is None:
        return None
    user, superuser, replication, writable, example, powers = row
    if superuser:  # a member of every role, with every grant: the rest goes without saying
        could = ["is a superuser"]
    else:
        could = ["may create replication slots (REPLICATION)"] if replication else []
        could += [f"may {POWERS[p]} ({p})" for p in powers or ()]
        if writable:
            could.append(f"may write {writable} table(s), e.g. {example}")
    if not could:
        return None
    return (f"warning: role {user} {', '.join(could)}; the checks still cannot write (every "
            "transaction is READ ONLY and every function a query calls is judged), but a role "
            f"that can only read is the second lock. {FIX}")


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


RLS_HIDDEN_SQL = """
SELECT n.nspname, c.relname, format('%I.%I', n.nspname, c.relname), format('%I', current_user)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
  AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
  AND (NOT EXISTS (SELECT FROM pg_policy p
                   WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('r', '*')
                     AND pg_get_expr(p.polqual, p.polrelid) = 'true'
                     AND (0 = ANY (p.polroles) OR EXISTS (
                          SELECT FROM unnest(p.polroles) r
                          WHERE pg_has_role(current_user, r, 'USAGE'))))
       OR EXISTS (SELECT FROM pg_policy p
                  WHERE p.polrelid = c.oid AND NOT p.polpermissive AND p.polcmd IN ('r', '*')
                    AND pg_get_expr(p.polqual, p.polrelid) IS DISTINCT FROM 'true'
                    AND (0 = ANY (p.polroles) OR EXISTS (
                         SELECT FROM unnest(p.polroles) r
                         WHERE pg_has_role(current_user, r, 'USAGE')))))
ORDER BY 1, 2
"""


def rls_hidden(conn: psycopg.Connection) -> dict[tuple[str, str], str]:
    """(schema, table) -> one "could not verify" line with the fix, for every table whose
    row-level security may hide rows from the connected role: it does not bypass RLS (not a
    superuser, not BYPASSRLS, not the owner of a table that does not FORCE it) and no policy
    shows it every row (a permissive `USING (true)` for SELECT, and nothing restrictive)."""
    hidden = {}
    for schema_name, table, shown, user in conn.execute(RLS_HIDDEN_SQL).fetchall():
        hidden[schema_name, table] = (
            f"could not verify {shown}: row-level security may hide rows from role {user}, so "
            f"its counts, content and orphans would be of the rows it sees. Hint: ALTER ROLE "
            f"{user} BYPASSRLS; (as a superuser), or CREATE POLICY rollbook_reads_all ON "
            f"{shown} FOR SELECT TO {user} USING (true)")
    return hidden
