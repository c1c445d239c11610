"""Monitoring: active connections, blocking locks, long transactions, pg_stat_statements under
both column namings; each quiet on an idle database and firing on a planted situation."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
from examples.checkrun import failed, run_checks, vibes_copy

from rollbook.pg.connect import connect
from rollbook.verdicts import monitoring

THRESHOLDS = """\
[database]
dsn_env = "UNUSED_MONITORING_DSN"
[monitoring]
max_active_connections = 0
max_lock_wait_s = 0
max_transaction_age_s = 0.5
max_statement_mean_ms = 100
min_calls = 2
"""


@pytest.fixture
def vibes(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


def test_idle_database_is_quiet(vibes):
    with connect(vibes, read_only=True) as conn:
        results = [monitoring.active_connections(conn, 0), monitoring.blocking_locks(conn, 0),
                   monitoring.long_transactions(conn, 0.5),
                   monitoring.top_statements(conn, 10, 10_000)]
    assert [r.ok for r in results] == [True] * 4, [r.summary for r in results]
    assert results[3].observed["columns"] == ["total_exec_time", "mean_exec_time"]


def test_statements_view_with_postgresql_12_column_names(vibes):
    with connect(vibes) as conn:
        conn.execute("""
            CREATE SCHEMA pg12;
            CREATE VIEW pg12.pg_stat_statements AS
            SELECT 10::oid AS userid, oid AS dbid, 'SELECT slow()'::text AS query,
                   4::bigint AS calls, 2400.0::float8 AS total_time, 600.0::float8 AS mean_time
            FROM pg_database WHERE datname = current_database()""")
    with connect(vibes, read_only=True) as conn:
        slow = monitoring.top_statements(conn, 10, 500, min_calls=4, schema="pg12")
        fine = monitoring.top_statements(conn, 10, 1000, min_calls=4, schema="pg12")
        rare = monitoring.top_statements(conn, 10, 500, min_calls=5, schema="pg12")

    assert not slow.ok and fine.ok and rare.ok
    assert slow.observed["columns"] == ["total_time", "mean_time"]
    assert slow.observed["top"] == [{"query": "SELECT slow()", "calls": 4, "total_ms": 2400.0,
                                     "mean_ms": 600.0}]
    assert "ORDER BY \"total_time\" DESC" in slow.sql[-1]
    assert slow.summary.startswith("1 of the top 1 statements (called 4+ times) average over 500"
                                   " ms; the slowest: 600 ms mean over 4 calls: SELECT slow()")


def test_missing_extension_is_reported_not_failed(scratch_dsn):
    with connect(scratch_dsn, read_only=True) as conn:
        result = monitoring.top_statements(conn, 10, 100)
    assert result.ok and result.observed == {"present": False}


def test_every_monitoring_check_fires_on_a_planted_situation(pytester, monkeypatch, vibes,
                                                               tmp_path):
    profile = tmp_path / "thresholds.toml"
    profile.write_text(THRESHOLDS)
    with connect(vibes) as conn:
        for _ in range(2):
            conn.execute("SELECT pg_sleep(0.15)")
    holder = psycopg.connect(vibes)  # a transaction, left open, holding a lock
    # SHARE blocks writers but not readers: the checks still read every table
    holder.execute("LOCK TABLE tags IN SHARE MODE")
    waiter = threading.Thread(target=_blocked_write, args=(vibes,))
    waiter.start()
    time.sleep(1.0)
    try:
        result, found = run_checks(pytester, monkeypatch, "--env", str(profile), "--dsn", vibes,
                                   modules=("test_monitoring.py",))
    finally:
        holder.rollback()
        holder.close()
        waiter.join(timeout=30)

    assert failed(found) == {"test_monitoring::test_active_connections",
                             "test_monitoring::test_no_session_blocked_on_a_lock",
                             "test_monitoring::test_no_long_transaction",
                             "test_monitoring::test_top_statements",
                             # the watch sees the same: a session over the limit in every
                             # sample, and one waiting on a lock in every sample
                             "test_monitoring::test_watch_stays_within_thresholds",
                             "test_monitoring::test_monitoring_triggers_are_quiet"}
    result.stdout.fnmatch_lines(["*1 active connections, more than 0*",
                                 "*1 sessions blocked longer than 0 s; pid * has waited*",
                                 "*2 transactions open longer than 0.5 s; the oldest, pid *idle in transaction*",
                                 "*statements (called 2+ times) average over 100 ms*pg_sleep*",
                                 "*4 of 4 samples every 1 s over 3 s out of bounds; first: +0.* s: 1 active sessions*",
                                 "*FIRED  High      deadlocks and lock waits: measured 0 deadlocks,"
                                 " lock waits in 4/4 samples*"])


def _blocked_write(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM tags WHERE false")


def test_query_texts_of_other_sessions_do_not_carry_passwords(vibes):
    setter = psycopg.connect(vibes, autocommit=True)
    waiter = threading.Thread(target=setter.execute, args=(
        "SELECT pg_sleep(3) /* then: ALTER ROLE ops PASSWORD 'hunter2' */",))
    waiter.start()
    time.sleep(0.5)
    try:
        with connect(vibes, read_only=True) as conn:
            result = monitoring.active_connections(conn, 10)
    finally:
        waiter.join(timeout=10)
        setter.close()
    [session] = result.observed["sessions"]
    assert "hunter2" not in session["query"] and "PASSWORD '***'" in session["query"]


def test_sessions_of_this_run_are_not_counted_as_load(vibes):
    """The checks' connection and the watch beside it share an application_name: one busy while
    the other samples must not read as an active session, while a stranger's must."""
    from rollbook.measure.watch import activity

    def busy(name: str) -> tuple[psycopg.Connection, threading.Thread]:
        conn = psycopg.connect(vibes, autocommit=True, application_name=name)
        thread = threading.Thread(target=conn.execute, args=("SELECT pg_sleep(1.5)",))
        thread.start()
        return conn, thread

    own, own_thread = busy("rollbook-checks")
    stranger, stranger_thread = busy("reporting-job")
    time.sleep(0.5)
    try:
        with connect(vibes, read_only=True, application_name="rollbook-checks") as conn:
            sessions = monitoring.active_connections(conn, 10).observed["sessions"]
            sampled = activity(conn)
    finally:
        for thread, conn in ((own_thread, own), (stranger_thread, stranger)):
            thread.join(timeout=10)
            conn.close()
    assert [s["application_name"] for s in sessions] == ["reporting-job"]
    assert sampled["active"] == 1


def test_checks_reading_the_watch_are_judged_last_so_its_window_is_not_waited_for():
    from types import SimpleNamespace

    from rollbook.pytest_plugin.monitoring import pytest_collection_modifyitems

    def item(name, *fixtures):
        return SimpleNamespace(name=name, fixturenames=fixtures)
    items = [item("counts", "measured"), item("error log", "post_rollback", "check"),
             item("orphans", "measured"), item("watch", "post_rollback"), item("schema")]
    pytest_collection_modifyitems(items)
    assert [i.name for i in items] == ["counts", "orphans", "schema", "error log", "watch"]
