"""The drill's operator checks (`pytest checks/` as a child) start before the steps that run
beside them; when one of those steps fails, the child is stopped, not left running."""
from __future__ import annotations

import signal
import subprocess
from types import SimpleNamespace

import pytest

from rollbook.pytest_plugin.operator_checks import operator_checks


def test_a_failed_step_beside_them_stops_the_operator_checks(tmp_path, monkeypatch):
    children = []
    real_popen = subprocess.Popen

    def recorded(*args, **kwargs):
        children.append(real_popen(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(subprocess, "Popen", recorded)
    drill = SimpleNamespace(workspace=tmp_path)
    prepared = SimpleNamespace(dsn="host=127.0.0.1 port=9 dbname=nothing")
    with pytest.raises(RuntimeError, match="the steady state failed"):
        with operator_checks(drill, prepared, "http://127.0.0.1:9"):
            raise RuntimeError("the steady state failed")
    assert len(children) == 1
    assert children[0].returncode == -signal.SIGKILL  # stopped while it still ran
    assert (tmp_path / "pytest-checks.out").exists()  # its output went to the workspace
