"""The drill harness, run as a user would run a drill: the record it leaves, pass or fail."""
from __future__ import annotations

import pytest


@pytest.fixture
def run_drill(pytester):
    """A user's project: no conftest, the plugin comes from rollbook's pytest11 entry points."""

    def run(body: str):
        pytester.makepyfile(test_drill=body)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        record = (pytester.path / "reports" / "latest" / "rollback-record.md").read_text()
        return result, record

    return run


def test_passing_drill_records_steps_checklist_and_times(run_drill):
    result, record = run_drill('''
def test_drill(drill):
    """A passing drill."""
    with drill.step("Back up"):
        drill.checklist.done("Backup of current state created", "dump.bin, 3 entries")
    with drill.phase("Database Rollback"):
        pass
    drill.assert_within_objectives()
''')
    result.assert_outcomes(passed=1)
    assert "## Drill 1: A passing drill" in record and "**verdict**: PASSED" in record
    assert "- [x] Backup of current state created — *done*: dump.bin, 3 entries" in record
    assert "| 1 | Back up | passed |" in record
    assert "| Service Restart | 5 min | — | not part of this drill |" in record


def test_failing_step_fails_the_drill_and_the_record_says_where(run_drill):
    result, record = run_drill('''
def test_drill(drill):
    """A drill whose rollback breaks."""
    with drill.phase("Database Rollback"):
        raise RuntimeError("downgrade hit a lock timeout")
''')
    result.assert_outcomes(failed=1)
    assert "**verdict**: FAILED" in record
    assert "downgrade hit a lock timeout" in record
    assert "| Database Rollback | 30 min |" in record and "| failed |" in record


def test_phase_over_its_objective_fails_the_drill(run_drill):
    result, record = run_drill('''
import time

def test_drill(drill):
    """A slow rollback."""
    drill.record.clock.phases["Database Rollback"].objective_s = 0.001
    with drill.phase("Database Rollback"):
        time.sleep(0.01)
    drill.assert_within_objectives()
''')
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*over the recovery-time objective: Database Rollback took*"])
    assert "OVER OBJECTIVE" in record and "**verdict**: FAILED" in record


def test_passwords_never_reach_the_record_or_attachments(run_drill, pytester):
    result, record = run_drill('''
def test_drill(drill):
    """A drill that mentions a DSN."""
    with drill.step("Connect") as step:
        step.detail = "postgresql://app:hunter2@db/vibes"
        drill.attach_text("dsn", "password=hunter2 host=db")
        drill.fact("target", "postgresql://app:hunter2@db/vibes")
''')
    result.assert_outcomes(passed=1)
    assert "hunter2" not in record
    results = pytester.path / "reports" / "latest" / "allure-results"
    for path in results.iterdir():
        assert "hunter2" not in path.read_text(errors="replace"), path.name


@pytest.mark.parametrize("args, message", [
    (("--scale", "bogus"), "ERROR: --scale bogus: unknown scale 'bogus'. Hint: use one of tiny*"),
    (("--pg-backend", "local", "--pg-bin-dir", "/nope"),
     "ERROR: no PostgreSQL server binary at /nope/postgres. Hint: pass the bin directory*"),
    (("--pg-backend", "url"), "ERROR: --pg-backend url needs a server. Hint: pass --dsn*"),
])
def test_bad_drill_settings_are_one_line_before_anything_starts(pytester, args, message):
    pytester.makepyfile(test_drill="def test_drill(drill):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert not (pytester.path / "reports").exists() or not list(
        (pytester.path / "reports").glob("*/records/*.json"))
