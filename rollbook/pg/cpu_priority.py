"""Work beside a timed step at the lowest CPU priority: every backend serving one database
(its parallel workers too) reniced as it appears, so the step beside it (a migration the drill
times) keeps the cores it would have alone, and the work beside it takes what is left. Only a
server on this machine can be reniced (embedded or local); elsewhere nothing changes."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from rollbook.pg.server import Server

LOWEST = 19  # nice: the scheduler gives it about 1/70 of a core another process wants
POLL_S = 0.1  # a backend runs at most this long at its usual priority
ON_THIS_MACHINE = ("embedded", "local")

BACKENDS_SQL = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"


@dataclass
class Lowering:
    """Whether the backends were being lowered, and if that stopped, why."""

    ok: bool
    failure: str = ""


@contextmanager
def lowest_priority(server: Server, database: str) -> Iterator[Lowering]:
    """While the block runs, each backend connected to `database` runs at nice LOWEST. Yields
    whether it does (a server on this machine, and its activity readable)."""
    if server.kind not in ON_THIS_MACHINE:
        yield Lowering(False, f"a {server.kind} server is not this machine's to renice")
        return
    done = threading.Event()
    lowering = Lowering(True)

    def renice() -> None:
        lowered: set[int] = set()
        try:
            with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
                while True:
                    pids = {pid for (pid,) in conn.execute(BACKENDS_SQL, (database,))}
                    for pid in pids - lowered:
                        lower(pid)
                    lowered = pids
                    if done.wait(POLL_S):
                        return
        except psycopg.Error as exc:  # the work beside it goes on at its usual priority
            lowering.ok = False
            lowering.failure = (str(exc).strip().splitlines() or [type(exc).__name__])[0]

    thread = threading.Thread(target=renice, name="rollbook-lowest-priority", daemon=True)
    thread.start()
    try:
        yield lowering
    finally:
        done.set()
        thread.join()


def lower(pid: int) -> None:
    """Process `pid` at nice LOWEST; one that has ended, or is not ours to renice, is left."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, LOWEST)
    except (ProcessLookupError, PermissionError):
        pass


def lowest_for_child() -> None:
    """A subprocess's preexec_fn: the child runs at nice LOWEST."""
    os.nice(LOWEST - os.nice(0))
