"""reports/latest is the last drill's record, reports/latest-checks the last checks run; runs of
anything else (rollbook's own tests, --collect-only) leave both alone."""
from __future__ import annotations

DRILL = '''
def test_drill(drill):
    """A drill."""
    with drill.phase("Database Rollback"):
        pass
'''
CHECK = '''
from rollbook.record.evidence import CheckResult

def test_check(check):
    check(CheckResult("orphans: journals.user_id -> users.id", True, "0 orphans"))
'''
PLAIN = '''
def test_plain():
    assert 1 + 1 == 2
'''


def run(pytester, body: str, *args: str) -> None:
    pytester.makepyfile(test_it=body)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no", *args)


def target(pytester, name: str) -> str | None:
    link = pytester.path / "reports" / name
    return link.readlink().name if link.is_symlink() else None


def test_latest_follows_drills_and_latest_checks_follows_checks(pytester):
    run(pytester, DRILL)
    drill_run = target(pytester, "latest")
    assert drill_run is not None and target(pytester, "latest-checks") is None
    run(pytester, CHECK)
    checks_run = target(pytester, "latest-checks")
    assert checks_run not in (None, drill_run)
    assert target(pytester, "latest") == drill_run
    run(pytester, PLAIN)
    run(pytester, DRILL, "--collect-only")
    assert (target(pytester, "latest"), target(pytester, "latest-checks")) == (
        drill_run, checks_run)
    record = (pytester.path / "reports" / "latest" / "rollback-record.md").read_text()
    assert "## Drill 1: A drill" in record


INTERRUPTED = '''
from rollbook.record.evidence import CheckResult

def test_a(check):
    check(CheckResult("orphans: a", True, "0 orphans"))

def test_b():
    raise KeyboardInterrupt  # what Ctrl-C does in the middle of a run

def test_c(check):
    check(CheckResult("orphans: c", True, "0 orphans"))

def test_d():
    pass
'''


def test_an_interrupted_run_says_so_and_latest_checks_stays(pytester):
    from rollbook.record import manifest

    run(pytester, CHECK)
    finished = target(pytester, "latest-checks")
    pytester.makepyfile(test_it=INTERRUPTED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no")
    assert result.ret == 2  # pytest's own "interrupted"
    assert target(pytester, "latest-checks") == finished
    reports = pytester.path / "reports"
    [stopped] = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()
                 and p.name != finished]
    line = ("INTERRUPTED: the run was stopped before its end; 2 of 4 tests never ran, so this "
            "record is not a verdict on them")
    assert (stopped / "checks.md").read_text().startswith(f"# Operator checks\n\n**{line}.**")
    assert (stopped / "rollback-record.md").read_text().startswith(f"> **{line}.**")
    assert f"<strong>{line}.</strong>" in (stopped / "rollback-record.html").read_text()
    found = manifest.verify(stopped)
    assert found.ok and line in found.lines()
    result.stdout.fnmatch_lines(["rollbook: *SHA256SUMS written; unsigned*; sealed as "
                                 "interrupted (INTERRUPTED)*"])
