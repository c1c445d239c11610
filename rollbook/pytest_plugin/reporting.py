"""The run's report folder: reports/<run-id>/ with allure-results/ and rollback-record.md.

The controller picks the run id (workers under xdist receive it) and every drill writes its
record as JSON into the run folder; run_record.py renders them at the end of the run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rollbook.record.output import short_path
from rollbook.record.runinfo import new_run_id

RUN_DIR = pytest.StashKey[Path]()
RUN_ID = pytest.StashKey[str]()
REPORTS = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("rollbook")
    group.addoption("--reports-dir", default=None, type=str,
                    help="where run folders go (default: ./reports). Env: ROLLBOOK_REPORTS_DIR.")


def informational(config) -> bool:
    """--collect-only, --fixtures, --markers, --help, --version: they touch no database and
    write no run."""
    option = config.option
    return bool(getattr(option, "collectonly", False) or getattr(option, "showfixtures", False)
                or getattr(option, "show_fixtures_per_test", False)
                or getattr(option, "markers", False) or getattr(option, "help", False)
                or getattr(option, "version", False))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        run_id, run_dir = workerinput["rollbook_run_id"], Path(workerinput["rollbook_run_dir"])
    else:
        base = config.getoption("--reports-dir") or os.environ.get("ROLLBOOK_REPORTS_DIR")
        root = Path(base) if base else Path(config.rootpath) / "reports"
        run_id = new_run_id()
        run_dir = (root / run_id).absolute()
        if not informational(config):
            created = _make_run_dir(run_dir, "--reports-dir" if base else "the reports folder")
            config.add_cleanup(lambda: _remove_if_empty(run_dir, created))
    config.stash[RUN_ID], config.stash[RUN_DIR] = run_id, run_dir
    if config.option.allure_report_dir is None and not informational(config):
        config.option.allure_report_dir = str(run_dir / "allure-results")
    if getattr(config.option, "xmlpath", None) is None and not informational(config):
        config.option.xmlpath = str(run_dir / "junit.xml")  # the run's JUnit, sealed with it


def _make_run_dir(run_dir: Path, what: str) -> list[Path]:
    """Create the run folder (and its parents); the folders this created, outermost first."""
    try:
        created = [p for p in reversed([run_dir, *run_dir.parents]) if not p.exists()]
        (run_dir / "records").mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".writable"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise pytest.UsageError(
            f"{what}: cannot create the run folder {short_path(run_dir)}: {exc.strerror or exc}. "
            "Hint: pass --reports-dir (or ROLLBOOK_REPORTS_DIR) naming a writable directory "
            "with free space.") from None
    return created


def _remove_if_empty(run_dir: Path, created: list[Path]) -> None:
    """A run refused before it wrote anything leaves nothing behind: not even its folders."""
    if not run_dir.is_dir() or any(p.is_file() or p.is_symlink() for p in run_dir.rglob("*")):
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in reversed(created[:-1]):  # the run folder's parents this run created
        try:
            folder.rmdir()
        except OSError:
            break


def pytest_configure_node(node):
    """xdist controller hook: hand the run folder to each worker."""
    node.workerinput["rollbook_run_id"] = node.config.stash[RUN_ID]
    node.workerinput["rollbook_run_dir"] = str(node.config.stash[RUN_DIR])


def pytest_report_header(config):
    if informational(config):
        return None
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

