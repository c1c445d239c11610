"""Each SQL statement a migration sends, seen as it is sent.

Alembic migrations go through SQLAlchemy, whatever their env.py does, so SQLAlchemy's cursor
events on every Engine see each statement of an upgrade or downgrade: in this process (the
drills' in-process alembic) or in an alembic child process that imports this module first.
The lock footprint times what each statement held; the crash-point drill stops the child just
before statement k.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator


@dataclass
class Statement:
    """One statement as sent: its 1-based position in the run, its text, the backend that runs
    it, and (after it returned) how long it took."""

    number: int
    sql: str
    backend_pid: int | None
    started: float  # time.monotonic()
    elapsed_s: float | None = None


def backend_pid(dbapi_connection) -> int | None:
    """The server process behind a DB-API connection (psycopg 3 or psycopg2)."""
    info = getattr(dbapi_connection, "info", None)
    if info is not None and hasattr(info, "backend_pid"):
        return info.backend_pid
    get_pid = getattr(dbapi_connection, "get_backend_pid", None)
    return get_pid() if get_pid is not None else None


@contextmanager
def each_statement(before: Callable[[Statement], None] | None = None,
                   after: Callable[[Statement], None] | None = None) -> Iterator[list[Statement]]:
    """Call `before` as each statement is about to be sent and `after` once it returned; yields
    the list of statements seen so far (in order)."""
    from sqlalchemy import event  # only when listening: every pytest process imports this
    from sqlalchemy.engine import Engine

    seen: list[Statement] = []
    running: dict[int, Statement] = {}

    def on_before(conn, cursor, statement, parameters, context, executemany) -> None:
        current = Statement(len(seen) + 1, statement, backend_pid(conn.connection.dbapi_connection),
                            time.monotonic())
        seen.append(current)
        running[id(cursor)] = current
        if before is not None:
            before(current)

    def on_after(conn, cursor, statement, parameters, context, executemany) -> None:
        current = running.pop(id(cursor), None)
        if current is None:
            return
        current.elapsed_s = time.monotonic() - current.started
        if after is not None:
            after(current)

    event.listen(Engine, "before_cursor_execute", on_before)
    event.listen(Engine, "after_cursor_execute", on_after)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_before)
        event.remove(Engine, "after_cursor_execute", on_after)
