"""A throwaway PostgreSQL in Docker via testcontainers (optional extra `rollbook[docker]`)."""
from __future__ import annotations

import os
import secrets
import socket

from rollbook.errors import ServerError
from rollbook.pg.server import Server

DEFAULT_IMAGE = "postgres:18"
DEFAULT_DOCKER_SOCKET = "unix:///var/run/docker.sock"


def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers; otherwise why not, in one line."""
    try:
        import docker
    except ImportError:
        return "the docker Python package is not installed (pip install 'rollbook[docker]')"
    host = os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_SOCKET)
    if host.startswith("unix://"):
        refused = _unix_socket_refuses(host.removeprefix("unix://"))
        if refused:
            return f"no Docker engine answers at {host} ({refused})"
    try:
        client = docker.from_env(timeout=5)
    except Exception as exc:  # any failure to reach the engine means: no engine here
        return f"no Docker engine answers ({type(exc).__name__})"
    try:
        client.ping()
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__})"
    finally:
        client.close()
    return None


def _unix_socket_refuses(path: str) -> str | None:
    """Why nothing accepts connections on a unix socket, or None when something does."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(path)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        probe.close()
    return None


class DockerServer(Server):
    """PostgreSQL in a container started by testcontainers, removed on stop."""

    kind = "docker"

    def __init__(self, image: str | None = None):
        super().__init__(host="127.0.0.1", port=0, user="rollbook",
                         password=secrets.token_urlsafe(16), dbname="postgres")
        self.image = image or DEFAULT_IMAGE
        self._container = None

    def start(self) -> "DockerServer":
        reason = docker_unavailable_reason()
        if reason:
            raise ServerError(f"cannot use the docker backend: {reason}.",
                              hint="start a Docker engine, or use --pg-backend embedded.")
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError as exc:
            raise ServerError("testcontainers is not installed.",
                              hint="pip install 'rollbook[docker]'") from exc
        self._container = PostgresContainer(self.image, username=self.user,
                                            password=self.password, dbname=self.dbname)
        self._container.start()
        self.host = self._container.get_container_host_ip()
        self.port = int(self._container.get_exposed_port(5432))
        self._read_version()
        return self

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None

    def describe(self) -> str:
        return f"docker PostgreSQL {self.version} ({self.image}) at {self.redacted_dsn()}"
