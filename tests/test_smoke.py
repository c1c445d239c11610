"""rollbook.measure.api_smoke against the real Vibes API: the figures on a healthy service, writes reported
as not run when not allowed, and every check shown failing when the service misbehaves
(down, answering 500s, slower than its budget)."""
from __future__ import annotations

import json
import secrets
import uuid

import httpx
import psycopg
import pytest
from alembic import command

from rollbook.measure.api_smoke import (
    CREATE,
    ENDPOINTS,
    FAILED,
    GET_USER,
    HEALTH,
    LIST,
    LOGIN,
    NOT_RUN,
    PASSED,
    LatencyBudget,
    SmokeAccount,
    percentile,
    run_smoke,
)
from rollbook.runbook.service import free_port, vibes_service
from rollbook.runbook.service_client import disable_maintenance, enable_maintenance
from rollbook_vibes.api.passwords import set_password
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.seed import seed

PASSWORD = "smokepw-" + secrets.token_hex(8)
ADMIN_TOKEN = "admin-" + secrets.token_hex(8)
ACCOUNT = SmokeAccount("user3@example.com", PASSWORD)
N = 20


def vibes_database(pg_server, revision: str = REVISION_INTEGER) -> str:
    """Name of a new seeded database at ``revision`` whose user3 has the smoke password."""
    name = f"rb_smoke_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    command.upgrade(alembic_config(dsn), REVISION_INTEGER)
    seed(dsn, "tiny")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert set_password(conn, ACCOUNT.email, ACCOUNT.password, n=2**12)
    if revision != REVISION_INTEGER:
        command.upgrade(alembic_config(dsn), revision)
    return name


@pytest.fixture(scope="module")
def service(pg_server, tmp_path_factory):
    """The Vibes API in integer mode over a seeded database, for this module."""
    name = vibes_database(pg_server)
    folder = tmp_path_factory.mktemp("smoke")
    with vibes_service(pg_server.dsn(name), log_path=folder / "log", admin_token=ADMIN_TOKEN,
                       maintenance_file=folder / "maintenance") as svc:
        yield svc
    pg_server.drop_database(name)


def test_a_healthy_service_passes_with_latency_figures(service):
    report = run_smoke(service.base_url, requests=N, allow_writes=True, account=ACCOUNT,
                       budgets=LatencyBudget(p95_ms=1000))
    assert [r.name for r in report.endpoints] == list(ENDPOINTS)
    for result in report.endpoints:
        assert result.ok and result.status == PASSED, result.summary
        figures = result.observed["latency_ms"]
        assert 0 < figures["min"] <= figures["p50"] <= figures["p95"] <= figures["p99"] \
            <= figures["max"]
        assert result.observed["requests"] == N == len(result.observed["samples_ms"])
        assert result.observed["outcomes"] == {f"HTTP {result.observed['expected']}": N}
        assert result.summary.startswith(f"{result.name}: {N}/{N} answered ")
    assert report.error_rate.ok and report.error_rate.observed["requests"] == 5 * N
    assert report.failing_endpoints.ok
    assert report.failing_endpoints.summary == "0 of 5 API endpoints failing (0%)"
    assert report.endpoint(GET_USER).observed["endpoint"] == "GET /api/v1/users/3"
    evidence = json.dumps([r.to_dict() for r in report.results()])
    assert PASSWORD not in evidence and '"access_token": "***"' in evidence
    print("\nsmoke latencies (ms):", json.dumps(report.latencies(), indent=1))


def test_writes_are_not_run_unless_allowed(service):
    report = run_smoke(service.base_url, requests=3, user_id=1)
    states = {r.name: r.status for r in report.endpoints}
    assert states == {HEALTH: PASSED, LOGIN: NOT_RUN, CREATE: NOT_RUN, LIST: NOT_RUN,
                      GET_USER: PASSED}
    login = report.endpoint(LOGIN)
    assert not login.ok and login.summary == \
        "login: not run — writes are not allowed here (read-only)"
    assert report.endpoint(LIST).observed["reason"] == "no token: give a smoke account or a token"
    assert report.failing_endpoints.ok
    assert report.failing_endpoints.observed["not_run"] == [LOGIN, CREATE, LIST]
    assert report.failing_endpoints.observed["checked"] == [HEALTH, GET_USER]

    no_account = run_smoke(service.base_url, requests=1, allow_writes=True)
    assert no_account.endpoint(LOGIN).observed["reason"] == "no smoke account was given"
    assert no_account.endpoint(GET_USER).status == NOT_RUN


def test_a_given_token_lets_a_read_only_run_list_journals(service):
    grant = httpx.post(f"{service.base_url}/api/v1/auth/login", trust_env=False,
                       json={"email": ACCOUNT.email, "password": PASSWORD}).json()
    report = run_smoke(service.base_url, requests=2, token=grant["access_token"], user_id=3)
    assert report.endpoint(LIST).status == PASSED
    assert report.endpoint(CREATE).status == NOT_RUN
    assert grant["access_token"] not in json.dumps([r.to_dict() for r in report.results()])


def test_every_check_fails_when_the_service_is_down():
    report = run_smoke(f"http://127.0.0.1:{free_port()}", requests=3, allow_writes=True,
                       account=ACCOUNT, user_id=1)
    assert {r.name: r.status for r in report.endpoints} == dict.fromkeys(ENDPOINTS, FAILED)
    assert "3/3 did not answer 200 (ConnectError" in report.endpoint(HEALTH).summary
    assert report.endpoint(CREATE).summary == \
        "create journal: failed — blocked: login failed, so there is no token"
    assert report.endpoint(GET_USER).ok is False  # given an id, it ran and was refused too
    assert not report.error_rate.ok and report.error_rate.observed["error_rate"] == 1.0
    assert not report.failing_endpoints.ok
    assert report.failing_endpoints.observed["share"] == 1.0


def test_endpoints_answering_500_fail_and_raise_the_signals(pg_server, tmp_path):
    name = vibes_database(pg_server)
    dsn = pg_server.dsn(name)
    try:
        with vibes_service(dsn, log_path=tmp_path / "log", maintenance_file=tmp_path / "m"
                           ) as svc:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP TABLE journals CASCADE")
            report = run_smoke(svc.base_url, requests=4, allow_writes=True, account=ACCOUNT,
                               max_failing_share=0.25)
    finally:
        pg_server.drop_database(name)
    states = {r.name: r.status for r in report.endpoints}
    assert states == {HEALTH: PASSED, LOGIN: PASSED, CREATE: FAILED, LIST: FAILED,
                      GET_USER: PASSED}
    create = report.endpoint(CREATE)
    assert create.summary.startswith("create journal: 4/4 did not answer 201 (HTTP 500 ×4)")
    assert "Hint: POST /api/v1/journals" in create.summary
    assert create.observed["first_failure"]["response"]["status"] == 500
    assert report.error_rate.observed == {"error_rate": 0.4, "errors": 8, "requests": 20,
                                          "threshold": 0.0}
    assert not report.failing_endpoints.ok
    assert report.failing_endpoints.summary == \
        "2 of 5 API endpoints failing (40%): create journal, list journals"


def test_maintenance_fails_the_smoke_unless_the_operator_token_is_sent(service):
    assert enable_maintenance(service.base_url, ADMIN_TOKEN).ok
    try:
        gated = run_smoke(service.base_url, requests=2, allow_writes=True, account=ACCOUNT,
                          user_id=3)
        operator = run_smoke(service.base_url, requests=2, allow_writes=True, account=ACCOUNT,
                             admin_token=ADMIN_TOKEN)
    finally:
        assert disable_maintenance(service.base_url, ADMIN_TOKEN).ok
    assert gated.endpoint(HEALTH).status == PASSED
    assert "(HTTP 503 ×2)" in gated.endpoint(LOGIN).summary
    assert gated.endpoint(GET_USER).status == FAILED
    assert gated.failing_endpoints.observed["share"] == 0.8
    assert all(r.ok for r in operator.results()), [r.summary for r in operator.results()]
    first = operator.endpoint(GET_USER).observed["first_call"]["request"]
    assert first["headers"] == {"x-admin-token": "***"}
    assert ADMIN_TOKEN not in json.dumps([r.to_dict() for r in operator.results()])


def test_endpoints_slower_than_their_budget_fail(service):
    report = run_smoke(service.base_url, requests=3, user_id=1,
                       budgets={HEALTH: LatencyBudget(p95_ms=0.001),
                                GET_USER: LatencyBudget(p99_ms=60_000)})
    health = report.endpoint(HEALTH)
    assert health.status == FAILED and "p95" in health.summary
    assert "over its budget of 0.001 ms" in health.summary
    assert health.observed["errors"] == 0 and health.observed["budget_ms"]["p95"] == 0.001
    assert report.endpoint(GET_USER).status == PASSED
    assert report.error_rate.ok  # slow is not an error ...
    assert not report.failing_endpoints.ok  # ... but it is a failing endpoint
    assert report.failing_endpoints.observed["failing"] == [HEALTH]


def test_uuid_service_smoke_uses_uuid_user_ids(pg_server, tmp_path):
    name = vibes_database(pg_server, REVISION_UUID)
    try:
        with vibes_service(pg_server.dsn(name), id_mode="uuid", log_path=tmp_path / "log",
                           maintenance_file=tmp_path / "m") as svc:
            report = run_smoke(svc.base_url, requests=2, allow_writes=True, account=ACCOUNT)
    finally:
        pg_server.drop_database(name)
    assert all(r.ok for r in report.results()), [r.summary for r in report.results()]
    user_path = report.endpoint(GET_USER).observed["endpoint"].removeprefix("GET /api/v1/users/")
    uuid.UUID(user_path)


def test_percentiles_are_nearest_rank_and_requests_must_be_positive():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0, 95.0, 99.0)
    assert percentile([7.0], 99) == 7.0 and percentile([3.0, 1.0, 2.0], 50) == 2.0
    with pytest.raises(ValueError, match="at least once"):
        run_smoke("http://127.0.0.1:1", requests=0)
    assert repr(ACCOUNT) == "SmokeAccount(email='user3@example.com')"
