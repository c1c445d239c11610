"""Pre-rollback assessment: system state and impact, as the runbook's first section asks."""
from __future__ import annotations

import psycopg
from psycopg import sql

from rollbook.record.evidence import CheckResult
from rollbook.runbook.migrations import Migrations

VERSION_SQL = "SELECT version()"
ACTIVE_SQL = "SELECT count(*) AS active_connections FROM pg_stat_activity WHERE state = 'active'"
TABLES_SQL = ("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
              " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1")


def count_statement(table: str) -> sql.Composed:
    return sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))


def table_counts(conn: psycopg.Connection) -> tuple[dict[str, int], list[str]]:
    """Exact row count of every table in public, one count(*) per table."""
    counts, statements = {}, []
    for (table,) in conn.execute(TABLES_SQL).fetchall():
        query = count_statement(table)
        statements.append(query.as_string(conn))
        counts[table] = conn.execute(query).fetchone()[0]
    return counts, [TABLES_SQL, *statements]


def run_named_queries(conn: psycopg.Connection, queries: dict[str, str]) -> dict[str, list[dict]]:
    """Each query's rows as dicts keyed by column name (queries return a handful of rows)."""
    results = {}
    for name, text in queries.items():
        cur = conn.execute(text)
        columns = [col.name for col in cur.description]
        results[name] = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    return results


def assess(conn: psycopg.Connection, migrations: Migrations,
           impact_queries: dict[str, str]) -> CheckResult:
    """Server version, Alembic current/heads/history, table counts, impact, active sessions."""
    version = conn.execute(VERSION_SQL).fetchone()[0]
    current = migrations.current()
    heads = migrations.heads()
    counts, count_sql = table_counts(conn)
    impact = run_named_queries(conn, impact_queries)
    active = conn.execute(ACTIVE_SQL).fetchone()[0]
    observed = {"server_version": version, "alembic_current": current, "alembic_heads": heads,
                "alembic_history": [rev.line() for rev in migrations.history()],
                "table_counts": counts, "impact": impact, "active_connections": active}
    ok = bool(current) and len(heads) == 1
    summary = (f"at revision {','.join(current) or '<none>'} (head {','.join(heads)}), "
               f"{sum(counts.values())} rows in {len(counts)} tables, "
               f"{active} active connections")
    if not ok:
        summary = "cannot assess: " + ("the database has no Alembic revision" if not current
                                       else f"{len(heads)} heads in the migration scripts")
    return CheckResult("pre-rollback assessment", ok, summary,
                       sql=[VERSION_SQL, *count_sql, *impact_queries.values(), ACTIVE_SQL],
                       observed=observed)
