"""Settings resolved once, for drills and checks alike: the profile's [rto] drives the drill's
clock, and informational commands (--collect-only, --fixtures, --markers, --help) touch no
database and write no run."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.record.clock import RUNBOOK_OBJECTIVES_S, RecoveryClock

ROOT = Path(__file__).resolve().parents[1]

TIMED_DRILL = '''
import time

def test_a_slow_database_rollback(drill):
    """A drill whose Database Rollback phase takes 0.2 s."""
    with drill.phase("Database Rollback"):
        time.sleep(0.2)
    drill.assert_within_objectives()
'''


def _profile(tmp_path: Path, rto: str) -> Path:
    path = tmp_path / "timed.toml"
    path.write_text(f'[database]\ndsn_env = "TIMED_DSN_NOT_NEEDED"\n[rto]\n{rto}\n')
    return path


def test_the_clock_takes_the_profiles_objectives():
    clock = RecoveryClock.from_objectives({"Database Rollback": 1.0, "Total Rollback": 9.0})
    assert clock.phases["Database Rollback"].objective_s == 1.0
    assert clock.phases["Service Restart"].objective_s == RUNBOOK_OBJECTIVES_S["Service Restart"]
    assert clock.total_objective_s == 9.0


@pytest.mark.parametrize("rto, outcome", [
    ('"Database Rollback" = "100ms"', {"failed": 1}),
    ('"Database Rollback" = "30m"', {"passed": 1}),  # planted contrast: the runbook's own
])
def test_the_profiles_rto_drives_the_drills_clock(pytester, tmp_path, rto, outcome):
    pytester.makepyfile(test_timed=TIMED_DRILL)
    result = pytester.runpytest_subprocess("--env", str(_profile(tmp_path, rto)),
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)
    if "failed" in outcome:
        result.stdout.fnmatch_lines(["*over the recovery-time objective: Database Rollback took "
                                     "0.2* s (objective 0.10 s)*"])


@pytest.fixture
def silent_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("flag", ["--collect-only", "--fixtures", "--markers", "--help"])
def test_informational_commands_touch_no_database_and_write_no_run(tmp_path, silent_port, flag):
    """The DSN points at a port that never answers: a connection attempt would hang for its
    connect_timeout and fail; none is made, and the reports folder stays empty."""
    reports = tmp_path / "reports"
    dsn = f"postgresql://checker@127.0.0.1:{silent_port}/vibes?connect_timeout=30"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", flag, "checks/", "--env", "prod.example", "--dsn", dsn,
         "--reports-dir", str(reports), "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=25)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not reports.exists() or not any(reports.iterdir())
    if flag == "--collect-only":
        assert "test_types.py" in done.stdout
