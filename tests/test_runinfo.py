"""Who, when and why: the operator or the CI job, UTC times of the run and of each step, the
reason (given, or from how the run was started), the git commit and rollbook's version."""
from __future__ import annotations

import re

import pytest

from rollbook.record.runinfo import default_reason, operator

GITLAB = {"CI_JOB_ID": "4242", "CI_JOB_NAME": "drill-1m", "CI_PIPELINE_ID": "77",
          "CI_PIPELINE_SOURCE": "schedule", "CI_JOB_URL": "https://gitlab.example/j/4242",
          "GITLAB_USER_LOGIN": "ops-bot", "CI_PIPELINE_SCHEDULE_DESCRIPTION": "weekly drill"}
UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
STEP_UTC = r"\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \|"


def test_a_ci_job_is_named_by_its_job_pipeline_and_url():
    facts = operator(GITLAB)
    assert facts["ci_job"] == "drill-1m #4242" and facts["ci_pipeline"] == "#77 (schedule)"
    assert facts["ci_job_url"] == "https://gitlab.example/j/4242"
    assert "ops-bot" in facts["operator"]


def test_a_person_is_named_by_user_and_host():
    facts = operator({})
    assert set(facts) == {"operator", "host"} and all(facts.values())


@pytest.mark.parametrize(("env", "reason"), [
    (GITLAB, "scheduled run (pipeline schedule 'weekly drill')"),
    ({**GITLAB, "CI_PIPELINE_SOURCE": "web"},
     "CI run started by a person, from GitLab's Run pipeline page"),
    ({}, "run by hand (no --reason given)"),
])
def test_the_default_reason_follows_how_the_run_started(env, reason):
    assert default_reason(env) == reason


DRILL = '''
def test_drill(drill):
    """A drill that states its trigger."""
    with drill.step("Rollback trigger", covers=("Rollback trigger identified and documented",)):
        drill.checklist.done("Rollback trigger identified and documented", drill.reason)
'''


def _record(pytester, *args) -> str:
    pytester.makepyfile(test_drill=DRILL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--allure-html", "no", *args)
    result.assert_outcomes(passed=1)
    return (pytester.path / "reports" / "latest" / "rollback-record.md").read_text()


def test_a_person_running_a_drill_is_not_called_a_schedule(pytester, monkeypatch):
    for name in GITLAB:
        monkeypatch.delenv(name, raising=False)
    record = _record(pytester, "--reason", "rehearsal before the 2.3 release")
    assert "- **reason**: rehearsal before the 2.3 release" in record
    assert "*done*: rehearsal before the 2.3 release" in record
    assert "scheduled" not in record
    assert re.search(rf"- \*\*started \(UTC\)\*\*: {UTC}", record)
    assert re.search(r"- \*\*git commit\*\*: ([0-9a-f]{40}(\+dirty)?|unknown)", record)
    assert re.search(r"- \*\*rollbook version\*\*: \d", record)
    assert "| Started (UTC) |" in record  # the steps' column says UTC; its cells are for people
    step_row = next(line for line in record.splitlines() if line.startswith("| 1 |"))
    assert re.search(STEP_UTC, step_row), step_row


def test_a_scheduled_pipeline_names_its_job_and_its_schedule(pytester, monkeypatch):
    for name, value in GITLAB.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ROLLBOOK_REASON", raising=False)
    record = _record(pytester)
    assert "- **reason**: scheduled run (pipeline schedule 'weekly drill')" in record
    assert "- **CI job URL**: https://gitlab.example/j/4242" in record
    assert "- **CI pipeline**: #77 (schedule)" in record
