"""Connections: read-write for drills, read-only that cannot be undone for operator checks.

A read-only connection does not trust the session default alone (`set_config(
'default_transaction_read_only', 'off', false)` switches that off from inside a SELECT):

- every statement runs inside a transaction begun `BEGIN READ ONLY` (psycopg's
  `Connection.read_only`), and that transaction has taken its snapshot before the caller's
  first statement, so `SET TRANSACTION READ WRITE` is refused by the server;
- that first statement also sets `statement_timeout` and `lock_timeout` for the transaction
  (SET LOCAL), so a statement that lifted the session's (`set_config('statement_timeout', '0',
  false)`) has lifted nothing for the next one; BEGIN READ ONLY and that statement travel in
  one round trip, COMMIT in a second, the caller's statement in between (a statement inside
  the caller's own `conn.transaction()` runs in that READ ONLY transaction, no savepoint);
- every statement goes over the extended query protocol, which carries exactly one statement:
  `COMMIT; DELETE ...` in one string is refused instead of escaping the transaction;
- a statement that gets no answer (a frozen backend, a network that drops packets) is cut off
  on the client side shortly after its statement_timeout, which a stopped server cannot enforce
  (one watchdog thread per connection, armed for each statement).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from rollbook.errors import ConfigError, ServerError
from rollbook.record.redact import redact_dsn, redact_text

APPLICATION_NAME = "rollbook"
CONNECT_TIMEOUT_S = 10
# How long past its statement_timeout a statement may stay unanswered before the client gives up.
CLIENT_GRACE_S = 5.0
# The client sessions a measurement counts: not its own, and not the other sessions of this run
# (the checks' connection and the watch beside it share one application_name), so that what
# rollbook itself is doing at that moment never reads as load on the database.
OTHER_CLIENTS = ("pid <> pg_backend_pid() AND backend_type = 'client backend'"
                 " AND application_name IS DISTINCT FROM"
                 " nullif(current_setting('application_name'), '')")
DSN_HINT = ("use postgresql://USER@HOST:5432/DBNAME; percent-encode @ : / in a password as %40 "
            "%3A %2F, or keep the password in PGPASSWORD or ~/.pgpass.")


OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)
REASSERT_TIMEOUTS = ("SELECT set_config('statement_timeout', %s, true), "
                     "set_config('lock_timeout', %s, true)")


class DatabaseUnresponsive(psycopg.OperationalError):
    """The server did not answer a statement within its statement_timeout plus a grace."""


class ReadOnlyConnection(psycopg.Connection):
    """A connection whose every transaction is READ ONLY and has a snapshot before use."""

    statement_timeout_ms: int = 0
    lock_timeout_ms: int = 0
    _watchdog: "Watchdog | None" = None

    @contextmanager
    def transaction(self, *args: Any, **kwargs: Any) -> Iterator[psycopg.Transaction]:
        outermost = self.info.transaction_status == TransactionStatus.IDLE
        with super().transaction(*args, **kwargs) as tx:
            if outermost:
                # Taking the snapshot now makes `SET TRANSACTION READ WRITE` impossible later;
                # the same statement re-asserts the timeouts for this transaction, whatever an
                # earlier statement did to the session's.
                psycopg.Cursor(self).execute(REASSERT_TIMEOUTS, (
                    str(self.statement_timeout_ms), str(self.lock_timeout_ms)))
            yield tx

    @contextmanager
    def statement_alone(self) -> Iterator[None]:
        """One statement's own READ ONLY transaction, begun with its snapshot and timeouts in
        one round trip; inside the caller's `transaction()`, that transaction."""
        if self.info.transaction_status != TransactionStatus.IDLE:
            yield
            return
        # Our own text, sent over the simple protocol so both statements go in one round trip;
        # the values are ints formatted here, so nothing is interpolated from outside.
        psycopg.Cursor(self).execute(
            "BEGIN READ ONLY; SELECT set_config('statement_timeout', '%d', true), "
            "set_config('lock_timeout', '%d', true)"
            % (int(self.statement_timeout_ms), int(self.lock_timeout_ms)))
        try:
            yield
        except BaseException:
            if self.info.transaction_status in OPEN:
                psycopg.Cursor(self).execute("ROLLBACK")
            raise
        if self.info.transaction_status in OPEN:  # unless the statement was a COMMIT
            psycopg.Cursor(self).execute("COMMIT")

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
        super().close()


class ReadOnlyCursor(psycopg.Cursor):
    """Runs each statement alone, in a READ ONLY transaction, within a client-side deadline."""

    def execute(self, query, params=None, **kwargs) -> "ReadOnlyCursor":
        conn = self.connection
        try:
            with _deadline(conn), conn.statement_alone():
                return super().execute(query, params, **kwargs)
        except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
            raise explained(conn, exc) from exc

    def executemany(self, query, params_seq, **kwargs) -> None:
        conn = self.connection
        with _deadline(conn), conn.statement_alone():
            super().executemany(query, params_seq, **kwargs)

    def stream(self, query, params=None, **kwargs):
        conn = self.connection
        with _deadline(conn), conn.statement_alone():
            yield from super().stream(query, params, **kwargs)

    def _execute_send(self, query, *, force_extended: bool = False, binary=None) -> None:
        # The simple query protocol runs several statements from one string; the extended one
        # refuses that ("cannot insert multiple commands into a prepared statement").
        super()._execute_send(query, force_extended=True, binary=binary)


class Watchdog:
    """One thread per connection that shuts its socket down when the statement it was armed for
    is still unanswered at its deadline (starting a timer thread per statement cost more than
    many statements)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.fileno = conn.fileno()
        self.cond = threading.Condition()
        self.deadline: float | None = None
        self.armed = 0  # which arming this is; `fired` holds the one that was cut off
        self.fired = 0
        self.stopped = False
        threading.Thread(target=self._watch, name="rollbook-deadline", daemon=True).start()

    def arm(self, seconds: float) -> int:
        with self.cond:
            self.armed += 1
            self.deadline = time.monotonic() + seconds
            self.cond.notify()
            return self.armed

    def disarm(self) -> None:
        with self.cond:
            self.deadline = None

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()

    def _watch(self) -> None:
        with self.cond:
            while not self.stopped:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                # under the lock, so the statement cannot finish and another begin meanwhile
                self.fired, self.deadline = self.armed, None
                try:
                    with socket.socket(fileno=os.dup(self.fileno)) as sock:
                        sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@contextmanager
def _deadline(conn: ReadOnlyConnection) -> Iterator[None]:
    """Shut the socket down when the server has not answered well past statement_timeout."""
    if not conn.statement_timeout_ms:
        yield
        return
    if conn._watchdog is None:
        conn._watchdog = Watchdog(conn)
    watchdog = conn._watchdog
    arming = watchdog.arm(conn.statement_timeout_ms / 1000 + CLIENT_GRACE_S)
    try:
        yield
    except psycopg.OperationalError as exc:
        if watchdog.fired == arming:
            raise DatabaseUnresponsive(
                f"the database did not answer within statement_timeout "
                f"{conn.statement_timeout_ms} ms + {CLIENT_GRACE_S:g} s (profile [database] "
                "statement_timeout_ms); the connection was closed. Hint: look for a frozen "
                "backend or a network problem, or raise statement_timeout_ms.") from exc
        raise
    finally:
        watchdog.disarm()


def check_dsn(dsn: str) -> dict[str, str]:
    """The DSN's parameters, or one line saying why it is not a DSN (the password masked)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"the DSN {redact_dsn(dsn)!r} is not valid: {redact_text(first)}.",
                          hint=DSN_HINT) from None
    if "@" in params.get("host", ""):
        # libpq split user:pa@ss@host at the first @: the "host" holds the password's tail
        raise ConfigError("the DSN's host contains '@': the password has an unencoded @.",
                          hint=DSN_HINT)
    return params


@contextmanager
def connect(dsn: str, *, read_only: bool = False, statement_timeout_ms: int = 0,
            lock_timeout_ms: int = 0, application_name: str = APPLICATION_NAME,
            autocommit: bool = True) -> Iterator[psycopg.Connection]:
    """A connection with the session settings every rollbook connection carries.

    read_only: see the module docstring; the session default is set as well.
    A DSN without its own connect_timeout gets CONNECT_TIMEOUT_S.
    """
    params = check_dsn(dsn)
    options = [f"-c statement_timeout={statement_timeout_ms}",
               f"-c lock_timeout={lock_timeout_ms}"]
    if read_only:
        options.append("-c default_transaction_read_only=on")
    extra = {} if "connect_timeout" in params else {"connect_timeout": CONNECT_TIMEOUT_S}
    kind = ReadOnlyConnection if read_only else psycopg.Connection
    try:
        conn = kind.connect(dsn, autocommit=autocommit, application_name=application_name,
                            options=" ".join(options), **extra)
    except psycopg.OperationalError as exc:
        raise ServerError(f"cannot connect to {redact_dsn(dsn)}: {connect_failure(exc, params)}",
                          hint="check host, port, credentials and that the server runs."
                          ) from None
    if read_only:
        conn.read_only = True
        conn.cursor_factory = ReadOnlyCursor
        conn.statement_timeout_ms, conn.lock_timeout_ms = statement_timeout_ms, lock_timeout_ms
    try:
        yield conn
    finally:
        conn.close()


def connect_failure(exc: BaseException, params: dict[str, str]) -> str:
    """libpq's reason in one line, with the timeout named when that is what ran out."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "timeout expired" in first:
        seconds = params.get("connect_timeout", CONNECT_TIMEOUT_S)
        first += f" (connect_timeout {seconds} s: the DSN's connect_timeout parameter)"
    return redact_text(first)


LOCK_HOLDERS_SQL = """
SELECT format('%I.%I held in %s by pid %s', n.nspname, c.relname, l.mode, l.pid)
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.mode IN ('AccessExclusiveLock', 'ExclusiveLock')
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1 LIMIT 3
"""


def explained(conn: ReadOnlyConnection, exc: psycopg.Error) -> psycopg.Error:
    """The same error, its message naming the timeout that ran out and its setting."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        try:
            if conn.info.transaction_status == TransactionStatus.INERROR:
                # the caller's transaction() block, aborted by the error: nothing more can run
                # in it, and the statement has no savepoint to go back to
                psycopg.Cursor(conn).execute("ROLLBACK")
            holders = [row[0] for row in psycopg.Cursor(conn).execute(LOCK_HOLDERS_SQL)]
        except psycopg.Error:
            holders = []
        held = f": {'; '.join(holders)}" if holders else ""
        text = (f"{first} (lock_timeout {conn.lock_timeout_ms} ms, profile [database] "
                f"lock_timeout_ms){held}. Hint: another session holds a lock on a table the "
                "checks read; let it finish, then run the checks again.")
    elif "statement timeout" in first:
        text = (f"{first} (statement_timeout {conn.statement_timeout_ms} ms, profile [database] "
                "statement_timeout_ms). Hint: raise statement_timeout_ms for a database this "
                "size, or look for what slows it.")
    else:
        return exc
    return type(exc)(text)
