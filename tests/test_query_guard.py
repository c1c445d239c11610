"""Hostile profile queries: each refused when the profile is loaded and met on its server,
naming the function or construct, and the server unchanged, as a superuser sees it.

The judge of "what a query calls" is PostgreSQL's own parser (pglast) and the server's pg_proc;
the judge of "unchanged" is the server's own view of itself: sessions, configuration load time,
WAL position, replication slots, statistics resets, advisory locks, notifications, large
objects, transaction ids, sequences and files.
"""
from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager

import psycopg
import pytest

from rollbook.errors import ConfigError
from rollbook.measure import plans, snapshot
from rollbook.pg import query_guard
from rollbook.pg.connect import connect
from rollbook.settings.profile import KeyQuery, Performance
from rollbook.settings.profile_files import load_profile

BACKEND = "(SELECT min(pid) FROM pg_stat_activity WHERE application_name = 'victim')"
# (query, what the one line must name)
HOSTILE = [
    # data-modifying, locking, INTO, more than one statement: refused by the parser's tree
    ("WITH d AS (DELETE FROM victims RETURNING 1) SELECT count(*) FROM d", "holds DELETE"),
    ("WITH u AS (UPDATE victims SET id = id RETURNING 1) SELECT 1", "holds UPDATE"),
    ("WITH i AS (INSERT INTO victims VALUES (0) RETURNING 1) SELECT 1", "holds INSERT"),
    ("SELECT * FROM (SELECT 1) s, LATERAL (WITH m AS (MERGE INTO victims v USING (SELECT 1 AS id)"
     " s ON v.id = s.id WHEN MATCHED THEN DELETE RETURNING 1) SELECT 1) x", "MERGE"),
    ("SELECT * INTO stolen FROM victims", "SELECT INTO"),
    ("SELECT * FROM victims FOR UPDATE", "FOR UPDATE locks rows"),
    ("SELECT * FROM victims FOR NO KEY UPDATE NOWAIT", "FOR NO KEY UPDATE locks rows"),
    ("SELECT * FROM victims FOR SHARE", "FOR SHARE locks rows"),
    ("SELECT * FROM victims FOR KEY SHARE SKIP LOCKED", "FOR KEY SHARE locks rows"),
    ("SELECT * FROM (SELECT * FROM victims FOR UPDATE) s", "FOR UPDATE locks rows"),
    ("SELECT 1; DELETE FROM victims", "must be one statement"),
    ("SELECT 1; SET statement_timeout = 0", "must be one statement"),
    ("DELETE FROM victims", "got 'DELETE FROM victims'"),
    ("/* SELECT */ TRUNCATE victims", "got 'TRUNCATE victims'"),
    ("SET statement_timeout = 0", "got 'SET statement_timeout ='"),
    ("COPY victims TO '/tmp/rollbook-probe'", "got 'COPY victims TO'"),
    ("DO $$ BEGIN PERFORM pg_notify('rollbook_probe', 'x'); END $$", "got 'DO $$ BEGIN'"),
    ("CALL pg_catalog.pg_sleep(1)", "got 'CALL pg_catalog.pg_sleep(1)'"),
    ("EXPLAIN ANALYZE DELETE FROM victims", "got 'EXPLAIN ANALYZE DELETE'"),
    ("CHECKPOINT", "got 'CHECKPOINT'"),
    ("LISTEN rollbook_probe", "got 'LISTEN rollbook_probe'"),
    ("SELECT $$ unterminated", "not valid SQL for PostgreSQL's parser"),
    # sessions, backends
    (f"SELECT pg_terminate_backend({BACKEND})", "pg_terminate_backend(integer,bigint)"),
    (f'SELECT "pg_terminate_backend"({BACKEND})', "pg_terminate_backend(integer,bigint)"),
    (f'SELECT U&"pg_\\0074erminate_backend"({BACKEND})', "pg_terminate_backend"),
    (f"SELECT pg_catalog.pg_cancel_backend({BACKEND})", "pg_cancel_backend(integer)"),
    (f'SELECT "pg_catalog"."pg_cancel_backend"({BACKEND})', "pg_cancel_backend(integer)"),
    (f"SELECT pg_log_backend_memory_contexts({BACKEND})", "pg_log_backend_memory_contexts"),
    ("SELECT pg_export_snapshot()", "pg_export_snapshot()"),
    # configuration, the checks' own timeouts
    ("SELECT pg_reload_conf()", "pg_reload_conf()"),
    ("SELECT pg_rotate_logfile()", "pg_rotate_logfile()"),
    ("SELECT set_config('statement_timeout', '0', false), pg_sleep(3600)",
     "set_config(text,text,boolean), which touches configuration"),
    ("SELECT PG_CATALOG.SET_CONFIG('lock_timeout', '0', false)", "set_config(text,text,boolean)"),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config"),
    ("SELECT setseed(0.5)", "setseed(double precision)"),
    # statistics
    ("SELECT pg_stat_reset()", "pg_stat_reset()"),
    ("SELECT pg_stat_reset_shared('bgwriter')", "pg_stat_reset_shared"),
    ("SELECT pg_stat_reset_single_table_counters('victims'::regclass)",
     "pg_stat_reset_single_table_counters(oid)"),
    ("SELECT pg_stat_clear_snapshot()", "pg_stat_clear_snapshot()"),
    ("SELECT pg_stat_force_next_flush()", "pg_stat_force_next_flush()"),
    # replication, WAL
    ("SELECT pg_create_physical_replication_slot('rollbook_probe', true)",
     "pg_create_physical_replication_slot"),
    ("SELECT * FROM pg_create_logical_replication_slot('rollbook_probe', 'pgoutput')",
     "pg_create_logical_replication_slot"),
    ("SELECT pg_drop_replication_slot('rollbook_probe')", "pg_drop_replication_slot(name)"),
    ("SELECT pg_replication_origin_create('rollbook_probe')", "pg_replication_origin_create"),
    ("SELECT pg_switch_wal()", "pg_switch_wal()"),
    ("SELECT pg_create_restore_point('rollbook_probe')", "pg_create_restore_point(text)"),
    ("SELECT pg_backup_start('rollbook_probe')", "pg_backup_start"),
    ("SELECT pg_logical_emit_message(true, 'p', 'x')", "pg_logical_emit_message"),
    ("SELECT pg_current_wal_lsn()", "pg_current_wal_lsn(), which touches WAL"),
    # files, large objects
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file(text)"),
    ("SELECT convert_from(pg_read_binary_file('/etc/passwd'), 'UTF8')", "pg_read_binary_file"),
    ("SELECT * FROM pg_ls_dir('.')", "pg_ls_dir(text)"),
    ("SELECT pg_stat_file('postgresql.conf')", "pg_stat_file(text)"),
    ("SELECT lo_import('/etc/passwd')", "lo_import(text)"),
    ("SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/rollbook-probe')", "lo_export(oid,text)"),
    ("SELECT lo_from_bytea(0, 'x')", "lo_from_bytea(oid,bytea)"),
    ("SELECT loread(lo_open(1, 262144), 10)", "loread(integer,integer)"),
    ("SELECT pg_current_logfile()", "pg_current_logfile"),
    # SQL text executed by a function
    ("SELECT query_to_xml('DELETE FROM victims RETURNING 1', true, true, '')",
     "query_to_xml(text,boolean,boolean,text), which executes SQL text"),
    ("SELECT * FROM ts_stat('SELECT to_tsvector(''x'') FROM victims')", "ts_stat(text)"),
    ("SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')", "ts_rewrite"),
    ("SELECT cursor_to_xml('c', 1, true, true, '')", "cursor_to_xml"),
    ("SELECT table_to_xml('victims', true, true, '')", "table_to_xml"),
    ("SELECT database_to_xml(true, true, '')", "database_to_xml"),
    # locks, notifications, transaction ids, sequences
    ("SELECT pg_advisory_lock(42)", "pg_advisory_lock(bigint)"),
    ("SELECT pg_try_advisory_lock_shared(1, 2)", "pg_try_advisory_lock_shared(integer,integer)"),
    ("SELECT pg_advisory_xact_lock(42)", "pg_advisory_xact_lock(bigint)"),
    ("SELECT pg_notify('rollbook_probe', 'payload')", "pg_notify(text,text), which sends"),
    ("SELECT txid_current()", "txid_current()"),
    ("SELECT pg_current_xact_id()", "pg_current_xact_id()"),
    ("SELECT nextval('victims_seq')", "nextval(regclass)"),
    ("SELECT setval('victims_seq', 1000)", "setval"),
    # index maintenance, sleeping, functions simply not on any list
    ("SELECT brin_summarize_new_values('victims_brin')",
     "brin_summarize_new_values(regclass), which is VOLATILE"),
    ("SELECT gin_clean_pending_list('victims_brin')", "gin_clean_pending_list(regclass)"),
    ("SELECT pg_sleep(3600)", "pg_sleep(double precision), which is VOLATILE"),
    ("SELECT pg_sleep_for('1 hour')", "pg_sleep_for(interval)"),
    ("SELECT public.bump()", "bump(), which is VOLATILE"),
    ('SELECT "public"."bump"()', "bump(), which is VOLATILE"),
    ("SELECT id FROM victims WHERE id = bump()", "bump(), which is VOLATILE"),
    ("SELECT * FROM bump_rows()", "bump_rows(), which is VOLATILE"),
    ("SELECT id ## 1 FROM victims", "bump_op(integer,integer) (operator ##(integer,integer))"),
    ("SELECT id OPERATOR(public.##) 1 FROM victims", "operator ##"),
    ("SELECT '1'::bumped", "a cast to bumped"),
    ("SELECT CAST(id AS bumped) FROM victims", "a cast to bumped"),
    ("SELECT no_such_function(1)", "no_such_function(), which this server does not know"),
    # spellings that fooled the lexer: standard-conforming strings, $$ inside identifiers
    ("SELECT '\\' AS a, pg_notify('rollbook_probe', 'x')", "pg_notify"),
    ("SELECT 1 AS x$$, pg_advisory_lock(7), 2 AS y$$", "pg_advisory_lock"),
    ("SELECT E'\\'', pg_reload_conf()", "pg_reload_conf()"),
    ("SELECT (SELECT pg_stat_reset() FROM victims LIMIT 1)", "pg_stat_reset()"),
    ("SELECT 1 WHERE EXISTS (SELECT pg_switch_wal())", "pg_switch_wal()"),
    ("SELECT count(*) FILTER (WHERE pg_advisory_lock(3) IS NULL) FROM victims",
     "pg_advisory_lock"),
    ("SELECT * FROM victims ORDER BY pg_notify('rollbook_probe', id::text)", "pg_notify"),
    ("SELECT coalesce(NULL, pg_reload_conf())", "pg_reload_conf"),
]


def _profile(tmp_path, query: str, params: str | None = None) -> str:
    path = tmp_path / "hostile.toml"
    lines = ['[database]', 'dsn_env = "VIBES_DSN"', '', '[[queries]]', 'name = "hostile"',
             f"sql = '''{query}'''"]
    if params is not None:
        lines.append(f"params = '''{params}'''")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def refusal_at_load(dsn: str, tmp_path, query: str) -> str | None:
    """What loading a profile holding `query` and meeting it on the server says: the loader's
    line, else the server's (rollbook snapshot's and the checks' guard), else None."""
    try:
        profile = load_profile(_profile(tmp_path, query), tmp_path)
    except ConfigError as exc:
        return "; ".join(exc.mistakes or [str(exc)])
    with connect(dsn, read_only=True, statement_timeout_ms=5_000) as conn:
        lines = query_guard.refusals(conn, profile.queries)
    return lines[0] if lines else None


# WAL no query of ours changes anything by: the background writer's snapshot of running
# transactions (every 15 s), checkpoints, and hint bits any read sets (with data checksums on).
BACKGROUND_WAL = ("desc: RUNNING_XACTS", "desc: CHECKPOINT_ONLINE", "desc: FPI_FOR_HINT")


def wal_written(pg_server, superuser: psycopg.Connection, start: str, end: str) -> list[str]:
    """The WAL records between two positions, as pg_waldump reads them, but BACKGROUND_WAL."""
    if start == end:
        return []
    data = superuser.execute("SELECT current_setting('data_directory')").fetchone()[0]
    dump = subprocess.run([str(pg_server.installation.tool("pg_waldump")),
                           f"--path={data}/pg_wal", f"--start={start}", f"--end={end}"],
                          capture_output=True, text=True, check=True)
    return [line for line in dump.stdout.splitlines()
            if line.strip() and not any(kind in line for kind in BACKGROUND_WAL)]


@contextmanager
def autovacuum_paused(superuser: psycopg.Connection):
    """The server's autovacuum off while the state is compared: its workers analyze the other
    tests' databases on this session's server, which takes transaction ids and writes WAL that
    no checks' query wrote."""
    superuser.execute("ALTER SYSTEM SET autovacuum = off")
    superuser.execute("SELECT pg_reload_conf()")
    try:
        for _ in range(200):
            if not superuser.execute("SELECT count(*) FROM pg_stat_activity "
                                     "WHERE backend_type = 'autovacuum worker'").fetchone()[0]:
                break
            time.sleep(0.05)
        yield
    finally:
        superuser.execute("ALTER SYSTEM RESET autovacuum")
        superuser.execute("SELECT pg_reload_conf()")


@pytest.fixture
def hostile_target(scratch_dsn):
    """A database with what the hostile queries aim at: a table, a sequence, a BRIN index, a
    volatile function, set-returning function, operator and type input, and a victim session."""
    with connect(scratch_dsn) as conn:
        for statement in [
            "CREATE TABLE victims (id int PRIMARY KEY) WITH (autovacuum_enabled = off)",
            "INSERT INTO victims SELECT generate_series(1, 10)",
            "CREATE INDEX victims_brin ON victims USING brin (id)",
            "CREATE SEQUENCE victims_seq",
            "CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS 'SELECT nextval(''victims_seq'')::int'",
            "CREATE FUNCTION bump_rows() RETURNS SETOF int LANGUAGE sql "
            "AS 'SELECT nextval(''victims_seq'')::int'",
            "CREATE FUNCTION bump_op(int, int) RETURNS int LANGUAGE sql "
            "AS 'SELECT nextval(''victims_seq'')::int'",
            "CREATE OPERATOR ## (LEFTARG = int, RIGHTARG = int, FUNCTION = bump_op)",
            "CREATE DOMAIN bumped AS int",
            "CREATE FUNCTION to_bumped(int) RETURNS bumped LANGUAGE sql VOLATILE "
            "AS 'SELECT nextval(''victims_seq'')::int'",
            "CREATE CAST (int AS bumped) WITH FUNCTION to_bumped(int)",
            "ANALYZE",
            "VACUUM (FREEZE)",  # after ANALYZE: no dead statistics rows left to prune on read
        ]:
            conn.execute(statement)
    with psycopg.connect(scratch_dsn, autocommit=True, application_name="victim") as victim:
        yield scratch_dsn, victim


STATE_SQL = """
SELECT (SELECT array_agg(pid ORDER BY pid) FROM pg_stat_activity
        WHERE backend_type = 'client backend') AS sessions,
       pg_conf_load_time() AS conf_loaded,
       pg_current_wal_insert_lsn() AS wal,
       (SELECT count(*) FROM pg_replication_slots) AS slots,
       (SELECT count(*) FROM pg_replication_origin) AS origins,
       (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS reset,
       (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') AS advisory_locks,
       (SELECT count(*) FROM pg_largeobject_metadata) AS large_objects,
       pg_notification_queue_usage() AS notifications,
       pg_snapshot_xmax(pg_current_snapshot()) AS next_xid,
       (SELECT last_value FROM victims_seq) AS sequence,
       (SELECT count(*) FROM victims) AS victims,
       (SELECT count(*) FROM pg_ls_tmpdir()) AS temp_files
"""


def server_state(superuser: psycopg.Connection) -> dict:
    """What a superuser sees of the server that a hostile query could change, plus the
    notifications its LISTEN received and whether /tmp/rollbook-probe exists on the host."""
    for _ in range(50):  # a closed checks connection's backend takes a moment to go
        if not superuser.execute("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE application_name = 'rollbook'").fetchone()[0]:
            break
        time.sleep(0.05)
    cur = superuser.execute(STATE_SQL)
    state = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
    state["received"] = [n.payload for n in superuser.notifies(timeout=0.2, stop_after=1)]
    state["probe_file"] = superuser.execute(
        "SELECT (pg_stat_file('/tmp/rollbook-probe', true)).size").fetchone()[0]
    return state


def test_the_table_holds_at_least_sixty_hostile_queries():
    assert len(HOSTILE) >= 60 and len({q for q, _ in HOSTILE}) == len(HOSTILE)


def test_every_hostile_query_is_refused_at_load_and_the_server_is_unchanged(
        hostile_target, tmp_path, pg_server):
    dsn, victim = hostile_target
    with psycopg.connect(dsn, autocommit=True) as superuser, autovacuum_paused(superuser):
        superuser.execute("LISTEN rollbook_probe")
        superuser.execute("CHECKPOINT")
        before = server_state(superuser)
        wrong = {}
        for query, named in HOSTILE:
            line = refusal_at_load(dsn, tmp_path, query)
            if line is None or named not in line or "\n" in line:
                wrong[query] = line
        # and again before each run: the measurement is refused, nothing runs
        performance = Performance(repeats=1)
        with connect(dsn, read_only=True, statement_timeout_ms=5_000) as conn:
            for query, _ in HOSTILE:
                measured = plans.measure(conn, KeyQuery("hostile", query), performance)
                if measured.runs or not measured.error:
                    wrong[f"run: {query}"] = measured.error
        after = server_state(superuser)
        written = wal_written(pg_server, superuser, before.pop("wal"), after.pop("wal"))
    assert wrong == {}
    assert after == before
    assert written == []
    assert victim.execute("SELECT 1").fetchone() == (1,)


def test_a_snapshot_refuses_before_reading_anything(hostile_target, tmp_path):
    dsn, _ = hostile_target
    profile = load_profile(_profile(tmp_path, "SELECT pg_reload_conf()"), tmp_path)
    with connect(dsn, read_only=True) as conn, pytest.raises(ConfigError) as caught:
        snapshot.take(conn, profile)
    assert caught.value.one_line().startswith(
        "key query 'hostile' sql: calls pg_reload_conf(), which touches configuration")


@pytest.mark.parametrize("query", [
    "SELECT count(*), now(), random(), clock_timestamp(), gen_random_uuid() FROM victims",
    "SELECT id, to_char(now(), 'YYYY') FROM victims WHERE id BETWEEN 1 AND 5 ORDER BY id",
    "SELECT pg_relation_size('victims'), current_setting('work_mem'), '{1}'::int[]",
    "SELECT '\\' AS backslash, $$x$$, E'\\n' FROM victims LIMIT 1",
    "SELECT u.id FROM victims u LEFT JOIN LATERAL generate_series(1, u.id) g ON true",
    "WITH r AS (SELECT * FROM victims WHERE id > 5) SELECT count(*) FROM r",
    "SELECT extract(epoch FROM now()) :: bigint, format('%s', 1), coalesce(NULL, 1)",
])
def test_harmless_queries_pass_and_run(hostile_target, tmp_path, query):
    dsn, _ = hostile_target
    assert refusal_at_load(dsn, tmp_path, query) is None
    with connect(dsn, read_only=True) as conn:
        measured = plans.measure(conn, KeyQuery("fine", query), Performance(repeats=1))
    assert measured.error is None and measured.runs


@pytest.mark.parametrize("query, harm", [
    ("SELECT pg_notify('rollbook_probe', 'payload')", "received"),
    ("SELECT pg_try_advisory_lock(42)", "advisory_locks"),
    ("SELECT pg_stat_reset()", "reset"),
    ("SELECT pg_reload_conf()", "conf_loaded"),
    (f"SELECT pg_terminate_backend({BACKEND})", "sessions"),
    ("SELECT pg_create_physical_replication_slot('rollbook_probe', true)", "slots"),
])
def test_planted_defect_without_the_guard_the_read_only_connection_is_harmed(
        hostile_target, query, harm):
    """The READ ONLY connection alone (what the checks had) lets each of these through, and
    the superuser's view catches it: the test above can fail."""
    dsn, _ = hostile_target
    with psycopg.connect(dsn, autocommit=True) as superuser:
        superuser.execute("LISTEN rollbook_probe")
        before = server_state(superuser)
        with connect(dsn, read_only=True, statement_timeout_ms=5_000) as conn:
            try:
                conn.execute(query).fetchall()
            except psycopg.Error:
                pass  # what matters is what it changed before it failed, if it failed
            if harm == "advisory_locks":  # held while the session lives
                assert server_state(superuser)[harm] != before[harm]
                return
        after = server_state(superuser)
        deadline = time.monotonic() + 10
        # a reload reaches the superuser's backend as a signal, maybe after its next statement
        while after[harm] == before[harm] and time.monotonic() < deadline:
            time.sleep(0.1)
            after = server_state(superuser)
        if harm == "slots":
            superuser.execute("SELECT pg_drop_replication_slot('rollbook_probe')")
        assert after[harm] != before[harm]


@pytest.mark.parametrize("command", ["snapshot", "assess"])
def test_the_commands_refuse_a_hostile_profile_in_one_line(hostile_target, tmp_path, capsys,
                                                          command):
    from rollbook import cli

    dsn, _ = hostile_target
    profile = _profile(tmp_path, f"SELECT pg_terminate_backend({BACKEND})")
    extra = ["-o", str(tmp_path / "b.json")] if command == "snapshot" else ["--no-api",
                                                                            "--no-watch"]
    assert cli.main([command, "--env", profile, "--dsn", dsn, *extra]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(
        "rollbook: error: key query 'hostile' sql: calls pg_terminate_backend(integer,bigint), "
        "which touches other backends")
    assert not (tmp_path / "b.json").exists()
