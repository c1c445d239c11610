"""Every artifact a real drill leaves for people (the rollback record in Markdown and HTML, the
nested operator checks' record, Allure's test and step titles, the terminal's closing lines)
reads as prose: no Python None/True/False, dict or list repr; and every file it cites is in
the run folder: no path into a temp folder gone after the run, no link that leads nowhere."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from examples.once import once_per_session

ROOT = Path(__file__).resolve().parents[1]
REPRS = [re.compile(p) for p in (r"\bNone\b", r"\bTrue\b", r"\bFalse\b", r"\{'", r"\['",
                                 r"'\s*:\s*['\d{\[]", r" object at 0x")]
# what stays after a run even when it lives in the temp folder (a checkout or virtualenv made
# there, as CI's clone is): the checkout and the Python installation that ran the drill
STAYS = (ROOT, Path(sys.prefix).resolve())
# where the HTML record lets a long path wrap (rollbook/record/wrap.py): gone before reading
WRAPS = re.compile(r"<wbr>|<span class=unbroken><span>|</span></span>")
LINK = re.compile(r"\]\(([^)]*)\)|href='([^']*)'|href=\"([^\"]*)\"")


def leaks(text: str) -> list[str]:
    """Each line that shows a Python repr to a reader."""
    return [line.strip()[:200] for line in text.splitlines()
            if any(p.search(line) for p in REPRS)]


def stays(path: Path, run_dir: Path) -> bool:
    return path.is_relative_to(run_dir) or (
        path.exists() and any(path.is_relative_to(home) for home in STAYS))


def dangling(text: str, run_dir: Path) -> list[str]:
    """Paths into a temp folder outside the run folder, and links that lead nowhere in it."""
    temp = re.escape(tempfile.gettempdir().rstrip("/"))
    found = [path.rstrip(".:") for path in re.findall(temp + r"/[^\s`'\"()<>|,;]+", text)
             if not stays(Path(path.rstrip(".:")).resolve(), run_dir.resolve())]
    for groups in LINK.findall(text):
        target = next(g for g in groups if g)
        if " " in target:  # a link target with a space is no link in Markdown
            found.append(target)
            continue
        target = unquote(target)
        if re.match(r"[a-z]+:|#", target):
            continue
        if not (run_dir / target).exists():
            found.append(target)
    return found


def drill(folder: Path) -> dict:
    reports = folder / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "drills/test_uuid_rollback.py", "-q", "-p",
         "no:cacheprovider", "-p", "no:randomly", "--reports-dir", str(reports),
         "--allure-html", "no"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return {"run_dir": str((reports / "latest").resolve()), "stdout": done.stdout}


@pytest.fixture(scope="module")
def drilled(tmp_path_factory) -> tuple[Path, str]:
    """The main drill run once, as a user runs it, into a temp reports folder (once for the
    session: both tests read it, whichever xdist worker runs them)."""
    found = once_per_session(tmp_path_factory, "prose-drill", drill)
    return Path(found["run_dir"]), found["stdout"]


def artifacts(run_dir: Path, stdout: str) -> dict[str, str]:
    found = {path.relative_to(run_dir).as_posix(): WRAPS.sub("", path.read_text())
             for pattern in ("rollback-record.*", "checks-record.*", "evidence/*/checks-record.*",
                             "evidence/*/findings.txt")
             for path in run_dir.glob(pattern)}
    titles = []
    for path in run_dir.glob("allure-results/*-result.json"):
        body = json.loads(path.read_text())
        titles.append(body["name"])
        steps = list(body.get("steps", []))
        while steps:
            step = steps.pop()
            titles.append(step["name"])
            steps += step.get("steps", [])
    found["Allure titles"] = "\n".join(titles)
    found["terminal"] = "\n".join(line for line in stdout.splitlines()
                                  if line.startswith(("rollbook", "[rollbook]")))
    return found


def test_every_artifact_of_a_drill_reads_as_prose_and_cites_what_stays(drilled):
    run_dir, stdout = drilled
    found = artifacts(run_dir, stdout)
    assert {"rollback-record.md", "rollback-record.html", "Allure titles"} <= set(found)
    assert any(name.endswith("checks-record.md") for name in found), sorted(found)
    assert {name: leaks(text) for name, text in found.items() if leaks(text)} == {}
    for name in ("rollback-record.md", "rollback-record.html"):
        assert dangling(found[name], run_dir) == [], name
    record = found["rollback-record.md"]
    assert "[evidence](evidence/)" in record
    assert re.search(r"\[application log\]|vibes_api\d+-application\.jsonl", record)
    assert "release pip freeze.txt" in record and "release install log.txt" in record
    assert "| 0002 → 0001 |" in record  # both revisions read: nothing "not recorded"


def test_the_record_says_what_ran_beside_the_timed_steps_and_how(drilled):
    """The baseline read beside the upgrade, at the lowest CPU priority on the embedded server;
    the operator's checks loaded ahead and started when maintenance mode went off."""
    run_dir, _ = drilled
    record = (run_dir / "rollback-record.md").read_text()
    assert re.search(r"its rows read in [\d.]+ m?s beside the step before, its backends and "
                     r"pg_dump at the lowest CPU priority \(nice 19\)", record), record[:3000]
    assert re.search(r"passed.*; started \d\d:\d\d:\d\d UTC \(its process [\d.]+ m?s before, "
                     r"loaded and waiting\)", record)


def test_a_checks_run_has_a_checks_record(drilled):
    run_dir, _ = drilled
    (nested,) = run_dir.glob("evidence/*/checks-record.md")
    text = nested.read_text()
    assert text.startswith("# Checks record — run ")
    assert "Rollback record" not in text and "No drill ran" not in text
    assert re.search(r"\*\*Verdict: PASSED\*\* — pytest session: \d+ passed", text)


@pytest.mark.parametrize("planted", [
    "- **decision**: severity None (impact None, respond —)",
    "| 9 | Service Restart | passed | health: maintenance True |",
    "status page answered HTTP 201: {'status': 'resolved', 'message': 'done'}",
    "writers: ['a', 'b']",
])
def test_planted_reprs_are_caught(planted):
    assert leaks(f"# Rollback record\n{planted}\n") == [planted.strip()]


def test_planted_dangling_paths_are_caught(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "evidence").mkdir(parents=True)
    gone = Path(tempfile.gettempdir()) / "pytest-of-x" / "vibes_api0" / "application.jsonl"
    text = (f"application log {gone}: 0 error lines\n[evidence](evidence/) "
            "[freeze](evidence/d/release%20pip%20freeze.txt) <a href='allure-report/index.html'>"
            " [log](evidence/d/app log.txt)")
    assert dangling(text, run_dir) == [str(gone), "evidence/d/release pip freeze.txt",
                                       "allure-report/index.html", "evidence/d/app log.txt"]
