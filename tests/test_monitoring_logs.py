"""Error logs as evidence: PostgreSQL's and the application's lines counted per minute in a
window, top messages with passwords masked, and PostgreSQL's log read through SQL
(pg_current_logfile + pg_read_file) only when the role may."""
from __future__ import annotations

import datetime as dt
import json
import logging
import time

import psycopg
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from rollbook.measure import logs
from rollbook.pg.connect import connect
from rollbook.pg.embedded import EmbeddedServer
from rollbook.pg.install import wheel_installation
from rollbook_vibes.api.logs import JsonLinesFormatter

UTC = dt.timezone.utc
START, END = dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC), dt.datetime(2026, 11, 30, 10, 5,
                                                                        tzinfo=UTC)
POSTGRES_LOG = """\
2026-11-30 09:59:59.900 UTC [41] app@vibes ERROR:  before the window
2026-11-30 10:00:01.123 UTC [42] app@vibes ERROR:  division by zero
2026-11-30 10:00:01.123 UTC [42] app@vibes STATEMENT:  SELECT 1/0
2026-11-30 10:00:30.000 UTC [42] app@vibes ERROR:  division by zero
2026-11-30 10:01:02.000 UTC [43] app@vibes FATAL:  password authentication failed for user "app"
2026-11-30 10:02:00.000 UTC [44] LOG:  checkpoint starting: time
	a continuation line without a timestamp
2026-11-30 11:00:00.000+01 [45] app@vibes PANIC:  ten o'clock UTC, in the window
2026-11-30 10:06:00.000 UTC [46] app@vibes ERROR:  after the window
"""


def test_postgres_errors_per_minute_in_the_window():
    found = logs.window(logs.parse(POSTGRES_LOG, "postgres"), "pg", START, END)
    assert (found.lines, found.errors) == (6, 4)
    assert found.by_level == {"ERROR": 2, "FATAL": 1, "PANIC": 1}
    assert found.per_minute == {"2026-11-30T10:00Z": 3, "2026-11-30T10:01Z": 1}
    assert found.top[0] == {"message": "division by zero", "count": 2}
    assert found.errors_per_min == pytest.approx(4 / 5)


def test_application_log_as_json_lines_or_plain_text():
    text = "\n".join([
        json.dumps({"ts": "2026-11-30T10:00:05.000+00:00", "level": "ERROR",
                    "message": "POST /api/v1/auth/login failed"}),
        json.dumps({"time": "2026-11-30T10:00:06Z", "levelname": "info", "msg": "fine"}),
        json.dumps({"@timestamp": "2026-11-30T10:03:00+00:00", "severity": "critical",
                    "event": "worker died"}),
        "2026-11-30 10:04:00,123+0000 ERROR vibes: plain text error",
        "2026-11-30 10:04:01,000+0000 INFO vibes: plain text info",
        "not a log line at all",
    ])
    found = logs.window(logs.parse(text, "app"), "app", START, END)
    assert (found.lines, found.errors) == (5, 3)
    assert found.per_minute == {"2026-11-30T10:00Z": 1, "2026-11-30T10:03Z": 1,
                                "2026-11-30T10:04Z": 1}
    assert {m["message"] for m in found.top} == {"POST /api/v1/auth/login failed",
                                                  "worker died", "vibes: plain text error"}


SECRET_TEMPLATES = ("connection to server failed: password={pw} rejected",
                    "ALTER ROLE app PASSWORD '{pw}'",
                    "could not connect to postgresql://app:{pw}@db.internal:5432/vibes",
                    "login with password: {pw}")


@given(pw=st.text(st.characters(categories=("L", "N", "P", "S"),
                                exclude_characters="'@/ \t\n\r\"\\"),
                  min_size=6, max_size=30),
       template=st.sampled_from(SECRET_TEMPLATES))
def test_passwords_never_reach_the_top_messages(pw, template):
    assume(not any(pw in t.replace("{pw}", "") for t in SECRET_TEMPLATES))
    line = json.dumps({"ts": "2026-11-30T10:00:05+00:00", "level": "ERROR",
                       "message": template.format(pw=pw)})
    found = logs.window(logs.parse(line, "app"), "app", START, END)
    assert found.errors == 1
    assert pw not in json.dumps(found.top, ensure_ascii=False)


def test_the_services_json_lines_mask_its_secrets():
    formatter = JsonLinesFormatter(("s3cret-token",))
    record = logging.LogRecord("rollbook_vibes.api", logging.ERROR, __file__, 1,
                               "token %s leaked", ("s3cret-token",), None)
    line = json.loads(formatter.format(record))
    assert line["message"] == "token *** leaked" and line["level"] == "ERROR"
    assert dt.datetime.fromisoformat(line["ts"]).tzinfo is not None


def test_missing_file_says_why():
    text = logs.from_file("app", "application log", logs.Path("/nonexistent/app.log"))
    assert text.text is None and "No such file" in text.why_not


@pytest.fixture(scope="module")
def collecting_server():
    """A server of its own whose logging_collector is on, so pg_current_logfile() names a file."""
    server = EmbeddedServer(wheel_installation(), settings={"logging_collector": "on"})
    with server:
        yield server


def test_postgres_log_through_sql_only_when_the_role_may(collecting_server):
    dsn = collecting_server.dsn("postgres")
    with connect(dsn) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1/0 AS planted_through_sql")
        conn.execute("DROP ROLE IF EXISTS monitor_plain")
        conn.execute("DROP ROLE IF EXISTS monitor_reader")
        conn.execute("CREATE ROLE monitor_plain LOGIN")
        conn.execute("CREATE ROLE monitor_reader LOGIN IN ROLE pg_monitor")
        conn.execute("GRANT EXECUTE ON FUNCTION pg_read_file(text, bigint, bigint),"
                     " pg_stat_file(text) TO monitor_reader")
    with connect(make_conninfo(dsn, user="monitor_plain"), read_only=True) as conn:
        refused = logs.postgres_from_sql(conn)
    assert refused.text is None
    assert "may not read the server's log" in refused.why_not
    assert "Hint: GRANT pg_monitor TO the checks' role and GRANT EXECUTE" in refused.why_not

    deadline = time.monotonic() + 5  # the collector writes the line a moment later
    while True:
        with connect(make_conninfo(dsn, user="monitor_reader"), read_only=True) as conn:
            read = logs.postgres_from_sql(conn)
        assert read.text is not None and "via pg_read_file" in read.source, read.why_not
        now = dt.datetime.now(UTC)
        found = logs.window(logs.parse(read.text, "postgres"), read.source,
                            now - dt.timedelta(minutes=5), now)
        if found.errors or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {"message": "division by zero", "count": 1} in found.top


def test_without_logging_collector_sql_says_to_name_the_file(scratch_dsn):
    with connect(scratch_dsn, read_only=True) as conn:
        text = logs.postgres_from_sql(conn)
    assert text.text is None and "logging_collector" in text.why_not
    assert "[monitoring] postgres_log" in text.why_not
