"""rollbook.runbook.service: start, stop and restart a real service (as a child process and through
start/stop commands), timed; the health wait and its failures; maintenance evidence."""
from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import textwrap
import time
import uuid

import httpx
import pytest
from alembic import command

from rollbook.runbook.service import (
    CommandService,
    ServiceError,
    ServiceProcess,
    free_port,
    id_mode_env,
    port_open,
    vibes_service,
)
from rollbook.runbook.service_client import (
    disable_maintenance,
    enable_maintenance,
    read_health,
    verify_maintenance,
)
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.seed import seed

ADMIN_TOKEN = "admin-" + uuid.uuid4().hex

# A stand-in service: answers every GET with a fixed status; may ignore SIGTERM.
FAKE_SERVICE = textwrap.dedent("""
    import http.server, signal, sys
    port, status, on_term = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if on_term == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "booting"}')
        def log_message(self, *args):
            pass
    print(f"fake service on {port}: always {status}", flush=True)
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
""")


@pytest.fixture(scope="module")
def vibes_dsn(pg_server):
    """A seeded Vibes database at the integer revision, for this module."""
    name = f"rb_service_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    command.upgrade(alembic_config(dsn), REVISION_INTEGER)
    seed(dsn, "tiny")
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def running(vibes_dsn, tmp_path_factory):
    """The Vibes API, started once for the maintenance-helper tests."""
    folder = tmp_path_factory.mktemp("service")
    with vibes_service(vibes_dsn, admin_token=ADMIN_TOKEN, log_path=folder / "log",
                       maintenance_file=folder / "maintenance") as svc:
        yield svc


def fake_service(tmp_path, status: int, on_term: str = "exit") -> ServiceProcess:
    port = free_port()
    return ServiceProcess([sys.executable, "-c", FAKE_SERVICE, str(port), str(status), on_term],
                          port=port, log_path=tmp_path / "fake.log")


def test_start_restart_and_stop_are_timed_and_the_port_is_closed(vibes_dsn, tmp_path):
    svc = vibes_service(vibes_dsn, log_path=tmp_path / "log", maintenance_file=tmp_path / "m")
    started = svc.start()
    try:
        assert started.step == "start" and started.elapsed_s > 0
        assert started.observed == {"pid": svc.pid, "port": svc.port}
        wait = started.parts[0]
        assert wait.step == "health wait" and 0 < wait.elapsed_s <= started.elapsed_s
        assert wait.observed["health"]["response"]["body"]["alembic_revision"] == "0001"
        first_pid = svc.pid

        restarted = svc.restart(env_update=id_mode_env("integer"))
        stop, start = restarted.parts
        assert (stop.step, start.step) == ("stop", "start")
        assert restarted.elapsed_s == pytest.approx(stop.elapsed_s + start.elapsed_s)
        assert stop.observed["pid"] == first_pid and svc.pid != first_pid
        assert restarted.observed["env_update"] == ["USE_INTEGER_IDS", "UUID_ENABLED"]
        assert read_health(svc.base_url).ok
    finally:
        stopped = svc.stop()
    assert stopped.observed["signal"] == "SIGTERM" and stopped.observed["port_closed"]
    assert stopped.detail == f"pid {stopped.observed['pid']} stopped on SIGTERM; " \
                             f"port {svc.port} closed"
    assert not svc.running and not port_open("127.0.0.1", svc.port)
    assert svc.stop().detail == "was not running"
    json.dumps(restarted.to_dict())  # the record can carry it
    health = read_health(svc.base_url)
    assert not health.ok and "ConnectError" in health.summary


def test_stop_escalates_to_sigkill_after_the_grace_period(tmp_path):
    svc = fake_service(tmp_path, 200, on_term="ignore")
    svc.start(timeout_s=10)
    stopped = svc.stop(grace_s=0.5)
    assert stopped.observed["signal"] == "SIGKILL"
    assert stopped.observed["exit_code"] == -signal.SIGKILL
    assert "by SIGKILL after 0.5 s grace" in stopped.detail
    assert 0.5 <= stopped.elapsed_s < 5
    assert not port_open("127.0.0.1", svc.port)


def test_health_wait_times_out_naming_url_last_status_and_log_tail(tmp_path):
    svc = fake_service(tmp_path, 503)
    started = time.perf_counter()
    with pytest.raises(ServiceError) as caught:
        svc.start(timeout_s=1.0)
    assert 1.0 <= time.perf_counter() - started < 5
    error = caught.value
    assert error.message.startswith(f"{svc.health_url} did not answer 200 within 1 s")
    assert 'last seen: HTTP 503 {\'status\': \'booting\'}' in error.message
    assert error.context[0][0] == "service log (last lines)"
    assert "fake service on" in error.context[0][1] and "always 503" in error.context[0][1]
    assert error.hint
    assert not svc.running and not port_open("127.0.0.1", svc.port)  # killed, not left behind


def test_a_service_that_exits_fails_the_start_at_once(scratch_dsn, tmp_path):
    svc = vibes_service(scratch_dsn, log_path=tmp_path / "log")
    started = time.perf_counter()
    with pytest.raises(ServiceError) as caught:
        svc.start(timeout_s=30)
    assert time.perf_counter() - started < 10
    assert "exited with code 3 before" in caught.value.message
    assert "has no alembic_version" in caught.value.context[0][1]


def test_start_refuses_a_taken_port_and_shell_strings(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        svc = ServiceProcess([sys.executable, "-c", "pass"], port=port)
        with pytest.raises(ServiceError, match=f"port {port} on 127.0.0.1 is already taken"):
            svc.start()
    with pytest.raises(ServiceError, match="argv list, not a shell string"):
        ServiceProcess("python -m rollbook_vibes.api", port=1)
    with pytest.raises(ServiceError, match="argv lists"):
        CommandService("./scripts/start.sh", ["stop"], base_url="http://127.0.0.1:1")
    with pytest.raises(ServiceError, match="unknown id mode 'bigint'"):
        id_mode_env("bigint")


START_SCRIPT = textwrap.dedent("""
    import os, subprocess, sys
    port, log, pidfile = sys.argv[1:4]
    with open(log, "ab") as out:
        child = subprocess.Popen([sys.executable, "-m", "rollbook_vibes.api", "--port", port],
                                 stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    with open(pidfile, "w") as f:
        f.write(str(child.pid))
    print(f"started {child.pid}")
""")
STOP_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    with open(sys.argv[1]) as f:
        os.kill(int(f.read()), signal.SIGTERM)
    print("stopped")
""")


def test_command_service_runs_the_operators_start_and_stop_scripts(vibes_dsn, tmp_path):
    (tmp_path / "start.py").write_text(START_SCRIPT)
    (tmp_path / "stop.py").write_text(STOP_SCRIPT)
    port, pidfile, log = free_port(), tmp_path / "pid", tmp_path / "service.log"
    env = dict(os.environ, VIBES_DATABASE_URL=vibes_dsn, VIBES_MAINTENANCE_FILE=str(
        tmp_path / "m"), **id_mode_env("integer"))
    svc = CommandService([sys.executable, "start.py", str(port), str(log), str(pidfile)],
                         [sys.executable, "stop.py", str(pidfile)], cwd=tmp_path,
                         base_url=f"http://127.0.0.1:{port}", env=env, log_path=log)
    try:
        started = svc.start()
        assert started.observed["command"]["exit_code"] == 0
        assert started.observed["command"]["output"].startswith("started ")
        assert started.parts[0].step == "health wait"
        restarted = svc.restart()
        assert [p.step for p in restarted.parts] == ["stop", "start"]
        stopped = svc.stop()
        assert stopped.observed == {"command": {"argv": svc.stop_argv, "exit_code": 0,
                                                "output": "stopped\n"}, "port_closed": True}
        assert not port_open("127.0.0.1", port)
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_maintenance_helpers_switch_verify_and_keep_the_token_out(running):
    url = running.base_url
    assert verify_maintenance(url, False).ok
    assert not verify_maintenance(url, True).ok

    refused = enable_maintenance(url, "not-the-token")
    assert not refused.ok and "HTTP 401" in refused.summary and "wrong admin token" in \
        refused.summary

    enabled = enable_maintenance(url, ADMIN_TOKEN)
    assert enabled.ok and enabled.observed["response"]["body"]["maintenance"] is True
    assert enabled.observed["request"]["headers"] == {"Authorization": "Bearer ***"}
    try:
        on = verify_maintenance(url, True)
        assert on.ok, on.summary
        assert on.summary == ("maintenance on: /health says on (HTTP 200), /api/v1/journals "
                              "answers HTTP 503 with Retry-After 120")
        health = read_health(url)
        assert health.ok and "maintenance on" in health.summary
        off_check = verify_maintenance(url, False)
        assert not off_check.ok and "Hint: switch it off" in off_check.summary
    finally:
        disabled = disable_maintenance(url, ADMIN_TOKEN)
    assert disabled.ok
    assert verify_maintenance(url, False).ok
    evidence = json.dumps([r.to_dict() for r in (refused, enabled, disabled)])
    assert ADMIN_TOKEN not in evidence


def test_log_tail_masks_secrets_the_service_was_given(tmp_path):
    log = tmp_path / "log"
    log.write_text("line one\nconnecting to postgresql://app:hunter2@db/vibes\ntoken s3cr3t\n")
    svc = ServiceProcess(["true"], port=1, log_path=log, secrets=("s3cr3t",))
    assert svc.log_tail(lines=2) == "connecting to postgresql://app:***@db/vibes\ntoken ***"


def test_vibes_service_passes_the_dsn_in_the_environment_only(tmp_path):
    dsn = "host=127.0.0.1 port=1 dbname=x password=pw-in-env"
    svc = vibes_service(dsn, id_mode="uuid", admin_token="adm", port=4321,
                        maintenance_file=tmp_path / "m")
    assert svc.argv[1:] == ["-m", "rollbook_vibes.api", "--dsn-env", "VIBES_DATABASE_URL", "--port",
                            "4321"]
    assert svc.env["VIBES_DATABASE_URL"] == dsn
    assert (svc.env["UUID_ENABLED"], svc.env["USE_INTEGER_IDS"]) == ("true", "false")
    assert svc.secrets == ("adm", "pw-in-env")
    assert svc.base_url == "http://127.0.0.1:4321"


def test_two_services_on_one_port_never_share_an_application_log():
    """A port is free again once its service stops (and another run may take it meanwhile):
    the default application log is in a folder of the service's own, never named by the port,
    and the folder goes with the service."""
    first = vibes_service("host=127.0.0.1 dbname=x", port=4321)
    second = vibes_service("host=127.0.0.1 dbname=x", port=4321)
    assert first.app_log != second.app_log
    assert first.app_log.parent.is_dir() and "4321" not in str(first.app_log)
    folder = first.app_log.parent
    del first
    gc.collect()
    assert not folder.exists() and second.app_log.parent.is_dir()


def test_a_failing_stop_command_is_a_service_error_with_its_output():
    failing = [sys.executable, "-c", "import sys; print('no pid file'); sys.exit(1)"]
    svc = CommandService(["true"], failing, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServiceError) as caught:
        svc.stop()
    assert caught.value.message == f"{' '.join(failing)} exited with code 1."
    assert caught.value.context == [("output", "no pid file\n")]


def test_application_rollback_a_uuid_service_restarted_in_integer_mode(pg_server, tmp_path):
    """The drill's sequence in small: the database is downgraded under the UUID service, which
    then reports the wrong revision and fails its lookups, until it restarts on integer ids."""
    name = f"rb_service_rollback_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    try:
        command.upgrade(alembic_config(dsn), REVISION_INTEGER)
        seed(dsn, "tiny")
        command.upgrade(alembic_config(dsn), REVISION_UUID)
        with vibes_service(dsn, id_mode="uuid", log_path=tmp_path / "log",
                           maintenance_file=tmp_path / "m") as svc, \
                httpx.Client(base_url=svc.base_url, trust_env=False) as client:
            some_user = client.get("/api/v1/users/1")
            assert some_user.status_code == 404  # an integer id on the UUID service
            command.downgrade(alembic_config(dsn), "-1")

            health = read_health(svc.base_url)
            assert not health.ok and "HTTP 503" in health.summary
            body = health.observed["response"]["body"]
            assert (body["status"], body["alembic_revision"], body["expected_revision"]) == (
                "wrong_revision", "0001", "0002")
            assert client.get(f"/api/v1/users/{uuid.uuid4()}").status_code == 500

            restarted = svc.restart(env_update=id_mode_env("integer"))
            assert restarted.parts[1].parts[0].observed["health"]["response"]["body"][
                "id_mode"] == "integer"
            assert read_health(svc.base_url).ok
            user = client.get("/api/v1/users/1")
            assert user.status_code == 200 and user.json()["id"] == 1
    finally:
        pg_server.drop_database(name)
