"""reports/latest is the last drill's record, reports/latest-checks the last checks run; runs of
anything else (rollbook's own tests, --collect-only) leave both alone."""
from __future__ import annotations

import pytest

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
    assert (stopped / "checks-record.md").read_text().startswith(f"> **{line}.**")
    assert f"<strong>{line}.</strong>" in (stopped / "checks-record.html").read_text()
    found = manifest.verify(stopped)
    assert found.ok and line in found.lines()
    result.stdout.fnmatch_lines(["rollbook: *SHA256SUMS written; unsigned*; sealed as "
                                 "interrupted (INTERRUPTED)*"])


def _run_dirs(reports) -> list:
    return [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()
            and not p.name.startswith("latest")]


@pytest.mark.parametrize("kind", ["folder", "file", "link elsewhere"])
def test_a_latest_checks_that_is_not_rollbooks_is_left_alone_with_one_line(pytester, kind):
    reports = pytester.path / "reports"
    reports.mkdir()
    theirs = reports / "latest-checks"
    if kind == "folder":
        theirs.mkdir()
        (theirs / "mine.txt").write_text("an operator's notes")
    elif kind == "file":
        theirs.write_text("an operator's notes")
    else:
        elsewhere = pytester.path.parent / f"{pytester.path.name}-elsewhere"
        elsewhere.mkdir()
        theirs.symlink_to(elsewhere)
    pytester.makepyfile(test_it=CHECK)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no")
    assert result.ret == 0
    said = [line for line in result.stdout.lines if "latest-checks" in line]
    assert len(said) == 1 and "not rollbook's link" in said[0] and "left alone" in said[0]
    if kind == "folder":
        assert (theirs / "mine.txt").read_text() == "an operator's notes"
    elif kind == "file":
        assert theirs.read_text() == "an operator's notes"
    else:
        assert theirs.readlink() == elsewhere
    assert not [p for p in reports.iterdir() if p.name.startswith(".latest")]  # no stray link
    [run_dir] = _run_dirs(reports)
    assert (run_dir / "SHA256SUMS").is_file() and "Traceback" not in result.stdout.str()


ODD = '''
from rollbook.record.evidence import CheckResult

def test_check(check):
    check(CheckResult("row count: Ünïcödé — ☃", True, "10 rows in \\u00dcn\\u00efc\\u00f6d\\u00e9"))
'''


def test_an_ascii_locale_still_writes_the_record_and_seals_it(pytester, monkeypatch):
    """Python in a C locale without UTF-8 mode writes files as ASCII by default; the record,
    checks.md and the manifest are UTF-8 whatever the locale."""
    from rollbook.record import manifest

    for name, value in {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
                        "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "ascii:backslashreplace"
                        }.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_it=ODD)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no")
    assert result.ret == 0, result.stderr.str()[-2000:]
    [run_dir] = _run_dirs(pytester.path / "reports")
    assert "10 rows in Ünïcödé" in (run_dir / "checks.md").read_text(encoding="utf-8")
    assert "Ünïcödé" in (run_dir / "checks-record.md").read_text(encoding="utf-8")
    assert manifest.verify(run_dir).ok


def test_planted_defect_the_locales_encoding_cannot_write_the_record(tmp_path):
    """What the record's writes did: the locale's encoding, ASCII here, fails on the names."""
    import subprocess
    import sys

    code = ("import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('Ünïcödé')")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.md")],
                          capture_output=True, text=True,
                          env={"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "UnicodeEncodeError" in done.stderr
