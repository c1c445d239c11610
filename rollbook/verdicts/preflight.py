"""Pre-flight: the server answers, the session is read-only, Alembic is where it should be.

The runbook's "Verify database connectivity" (`SELECT version()`) and "Check migration status"
(`alembic current`, `alembic history`), each returning its evidence.
"""
from __future__ import annotations

import psycopg

from rollbook.record.evidence import CheckResult
from rollbook.runbook.migrations import FIND_VERSION_TABLE_SQL, Scripts, current_revisions

SERVER_SQL = ("SELECT version(), current_setting('server_version_num')::int, current_database(),"
              " current_user, pg_is_in_recovery()")
SESSION_SQL = ("SELECT current_setting('default_transaction_read_only'),"
               " current_setting('statement_timeout'), current_setting('lock_timeout'),"
               " current_setting('application_name')")


def server(conn: psycopg.Connection, minimum_version_num: int = 120000) -> CheckResult:
    """Connectivity and server version (PostgreSQL 12 or newer)."""
    version, num, database, user, standby = conn.execute(SERVER_SQL).fetchone()
    observed = {"version": version, "server_version_num": num, "database": database,
                "user": user, "standby": standby}
    short = version.split(",")[0]
    if num < minimum_version_num:
        return CheckResult("server version", False, f"{short} is older than supported "
                           f"({minimum_version_num // 10000}). Hint: rollbook needs "
                           "PostgreSQL 12 or newer", [SERVER_SQL], observed)
    role = "a standby (read-only replica)" if standby else "a primary"
    return CheckResult("server version", True, f"connected to {database} as {user}: {short},"
                       f" {role}", [SERVER_SQL], observed)


def session_is_read_only(conn: psycopg.Connection, application_name: str) -> CheckResult:
    """The session carries every setting an operator check must run under."""
    read_only, statement_timeout, lock_timeout, app = conn.execute(SESSION_SQL).fetchone()
    observed = {"default_transaction_read_only": read_only,
                "statement_timeout": statement_timeout, "lock_timeout": lock_timeout,
                "application_name": app}
    wrong = [f"{k} = {v}" for k, v in (("default_transaction_read_only", read_only),
                                       ("statement_timeout", statement_timeout),
                                       ("lock_timeout", lock_timeout))
             if v in ("off", "0")]
    if app != application_name:
        wrong.append(f"application_name = {app} (expected {application_name})")
    if wrong:
        return CheckResult("read-only session", False, "the checks session is not locked down: "
                           + ", ".join(wrong), [SESSION_SQL], observed)
    return CheckResult("read-only session", True, f"read-only session: statement_timeout "
                       f"{statement_timeout}, lock_timeout {lock_timeout}, application_name "
                       f"{app}", [SESSION_SQL], observed)


def revision(conn: psycopg.Connection, expected: str | None) -> CheckResult:
    """`alembic current` equals the expected revision (a single row in the version table)."""
    current = current_revisions(conn)
    observed = {"current": current, "expected": expected}
    statements = [FIND_VERSION_TABLE_SQL]
    shown = ",".join(current) or "<none>"
    if expected is None:
        return CheckResult("alembic current", True, f"alembic current is {shown} (no expected "
                           "revision in the profile or baseline)", statements, observed)
    if current == [expected]:
        return CheckResult("alembic current", True, f"alembic current is {expected}, as expected",
                           statements, observed)
    why = ("the database has no Alembic version table" if not current else
           f"the database is at revision {shown}")
    return CheckResult("alembic current", False, f"{why}, expected {expected}: the rollback is "
                       "not complete. Hint: check `alembic current`; run `alembic downgrade` "
                       "or point --env/--dsn at the rolled-back database", statements, observed)


def single_head(scripts: Scripts) -> CheckResult:
    """The migration scripts have exactly one head, so "the expected revision" means one thing."""
    heads = sorted(scripts.heads)
    observed = {"heads": heads, "script_location": scripts.location}
    if len(heads) == 1:
        return CheckResult("alembic heads", True, f"single head {heads[0]}", [], observed)
    return CheckResult("alembic heads", False, f"the Alembic scripts have {len(heads)} heads "
                       f"({', '.join(heads) or 'none'}): which revision is deployed is ambiguous."
                       " Hint: merge them (alembic merge) or point [alembic] ini at the deployed"
                       " project", [], observed)


def history(scripts: Scripts, conn: psycopg.Connection, expected: str | None) -> CheckResult:
    """`alembic history`: the current and expected revisions are known to the scripts."""
    lines = [rev.line() for rev in scripts.history]
    known = {rev.revision for rev in scripts.history}
    current = current_revisions(conn)
    unknown = [r for r in [*current, *([expected] if expected else [])] if r not in known]
    observed = {"history": lines, "current": current, "expected": expected}
    if unknown:
        return CheckResult("alembic history", False, f"revision(s) {', '.join(unknown)} are "
                           "not in the migration history: the scripts and the database do not "
                           "belong together. Hint: point [alembic] ini at the deployed project",
                           [FIND_VERSION_TABLE_SQL], observed)
    return CheckResult("alembic history", True, f"{len(lines)} revisions; current "
                       f"{','.join(current) or '<none>'} is in the history",
                       [FIND_VERSION_TABLE_SQL], observed)
