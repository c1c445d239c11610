"""`allure generate` runs in a process group of its own and is killed whole on timeout: npx
starts node, and a timeout that killed only npx left node running (issue 18.8)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rollbook.record import allure_html

# stands in for npx: it starts a long-lived child (node's part) and waits for it
FAKE_NPX = """#!/bin/sh
sleep 300 &
echo $! > "$CHILD_PID_FILE"
wait
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, waiting for its reaper
        return stat.read().split(")")[-1].split()[0] != "Z"


def wait_for(path: Path) -> int:
    for _ in range(100):
        if path.is_file() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


@pytest.fixture
def fake_npx(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "npx").write_text(FAKE_NPX)
    (bin_dir / "npx").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    child = tmp_path / "child.pid"
    monkeypatch.setenv("CHILD_PID_FILE", str(child))
    return child


def test_a_timeout_kills_npx_and_its_children(fake_npx, tmp_path):
    config = tmp_path / "allurerc.json"
    config.write_text("{}")
    started = time.monotonic()
    ok, line = allure_html.generate(tmp_path / "results", tmp_path / "report", config=config,
                                    timeout_s=1.0)
    assert not ok and "did not finish in 1 s" in line and "node" in line
    assert time.monotonic() - started < 30
    child = wait_for(fake_npx)
    for _ in range(50):
        if not alive(child):
            break
        time.sleep(0.05)
    assert not alive(child), "node's stand-in outlived the timeout"
    assert not (tmp_path / ".allurerc.json").exists()


def test_planted_killing_only_npx_leaves_its_child_running(fake_npx):
    """The defect as it was: subprocess.run's timeout kills npx alone."""
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["npx"], timeout=1.0, stdin=subprocess.DEVNULL,
                       capture_output=False)
    child = wait_for(fake_npx)
    try:
        assert alive(child)
    finally:
        os.kill(child, signal.SIGKILL)
