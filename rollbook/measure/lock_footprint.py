"""The locks a migration took, as observed on the server: each hold (relation, mode, the
statement during which it appeared, how long it was held), each session that waited on the
migration, which tables were rewritten, and whether the migration set its timeouts.

rollbook/measure/lock_sampler.py observes them; this module is what was observed and how the
record and the verdicts read it. Whether the migration set lock_timeout or statement_timeout is
read from the statements the server received (SET or set_config, as each_statement saw them):
a session's settings cannot be read from outside it.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from rollbook.runbook.statements import Statement

INTERVAL_S = 0.01
ACCESS_EXCLUSIVE = "AccessExclusiveLock"
TABLE_KINDS = ("r", "p", "m")
TIMEOUT_SETTINGS = ("lock_timeout", "statement_timeout")

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
    ended: float = 0.0  # time.monotonic() when the command had returned and its locks were gone

    @property
    def started(self) -> float:
        return self.statements[0].started if self.statements else self.ended

    @property
    def committed(self) -> float:
        """When the sampler first saw the migration's last lock gone: its commit, give or
        take one interval."""
        return max((h.released for h in self.holds if h.released), default=self.ended)

    def longest(self, table: str | None = None, mode: str = ACCESS_EXCLUSIVE) -> Hold | None:
        """The longest hold in `mode` of `table`, or of any table."""
        found = [h for h in self.holds if h.mode == mode and (
            h.relation == table if table else h.kind in TABLE_KINDS)]
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


def rewrites(before: dict, after: dict) -> dict[str, str]:
    """Per table name: rewritten (relfilenode changed), kept, created or dropped."""
    old = {name: node for name, kind, node in before.values() if kind in TABLE_KINDS}
    new = {name: node for name, kind, node in after.values() if kind in TABLE_KINDS}
    return {name: ("dropped" if name not in new else "created" if name not in old
                   else "rewritten" if old[name] != new[name] else "kept")
            for name in sorted(old | new)}
