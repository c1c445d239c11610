"""The GitLab pipeline: valid against GitLab's CI schema (check-jsonschema's vendored copy), and
it keeps the promises the README makes about it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML  # comes with check-jsonschema

PIPELINE = Path(__file__).resolve().parents[1] / ".gitlab-ci.yml"


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.gitlab-ci", str(path)], capture_output=True, text=True,
                          timeout=120)


def test_pipeline_is_valid_gitlab_ci():
    done = validate(PIPELINE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("defect", [
    ("resource_group: rollback-drill-1m", "resource_group: [rollback-drill-1m]"),
    ("timeout: 2h", "timeout: [2h]"),
    ("when: manual", "when: sometimes"),
])
def test_a_planted_defect_fails_validation(tmp_path, defect):
    broken = tmp_path / ".gitlab-ci.yml"
    good, bad = defect
    assert good in PIPELINE.read_text()
    broken.write_text(PIPELINE.read_text().replace(good, bad, 1))
    done = validate(broken)
    assert done.returncode != 0, done.stdout


def test_pipeline_keeps_its_promises():
    jobs = YAML(typ="safe").load(PIPELINE.read_text())
    tests, drill = jobs["tests"], jobs["scheduled-drill-1m"]
    assert tests["rules"] == [{"if": '$CI_PIPELINE_SOURCE != "schedule"'}]
    assert tests["script"] == ["bash .ci/run"]
    assert drill["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert drill["timeout"] and drill["resource_group"]
    for job in (tests, jobs["checks-prod"]):
        assert job["artifacts"]["reports"]["junit"] == "junit.xml"
    assert drill["artifacts"]["reports"]["junit"] == "reports/2*/junit.xml"  # in the run folder
    for job in (tests, drill, jobs["checks-prod"]):
        assert job["artifacts"]["when"] == "always"
    history = ["reports/history.jsonl", "reports/allure-history.jsonl"]
    assert {"key": "rollback-drill-history", "paths": history, "when": "always"} in drill["cache"]
    assert jobs["pages"]["cache"]["paths"] == history
    assert jobs["checks-prod"]["rules"][0]["when"] == "manual"
    assert jobs["pages"]["artifacts"]["paths"] == ["public"]
    # every drill runs on the schedule at 1M: the crash points in a job of their own (hours),
    # after the main drills and never beside them
    crash = jobs["scheduled-crash-points-1m"]
    drills = sorted(p.name for p in (PIPELINE.parent / "drills").glob("test_*.py"))
    ignored = [a.split("=", 1)[1] for line in drill["script"] for a in line.split()
               if a.startswith("--ignore=")]
    assert ignored == ["drills/test_crash_points.py"] and "test_crash_points.py" in drills
    assert any("pytest drills/test_crash_points.py --scale 1m" in line
               for line in crash["script"])
    assert crash["rules"] == drill["rules"] and crash["resource_group"] == drill["resource_group"]
    assert crash["timeout"] and crash["artifacts"]["when"] == "always"
    # what the push's tests leave out as long runs, a scheduled job runs
    long = jobs["scheduled-tests-long"]
    assert long["rules"] == drill["rules"]
    assert "pytest -n 2 -m long" in long["script"]
