"""Read-only that cannot be undone: the issue's attack, refused at profile load, and powerless
at the connection even when it slips through."""
from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollbook.errors import ConfigError
from rollbook.pg import query_guard, role
from rollbook.pg.connect import connect
from rollbook.settings.plain_select import why_not_plain_select
from rollbook.settings.profile_files import load_profile

SWITCH_OFF = "SELECT set_config('default_transaction_read_only', 'off', false) AS x"
DELETE_ALL = "WITH d AS (DELETE FROM victims RETURNING 1) SELECT count(*) FROM d"

ATTACK_PROFILE = f'''
[database]
dsn_env = "VIBES_DSN"

[[queries]]
name = "innocent looking"
params = "{SWITCH_OFF}"
sql = "{DELETE_ALL}"
'''


def test_the_issues_attack_is_refused_at_profile_load(tmp_path, scratch_dsn):
    """The DELETE by PostgreSQL's parser when the profile is read; set_config by the server the
    query would run on (see tests/test_query_guard.py for the whole hostile table)."""
    path = tmp_path / "attack.toml"
    path.write_text(ATTACK_PROFILE)
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path), tmp_path)
    assert caught.value.mistakes == [
        f"{path}: [[queries]] #1 sql: must be a plain SELECT: it holds DELETE (a data-modifying "
        "statement)"]
    with connect(scratch_dsn, read_only=True) as conn:
        assert query_guard.why_refused(conn, SWITCH_OFF) == (
            "calls set_config(text,text,boolean), which touches configuration: refused "
            "whatever its volatility")


@pytest.mark.parametrize("text, reason", [
    ("SELECT 1; DELETE FROM t", "must be one statement"),
    ("SELECT 1;\nSELECT 2", "must be one statement"),
    ("WITH d AS (UPDATE t SET a = 1 RETURNING 1) SELECT 1", "it holds UPDATE"),
    ("WITH d AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1", "it holds INSERT"),
    ("SELECT * INTO copy_of_t FROM t", "SELECT INTO creates a table"),
    ("SELECT * FROM t FOR UPDATE", "FOR UPDATE locks rows"),
    ("SELECT * FROM t FOR  no key  UPDATE", "FOR NO KEY UPDATE locks rows"),
    ("SELECT * FROM t FOR KEY SHARE", "FOR KEY SHARE locks rows"),
    ("DELETE FROM t", "must be a SELECT (checks are read-only), got 'DELETE FROM t'"),
    ("/* SELECT */ DELETE FROM t", "must be a SELECT (checks are read-only), got 'DELETE FROM t'"),
    ("", "must be a SELECT"),
])
def test_anything_but_one_plain_select_is_refused(text, reason):
    assert reason in (why_not_plain_select(text) or "accepted")


@pytest.mark.parametrize("text", [
    "SELECT * FROM users WHERE id = %(id)s",
    "SELECT 'DELETE FROM t; set_config(' AS decoy, \"update\" FROM t;",
    "SELECT $$ INSERT INTO t $$, $x$ ; $x$ -- DELETE\n FROM t",
    "WITH recent AS (SELECT * FROM journals WHERE created_at > now() - interval '1 day')"
    " SELECT count(*) FROM recent",
    "VALUES (1), (2)",
    "TABLE users",
    "SELECT u.email, COUNT(j.id) FROM users u LEFT JOIN journals j ON u.id = j.user_id"
    " GROUP BY u.id, u.email ORDER BY 2 DESC LIMIT 10",
])
def test_plain_selects_pass(text):
    assert why_not_plain_select(text, bound="%(" in text) is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_a_second_statement_never_passes(tail):
    """Whatever follows a ';' outside quotes and comments, the query is refused."""
    verdict = why_not_plain_select(f"SELECT 1; DELETE FROM t {tail}")
    assert verdict is not None


@pytest.fixture
def victims(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE victims (id int PRIMARY KEY)")
        conn.execute("INSERT INTO victims SELECT generate_series(1, 10)")
    return scratch_dsn


def _count(dsn: str) -> int:
    with connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM victims").fetchone()[0]


ATTACKS = [
    pytest.param([SWITCH_OFF, DELETE_ALL], id="set_config-then-data-modifying-CTE"),
    pytest.param([f"WITH s AS ({SWITCH_OFF}) SELECT * FROM s, "
                  "LATERAL (WITH d AS (DELETE FROM victims RETURNING 1) SELECT count(*) FROM d) x"],
                 id="set_config-and-delete-in-one-statement"),
    pytest.param(["SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
                  "SET default_transaction_read_only = off", "DELETE FROM victims"],
                 id="session-characteristics"),
    pytest.param(["COMMIT; SET default_transaction_read_only = off; DELETE FROM victims"],
                 id="escape-the-transaction-in-one-string"),
    pytest.param(["SET TRANSACTION READ WRITE", "DELETE FROM victims"],
                 id="set-transaction-read-write"),
]


@pytest.mark.parametrize("statements", ATTACKS)
def test_no_statement_sent_over_the_checks_connection_can_write(victims, statements):
    with connect(victims, read_only=True, statement_timeout_ms=5_000) as conn:
        with pytest.raises(psycopg.Error):
            for statement in statements:
                conn.execute(statement)
    assert _count(victims) == 10


@pytest.mark.parametrize("statements", ATTACKS[:1])
def test_within_one_transaction_block_too(victims, statements):
    with connect(victims, read_only=True) as conn:
        with pytest.raises(psycopg.Error), conn.transaction():
            conn.execute("SET TRANSACTION READ WRITE")
            for statement in statements:
                conn.execute(statement)
    assert _count(victims) == 10


def test_planted_defect_a_session_default_alone_is_switched_off(victims):
    """What the checks had before: default_transaction_read_only = on and nothing else. The same
    attack deletes every row, so the test above can fail."""
    with psycopg.connect(victims, autocommit=True,
                         options="-c default_transaction_read_only=on") as conn:
        conn.execute(SWITCH_OFF)
        conn.execute(DELETE_ALL)
    assert _count(victims) == 0


def test_reads_still_work_and_leave_no_transaction_open(victims):
    with connect(victims, read_only=True, statement_timeout_ms=5_000) as conn:
        assert conn.execute("SELECT count(*) FROM victims").fetchone()[0] == 10
        assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def _as_role(dsn: str, role_name: str) -> str:
    params = conninfo_to_dict(dsn)
    params["user"] = role_name
    return make_conninfo(**params)


def test_preflight_warns_when_the_role_could_write(victims):
    suffix = uuid.uuid4().hex[:8]
    reader, writer = f"reader_{suffix}", f"writer_{suffix}"
    with connect(victims) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE pg_read_all_data, pg_read_all_stats")
                     .format(sql.Identifier(reader)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(writer)))
        conn.execute(sql.SQL("GRANT SELECT, DELETE ON victims TO {}").format(
            sql.Identifier(writer)))
    try:
        with connect(victims, read_only=True) as conn:
            assert "is a superuser" in role.write_warning(conn)
        with connect(_as_role(victims, writer), read_only=True) as conn:
            warning = role.write_warning(conn)
        assert warning.startswith(f"warning: role {writer} may write 1 table(s), e.g. "
                                  "public.victims;")
        assert warning.endswith("IN ROLE pg_read_all_data, pg_read_all_stats;")
        with connect(_as_role(victims, reader), read_only=True) as conn:
            assert role.write_warning(conn) is None
    finally:
        with connect(victims) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}, {}").format(
                sql.Identifier(reader), sql.Identifier(writer)))
            conn.execute(sql.SQL("DROP ROLE {}, {}").format(
                sql.Identifier(reader), sql.Identifier(writer)))


LIFT_TIMEOUTS = ("SELECT set_config('statement_timeout', '0', false), "
                 "set_config('lock_timeout', '0', false)")


def test_a_statement_cannot_lift_the_checks_timeouts_for_the_next(victims):
    with connect(victims, read_only=True, statement_timeout_ms=300, lock_timeout_ms=200) as conn:
        conn.execute(LIFT_TIMEOUTS)
        assert conn.execute("SELECT current_setting('statement_timeout'), "
                            "current_setting('lock_timeout')").fetchone() == ("300ms", "200ms")
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT pg_sleep(3)")


def test_planted_defect_session_timeouts_alone_are_lifted(victims):
    """What the checks had before: the timeouts as session settings only. The same statement
    lifts them and the sleep runs past the timeout, so the test above can fail."""
    with psycopg.connect(victims, autocommit=True,
                         options="-c statement_timeout=300 -c lock_timeout=200") as conn:
        conn.execute(LIFT_TIMEOUTS)
        conn.execute("SELECT pg_sleep(0.6)")
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "0"


@pytest.fixture
def roles(victims):
    """Make roles on the scratch server; every one dropped after the test."""
    made: list[str] = []

    def make(statement: str) -> str:
        name = f"rb_role_{uuid.uuid4().hex[:8]}"
        with connect(victims) as conn:
            conn.execute(statement.replace("{name}", name))
        made.append(name)
        return name

    yield make
    with connect(victims) as conn:
        for name in made:
            conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(name)))


@pytest.mark.parametrize("grant, named", [
    ("CREATE ROLE {name} LOGIN IN ROLE pg_read_all_data, pg_signal_backend",
     "may signal other backends (pg_signal_backend)"),
    ("CREATE ROLE {name} LOGIN REPLICATION IN ROLE pg_read_all_data",
     "may create replication slots (REPLICATION)"),
    ("CREATE ROLE {name} LOGIN IN ROLE pg_read_all_data, pg_read_server_files",
     "may read files on the server (pg_read_server_files)"),
])
def test_a_role_that_can_do_more_than_read_is_warned_with_the_create_role(victims, roles,
                                                                          grant, named):
    name = roles(grant)
    with connect(_as_role(victims, name), read_only=True) as conn:
        warning = role.write_warning(conn)
    assert warning.startswith(f"warning: role {name} {named};")
    assert warning.endswith("Hint: run the checks as a role that can only read: CREATE ROLE "
                            "rollbook_checker LOGIN IN ROLE pg_read_all_data, "
                            "pg_read_all_stats;")


def test_the_role_rollbook_role_sql_prints_reads_and_can_do_nothing_more(victims, roles):
    printed = subprocess.run([sys.executable, "-m", "rollbook.cli", "role-sql", "--name",
                              "NAME_HERE"], capture_output=True, text=True, check=True).stdout
    create = printed.splitlines()[0]
    name = roles(create.replace('"NAME_HERE"', "{name}"))
    with connect(_as_role(victims, name), read_only=True) as conn:
        assert role.write_warning(conn) is None
        assert conn.execute("SELECT count(*) FROM victims").fetchone()[0] == 10
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the server's own verdict
            conn.execute("SELECT pg_read_file('postgresql.conf')")
