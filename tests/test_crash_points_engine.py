"""The crash-point drill (drills/test_crash_points.py) on a downgrade that is not transactional:
the stock example (tests/examples/stock), whose s002 downgrade drops a column and then builds
an index CONCURRENTLY in an autocommit block. Every crash after that commit must come out
"not wholly at one revision" and "not converged", naming what it left; a kill while the
concurrent build waits leaves an INVALID index, which the orphans family names."""
from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from examples.drillrun import run_drill
from hypothesis import given
from hypothesis import strategies as st

from rollbook.measure import baseline, catalog
from rollbook.pg.connect import connect
from rollbook.record.html import render_html
from rollbook.record.markdown import render_markdown
from rollbook.record.model import DrillRecord
from rollbook.runbook import crash_child
from rollbook.runbook.alembic_process import (
    AlembicProcess,
    wait_for_backend_gone,
    wait_for_blocked_backend,
)
from rollbook.runbook.crash_points import Expected, judge
from rollbook.runbook.migrations import Migrations
from rollbook.settings.target import alembic_config

ROOT = Path(__file__).resolve().parents[1]
STOCK = ROOT / "tests" / "examples" / "stock"
DRILL = ROOT / "drills" / "test_crash_points.py"


def test_non_transactional_downgrade_fails_naming_each_half_state(tmp_path):
    done = run_drill(DRILL, STOCK / "stock.toml", tmp_path / "reports")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert ("s002: of 5 crash points of its downgrade, 2 left the database half-way between "
            "revisions and 2 did not converge on a second downgrade") in done.stdout
    # killed after the autocommit block committed the DROP COLUMN, before the version row moved
    assert ("killed before statement 4 (CREATE INDEX CONCURRENTLY ix_items_sku ON items (sku)):"
            " alembic_version says s002 but the database is not wholly there: column items.note:"
            " missing (expected text)") in done.stdout
    assert re.search(r"killed before statement 5 \(UPDATE alembic_version .*\): alembic_version "
                     r"says s002 but the database is not wholly there: index ix_items_sku: extra",
                     done.stdout)
    assert ('the second downgrade failed: ProgrammingError: (psycopg.errors.UndefinedColumn) '
            'column "note" of relation "items" does not exist') in done.stdout

    record = json.loads(next((tmp_path / "reports" / "latest" / "records").glob("*.json"))
                        .read_text())
    rows = record["tables"]["Crash points of the s002 downgrade"]
    assert [(r["killed at"].split(":")[0], r["revision after the kill"],
             r["wholly at one revision"], r["converged"]) for r in rows] == [
        ("1", "s002", "yes", "yes"), ("2", "s002", "yes", "yes"), ("3", "s002", "yes", "yes"),
        ("4", "s002", "NO", "NO"), ("5", "s002", "NO", "NO")]
    assert rows[2]["state left"] == "as at s002"
    assert rows[2]["rows as the uninterrupted downgrade"] == "same"
    assert rows[3]["rows as the uninterrupted downgrade"] == "—"  # there is no second state
    assert "index ix_items_sku: extra" in rows[4]["state left"]
    checklist = {item["text"]: item["status"] for item in record["checklist"]}
    assert checklist["Data integrity verified"] == "not done"
    markdown = (tmp_path / "reports" / "latest" / "rollback-record.md").read_text()
    assert "### Crash points of the s002 downgrade" in markdown
    assert "| 4: CREATE INDEX CONCURRENTLY ix_items_sku ON items (sku) | s002 | NO |" in markdown


def test_an_idempotent_non_transactional_downgrade_still_leaves_half_states_but_converges(
        tmp_path):
    """The same downgrade written to be run again (IF EXISTS, IF NOT EXISTS): the kills after
    the autocommit block still leave s002 half-way, but a second downgrade now converges."""
    copy = tmp_path / "stock"
    shutil.copytree(STOCK, copy)
    script = copy / "migrations" / "versions" / "s002_note_no_sku_index.py"
    script.write_text(script.read_text()
                      .replace("DROP COLUMN note", "DROP COLUMN IF EXISTS note")
                      .replace("CONCURRENTLY ix_items_sku ON", "CONCURRENTLY IF NOT EXISTS "
                               "ix_items_sku ON"))
    done = run_drill(DRILL, copy / "stock.toml", tmp_path / "reports")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert ("s002: of 5 crash points of its downgrade, 2 left the database half-way between "
            "revisions and 0 did not converge on a second downgrade") in done.stdout
    record = json.loads(next((tmp_path / "reports" / "latest" / "records").glob("*.json"))
                        .read_text())
    rows = record["tables"]["Crash points of the s002 downgrade"]
    assert [(r["wholly at one revision"], r["converged"]) for r in rows[3:]] == [
        ("NO", "yes"), ("NO", "yes")]


def test_a_crash_revision_not_in_the_history_is_one_line_with_the_fix(tmp_path):
    copy = tmp_path / "stock"
    shutil.copytree(STOCK, copy)
    profile = copy / "stock.toml"
    profile.write_text(profile.read_text().replace('crash_revision = "s002"',
                                                   'crash_revision = "s009"'))
    done = run_drill(DRILL, profile, tmp_path / "reports")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert ("[drill] crash_revision names s009, not in the Alembic history (s001, s002). "
            "Hint: name revisions `alembic history` lists.") in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.fixture
def stock_at_s002(pg_server):
    """A stock database at s002 with rows, and what it holds at s002 (the Expected state)."""
    name = f"rb_stock_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    migrations = Migrations(alembic_config(STOCK / "alembic.ini", dsn), dsn)
    migrations.upgrade("s001")
    with connect(dsn) as conn:
        conn.execute("INSERT INTO items (sku, quantity) SELECT 'sku-' || g, g"
                     " FROM generate_series(1, 200) g")
    migrations.upgrade("s002")
    with connect(dsn, read_only=True) as conn:
        taken = baseline.capture(conn, ["s002"])
    yield dsn, Expected("s002", taken.schema_snapshot(), taken)
    pg_server.drop_database(name)


def test_kill_while_the_concurrent_build_waits_leaves_an_invalid_index_the_checks_name(
        stock_at_s002, tmp_path):
    """A report holds a snapshot older than the build, so CREATE INDEX CONCURRENTLY waits for
    it with its index already in the catalog, invalid; the migration process is killed there.
    With the server told to look for clients that died (client_connection_check_interval) the
    build is abandoned, and the invalid index stays behind."""
    dsn, at_s002 = stock_at_s002
    url = alembic_config(STOCK / "alembic.ini", dsn).get_main_option("sqlalchemy.url")
    log = tmp_path / "statements.jsonl"
    with psycopg.connect(dsn) as report:
        report.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        report.execute("SELECT 1")  # its snapshot now holds back every concurrent build
        child = AlembicProcess(
            STOCK / "alembic.ini", "downgrade", "s001", url_env=crash_child.URL_ENV, url=url,
            module="rollbook.runbook.crash_child",
            env={crash_child.LOG_ENV: str(log),
                 "PGOPTIONS": "-c client_connection_check_interval=100"}).start()
        with connect(dsn, read_only=True) as conn:
            caught = wait_for_blocked_backend(conn, exclude_pid=report.info.backend_pid)
            assert caught["waiting_query"].startswith("CREATE INDEX CONCURRENTLY")
            child.kill()
            wait_for_backend_gone(conn, caught["pid"])

    revision, left = judge(dsn, {"s002": at_s002})
    failed = {r.name: r.summary for r in left if not r.ok}
    assert revision == "s002"
    assert failed["index ix_items_sku valid"].startswith(
        "index ix_items_sku on items is invalid: queries do not use it")
    assert "column items.note: missing" in failed["schema matches baseline"]


def test_a_downgrade_killed_before_its_first_statement_is_wholly_where_it_was(stock_at_s002,
                                                                              tmp_path):
    """The control: nothing sent, nothing changed, every verdict passes."""
    dsn, at_s002 = stock_at_s002
    url = alembic_config(STOCK / "alembic.ini", dsn).get_main_option("sqlalchemy.url")
    log = tmp_path / "statements.jsonl"
    child = AlembicProcess(STOCK / "alembic.ini", "downgrade", "s001",
                           url_env=crash_child.URL_ENV, url=url,
                           module="rollbook.runbook.crash_child",
                           env={crash_child.LOG_ENV: str(log), crash_child.AT_ENV: "3"}).start()
    code, _ = child.ended(60)
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    assert code == -9 and [s["number"] for s in sent] == [1, 2, 3]
    assert sent[-1]["sql"] == "ALTER TABLE items DROP COLUMN note"  # logged, never sent
    revision, left = judge(dsn, {"s002": at_s002})
    assert revision == "s002" and all(r.ok for r in left), [r.summary for r in left if not r.ok]
    with connect(dsn, read_only=True) as conn:
        assert "note" in catalog.snapshot(conn, kinds=("tables",)).tables["items"]
    # judged against revisions it is not at, it is at neither
    elsewhere = judge(dsn, {"s001": at_s002, "base": at_s002})
    assert elsewhere[0] == "s002"
    assert [r.summary for r in elsewhere[1]] == ["alembic_version says s002, not s001 or base"]


@given(st.text())
def test_first_words_are_one_line_of_at_most_eight_words(text):
    shown = crash_child.first_words(text)
    assert "\n" not in shown
    words = shown.removesuffix(" ...").split()
    assert words == text.split()[:crash_child.FIRST_WORDS]
    assert shown.endswith(" ...") == (len(text.split()) > crash_child.FIRST_WORDS)


def test_a_drill_table_survives_the_record_and_renders():
    record = DrillRecord(title="t", test_id="drills/x.py::t")
    record.tables["Crash points of the s002 downgrade"] = [
        {"killed at": "1: SELECT | 1", "converged": "yes"},
        {"killed at": "2: UPDATE <x>", "converged": "NO"}]
    again = DrillRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.tables == record.tables
    markdown = render_markdown({}, [again])
    assert ("### Crash points of the s002 downgrade\n\n| killed at | converged |\n|---|---|\n"
            "| 1: SELECT \\| 1 | yes |\n| 2: UPDATE <x> | NO |") in markdown
    assert "<td>2: UPDATE &lt;x&gt;</td><td>NO</td>" in render_html({}, [again])
