"""Every statement over a read-only connection runs in a READ ONLY transaction begun before it,
with the checks' timeouts in force, whatever the statements before it did; and what that costs
in round trips, counted from libpq's own trace of the protocol."""
from __future__ import annotations

import threading
import time

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.pg.connect import connect

# What the server says about the statement itself: read only, its timeouts, and whether a
# transaction was begun before it (an autocommit statement's transaction starts with it).
PROBE = ("SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'),"
         " current_setting('lock_timeout'), transaction_timestamp() < statement_timestamp()")
EXPECTED = ("on", "4s", "3s", True)

# Statements that try to leave the READ ONLY transaction or lift its timeouts for what follows.
UNDOERS = [
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false)",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET default_transaction_read_only = off",
    "SET statement_timeout = 0",
    "COMMIT",
    "ROLLBACK",
    "BEGIN",
    "SET TRANSACTION READ WRITE",
    "SELECT 1 / 0",
    "SELECT 1",
]


def _run(conn: psycopg.Connection, statement: str) -> None:
    try:
        conn.execute(statement)
    except psycopg.Error:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(UNDOERS), max_size=6))
def test_every_statement_runs_read_only_with_its_timeouts(scratch_dsn, statements):
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=4_000,
                 lock_timeout_ms=3_000) as conn:
        for statement in statements:
            _run(conn, statement)
            assert conn.execute(PROBE).fetchone() == EXPECTED, statement
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_inside_the_callers_transaction_too(scratch_dsn):
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=4_000,
                 lock_timeout_ms=3_000) as conn:
        _run(conn, UNDOERS[0])
        with conn.transaction():
            assert conn.execute(PROBE).fetchone() == EXPECTED
            conn.execute("COMMIT")  # the caller's block ended by a statement: the next begins anew
            assert conn.execute(PROBE).fetchone() == EXPECTED


def test_planted_defect_a_session_default_alone_fails_the_probe(scratch_dsn):
    """A connection with the same settings as session defaults only: the probe sees a statement
    alone in its transaction, and read-write once the default is switched off."""
    with psycopg.connect(scratch_dsn, autocommit=True, options="-c statement_timeout=4000 "
                         "-c lock_timeout=3000 -c default_transaction_read_only=on") as conn:
        assert conn.execute(PROBE).fetchone() == ("on", "4s", "3s", False)
        conn.execute(UNDOERS[0])
        assert conn.execute(PROBE).fetchone()[0] == "off"


def _round_trips(conn: psycopg.Connection, work, tmp_path) -> int:
    """Statements sent during `work` that each wait for the server's answer (a Query, or the
    Sync ending an extended query's Execute), from libpq's trace."""
    trace = tmp_path / "trace"
    with trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            conn.pgconn.untrace()
    sent = [fields[2].split(" ")[0] for fields in
            (line.split("\t") for line in trace.read_text().splitlines()) if fields[0] == "F"]
    # psycopg's one-off Parse of a statement it prepares is not counted: only what runs one
    return sum(1 for i, message in enumerate(sent)
               if message == "Query" or (message == "Sync" and sent[i - 1] == "Execute"))


def test_round_trips_per_statement(scratch_dsn, tmp_path):
    """A statement alone: BEGIN READ ONLY with its snapshot and timeouts, the statement, COMMIT.
    Inside the caller's transaction: the statement only."""
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=4_000) as conn:
        alone = _round_trips(conn, lambda: [conn.execute("SELECT 1") for _ in range(10)],
                             tmp_path)

        def in_block() -> None:
            with conn.transaction():
                for _ in range(10):
                    conn.execute("SELECT 1")
        block = _round_trips(conn, in_block, tmp_path)
    print(f"round trips: {alone / 10:g} per statement alone, {block} for a block of 10")
    assert alone == 3 * 10
    assert block == 10 + 3  # BEGIN, timeouts, COMMIT once for the block


def test_one_watchdog_thread_per_connection_not_per_statement(scratch_dsn):
    """The client-side deadline (tests/test_timeouts.py: a frozen backend is cut off) is kept by
    one thread a connection arms for each statement; closing the connection ends it."""
    before = threading.active_count()
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=4_000) as conn:
        for _ in range(20):
            conn.execute("SELECT 1")
        assert threading.active_count() == before + 1
    for _ in range(50):
        if threading.active_count() == before:
            break
        time.sleep(0.05)
    assert threading.active_count() == before
