"""Observe the locks of a migration on the server while it runs.

A sampler thread on a connection of its own reads `pg_locks` for the migration's backend every
few milliseconds, and once more (synchronously) as each statement returns: locks are held to
the end of the transaction, so that extra sample sees every relation lock a statement took,
however short it was. A lock is attributed to the statement during which it first appeared
and held from the first sample that showed it granted to the first that no longer shows it
(the transaction's end): the resolution is the sampling interval. Sessions that wait on the
migration's backend (pg_blocking_pids) are recorded too, with how long each waited (the
migration's own waits on others, such as CREATE INDEX CONCURRENTLY's on older snapshots, name
no relation and are not holds); "rewritten"
compares each table's relfilenode before and after.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import psycopg

from rollbook.measure.lock_footprint import (
    INTERVAL_S,
    Footprint,
    Hold,
    Wait,
    rewrites,
    timeouts_set,
)
from rollbook.runbook.statements import Statement, each_statement

SAMPLER_NAME = "rollbook-lock-sampler"

SAMPLE_SQL = """
WITH seen AS MATERIALIZED (
    SELECT pid, locktype, relation, mode, granted FROM pg_locks
    WHERE (pid = ANY(%(pids)s::int[]) AND locktype = 'relation'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
       OR (NOT granted AND pid <> pg_backend_pid() AND pid <> ALL(%(pids)s::int[])))
SELECT s.pid, s.locktype, s.relation::bigint, s.mode, s.granted, n.nspname, c.relname, c.relkind
FROM seen s
LEFT JOIN pg_class c ON c.oid = s.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE s.pid = ANY(%(pids)s::int[]) OR pg_blocking_pids(s.pid) && %(pids)s::int[]
"""
RELATIONS_SQL = """
SELECT c.oid::bigint, n.nspname, c.relname, c.relkind, c.relfilenode::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
"""


def relations(conn: psycopg.Connection) -> dict[int, tuple[str, str, int]]:
    """oid -> (schema.name, relkind, relfilenode) of every relation in non-system schemas."""
    return {oid: (f"{schema}.{name}", kind, node)
            for oid, schema, name, kind, node in conn.execute(RELATIONS_SQL).fetchall()}


class _Sampler:
    """The migration's locks over time; `sample()` is called by the thread and by the
    statement hook, one at a time."""

    def __init__(self, conn: psycopg.Connection, footprint: Footprint, known: dict):
        self.conn, self.footprint, self.known = conn, footprint, known
        self.pids: set[int] = set()
        self.current: Statement | None = None
        self.last: Statement | None = None
        self.open_holds: dict[tuple, Hold] = {}
        self.open_waits: dict[tuple, Wait] = {}
        self.lock = threading.Lock()

    def sample(self) -> None:
        with self.lock:
            if not self.pids:
                return
            at = time.monotonic()
            rows = self.conn.execute(SAMPLE_SQL, {"pids": sorted(self.pids)}).fetchall()
            self.footprint.samples += 1
            # a lock first seen now belongs to the statement running now: every statement
            # that already returned was sampled as it returned
            statement = self.current or self.last
            self._merge(rows, at, statement)

    def _merge(self, rows, at: float, statement: Statement | None) -> None:
        holds, waits = {}, {}
        for pid, locktype, oid, mode, granted, schema, name, kind in rows:
            relation = f"{schema}.{name}" if name else None
            if oid is not None and relation is None and oid in self.known:
                relation, kind = self.known[oid][0], self.known[oid][1]
            if pid in self.pids:
                holds[(pid, oid, mode)] = (granted, relation or oid, kind or "")
            elif not granted:
                waits[(pid, locktype, oid, mode)] = relation or locktype
        number, sql = (statement.number, statement.sql) if statement else (0, "")
        for key, (granted, relation, kind) in holds.items():
            hold = self.open_holds.get(key)
            if hold is None:
                hold = self.open_holds[key] = Hold(relation, kind, key[2], number, sql, at)
                self.footprint.holds.append(hold)
            if granted and hold.granted_at is None:
                hold.granted_at = at
        for key, lock in waits.items():
            if key not in self.open_waits:
                self.open_waits[key] = Wait(key[0], lock, key[3], number, at)
                self.footprint.waits.append(self.open_waits[key])
        for key in [k for k in self.open_holds if k not in holds]:
            self.open_holds.pop(key).released = at
        for key in [k for k in self.open_waits if k not in waits]:
            self.open_waits.pop(key).ended = at

    def close(self, at: float) -> None:
        for hold in self.open_holds.values():
            hold.released = at
        for wait in self.open_waits.values():
            wait.ended = at

    def name_unseen(self, after: dict) -> None:
        """Relations created inside the migration's transaction were invisible to the
        sampler's snapshot: name them now that it committed."""
        for hold in self.footprint.holds:
            if isinstance(hold.relation, int):
                name, kind, _ = after.get(hold.relation, (f"oid {hold.relation}", "", 0))
                hold.relation, hold.kind = name, kind


@contextmanager
def observe(dsn: str, command: str, interval_s: float = INTERVAL_S) -> Iterator[Footprint]:
    """Observe the locks of every statement an Alembic command sends inside the block; the
    Footprint is complete when the block ends."""
    footprint = Footprint(command, interval_ms=interval_s * 1000)
    with psycopg.connect(dsn, autocommit=True, application_name=SAMPLER_NAME) as conn:
        before = relations(conn)
        sampler = _Sampler(conn, footprint, before)
        stop = threading.Event()
        migrating = threading.get_ident()  # other threads' engines are not the migration's

        def started(statement: Statement) -> None:
            if threading.get_ident() != migrating:
                return
            footprint.statements.append(statement)
            if statement.backend_pid is not None:
                sampler.pids.add(statement.backend_pid)
            sampler.current = statement

        def returned(statement: Statement) -> None:
            if threading.get_ident() != migrating:
                return
            sampler.sample()
            sampler.current, sampler.last = None, statement

        failed: list[Exception] = []

        def run() -> None:
            try:
                while not stop.wait(interval_s):
                    sampler.sample()
            except Exception as exc:  # surfaced once the migration returned
                failed.append(exc)

        thread = threading.Thread(target=run, name="rollbook-lock-sampler", daemon=True)
        with each_statement(before=started, after=returned):
            thread.start()
            try:
                yield footprint
            finally:
                stop.set()
                thread.join()
                if failed:
                    raise failed[0]
                sampler.sample()  # the transaction ended: what it held is gone now
                footprint.ended = time.monotonic()
                sampler.close(footprint.ended)
        after = relations(conn)
        sampler.name_unseen(after)
        footprint.holds = [h for h in footprint.holds if not h.relation.startswith("pg_")]
        footprint.tables = rewrites(before, after)
        footprint.timeouts = timeouts_set(footprint.statements)
