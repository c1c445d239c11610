"""The runbook's manual database rollback: drop the UUID tables, then restore from backup."""
from __future__ import annotations

import time

import psycopg
from psycopg import sql

from rollbook.record.evidence import CheckResult


def drop_tables(conn: psycopg.Connection, tables: tuple[str, ...]) -> CheckResult:
    """DROP TABLE IF EXISTS ... CASCADE for each table, in the given order, in one transaction."""
    statements = [sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table))
                  for table in tables]
    started = time.perf_counter()
    with conn.transaction():
        existed = [row[0] for row in conn.execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p')"
            " AND relnamespace = 'public'::regnamespace AND relname = ANY(%s)",
            (list(tables),)).fetchall()]
        for statement in statements:
            conn.execute(statement)
    elapsed = time.perf_counter() - started
    return CheckResult(f"dropped {len(tables)} tables", True,
                       f"dropped {len(existed)} of {len(tables)} tables in {elapsed:.2f} s",
                       sql=[s.as_string(conn) for s in statements],
                       observed={"dropped": existed, "elapsed_s": round(elapsed, 3)})
