"""Alembic run as its own process, as an operator runs `python -m alembic downgrade -1`.

A process of its own can be killed mid-migration, which is what the SIGKILL drill does. The
database URL travels in an environment variable, never in argv (argv shows in `ps`).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

from rollbook.errors import MigrationError
from rollbook.record.redact import redact_text


class AlembicProcess:
    """`python -m alembic -c INI VERB TARGET` in a child process; `module` runs another
    entry point with alembic's arguments (rollbook.runbook.crash_child), `env` adds to its
    environment."""

    def __init__(self, ini: Path, verb: str, target: str, *, url_env: str, url: str,
                 module: str = "alembic", env: dict[str, str] | None = None):
        self.argv = [sys.executable, "-m", module, "-c", str(ini), verb, target]
        self.env = {**os.environ, **(env or {}), url_env: url}
        self.process: subprocess.Popen | None = None

    def start(self) -> "AlembicProcess":
        self.process = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        return self

    def kill(self) -> int:
        """SIGKILL: no cleanup, no rollback sent — the server must clean up after it."""
        assert self.process is not None, "not started"
        self.process.send_signal(signal.SIGKILL)
        code = self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def ended(self, timeout: float) -> tuple[int, str]:
        """Its exit code (negative: the signal that ended it) and its output, redacted."""
        assert self.process is not None, "not started"
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, redact_text(output or "")

    def wait(self, timeout: float) -> str:
        code, output = self.ended(timeout)
        if code != 0:
            raise MigrationError(f"{' '.join(self.argv[2:])} exited with {code}",
                                 context=[("output", output)])
        return output


def wait_for_blocked_backend(conn: psycopg.Connection, *, exclude_pid: int,
                             timeout_s: float = 30.0) -> dict:
    """The backend of this database that waits on a lock (the migration, held up mid-way), with
    the relations it already holds locks on."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT pid, application_name, now() - xact_start, left(query, 200)"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s"
            " AND wait_event_type = 'Lock' ORDER BY xact_start LIMIT 1",
            (exclude_pid,)).fetchone()
        if row:
            held = [r[0] for r in conn.execute(
                "SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = %s AND l.granted AND l.mode = 'AccessExclusiveLock'"
                " AND c.relkind = 'r' ORDER BY 1", (row[0],)).fetchall()]
            return {"pid": row[0], "application_name": row[1],
                    "in_transaction_for": str(row[2]), "waiting_query": row[3],
                    "tables_locked_exclusively": held}
        time.sleep(0.05)
    raise MigrationError(f"no migration backend blocked on a lock within {timeout_s:.0f} s",
                         hint="the migration may have finished or failed before it was caught.")


def wait_for_backend_gone(conn: psycopg.Connection, pid: int, timeout_s: float = 30.0) -> float:
    """Seconds until the server has ended a backend whose client died."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        alive = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                             (pid,)).fetchone()[0]
        if not alive:
            return time.monotonic() - started
        time.sleep(0.05)
    raise MigrationError(f"backend {pid} still runs {timeout_s:.0f} s after its client died",
                         hint=f"SELECT pg_terminate_backend({pid}) and check the server log.")


@contextmanager
def holding_lock(dsn: str, table: str, mode: str = "ACCESS SHARE") -> Iterator[int]:
    """Hold a lock on a table (as a long reader would) until the block ends; yields our pid."""
    if mode not in LOCK_MODES:
        raise ValueError(f"unknown lock mode {mode!r}; one of {', '.join(LOCK_MODES)}")
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("LOCK TABLE {} IN " + mode + " MODE").format(sql.Identifier(table)))
        yield conn.info.backend_pid
        conn.rollback()


LOCK_MODES = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE", "EXCLUSIVE",
              "ACCESS EXCLUSIVE")
