"""Every network call is bounded, and the one line that reports it names the setting."""
from __future__ import annotations

import os
import signal
import socket
import time
import uuid

import psycopg
import pytest
from psycopg import sql

from rollbook.errors import ServerError
from rollbook.measure.api_smoke import call, client_for
from rollbook.pg import connect as connect_mod
from rollbook.pg import role
from rollbook.pg.connect import DatabaseUnresponsive, connect


@pytest.fixture
def silent_port():
    """A port that accepts TCP connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_port_that_never_answers_fails_within_connect_timeout(silent_port, monkeypatch):
    monkeypatch.setattr(connect_mod, "CONNECT_TIMEOUT_S", 1)
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        with connect(f"postgresql://checker@127.0.0.1:{silent_port}/vibes", read_only=True):
            pass
    assert time.monotonic() - started < 5
    assert "(connect_timeout 1 s: the DSN's connect_timeout parameter)" in str(caught.value)
    assert "\n" not in caught.value.one_line()


def test_the_dsns_own_connect_timeout_is_kept_and_named(silent_port):
    started = time.monotonic()
    with pytest.raises(ServerError, match=r"connect_timeout 2 s"):
        with connect(f"postgresql://c@127.0.0.1:{silent_port}/v?connect_timeout=2"):
            pass
    assert 1.5 < time.monotonic() - started < 6


def test_an_http_call_to_a_port_that_never_answers_names_api_timeout(silent_port):
    with client_for(f"http://127.0.0.1:{silent_port}", 0.5) as client:
        seen = call(client, "GET", "/health")
    assert seen.status is None
    assert seen.error.endswith("(no answer within 0.5 s: [api] timeout_s)")


@pytest.fixture
def victims(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE victims (id int PRIMARY KEY)")
        conn.execute("INSERT INTO victims SELECT generate_series(1, 10)")
    return scratch_dsn


def test_a_frozen_backend_is_cut_off_shortly_after_statement_timeout(victims, monkeypatch):
    monkeypatch.setattr(connect_mod, "CLIENT_GRACE_S", 1.0)
    with connect(victims, read_only=True, statement_timeout_ms=500) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        os.kill(backend, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(DatabaseUnresponsive) as caught:
                conn.execute("SELECT count(*) FROM victims")
            assert time.monotonic() - started < 4
        finally:
            os.kill(backend, signal.SIGCONT)
    assert str(caught.value).startswith("the database did not answer within statement_timeout "
                                        "500 ms + 1 s (profile [database] statement_timeout_ms)")


def test_a_locked_table_names_lock_timeout_and_who_holds_the_lock(victims):
    with connect(victims, autocommit=False) as holder:
        holder.execute("LOCK TABLE victims IN ACCESS EXCLUSIVE MODE")
        with connect(victims, read_only=True, lock_timeout_ms=200) as conn:
            with pytest.raises(psycopg.errors.LockNotAvailable) as caught:
                conn.execute("SELECT count(*) FROM victims")
        holder.rollback()
    line = str(caught.value)
    assert "(lock_timeout 200 ms, profile [database] lock_timeout_ms): public.victims held in " \
           "AccessExclusiveLock by pid" in line
    assert "\n" not in line


def test_a_slow_statement_names_statement_timeout(victims):
    with connect(victims, read_only=True, statement_timeout_ms=100) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled,
                           match=r"\(statement_timeout 100 ms, profile \[database\] "
                                 r"statement_timeout_ms\)"):
            conn.execute("SELECT pg_sleep(2)")


def test_a_role_that_cannot_read_a_table_is_named_with_the_grant(victims):
    reader = f"partial_{uuid.uuid4().hex[:8]}"
    with connect(victims) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(reader)))
        conn.execute("CREATE TABLE readable (id int)")
        conn.execute(sql.SQL("GRANT SELECT ON readable TO {}").format(sql.Identifier(reader)))
    params = psycopg.conninfo.conninfo_to_dict(victims) | {"user": reader}
    try:
        with connect(psycopg.conninfo.make_conninfo(**params), read_only=True) as conn:
            assert role.unreadable_tables(conn) == (
                f"role {reader} cannot read 1 table(s): public.victims. Hint: GRANT "
                f"pg_read_all_data TO {reader}; (or GRANT SELECT on those tables).")
        with connect(victims, read_only=True) as conn:  # planted contrast: a superuser reads all
            assert role.unreadable_tables(conn) is None
    finally:
        with connect(victims) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(reader)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(reader)))
