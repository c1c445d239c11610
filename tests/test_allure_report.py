"""Allure as a real report: the drill's docstring as its title, runbook sections as epic and
feature, categories by check family and trigger severity, the recovery-time table attached,
validation grouped by family, teardown steps named; rendered by Allure Report 3 and opened in
headless Chromium, where the four runbook phases show."""
from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rollbook.record.allure_meta import categories, family_failure

PHASES = ("Database Rollback", "Application Rollback", "Service Restart", "Validation Testing")
DRILL = '''
import allure
from rollbook.record.evidence import CheckResult

@allure.epic("Database Rollback Procedures")
@allure.story("1. Alembic Migration Rollback")
def test_drill(drill):
    """A rollback in four phases.

    More words about it."""
    for phase in ("Database Rollback", "Application Rollback", "Service Restart"):
        with drill.phase(phase):
            pass
    with drill.phase("Validation Testing"):
        drill.checks_by_family({
            "counts": [CheckResult("row count users", True, "10 rows, as the baseline")],
            "orphans": [CheckResult("orphans: journals.user_id -> users.id", True, "none")]})
    drill.assert_within_objectives()


def test_failing_drill(drill):
    """A rollback whose counts are off."""
    with drill.phase("Validation Testing"):
        drill.checks_by_family({
            "counts": [CheckResult("row count users", False, "9 rows, the baseline has 10")]})
'''
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def matches(category: dict, message: str) -> bool:
    """As Allure 2 does (Java's matches(): the whole message)."""
    return re.fullmatch(category["messageRegex"], message) is not None


@pytest.mark.parametrize(("message", "expected"), [
    (f"DrillFailure: {family_failure(['counts', 'orphans'])}: 2 of 61 checks failed: x",
     {"Validation failed: counts", "Validation failed: orphans"}),
    ("AssertionError: severity Critical (impact High, respond Immediate): Automatic rollback\n"
     "   fired  Critical  orphaned rows", {"Rollback trigger fired: Critical"}),
    ("DrillFailure: over the recovery-time objective: Database Rollback took 31 min",
     {"Over the recovery-time objective"}),
])
def test_categories_sort_failures_by_family_and_severity(message, expected):
    named = {c["name"] for c in categories() if "messageRegex" in c and matches(c, message)}
    assert named == expected


def test_a_failure_of_another_family_is_not_filed_under_counts():
    counts = next(c for c in categories() if c["name"] == "Validation failed: counts")
    assert not matches(counts, f"{family_failure(['content'])}: 1 of 9 checks failed: "
                               "row counts differ")


def _serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _dump_dom(url: str, profile: Path) -> str:
    done = subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=20000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    return done.stdout


@pytest.mark.skipif(shutil.which("npx") is None or shutil.which("node") is None,
                    reason="node/npx not installed: the Allure HTML report cannot be generated "
                           "(.ci/run installs nodejs and npm)")
@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium not installed: cannot open the report "
                           "(.ci/run installs it)")
def test_the_allure_report_renders_and_shows_the_four_phases(pytester, tmp_path):
    pytester.makepyfile(test_drill=DRILL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "yes")
    result.assert_outcomes(passed=1, failed=1)
    run_dir = (pytester.path / "reports" / "latest").resolve()
    result.stdout.fnmatch_lines(["rollbook: Allure report */allure-report (serve it: *"])

    results = run_dir / "allure-results"
    (test,) = [body for body in (json.loads(p.read_text())
                                 for p in results.glob("*-result.json"))
               if body["status"] == "passed"]
    assert test["name"] == "A rollback in four phases"
    labels = {(label["name"], label["value"]) for label in test["labels"]}
    assert {("epic", "Database Rollback Procedures"),
            ("story", "1. Alembic Migration Rollback")} <= labels
    # Behaviors: epic = runbook section, feature = each phase the drill ran
    assert {value for name, value in labels if name == "feature"} == set(PHASES)
    steps = {s["name"]: s for s in test["steps"]}
    assert [s["name"] for s in steps["Validation Testing"]["steps"]] == [
        "counts: 1 of 1 ok", "orphans: 1 of 1 ok"]
    rto = steps["Recovery-time objectives met"]["attachments"]
    assert [a["name"] for a in rto] == ["Recovery-time objectives"]
    afters = [a for p in results.glob("*-container.json")
              for a in json.loads(p.read_text()).get("afters", [])]
    assert afters and all("<lambda>" not in a["name"] and a.get("status") for a in afters)
    assert "tear down drill" in {a["name"] for a in afters}
    assert (results / "categories.json").is_file()

    report = run_dir / "allure-report"
    by_id = json.loads((report / "test-results.json").read_text())["byId"]
    (test_id,) = [key for key, found in by_id.items() if found["status"] == "passed"]
    tree = (report / "widgets" / "tree.json").read_text()
    # planted: without groupBy Allure 3 files the drill under its Python file
    assert "Database Rollback Procedures" in tree and "test_drill.py" not in tree
    assert all(phase in tree for phase in PHASES)
    filed = (report / "widgets" / "categories.json").read_text()
    assert "Validation failed: counts" in filed and "Product errors" not in filed
    server, url = _serve(report)
    try:
        page = _dump_dom(f"{url}#{test_id}", tmp_path / "chromium")
        # planted: the same report opened from file:// never loads its data (serve it)
        unserved = _dump_dom(f"file://{report}/index.html#{test_id}", tmp_path / "chromium2")
    finally:
        server.shutdown()
        server.server_close()
    assert "A rollback in four phases" in page
    for phase in PHASES:
        assert phase in page, phase
    assert "<html" in unserved and not any(phase in unserved for phase in PHASES)


def test_a_bad_allure_html_setting_is_one_line_with_a_hint(pytester, monkeypatch):
    monkeypatch.setenv("ROLLBOOK_ALLURE_HTML", "maybe")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: ROLLBOOK_ALLURE_HTML='maybe': not one of auto, yes, "
                                 "no. Hint: *"])
