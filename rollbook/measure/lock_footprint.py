"""The locks a migration takes, observed on the server while it runs.

A sampler thread on a connection of its own reads `pg_locks` for the migration's backend every
few milliseconds, and once more (synchronously) as each statement returns: locks are held to
the end of the transaction, so that extra sample sees every relation lock a statement took,
however short it was. A lock is attributed to the statement during which it first appeared
and held from the first sample that showed it granted to the first that no longer shows it
(the transaction's end): the resolution is the sampling interval. Sessions that wait on the
migration's backend (pg_blocking_pids) are recorded too, with how long each waited.

"Rewritten" compares each table's relfilenode before and after. Whether the migration set
lock_timeout or statement_timeout is read from the statements the server received (SET or
set_config, as each_statement saw them): a session's settings cannot be read from outside it.
"""
from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Iterator

import psycopg

from rollbook.runbook.statements import Statement, each_statement

INTERVAL_S = 0.01
ACCESS_EXCLUSIVE = "AccessExclusiveLock"
TABLE_KINDS = ("r", "p", "m")
SAMPLER_NAME = "rollbook-lock-sampler"
TIMEOUT_SETTINGS = ("lock_timeout", "statement_timeout")

# The migration's relation locks, and every session waiting on the migration's backend.
SAMPLE_SQL = """
WITH seen AS MATERIALIZED (
    SELECT pid, locktype, relation, mode, granted FROM pg_locks
    WHERE (pid = ANY(%(pids)s::int[]) AND locktype = 'relation'
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
       OR (NOT granted AND pid <> pg_backend_pid()))
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
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
"""


def mode_name(mode: str) -> str:
    """pg_locks' "AccessExclusiveLock" as the documentation writes it: ACCESS EXCLUSIVE."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", mode.removesuffix("Lock")).upper()


@dataclass
class Hold:
    """One lock the migration held on one relation, from first seen to released."""

    relation: str  # schema.name, or "oid N" for a relation created and dropped unseen
    kind: str      # pg_class.relkind ("" when unknown)
    mode: str      # as pg_locks says: AccessExclusiveLock
    statement: int
    sql: str
    first_seen: float  # time.monotonic()
    granted_at: float | None = None
    released: float | None = None

    @property
    def held_ms(self) -> float:
        if self.granted_at is None or self.released is None:
            return 0.0
        return (self.released - self.granted_at) * 1000

    @property
    def waited_ms(self) -> float:
        end = self.granted_at if self.granted_at is not None else self.released
        return ((end or self.first_seen) - self.first_seen) * 1000


@dataclass
class Wait:
    """Another session waiting on the migration's backend: for which lock and how long."""

    pid: int
    lock: str      # the relation waited for, or the lock type (transactionid, tuple)
    mode: str
    statement: int  # the migration's statement running when the wait began
    first_seen: float
    ended: float | None = None

    @property
    def waited_ms(self) -> float:
        return ((self.ended or self.first_seen) - self.first_seen) * 1000


@dataclass
class Footprint:
    """What one alembic command held: its statements, locks, rewrites, timeouts, and waiters."""

    command: str
    statements: list[Statement] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)  # table -> rewritten/kept/created/...
    timeouts: dict[str, str | None] = field(default_factory=dict)  # setting -> statement
    samples: int = 0
    interval_ms: float = INTERVAL_S * 1000

    def longest(self, table: str, mode: str = ACCESS_EXCLUSIVE) -> Hold | None:
        found = [h for h in self.holds if h.relation == table and h.mode == mode]
        return max(found, key=lambda h: h.held_ms, default=None)

    def longest_wait(self, table: str) -> Wait | None:
        return max((w for w in self.waits if w.lock == table), key=lambda w: w.waited_ms,
                   default=None)

    def table_rows(self) -> list[dict]:
        """Per table: the longest ACCESS EXCLUSIVE hold, its statement, rewritten or not, and
        the longest wait of another session on it."""
        locked = {h.relation for h in self.holds if h.kind in TABLE_KINDS}
        rows = []
        for table in sorted(locked | set(self.tables)):
            hold, wait = self.longest(table), self.longest_wait(table)
            rows.append({"table": table,
                         "exclusive_ms": round(hold.held_ms, 1) if hold else None,
                         "statement": statement_label(hold) if hold else None,
                         "rewritten": self.tables.get(table, "not a table"),
                         "modes": sorted({mode_name(h.mode) for h in self.holds
                                          if h.relation == table}),
                         "writers_longest_wait_ms": round(wait.waited_ms, 1) if wait else None})
        return rows

    def summary(self) -> dict:
        """What the record keeps: the command, its timeouts and its table rows."""
        return {"command": self.command, "statements": len(self.statements),
                "samples": self.samples, "interval_ms": self.interval_ms,
                "lock_timeout": self.timeouts.get("lock_timeout"),
                "statement_timeout": self.timeouts.get("statement_timeout"),
                "waits": len(self.waits), "tables": self.table_rows()}

    def to_dict(self) -> dict:
        """Everything, for the evidence: each statement, each hold, each wait."""
        return self.summary() | {
            "each_statement": [{"number": s.number, "sql": s.sql.strip(),
                                "elapsed_ms": round((s.elapsed_s or 0) * 1000, 1)}
                               for s in self.statements],
            "holds": [asdict(h) | {"mode": mode_name(h.mode), "held_ms": round(h.held_ms, 1),
                                   "waited_ms": round(h.waited_ms, 1)} for h in self.holds],
            "waited": [asdict(w) | {"mode": mode_name(w.mode), "waited_ms": round(w.waited_ms, 1)}
                       for w in self.waits]}


def statement_label(hold: Hold, width: int = 90) -> str:
    text = " ".join(hold.sql.split())
    return f"#{hold.statement} {text[:width]}{'…' if len(text) > width else ''}"


def timeouts_set(statements: list[Statement]) -> dict[str, str | None]:
    """For lock_timeout and statement_timeout, the first statement that set it, or None."""
    found: dict[str, str | None] = dict.fromkeys(TIMEOUT_SETTINGS)
    for statement in statements:
        text = " ".join(statement.sql.split())
        for setting in TIMEOUT_SETTINGS:
            if found[setting] is None and re.search(
                    rf"\bSET\s+(?:LOCAL\s+|SESSION\s+)?{setting}\b|set_config\s*\(\s*'{setting}'",
                    text, re.IGNORECASE):
                found[setting] = f"#{statement.number} {text[:120]}"
    return found


def relations(conn: psycopg.Connection) -> dict[int, tuple[str, str, int]]:
    """oid -> (schema.name, relkind, relfilenode) of every relation in non-system schemas."""
    return {oid: (f"{schema}.{name}", kind, node)
            for oid, schema, name, kind, node in conn.execute(RELATIONS_SQL).fetchall()}


def rewrites(before: dict, after: dict) -> dict[str, str]:
    """Per table name: rewritten (relfilenode changed), kept, created or dropped."""
    old = {name: node for name, kind, node in before.values() if kind in TABLE_KINDS}
    new = {name: node for name, kind, node in after.values() if kind in TABLE_KINDS}
    return {name: ("dropped" if name not in new else "created" if name not in old
                   else "rewritten" if old[name] != new[name] else "kept")
            for name in sorted(old | new)}


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
                sampler.close(time.monotonic())
        after = relations(conn)
        sampler.name_unseen(after)
        footprint.holds = [h for h in footprint.holds if not h.relation.startswith("pg_")]
        footprint.tables = rewrites(before, after)
        footprint.timeouts = timeouts_set(footprint.statements)
