"""checks/test_api.py as an operator runs it: passing on a healthy API, and failing when the
service is down, answers 500, or is slower than the profile's budget. Writes run only with a
smoke account; a read-only profile reports them as not run (see test_checks_run.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from examples.checkrun import run_checks, vibes_copy, with_smoke_account

from rollbook.net import free_port
from rollbook.pg.connect import connect
from rollbook.runbook.service import vibes_service
from rollbook_vibes.faults import break_logins
from rollbook_vibes.seed import SEED_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = ("health", "login", "create journal", "list journals", "get user")


def _profile(folder: Path, *, p95_ms: float = 2000) -> Path:
    return with_smoke_account(folder, p95_ms=p95_ms)


@pytest.fixture
def database(pg_server):
    name, dsn = vibes_copy(pg_server)
    yield dsn
    pg_server.drop_database(name)


def _run(pytester, monkeypatch, dsn: str, api_url: str, profile: Path):
    monkeypatch.setenv("VIBES_SMOKE_PASSWORD", SEED_PASSWORD)
    return run_checks(pytester, monkeypatch, "--env", str(profile), "--dsn", dsn,
                      "--api-url", api_url, modules=("test_api.py",))


def _endpoint(found: dict, name: str) -> str:
    return found[f"test_api::test_endpoint_answers_within_budget[{name}]"]


def test_healthy_api_passes_every_endpoint_with_writes(database, pytester, monkeypatch,
                                                       tmp_path):
    with vibes_service(database, id_mode="integer") as api:
        result, found = _run(pytester, monkeypatch, database, api.base_url, _profile(tmp_path))
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert {name: _endpoint(found, name) for name in ENDPOINTS} == dict.fromkeys(
        ENDPOINTS, "passed")
    assert found["test_api::test_api_rollback_triggers_are_quiet"] == "passed"


def test_service_down_fails_every_endpoint_and_fires_the_trigger(database, pytester,
                                                                  monkeypatch, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    result, found = _run(pytester, monkeypatch, database, closed, _profile(tmp_path))
    assert result.ret == 1
    assert {name: _endpoint(found, name) for name in ENDPOINTS} == dict.fromkeys(
        ENDPOINTS, "failed")
    assert found["test_api::test_api_rollback_triggers_are_quiet"] == "failed"
    result.stdout.fnmatch_lines(["*share of failing API endpoints: 5/5 (100 %)*"])


def test_500s_fail_the_writes_and_fire_the_trigger(database, pytester, monkeypatch, tmp_path):
    with connect(database) as conn:
        break_logins(conn)
    with vibes_service(database, id_mode="integer") as api:
        result, found = _run(pytester, monkeypatch, database, api.base_url, _profile(tmp_path))
    assert result.ret == 1
    assert _endpoint(found, "health") == "passed"
    assert _endpoint(found, "login") == "failed"
    assert found["test_api::test_api_rollback_triggers_are_quiet"] == "failed"
    result.stdout.fnmatch_lines(["*login: 20/20 did not answer 200 (HTTP 500*"])


def test_slower_than_budget_fails(database, pytester, monkeypatch, tmp_path):
    with vibes_service(database, id_mode="integer") as api:
        result, found = _run(pytester, monkeypatch, database, api.base_url,
                             _profile(tmp_path, p95_ms=0.001))
    assert result.ret == 1
    assert _endpoint(found, "health") == "failed"
    result.stdout.fnmatch_lines(["*health: p95 * ms over its budget of 0.001 ms*"])


def test_planted_orphan_fails_the_trigger_checks(database, pytester, monkeypatch, tmp_path):
    with connect(database) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("INSERT INTO journals (user_id, title, content) VALUES (99999, 'o', 'o')")
    with vibes_service(database, id_mode="integer") as api:
        monkeypatch.setenv("VIBES_SMOKE_PASSWORD", SEED_PASSWORD)
        result, found = run_checks(pytester, monkeypatch, "--env", str(_profile(tmp_path)),
                                   "--dsn", database, "--api-url", api.base_url,
                                   modules=("test_triggers.py",))
    assert found["test_triggers::test_trigger_family_is_quiet[data integrity]"] == "failed"
    assert found["test_triggers::test_trigger_family_is_quiet[migration]"] == "passed"
    assert found["test_triggers::test_trigger_family_is_quiet[corruption]"] == "passed"
    assert found["test_triggers::test_decision_matrix_calls_for_no_rollback"] == "failed"
    result.stdout.fnmatch_lines(["*severity Critical (impact High, respond Immediate): "
                                 "Automatic rollback*"])
