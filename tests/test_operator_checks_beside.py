"""The drill's operator checks (`pytest checks/` as a child) load before the steps they wait
for and start when the drill says; when a step fails, the child is stopped, not left running,
and a block that never starts them leaves them having run nothing."""
from __future__ import annotations

import signal
import subprocess
import time
from types import SimpleNamespace

import pytest

from rollbook.pytest_plugin.operator_checks import operator_checks


@pytest.fixture
def children(monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def recorded(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", recorded)
    return started


def test_a_failed_step_beside_them_stops_the_operator_checks(tmp_path, children):
    drill = SimpleNamespace(workspace=tmp_path)
    prepared = SimpleNamespace(dsn="host=127.0.0.1 port=9 dbname=nothing")
    with pytest.raises(RuntimeError, match="the steady state failed"):
        with operator_checks(drill, prepared, "http://127.0.0.1:9") as checks:
            checks.start()
            raise RuntimeError("the steady state failed")
    assert len(children) == 1
    assert children[0].returncode == -signal.SIGKILL  # stopped while it still ran
    assert (tmp_path / "pytest-checks.out").exists()  # its output went to the workspace


def test_checks_never_started_run_nothing(tmp_path, children):
    drill = SimpleNamespace(workspace=tmp_path)
    prepared = SimpleNamespace(dsn="host=127.0.0.1 port=9 dbname=nothing")
    with pytest.raises(AssertionError, match="never called start"):
        with operator_checks(drill, prepared, "http://127.0.0.1:9"):
            time.sleep(3)  # loaded by now, and waiting
            assert children[0].poll() is None
    assert children[0].returncode in (2, -signal.SIGKILL)  # interrupted, or stopped first
    assert not (tmp_path / "checks-reports").exists()  # it never began: no run folder
