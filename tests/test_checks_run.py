"""`pytest checks/` as an operator runs it: clean database passes, -n 2 loses nothing, the run
writes nothing (fingerprints and write counters unchanged), the checks connection cannot write.
"""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import psycopg
import pytest
from examples.checkrun import (
    database_state,
    failed,
    run_checks,
    snapshot,
    table_scans,
    vibes_copy,
)

from rollbook.measure import metrics
from rollbook.runbook.service import vibes_service
from rollbook.settings.profile_files import BUILTIN_ENVS
from rollbook.settings.resolve import resolve
from rollbook.settings.target import open_target

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def vibes(pg_server, tmp_path):
    """A clean Vibes database at 0001, its baseline from `rollbook snapshot`, and the Vibes API
    serving it (its URL given to the checks with --api-url)."""
    name, dsn = vibes_copy(pg_server)
    baseline = snapshot(dsn, tmp_path / "baseline.json")
    with vibes_service(dsn, id_mode="integer") as api:
        yield dsn, baseline, ("--api-url", api.base_url)
    pg_server.drop_database(name)


def test_clean_database_passes_every_check_and_writes_nothing(vibes, pytester, monkeypatch):
    dsn, baseline, api = vibes
    before = database_state(dsn)

    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), *api)

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert not failed(found)
    families = {test.split("::")[0] for test in found}
    assert families == {f"test_{f}" for f in ("preflight", "types", "schema", "counts",
                                                "orphans", "content", "performance",
                                                "monitoring", "api", "triggers")}
    not_run = {t for t, outcome in found.items() if outcome == "skipped"}
    # prod.example names no smoke account, no application log and no /metrics: each of those
    # checks says so and is not run; the PostgreSQL log is read through SQL or said unreadable
    assert not_run - {"test_monitoring::test_error_log_within_baseline[postgres]"} == {
        "test_api::test_endpoint_answers_within_budget[login]",
        "test_api::test_endpoint_answers_within_budget[create journal]",
        "test_api::test_endpoint_answers_within_budget[list journals]",
        "test_monitoring::test_error_log_within_baseline[app]",
        "test_monitoring::test_service_error_rate_within_baseline"}
    assert sum(1 for t in found if t.startswith("test_orphans::test_no_orphans[")) == 9
    assert database_state(dsn) == before


def test_without_a_baseline_the_profile_expectations_are_used(vibes, pytester, monkeypatch):
    dsn, _, api = vibes

    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn, *api)

    assert result.ret == 0, result.stdout.str()[-3000:]
    skipped = {t for t, outcome in found.items() if outcome == "skipped"}
    assert {t for t in skipped if t.startswith("test_content::")} == {
        t for t in found if t.startswith("test_content::")}
    assert found["test_schema::test_table_matches_the_baseline[users]"] == "passed"
    result.stdout.fnmatch_lines(["*no baseline: profile expectations only*"])


def test_two_workers_lose_no_result(vibes, pytester, monkeypatch):
    dsn, baseline, api = vibes
    args = ("--env", "prod.example", "--dsn", dsn, "--baseline", str(baseline), *api)
    serial, serial_found = run_checks(pytester, monkeypatch, *args)

    result, found = run_checks(pytester, monkeypatch, *args, "-n", "2")

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert found == serial_found
    latest = (pytester.path / "reports" / "latest-checks").resolve()  # the -n 2 run
    allure = [json.loads(p.read_text()) for p in (latest / "allure-results").glob("*-result.json")]
    assert len(allure) == len(found)
    summary = (latest / "checks.md").read_text()
    recorded = {line.split("`")[1].split("::", 1)[1] for line in summary.splitlines()
                if line.startswith("| ok |")}
    passed = {test.split("::", 1)[1] for test, o in found.items() if o == "passed"}
    assert recorded == passed  # every passed check is in the summary, once per test


def test_a_write_through_the_checks_connection_fails(vibes):
    dsn, _, _ = vibes
    settings = resolve({"env": "prod.example", "dsn": dsn}, {}, BUILTIN_ENVS)
    target = open_target(settings, ROOT / "reports")
    with target.connect() as conn:
        for statement in ("INSERT INTO tags (user_id, name) VALUES (1, 'written')",
                          "CREATE TEMP TABLE scratch (x int)",
                          "SELECT nextval('users_id_seq')",
                          "UPDATE users SET display_name = 'x' WHERE id = 1"):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute(statement)
        settings_now = conn.execute("SELECT current_setting('default_transaction_read_only'),"
                                    " current_setting('statement_timeout'),"
                                    " current_setting('lock_timeout'),"
                                    " current_setting('application_name')").fetchone()
    assert settings_now == ("on", "30s", "500ms", "rollbook-checks")


def test_fresh_clone_default_passes_on_two_workers(pytester, monkeypatch):
    """No --env, no --dsn: the local profile's embedded database, prepared once by the xdist
    controller and checked by both workers against its own snapshot."""
    result, found = run_checks(pytester, monkeypatch, "-n", "2")

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert not failed(found) and len(found) > 100
    assert not [t for t, outcome in found.items() if outcome == "skipped"]
    result.stdout.fnmatch_lines(["rollbook checks: profile local (*envs/local.toml, embedded, "
                                 "disposable); embedded PostgreSQL * alembic 0001; baseline "
                                 "*baseline-local.json (sha256 *, taken when the embedded "
                                 "database was prepared)"])


def test_content_reads_no_table_the_counts_have_not_read(pg_server, pytester, monkeypatch,
                                                        tmp_path):
    """Measured once: the row counts, time ranges and content digests of a table come from one
    statement, so the content checks add no table scan to the counts checks'."""
    name, dsn = vibes_copy(pg_server)
    args = ("--env", "prod.example", "--dsn", dsn, "--baseline",
            str(snapshot(dsn, tmp_path / "baseline.json")))
    scanned = []
    for modules in (("test_counts.py",), ("test_counts.py", "test_content.py")):
        before = table_scans(dsn)
        result, found = run_checks(pytester, monkeypatch, *args, modules=modules)
        assert result.ret == 0 and found, result.stdout.str()[-3000:]
        after = table_scans(dsn)
        scanned.append({table: after[table] - before[table] for table in after})
    pg_server.drop_database(name)

    counts_only, with_content = scanned
    assert with_content == counts_only
    assert counts_only["journals"] == counts_only["audit_logs"] >= 1


ORPHAN_CALLS_SQL = """\
SELECT sum(s.calls) FROM pg_stat_statements s
JOIN pg_database d ON d.oid = s.dbid AND d.datname = current_database()
WHERE s.query LIKE 'WITH orphan AS MATERIALIZED%'"""


def _api_requests(base_url: str) -> float:
    with httpx.Client() as client:
        scrape = metrics.scrape(client, f"{base_url}/metrics")
    return scrape.to_dict()["requests"]


def test_two_workers_measure_each_thing_once(vibes, pytester, monkeypatch):
    """The orphan checks and the orphan trigger, the API checks and the API triggers, each pair
    on a different worker (--dist loadfile): every foreign key is searched once, and the API
    smoke runs once, as on one worker."""
    dsn, baseline, api = vibes
    args = ("--env", "prod.example", "--dsn", dsn, "--baseline", str(baseline), *api)
    modules = ("test_orphans.py", "test_api.py", "test_triggers.py")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database"
                     " WHERE datname = current_database()), 0)")
    before = _api_requests(api[1])
    serial, _ = run_checks(pytester, monkeypatch, *args, modules=modules)
    one_smoke = _api_requests(api[1]) - before

    result, found = run_checks(pytester, monkeypatch, *args, "-n", "2", "--dist", "loadfile",
                               modules=modules)

    assert serial.ret == 0 and result.ret == 0, result.stdout.str()[-3000:]
    with psycopg.connect(dsn, autocommit=True) as conn:
        searches = conn.execute(ORPHAN_CALLS_SQL).fetchone()[0]
    foreign_keys = [t for t in found if t.startswith("test_orphans::test_no_orphans[")]
    # (statements of the same shape share one entry: their calls are summed)
    assert searches == 2 * len(foreign_keys) > 0  # once in the serial run, once on two workers
    assert _api_requests(api[1]) - before == 2 * one_smoke > 0


MODULES_SEEN = '''
import json, sys

def pytest_sessionfinish(session):
    who = getattr(session.config, "workerinput", {}).get("workerid", "controller")
    with open("modules-" + who + ".json", "w") as out:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), out)
'''


def test_each_process_loads_only_what_it_uses(vibes, pytester, monkeypatch):
    """The session's guard reads the Alembic scripts once; the workers judge single head,
    history and the migration trigger from what it read, without loading Alembic again. The
    controller, which judges nothing, loads no HTTP client; no process of a checks run loads
    the drills' SMTP relay."""
    dsn, baseline, api = vibes
    pytester.makepyfile(modules_seen=MODULES_SEEN)
    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), *api, "-n", "2", "-p",
                               "modules_seen", modules=("test_preflight.py", "test_triggers.py"))

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert found["test_preflight::test_alembic_scripts_have_a_single_head"] == "passed"
    assert found["test_triggers::test_trigger_family_is_quiet[migration]"] == "passed"
    loaded = {path.stem.removeprefix("modules-"): json.loads(path.read_text())
              for path in pytester.path.glob("modules-*.json")}
    assert loaded.keys() == {"controller", "gw0", "gw1"}
    with_alembic = {who for who, names in loaded.items() if "alembic" in names}
    with_httpx = {who for who, names in loaded.items() if "httpx" in names}
    with_smtp = {who for who, names in loaded.items() if "aiosmtpd" in names}
    assert with_alembic == {"controller"}
    assert "controller" not in with_httpx and with_httpx  # a worker called the API
    assert not with_smtp


AMCHECK_CALLS_SQL = """\
SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s
JOIN pg_database d ON d.oid = s.dbid AND d.datname = current_database()
WHERE s.query LIKE 'SELECT bt_index_check%'"""


def test_two_workers_measure_the_triggers_once(vibes, pytester, monkeypatch):
    """The trigger checks on both workers judge one measurement of the triggers: every index
    is checked by amcheck once in the run, not once per worker."""
    dsn, baseline, api = vibes
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database"
                     " WHERE datname = current_database()), 0)")
        indexes = conn.execute("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid ="
                               " i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE"
                               " am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace"
                               ).fetchone()[0]
    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), *api, "-n", "2", "-v",
                               modules=("test_triggers.py",))

    assert result.ret == 0, result.stdout.str()[-3000:]
    workers = {line.split("]")[0].lstrip("[") for line in result.outlines
               if line.startswith("[gw") and "test_triggers.py::" in line}
    assert workers == {"gw0", "gw1"}  # both judged triggers
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(AMCHECK_CALLS_SQL).fetchone()[0] == indexes > 0
