"""The run's report folder: reports/<run-id>/ with allure-results/ and rollback-record.md.

The controller picks the run id (workers under xdist receive it), every drill writes its record
as JSON into the run folder, and the controller renders them all into one Markdown record at
the end and points reports/latest at the run.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rollbook.record import markdown as rollback_record
from rollbook.record.html import render_html
from rollbook.record.redact import redact_text
from rollbook.record.runinfo import (
    git_sha,
    new_run_id,
    package_version,
    python_version,
    write_properties,
)

RUN_DIR = pytest.StashKey[Path]()
RUN_ID = pytest.StashKey[str]()
REPORTS = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("rollbook")
    group.addoption("--reports-dir", default=None, type=str,
                    help="where run folders go (default: ./reports). Env: ROLLBOOK_REPORTS_DIR.")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        run_id, run_dir = workerinput["rollbook_run_id"], Path(workerinput["rollbook_run_dir"])
    else:
        base = config.getoption("--reports-dir") or os.environ.get("ROLLBOOK_REPORTS_DIR")
        root = Path(base) if base else Path(config.rootpath) / "reports"
        run_id = new_run_id()
        run_dir = (root / run_id).resolve()
        (run_dir / "records").mkdir(parents=True, exist_ok=True)
    config.stash[RUN_ID], config.stash[RUN_DIR] = run_id, run_dir
    if config.option.allure_report_dir is None:
        config.option.allure_report_dir = str(run_dir / "allure-results")


def pytest_configure_node(node):
    """xdist controller hook: hand the run folder to each worker."""
    node.workerinput["rollbook_run_id"] = node.config.stash[RUN_ID]
    node.workerinput["rollbook_run_dir"] = str(node.config.stash[RUN_DIR])


def pytest_report_header(config):
    return f"rollbook run {config.stash[RUN_ID]}: report in {config.stash[RUN_DIR]}"


@pytest.fixture(scope="session")
def run_dir(pytestconfig) -> Path:
    """This run's report folder, reports/<run-id>/ (shared by all xdist workers)."""
    return pytestconfig.stash[RUN_DIR]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report



def pytest_sessionfinish(session):
    config = session.config
    if getattr(config, "workerinput", None) is not None:
        return
    run_dir = config.stash[RUN_DIR]
    drills = [rollback_record.DrillRecord.from_dict(_read_json(path))
              for path in sorted((run_dir / "records").glob("*.json"))]
    environment = {"run_id": config.stash[RUN_ID], "git_sha": git_sha(Path(config.rootpath)),
                   "rollbook": package_version("rollbook"), "python": python_version()}
    for drill in drills:
        for key in ("profile", "server", "server_version", "client_tools", "revision_before",
                    "revision_after", "scale"):
            if key in drill.facts:
                environment.setdefault(key, drill.facts[key])
    allure_dir = Path(config.option.allure_report_dir)
    write_properties(allure_dir / "environment.properties",
                     {k: redact_text(str(v)) for k, v in environment.items()})
    text = rollback_record.render_markdown(environment, drills)
    (run_dir / "rollback-record.md").write_text(redact_text(text))
    page = render_html(environment, drills)
    (run_dir / "rollback-record.html").write_text(redact_text(page))
    latest = run_dir.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_dir.name)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text())
