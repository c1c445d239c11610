"""Corruption indicators from amcheck.

Only bt_index_check is used: it takes an AccessShareLock, like a SELECT, so it neither blocks
nor is blocked by writers. bt_index_parent_check (ShareLock, blocks writes) and heapallindexed
(a full heap scan per index) are left out on purpose for live databases.
"""
from __future__ import annotations

import psycopg

from rollbook.record.evidence import CheckResult

AVAILABLE_SQL = "SELECT count(*) > 0 FROM pg_extension WHERE extname = 'amcheck'"
BTREE_INDEXES_SQL = (
    "SELECT i.indexrelid::regclass::text, t.relname FROM pg_index i"
    " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid"
    " JOIN pg_am am ON am.oid = ic.relam"
    " WHERE am.amname = 'btree' AND t.relnamespace = ANY(%s::regnamespace[])"
    " AND i.indisvalid AND i.indisready AND t.relpersistence <> 't' ORDER BY 1")
CHECK_SQL = "SELECT bt_index_check(%s::regclass)"


def amcheck_available(conn: psycopg.Connection) -> bool:
    return conn.execute(AVAILABLE_SQL).fetchone()[0]


def btree_indexes(conn: psycopg.Connection, schemas=("public",)) -> list[tuple[str, str]]:
    """Every valid B-tree index of the schemas, as (index, table), in the index's name order."""
    return [(index, table) for index, table in
            conn.execute(BTREE_INDEXES_SQL, (list(schemas),)).fetchall()]


def check_indexes(conn: psycopg.Connection, schemas=("public",)) -> list[CheckResult]:
    """bt_index_check on every valid B-tree index of the schemas; one result per index."""
    return [check_index(conn, index, table) for index, table in btree_indexes(conn, schemas)]


def check_index(conn: psycopg.Connection, index: str, table: str) -> CheckResult:
    """bt_index_check on one index of `table`: ok, corrupt (XX001/XX002), or not checked."""
    try:
        conn.execute(CHECK_SQL, (index,))
    except psycopg.Error as exc:
        if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            conn.rollback()
        sqlstate = exc.sqlstate or "?"
        message = str(exc).strip().splitlines()[0]
        verdict = (f"is corrupt ({sqlstate}): {message}. Hint: REINDEX it; if the table's "
                   "pages are damaged too, restore the table from backup."
                   if sqlstate.startswith("XX") else
                   f"could not be checked ({sqlstate}): {message}. Hint: GRANT EXECUTE ON "
                   "FUNCTION bt_index_check(regclass) to the checks' role.")
        return CheckResult(f"amcheck: {index}", False, f"index {index} on {table} {verdict}",
                           sql=[CHECK_SQL % repr(index)],
                           observed={"sqlstate": sqlstate, "error": message})
    return CheckResult(f"amcheck: {index}", True, f"index {index} on {table} ok",
                       sql=[CHECK_SQL % repr(index)])


def enable_amcheck(conn: psycopg.Connection) -> None:
    """CREATE EXTENSION amcheck (disposable databases only: it is a write)."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
