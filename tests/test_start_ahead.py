"""A pytest run started ahead of time (ROLLBOOK_START_FD, as the drill starts the operator's
checks while the database rolls back) loads, then waits: it runs once the parent writes a byte,
and ends having run nothing when the parent closes the pipe without one."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from rollbook.pytest_plugin.options import START_FD

TEST = """
def test_runs():
    open({marker!r}, "w").write("ran")
"""


def started_ahead(tmp_path, **extra_env):
    marker = tmp_path / "ran"
    (tmp_path / "test_ahead.py").write_text(TEST.format(marker=str(marker)))
    read_end, write_end = os.pipe()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    env.update({START_FD: str(read_end), **extra_env})
    child = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "--reports-dir", str(tmp_path / "reports"), "test_ahead.py"],
                             cwd=tmp_path, env=env, pass_fds=(read_end,),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(read_end)
    return child, write_end, marker


def test_it_waits_for_the_byte_then_runs(tmp_path):
    child, write_end, marker = started_ahead(tmp_path)
    time.sleep(3)  # long enough to load and, without the wait, to run its one test
    assert child.poll() is None and not marker.exists()
    os.write(write_end, b"g")
    os.close(write_end)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, out + err
    assert marker.read_text() == "ran"


def test_the_pipe_closed_without_the_byte_runs_nothing(tmp_path):
    child, write_end, marker = started_ahead(tmp_path)
    os.close(write_end)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 2, out + err  # pytest's "interrupted"
    assert not marker.exists()
    assert not (tmp_path / "reports").exists()


def test_a_descriptor_it_cannot_read_is_one_line(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "test_ahead.py").write_text(TEST.format(marker=str(marker)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    shown = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "test_ahead.py"], cwd=tmp_path, capture_output=True, text=True,
                           env=dict(env, **{START_FD: "not-a-number"}), timeout=120)
    assert shown.returncode == 4
    assert "Traceback" not in shown.stdout + shown.stderr
    errors = [line for line in shown.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and f"{START_FD}=not-a-number" in errors[0], shown.stderr
    assert not marker.exists()
