"""The lock footprint is observed on the server (pg_locks, relfilenode), never read from SQL text:
a real Vibes downgrade shows ACCESS EXCLUSIVE on the tables it rewrites; a lock taken inside a
function is seen and timed; a budget below the measured hold fails naming table, statement,
mode and time, one above passes; [locks] mistakes are one line with a Hint; each write that
waited or failed while a migration ran is matched to what the footprint saw, and one it did
not see fails."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from rollbook.measure.lock_footprint import (
    ACCESS_EXCLUSIVE,
    Footprint,
    Hold,
    Wait,
    mode_name,
    timeouts_set,
)
from rollbook.measure.lock_sampler import observe
from rollbook.runbook.migrations import Migrations
from rollbook.runbook.statements import Statement
from rollbook.runbook.writers import Write
from rollbook.settings.locks import LockBudget
from rollbook.settings.profile import ProfileError
from rollbook.settings.profile_files import BUILTIN_ENVS, parse_profile
from rollbook.verdicts.locks import lock_budget, writes_accounted
from rollbook_vibes.migrations_config import alembic_config, sqlalchemy_url
from rollbook_vibes.seed import seed

ROOT = Path(__file__).resolve().parents[1]
HELD_S = 0.3
# The statement that locks names no table: only the server can tell what it locked.
LOCKER = """
CREATE TABLE ledger (id int PRIMARY KEY);
CREATE FUNCTION close_books() RETURNS void LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'LOCK TABLE ' || 'led' || 'ger IN ACCESS EXCLUSIVE MODE'; END $$;
"""


def relfilenodes(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT relname, relfilenode FROM pg_class "
                                 "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
                                 ).fetchall())


def test_vibes_downgrade_holds_the_tables_it_rewrites_exclusively(scratch_dsn):
    migrations = Migrations(alembic_config(scratch_dsn), scratch_dsn, locks=True)
    migrations.upgrade("0001")
    seed(scratch_dsn, "tiny")
    migrations.upgrade("0002")
    before = relfilenodes(scratch_dsn)
    run = migrations.downgrade("-1")
    after = relfilenodes(scratch_dsn)

    footprint = run.footprint
    assert footprint is migrations.footprints[-1] and len(migrations.footprints) == 3
    rows = {row["table"]: row for row in footprint.table_rows()}
    assert before["journals"] != after["journals"]  # the server says: rewritten
    assert rows["public.journals"]["rewritten"] == "rewritten"
    assert rows["public.alembic_version"]["rewritten"] == "kept"
    hold = footprint.longest("public.journals")
    assert hold.mode == ACCESS_EXCLUSIVE and hold.held_ms > 0
    assert hold.sql == footprint.statements[hold.statement - footprint.statements[0].number].sql
    assert "journals" in hold.sql
    for table in ("journals", "users", "tags"):
        assert rows[f"public.{table}"]["exclusive_ms"] > 0
    assert footprint.timeouts == {"lock_timeout": None, "statement_timeout": None}


@pytest.fixture
def function_lock(scratch_dsn) -> Footprint:
    """A footprint of one transaction: SET lock_timeout, then a function that locks `ledger`
    ACCESS EXCLUSIVE, held HELD_S before the commit."""
    with psycopg.connect(scratch_dsn, autocommit=True) as conn:
        conn.execute(LOCKER)
    engine = sa.create_engine(sqlalchemy_url(scratch_dsn), poolclass=sa.pool.NullPool)
    try:
        with observe(scratch_dsn, "close the books") as footprint, engine.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '2s'"))
            conn.execute(sa.text("SELECT close_books()"))
            time.sleep(HELD_S)
            conn.commit()
    finally:
        engine.dispose()
    return footprint


def test_a_lock_taken_inside_a_function_is_seen_and_timed(function_lock):
    hold = function_lock.longest("public.ledger")
    assert hold is not None and "close_books" in hold.sql
    assert HELD_S * 1000 <= hold.held_ms < HELD_S * 1000 + 1000
    assert function_lock.tables["public.ledger"] == "kept"
    assert function_lock.timeouts["lock_timeout"].startswith("#")
    assert function_lock.timeouts["statement_timeout"] is None


def test_a_budget_below_the_measured_hold_fails_naming_table_statement_mode_and_time(
        function_lock):
    held = function_lock.longest("public.ledger").held_ms
    for budget in (LockBudget(max_exclusive_ms=100), LockBudget(10_000, {"ledger": 100})):
        result = lock_budget([function_lock], budget)
        assert not result.ok
        assert result.summary == (
            f"public.ledger: ACCESS EXCLUSIVE held {held:,.0f} ms by statement "
            f"#{function_lock.longest('public.ledger').statement} SELECT close_books() of close "
            "the books (budget 100 ms)")


def test_a_budget_above_the_measured_hold_passes(function_lock):
    result = lock_budget([function_lock], LockBudget(max_exclusive_ms=10_000,
                                                     require_lock_timeout=True))
    assert result.ok, result.summary
    assert "longest ACCESS EXCLUSIVE: public.ledger" in result.summary


def test_lock_timeout_required_fails_a_migration_that_never_sets_it(function_lock):
    function_lock.timeouts["lock_timeout"] = None  # planted: as if the SET were not sent
    result = lock_budget([function_lock], LockBudget(require_lock_timeout=True))
    assert not result.ok
    assert result.summary == ("close the books: never set lock_timeout ([locks] "
                              "require_lock_timeout = true)")


def test_no_measured_migration_cannot_pass():
    assert not lock_budget([], LockBudget()).ok


@pytest.mark.parametrize("section, mistake", [
    ("max_exclusive_ms = -5", "[locks] max_exclusive_ms: must be a positive number of "
     "milliseconds, got -5. Hint: write max_exclusive_ms = 5000"),
    ('require_lock_timeout = "yes"', "[locks] require_lock_timeout: must be true or false, got "
     "'yes'. Hint: write require_lock_timeout = true (or leave it out)"),
    ("max_exclusive = 5", "[locks] max_exclusive: unknown key. Hint: [locks] knows "
     "max_exclusive_ms, require_lock_timeout, tables"),
    ('[locks.tables]\njournals = "fast"', "[locks.tables] journals: must be a positive number "
     "of milliseconds, got 'fast'. Hint: write journals = 2000"),
])
def test_locks_mistakes_are_one_line_with_a_hint(section, mistake):
    path = Path("p.toml")
    body = {"database": {"dsn_env": "X"}}
    body["locks"] = tomllib.loads(section if section.startswith("[") else f"[locks]\n{section}"
                                  )["locks"]
    with pytest.raises(ProfileError) as caught:
        parse_profile(body, path)
    assert caught.value.mistakes == [f"p.toml: {mistake}"]


def test_a_valid_locks_section_is_the_budget():
    profile = parse_profile({"database": {"dsn_env": "X"}, "locks": {
        "max_exclusive_ms": 5000, "require_lock_timeout": True,
        "tables": {"journals": 2000}}}, Path("p.toml"))
    assert profile.locks == LockBudget(5000.0, {"journals": 2000.0}, True)
    assert profile.locks.limit_for("public.journals") == 2000.0
    assert profile.locks.limit_for("public.users") == 5000.0


def window(waits: list[Wait]) -> Footprint:
    """A downgrade that ran from t=10 to t=12 s and committed at 11.9 s, with these waits."""
    hold = Hold("public.journals", "r", ACCESS_EXCLUSIVE, 6, "DROP TRIGGER t ON journals", 10.0,
                granted_at=10.0, released=11.9)
    return Footprint("alembic downgrade -1", statements=[Statement(1, "SELECT 1", 7, 10.0)],
                     holds=[hold], waits=waits, ended=12.0)


BEFORE = [Write(9.0 + n / 100, 9.01 + n / 100, "HTTP 201") for n in range(20)]


def test_each_write_that_waited_is_matched_to_a_wait_the_sampler_saw():
    waits = [Wait(71, "public.journals", "RowExclusiveLock", 6, 10.1, 11.9),
             Wait(72, "public.journals", "RowExclusiveLock", 6, 10.3, 11.9)]
    writes = [Write(10.05, 11.95, "HTTP 500"), Write(10.25, 11.95, "HTTP 201")]
    result = writes_accounted(window(waits), BEFORE + writes)
    assert result.ok, result.summary
    assert [r["accounted_for_by"].split(" (")[0] for r in result.observed["writes"]] == [
        "waited 1,800 ms for ROW EXCLUSIVE on public.journals",
        "waited 1,600 ms for ROW EXCLUSIVE on public.journals"]
    assert "the writers' longest wait 1,800 ms on public.journals" in result.summary


def test_a_write_that_failed_unseen_by_the_footprint_fails_the_drill():
    planted = Write(10.2, 10.3, "HTTP 500")  # failed before the commit, no wait observed
    after_commit = Write(11.95, 11.97, "HTTP 500")
    result = writes_accounted(window([]), BEFORE + [planted, after_commit])
    assert not result.ok
    assert result.summary == ("1 of 2 writes that waited or failed are not in the lock "
                              "footprint: sent at +0.2 s, 100.0 ms, HTTP 500")
    assert result.observed["writes"][1]["accounted_for_by"].startswith(
        "HTTP 500 once the downgrade had committed")


@pytest.mark.parametrize("mode, name", [
    ("AccessShareLock", "ACCESS SHARE"), ("RowShareLock", "ROW SHARE"),
    ("RowExclusiveLock", "ROW EXCLUSIVE"), ("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE"),
    ("ShareLock", "SHARE"), ("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE"),
    ("ExclusiveLock", "EXCLUSIVE"), ("AccessExclusiveLock", "ACCESS EXCLUSIVE")])
def test_lock_modes_read_as_the_documentation_names_them(mode, name):
    assert mode_name(mode) == name


@given(setting=st.sampled_from(["lock_timeout", "statement_timeout"]),
       form=st.sampled_from(["SET {} = '2s'", "set local {} to 2000", "SET SESSION {} TO '1min'",
                             "SELECT set_config('{}', '2s', true)"]),
       upper=st.booleans(), gap=st.sampled_from([" ", "  ", "\n", "\t "]))
def test_a_timeout_is_set_by_any_spelling_of_set_and_only_by_set(setting, form, upper, gap):
    text = form.format(setting).replace(" ", gap)
    sent = [Statement(1, "SELECT 1", 7, 0.0),
            Statement(2, f"SELECT '{setting}' AS not_a_set", 7, 0.0),
            Statement(3, text.upper().replace(setting.upper(), setting) if upper else text, 7, 0.0)]
    found = timeouts_set(sent)
    assert found[setting].startswith("#3 ")
    other = ({"lock_timeout", "statement_timeout"} - {setting}).pop()
    assert found[other] is None


def test_a_budget_below_the_footprint_fails_the_main_drill_naming_what_held_the_lock(tmp_path):
    local = (BUILTIN_ENVS / "local.toml").read_text()
    profile = tmp_path / "tight.toml"  # a copy elsewhere: its [alembic] ini is package:file
    profile.write_text(local + "\n[locks]\nmax_exclusive_ms = 1\n[locks.tables]\nusers = 3600000\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "drills/test_uuid_rollback.py", "-q", "-p",
         "no:cacheprovider", "--env", str(profile), "--reports-dir", str(tmp_path / "reports"),
         "--allure-html", "no"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"public\.journals: ACCESS EXCLUSIVE held [\d,]+ ms by statement #\d+ "
                     r"DROP TRIGGER journals_touch_updated_at ON journals of alembic downgrade "
                     r"-1 \(budget 1 ms\)", done.stdout)
    assert "public.users: ACCESS EXCLUSIVE" not in done.stdout  # its own limit is an hour
    record = (tmp_path / "reports" / "latest" / "rollback-record.md").read_text()
    assert "### Lock footprint" in record
    assert re.search(r"\| alembic downgrade -1 \| public\.journals \| [\d,]+ ms \| #\d+ DROP "
                     r"TRIGGER journals_touch_updated_at ON journals \| rewritten \|", record)


def test_a_concurrent_index_build_waiting_on_an_open_snapshot_is_observed(scratch_dsn):
    """CREATE INDEX CONCURRENTLY waits for every older snapshot of its database: the wait is a
    virtualxid lock of the migration's own backend, with no relation (CI at 9e91e15 raised
    AttributeError on it in the 0004 drill)."""
    with psycopg.connect(scratch_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE diary (id int PRIMARY KEY, mood text)")
    engine = sa.create_engine(sqlalchemy_url(scratch_dsn), poolclass=sa.pool.NullPool)
    reader = psycopg.connect(scratch_dsn)
    try:
        reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        reader.execute("SELECT count(*) FROM diary")  # a snapshot the build must outwait
        releaser = threading.Timer(HELD_S, reader.commit)
        with observe(scratch_dsn, "index the diary") as footprint, \
                engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            releaser.start()
            conn.execute(sa.text("CREATE INDEX CONCURRENTLY ix_diary_mood ON diary (mood)"))
        releaser.join()
    finally:
        reader.close()
        engine.dispose()
    assert footprint.samples > 1  # the sampler ran while the build waited
    build = [h for h in footprint.holds if h.relation == "public.diary"]
    assert build and all(h.mode == "ShareUpdateExclusiveLock" for h in build)
    assert all(isinstance(h.relation, str) for h in footprint.holds)
