"""The server backends: start, describe, client tools matched to the server."""
from __future__ import annotations

import psycopg
import pytest

from rollbook.errors import ServerError
from rollbook.pg.install import debian_installations
from rollbook.pg.server import UrlServer, start_server


def test_embedded_server_reports_version_and_matching_client_tools(pg_server):
    assert pg_server.version_num >= 120000
    assert pg_server.installation.major >= pg_server.version_num // 10000
    assert "password" not in pg_server.redacted_dsn()


def test_scratch_database_is_empty_and_writable(scratch_dsn):
    with psycopg.connect(scratch_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


@pytest.mark.local_pg
@pytest.mark.skipif(not debian_installations(), reason="no Debian postgresql-NN installed")
def test_local_debian_server_runs_as_unprivileged_user_and_uses_same_major_tools():
    with start_server("local") as server:
        install = debian_installations()[0]
        assert server.version_num // 10000 == install.major
        assert server.installation.major == install.major
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_url_server_with_wrong_password_says_so_without_the_password(pg_server):
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS rb_pw_user")
        conn.execute("CREATE ROLE rb_pw_user LOGIN PASSWORD 'right-secret'")
    dsn = f"postgresql://rb_pw_user:wrong-secret@127.0.0.1:{pg_server.port}/postgres"
    # trust auth accepts any password; the point here is that errors never echo it
    server = UrlServer(dsn)
    assert "wrong-secret" not in server.redacted_dsn()
    assert "wrong-secret" not in server.client_dsn()
    assert server.client_env()["PGPASSWORD"] == "wrong-secret"


def test_unreachable_url_server_is_one_clear_line():
    with pytest.raises(ServerError, match=r"cannot connect to .*127\.0\.0\.1.*Hint: check host") as info:
        with start_server("url", dsn="postgresql://u:topsecret@127.0.0.1:1/db"):
            pass
    assert "topsecret" not in str(info.value)


def test_unknown_backend_is_refused():
    with pytest.raises(ServerError, match="unknown server backend 'oracle'"):
        start_server("oracle")


@pytest.mark.docker
def test_docker_backend_starts_a_server_or_skips_with_reason():
    from rollbook.pg.docker import docker_unavailable_reason
    reason = docker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with start_server("docker") as server:
        assert server.version_num >= 120000
        assert server.password not in server.redacted_dsn()


def test_docker_backend_without_engine_is_one_clear_line():
    pytest.importorskip("testcontainers", reason="the docker extra: pip install -e '.[docker]'")
    from rollbook.pg.docker import docker_unavailable_reason
    if docker_unavailable_reason() is None:
        pytest.skip("a Docker engine answers here; the no-engine message cannot be shown")
    with pytest.raises(ServerError, match=r"cannot use the docker backend: .*Hint: start a Docker"):
        start_server("docker").start()
