"""Connections: read-write for drills, strictly read-only for operator checks."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import psycopg

from rollbook.errors import ServerError
from rollbook.record.redact import redact_dsn

APPLICATION_NAME = "rollbook"


@contextmanager
def connect(dsn: str, *, read_only: bool = False, statement_timeout_ms: int = 0,
            lock_timeout_ms: int = 0, application_name: str = APPLICATION_NAME,
            autocommit: bool = True) -> Iterator[psycopg.Connection]:
    """A connection with the session settings every rollbook connection carries.

    read_only sets default_transaction_read_only = on at connection start, so no statement
    sent over it can write, whatever it is.
    """
    options = [f"-c statement_timeout={statement_timeout_ms}",
               f"-c lock_timeout={lock_timeout_ms}"]
    if read_only:
        options.append("-c default_transaction_read_only=on")
    try:
        conn = psycopg.connect(dsn, autocommit=autocommit, application_name=application_name,
                               options=" ".join(options))
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServerError(f"cannot connect to {redact_dsn(dsn)}: {first}",
                          hint="check host, port, credentials and that the server runs."
                          ) from exc
    try:
        yield conn
    finally:
        conn.close()
