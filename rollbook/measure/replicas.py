"""Read-only replicas that share the content chunks with the primary: which of them may be
used, and which chunk runs where.

A replica is used only when it holds what the primary holds: it is a physical standby
(`pg_is_in_recovery()`) of the same cluster and database (system identifier and name, as the
baseline is told apart), and it has replayed the primary's WAL up to where the primary was when
the checks started. The primary's position is `pg_current_wal_insert_lsn()`, not
`pg_current_wal_lsn()`: with `synchronous_commit = off` a commit is visible before its WAL is
written, and the replica must have replayed that too. A replica that is behind gets
CATCH_UP_S to replay; after that it is left out with one line saying how far behind it is,
and its chunks run on the other servers: a lagging replica never decides a verdict.

Chunks are spread round-robin by their position in the (identical on every xdist worker) list
of split chunks, over the primary first and then the usable replicas, so a chunk runs on the
same server whichever worker takes it, and a run can be repeated server for server.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

from rollbook.errors import RollbookError
from rollbook.measure.baseline import database_identity
from rollbook.record.redact import redact_text

CATCH_UP_S = 5.0
POLL_S = 0.1
PRIMARY_POSITION_SQL = ("SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
                        " ELSE pg_current_wal_insert_lsn() END")
REPLAY_SQL = ("SELECT pg_last_wal_replay_lsn(), pg_wal_lsn_diff(%s::pg_lsn,"
              " pg_last_wal_replay_lsn())::bigint, pg_is_wal_replay_paused()")
T = TypeVar("T")
S = TypeVar("S")


def address(dsn: str) -> str:
    """host:port of a DSN, for people: never its password or user."""
    params = conninfo_to_dict(dsn)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"


@dataclass(frozen=True)
class Replica:
    """A replica's DSN and where it came from (the environment variable named in the
    profile's [database] replicas_env)."""

    source: str
    dsn: str

    @property
    def label(self) -> str:
        return f"{address(self.dsn)} (replica, {self.source})"


def primary_label(dsn: str) -> str:
    return f"{address(dsn)} (primary)"


def primary_position(conn: psycopg.Connection) -> str:
    """Where the primary's WAL is now (a standby given as the primary: what it replayed)."""
    return str(conn.execute(PRIMARY_POSITION_SQL).fetchone()[0])


def lag(primary: psycopg.Connection, replica: psycopg.Connection, position: str,
        wait_s: float = CATCH_UP_S) -> str | None:
    """Why `replica` does not hold what `primary` held at WAL `position`, in one line with a
    hint; None when it does (waiting up to `wait_s` for it to replay that far)."""
    here, there = database_identity(primary), database_identity(replica)
    if (here["system_identifier"], here["name"]) != (there["system_identifier"], there["name"]):
        return (f"it is database {there['name']} of system {there['system_identifier']}, not "
                f"the primary's {here['name']} of system {here['system_identifier']}. Hint: "
                "list physical standbys of the checked database only")
    if not replica.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        return ("it is not a standby (pg_is_in_recovery() is false), so nothing says it holds "
                "the primary's rows. Hint: list physical standbys (streaming replicas) only")
    deadline = time.monotonic() + wait_s
    while True:
        replayed, behind, paused = replica.execute(REPLAY_SQL, (position,)).fetchone()
        if behind <= 0:
            return None
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    why = ("its replay is paused (pg_wal_replay_pause()). Hint: SELECT pg_wal_replay_resume() "
           "on it" if paused else "Hint: look at its replication (pg_stat_replication on the "
           "primary), or run when it has caught up")
    return (f"it lags: replayed WAL up to {replayed}, {behind} bytes behind the primary's "
            f"{position} when the checks started (waited {wait_s:g} s); {why}")


def sort_out(primary: psycopg.Connection, replicas: Sequence[Replica],
             connect: Callable[[str], AbstractContextManager[psycopg.Connection]],
             wait_s: float = CATCH_UP_S) -> tuple[list[Replica], list[str]]:
    """(the replicas that hold what the primary holds now, one line per replica saying whether
    it is used and why not). `connect` opens a connection as the checks do (read-only)."""
    position = primary_position(primary)
    used, lines = [], []
    for replica in replicas:
        try:
            with connect(replica.dsn) as conn:
                why = lag(primary, conn, position, wait_s)
        except RollbookError as exc:
            why = exc.one_line()
        except psycopg.Error as exc:
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if why is None:
            used.append(replica)
            lines.append(f"replica {replica.label}: used, replayed past the primary's "
                         f"{position}")
        else:
            lines.append(redact_text(f"replica {replica.label} not used, its chunks run on the"
                                     f" other servers: {why}"))
    return used, lines


def spread(items: Sequence[T], servers: Sequence[S]) -> dict[T, S]:
    """Each item's server, round-robin in the items' order."""
    return {item: servers[i % len(servers)] for i, item in enumerate(items)}
