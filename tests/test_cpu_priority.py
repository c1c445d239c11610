"""Work beside a timed step runs at the lowest CPU priority: the backends of the database it
reads (and pg_dump's own process) are reniced, the other databases' backends, where the timed
migration runs, are not; a server elsewhere is left alone."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import psycopg

from rollbook.pg.cpu_priority import LOWEST, lowest_for_child, lowest_priority
from rollbook.pg.server import Server, UrlServer


def backend_pid(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def wait_for_nice(pid: int, expected: int, timeout_s: float = 5.0) -> int:
    deadline = time.monotonic() + timeout_s
    while (nice := os.getpriority(os.PRIO_PROCESS, pid)) != expected and (
            time.monotonic() < deadline):
        time.sleep(0.02)
    return nice


def test_the_backends_of_one_database_are_lowered_and_no_others(pg_server, scratch_dsn):
    beside = f"rb_beside_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(beside)
    try:
        with psycopg.connect(pg_server.dsn(beside)) as reading, \
                psycopg.connect(scratch_dsn) as migrating:
            with lowest_priority(pg_server, beside) as lowering:
                assert lowering.ok
                # a backend that connects while the block runs is lowered too
                with psycopg.connect(pg_server.dsn(beside)) as late:
                    assert wait_for_nice(backend_pid(late), LOWEST) == LOWEST
                assert wait_for_nice(backend_pid(reading), LOWEST) == LOWEST
                assert os.getpriority(os.PRIO_PROCESS, backend_pid(migrating)) == 0
    finally:
        pg_server.drop_database(beside)


def test_a_server_elsewhere_is_left_alone(pg_server, scratch_dsn):
    # the same server, reached as a URL: rollbook cannot know its processes are on this host
    elsewhere = UrlServer(scratch_dsn)
    with psycopg.connect(scratch_dsn) as conn:
        with lowest_priority(elsewhere, conn.info.dbname) as lowering:
            assert not lowering.ok and "url server" in lowering.failure
            time.sleep(0.3)
            assert os.getpriority(os.PRIO_PROCESS, backend_pid(conn)) == 0


def test_a_child_started_with_it_runs_at_the_lowest_priority():
    shown = subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"],
                           capture_output=True, text=True, check=True,
                           preexec_fn=lowest_for_child)
    assert int(shown.stdout) == LOWEST


def test_a_server_whose_activity_cannot_be_read_says_why_and_the_work_goes_on():
    unreachable = Server(host="127.0.0.1", port=9, user="rollbook", password=None,
                         dbname="postgres")
    unreachable.kind = "embedded"  # on this machine, but nothing answers on its port
    with lowest_priority(unreachable, "vibes") as lowering:
        deadline = time.monotonic() + 15
        while lowering.ok and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not lowering.ok and "127.0.0.1" in lowering.failure, lowering.failure
