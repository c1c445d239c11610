"""The Vibes API on a real port over a real migrated and seeded database, in both id modes:
health, login, journals, users, bad tokens, bad ids, maintenance mode, the mode/revision guard,
and no secret in its log."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command
from psycopg.conninfo import make_conninfo

from rollbook.runbook.service import ServiceError, free_port, id_mode_env, vibes_service
from rollbook_vibes.api.passwords import set_password
from rollbook_vibes.api.store import token_digest
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.seed import seed

ADMIN_TOKEN = "admin-" + secrets.token_hex(12)
DSN_PASSWORD = "dsnpw-" + secrets.token_hex(12)
PASSWORD = "userpw-" + secrets.token_hex(12)
EMAIL = "user1@example.com"
REVISIONS = {"integer": REVISION_INTEGER, "uuid": REVISION_UUID}


def make_vibes_database(pg_server, revision: str) -> str:
    """A fresh database: migrated to 0001, seeded (tiny), user1's password set, then taken to
    ``revision``; returns its name."""
    name = f"rb_api_{revision}_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    command.upgrade(alembic_config(dsn), REVISION_INTEGER)
    seed(dsn, "tiny")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert set_password(conn, EMAIL, PASSWORD, n=2**12)
    if revision != REVISION_INTEGER:
        command.upgrade(alembic_config(dsn), revision)
    return name


@pytest.fixture(scope="module")
def databases(pg_server):
    """One seeded database per id mode: integer at 0001, uuid at 0002."""
    names = {mode: make_vibes_database(pg_server, rev) for mode, rev in REVISIONS.items()}
    yield {mode: pg_server.dsn(name) for mode, name in names.items()}
    for name in names.values():
        pg_server.drop_database(name)


@pytest.fixture(scope="module")
def services(databases, tmp_path_factory):
    """The API in integer mode and in uuid mode, each on its own free port."""
    folder = tmp_path_factory.mktemp("api")
    running = {}
    try:
        for mode, dsn in databases.items():
            svc = vibes_service(make_conninfo(dsn, password=DSN_PASSWORD), id_mode=mode,
                                admin_token=ADMIN_TOKEN, log_path=folder / f"{mode}.log",
                                maintenance_file=folder / f"{mode}.maintenance")
            svc.start()
            running[mode] = svc
        yield running
    finally:
        for svc in running.values():
            svc.stop()


@pytest.fixture(params=["integer", "uuid"])
def api(request, services):
    """An httpx client on the service of one id mode, and the mode."""
    with httpx.Client(base_url=services[request.param].base_url, timeout=10,
                      trust_env=False) as client:
        yield client, request.param


def login(client: httpx.Client) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def test_health_reports_database_revision_mode_and_maintenance(api):
    client, mode = api
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "database_reachable": True, "alembic_revision": REVISIONS[mode],
        "expected_revision": REVISIONS[mode], "id_mode": mode, "maintenance": False,
        "maintenance_since": None, "release": None}  # the working tree is no release


def test_login_create_and_list_journals_and_get_user(api):
    client, mode = api
    grant = login(client)
    assert grant["token_type"] == "bearer" and len(grant["access_token"]) >= 40
    id_type = int if mode == "integer" else str
    assert isinstance(grant["user_id"], id_type)
    auth = {"Authorization": f"Bearer {grant['access_token']}"}

    created = client.post("/api/v1/journals", headers=auth,
                          json={"title": "After the rollback", "content": "still here",
                                "mood": "calm"})
    assert created.status_code == 201, created.text
    journal = created.json()
    assert isinstance(journal["id"], id_type) and journal["user_id"] == grant["user_id"]
    if mode == "uuid":
        uuid.UUID(journal["id"])
        assert journal["legacy_id"] is None  # written on the UUID schema

    listed = client.get("/api/v1/journals", headers=auth, params={"limit": 5})
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert items[0]["id"] == journal["id"] and listed.json()["count"] == len(items) <= 5
    assert {item["user_id"] for item in items} == {grant["user_id"]}

    user = client.get(f"/api/v1/users/{grant['user_id']}")
    assert user.status_code == 200
    assert user.json()["email"] == EMAIL and "password_hash" not in user.json()
    if mode == "uuid":
        assert user.json()["legacy_id"] == 1


def test_the_session_is_stored_as_a_digest_with_an_expiry(services, databases):
    with httpx.Client(base_url=services["integer"].base_url, trust_env=False) as client:
        token = login(client)["access_token"]
    with psycopg.connect(databases["integer"]) as conn:
        row = conn.execute("SELECT user_id, expires_at > now() + interval '23 hours'"
                           " FROM user_sessions WHERE token = %s", (token_digest(token),)
                           ).fetchone()
        raw = conn.execute("SELECT count(*) FROM user_sessions WHERE token = %s",
                           (token,)).fetchone()[0]
    assert row == (1, True) and raw == 0


def test_wrong_passwords_and_unknown_emails_are_401(api):
    client, _ = api
    for body in ({"email": EMAIL, "password": PASSWORD + "x"},
                 {"email": "nobody@example.com", "password": PASSWORD},
                 {"email": "user2@example.com", "password": PASSWORD}):  # seeded, no usable hash
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 401, body
        assert response.json()["detail"] == "invalid email or password"


def test_bad_tokens_are_401(api, databases):
    client, mode = api
    with psycopg.connect(databases[mode], autocommit=True) as conn:
        user_id = conn.execute("SELECT id FROM users WHERE email = %s", (EMAIL,)).fetchone()[0]
        conn.execute("INSERT INTO user_sessions (user_id, token, expires_at)"
                     " VALUES (%s, %s, now() - interval '1 minute')",
                     (user_id, token_digest("expired-" + mode)))
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Bearer expired-{mode}"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        for method in ("GET", "POST"):
            response = client.request(method, "/api/v1/journals", headers=headers,
                                      json={"title": "t", "content": "c"})
            assert response.status_code == 401, (method, headers)
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("mode, bad_ids", [
    ("integer", [str(uuid.uuid4()), "abc", "0", "-1", "99999999999", "1.5", "١"]),
    ("uuid", ["1", "42", "abc", "0000", str(uuid.uuid4())]),
])
def test_ids_of_the_other_mode_are_404_never_500(services, mode, bad_ids):
    with httpx.Client(base_url=services[mode].base_url, trust_env=False) as client:
        for bad in bad_ids:
            response = client.get(f"/api/v1/users/{bad}")
            assert response.status_code == 404, (bad, response.text)
            assert response.json()["error"] == "not found"


def test_invalid_requests_are_4xx(api):
    client, _ = api
    auth = {"Authorization": f"Bearer {login(client)['access_token']}"}
    assert client.post("/api/v1/journals", headers=auth,
                       json={"content": "no title"}).status_code == 422
    assert client.post("/api/v1/journals", headers=auth, json=["a list"]).status_code == 422
    assert client.post("/api/v1/journals", headers=auth, content=b"{not json",
                       ).status_code == 400
    assert client.post("/api/v1/journals", headers=auth,
                       json={"title": "x" * 201, "content": "c"}).status_code == 422
    assert client.get("/api/v1/journals", headers=auth, params={"limit": 0}).status_code == 422
    assert client.post("/api/v1/auth/login", json={"email": EMAIL}).status_code == 422
    assert client.get("/api/v1/nothing-here").status_code == 404
    assert client.delete("/api/v1/journals").status_code == 405


def test_concurrent_requests_are_all_served(services):
    limits = httpx.Limits(max_connections=24)
    with httpx.Client(base_url=services["integer"].base_url, trust_env=False, timeout=20,
                      limits=limits) as client, ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda n: client.get(f"/api/v1/users/{n % 50 + 1}").status_code,
                                 range(240)))
    assert statuses == [200] * 240


def test_the_service_knows_the_revisions_of_the_alembic_project():
    from rollbook_vibes import migrations_config
    from rollbook_vibes.api import config

    assert (config.REVISION_INTEGER, config.REVISION_UUID, config.URL_ENV_VAR) == (
        migrations_config.REVISION_INTEGER, migrations_config.REVISION_UUID,
        migrations_config.URL_ENV_VAR)


def test_maintenance_mode_needs_the_admin_token_gates_the_api_and_survives_restart(
        databases, tmp_path):
    log = tmp_path / "service.log"
    svc = vibes_service(make_conninfo(databases["integer"], password=DSN_PASSWORD),
                        admin_token=ADMIN_TOKEN, log_path=log,
                        maintenance_file=tmp_path / "maintenance")
    with svc, httpx.Client(base_url=svc.base_url, trust_env=False) as client:
        token = login(client)["access_token"]
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Admin-Token": "wrong"},
                        {"Authorization": f"Bearer {token}"}):
            denied = client.post("/admin/maintenance/enable", headers=headers)
            assert denied.status_code == 401, headers
        assert client.get("/health").json()["maintenance"] is False

        on = client.post("/admin/maintenance/enable", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert on.status_code == 200 and on.json()["maintenance"] is True

        def assert_gated():
            auth = {"Authorization": f"Bearer {token}"}
            for method, path in (("GET", "/api/v1/users/1"), ("GET", "/api/v1/journals"),
                                 ("POST", "/api/v1/journals"), ("POST", "/api/v1/auth/login"),
                                 ("GET", "/anything")):
                response = client.request(method, path, headers=auth, json={})
                assert response.status_code == 503, (method, path)
                assert response.headers["retry-after"] == "120"
            health = client.get("/health")
            assert health.status_code == 200
            assert health.json()["maintenance"] is True
            assert health.json()["status"] == "maintenance"

        assert_gated()
        operator = client.get("/api/v1/users/1", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert operator.status_code == 200  # an operator's own checks pass the gate
        assert client.get("/api/v1/users/1", headers={"X-Admin-Token": "wrong"}
                          ).status_code == 503
        restarted = svc.restart()
        assert restarted.parts[0].observed["signal"] == "SIGTERM"
        assert_gated()  # the flag lives in a file, not in the process

        off = client.post("/admin/maintenance/disable",
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert off.status_code == 200 and off.json()["maintenance"] is False
        assert client.get("/api/v1/users/1").status_code == 200

        svc.restart(env_update={"VIBES_ADMIN_TOKEN": ""})
        refused = client.post("/admin/maintenance/enable", headers={"X-Admin-Token": ""})
        assert refused.status_code == 403
        assert "VIBES_ADMIN_TOKEN is not set" in refused.json()["detail"]
        pid = svc.pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        assert DSN_PASSWORD not in cmdline and "dbname" not in cmdline  # the DSN is not in argv

    text = log.read_text()
    assert '"POST /api/v1/auth/login HTTP/1.1" 200' in text
    assert "maintenance mode on" in text and "maintenance mode off" in text
    for secret in (ADMIN_TOKEN, DSN_PASSWORD, PASSWORD, token):
        assert secret not in text


def test_database_errors_are_logged_in_one_line_without_secrets(pg_server, tmp_path):
    name = make_vibes_database(pg_server, REVISION_INTEGER)
    dsn = pg_server.dsn(name)
    log = tmp_path / "service.log"
    try:
        with vibes_service(make_conninfo(dsn, password=DSN_PASSWORD), admin_token=ADMIN_TOKEN,
                           log_path=log, maintenance_file=tmp_path / "m") as svc, \
                httpx.Client(base_url=svc.base_url, trust_env=False) as client:
            token = login(client)["access_token"]
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP TABLE journals CASCADE")
            failed = client.get("/api/v1/journals", headers={"Authorization": f"Bearer {token}"})
            assert failed.status_code == 500
            assert failed.json() == {"error": "internal error",
                                     "detail": "the request failed; see the service log"}
            pg_server.drop_database(name)  # the database goes away under the service
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert health.json()["database_reachable"] is False
    finally:
        pg_server.drop_database(name)
    lines = log.read_text().splitlines()
    errors = [line for line in lines if "GET /api/v1/journals failed" in line]
    assert len(errors) == 1 and "UndefinedTable" in errors[0]
    assert not any(line.startswith("Traceback") for line in lines)
    text = "\n".join(lines)
    for secret in (ADMIN_TOKEN, DSN_PASSWORD, PASSWORD, token):
        assert secret not in text


def run_api(dsn: str | None, **env: str) -> subprocess.CompletedProcess:
    values = {k: v for k, v in os.environ.items()
              if k not in ("VIBES_DATABASE_URL", "UUID_ENABLED", "USE_INTEGER_IDS")}
    if dsn is not None:
        values["APP_DSN"] = dsn
    values.update(env)
    return subprocess.run([sys.executable, "-m", "rollbook_vibes.api", "--dsn-env", "APP_DSN", "--port",
                           str(free_port())], env=values, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("service_mode, database_mode", [("integer", "uuid"),
                                                          ("uuid", "integer")])
def test_the_service_refuses_a_database_at_the_other_revision(databases, service_mode,
                                                              database_mode):
    dsn = make_conninfo(databases[database_mode], password=DSN_PASSWORD)
    done = run_api(dsn, **id_mode_env(service_mode))
    assert done.returncode == 3
    assert done.stdout == "" and done.stderr.count("\n") == 1
    line = done.stderr.strip()
    assert line.startswith(f"vibes-api: refusing to start: {service_mode} mode ")
    assert (f"needs alembic revision {REVISIONS[service_mode]}, but " in line
            and f" is at {REVISIONS[database_mode]}. Hint: start in {database_mode} mode" in line)
    assert DSN_PASSWORD not in line


def test_the_service_refuses_an_unmigrated_database_and_bad_configuration(scratch_dsn):
    cases = [
        (scratch_dsn, {}, 3, "has no alembic_version. Hint: migrate it first"),
        (None, {}, 2, "APP_DSN is not set."),
        (scratch_dsn, {"UUID_ENABLED": "true", "USE_INTEGER_IDS": "true"}, 2,
         "contradict each other"),
        (scratch_dsn, {"UUID_ENABLED": "maybe"}, 2, "UUID_ENABLED='maybe' is not a boolean"),
        (scratch_dsn, {"VIBES_MAINTENANCE_FILE": "/nonexistent/dir/flag"}, 2,
         "folder /nonexistent/dir does not exist"),
    ]
    for dsn, env, code, words in cases:
        done = run_api(dsn, **env)
        assert done.returncode == code, (env, done.stderr)
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "Hint:" in done.stderr


def test_a_refused_start_is_a_service_error_with_the_log_tail(databases, tmp_path):
    svc = vibes_service(databases["uuid"], id_mode="integer", log_path=tmp_path / "log")
    with pytest.raises(ServiceError) as caught:
        svc.start()
    assert "exited with code 3 before" in caught.value.message
    assert "refusing to start: integer mode" in str(caught.value)
    assert not svc.running
