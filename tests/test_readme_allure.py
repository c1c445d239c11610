"""The README's Allure command, as written, without a terminal: it installs Allure on its own
(`npx --yes`), reads the run's allurerc.json and writes the report inside reports/, never an
untitled allure-report/ where it is run."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_readme_commands import README, clean_env

from rollbook.record import allure_meta

ROOT = Path(__file__).resolve().parents[1]
RESULT = {"uuid": "5f0c", "historyId": "h1", "name": "A rollback in four phases",
          "fullName": "drills.test_x#test_drill", "status": "passed", "stage": "finished",
          "start": 1765000000000, "stop": 1765000001000,
          "labels": [{"name": "epic", "value": "Database Rollback Procedures"}]}


def allure_commands() -> list[str]:
    return [c.text for c in README if c.text.startswith("npx ")]


def a_drill_run(root: Path) -> Path:
    """reports/latest as a drill run leaves it: its results and its allurerc.json."""
    run = root / "reports" / "20261207T000000Z-abcdef"
    (run / "allure-results").mkdir(parents=True)
    (run / "allure-results" / "5f0c-result.json").write_text(json.dumps(RESULT))
    allure_meta.write_config(run / "allurerc.json", "Rollback drills — run 20261207T000000Z")
    (root / "reports" / "latest").symlink_to(run.name)
    return run


@pytest.mark.skipif(shutil.which("npx") is None, reason="node/npx not installed: Allure cannot "
                    "render (.ci/run installs nodejs and npm)")
def test_the_readme_allure_command_renders_inside_reports(tmp_path):
    [command] = allure_commands()
    run = a_drill_run(tmp_path)
    sealed = sorted(p.relative_to(run) for p in run.rglob("*"))
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=clean_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = tmp_path / "reports" / "allure-report"
    assert (report / "index.html").is_file()
    assert "A rollback in four phases" in (report / "test-results.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # no allure-report/ here
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == sealed  # the run untouched


def test_the_old_command_would_have_asked_and_written_beside_reports():
    """The planted defect: the README's former command had no --yes (npx asks on a terminal,
    fails without one) and no --output (Allure writes ./allure-report)."""
    old = "npx allure generate reports/latest/allure-results"
    assert "--yes" not in old.split() and "--output" not in old.split()
    assert all({"--yes", "--output"} <= set(c.split()) for c in allure_commands())
