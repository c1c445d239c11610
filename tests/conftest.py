"""What only rollbook's own tests use: pytester, pytest-alembic's runner, three markers.

Loaded only when tests/ is collected, so `pytest drills/` and `pytest checks/` show none of
it. The rollbook plugin itself comes through its `pytest11` entry points (pyproject.toml).
pytest-alembic's entry point is off (`-p no:pytest_alembic` in pyproject.toml): its
collector binds to this very file and breaks under pytest 9. tests/test_vibes_migrations.py
imports its built-in tests and defines alembic_config and alembic_engine; the runner those
tests take comes from here. Without the test extra (`pip install -e .` only), `pytest --help`
and `--collect-only` still work: each module of tests/ is skipped, naming the extra.

Tests own only their temp folders: the session's own run folder goes to a temp folder unless
--reports-dir or ROLLBOOK_REPORTS_DIR names one, and examples/untouched.py fails the session
when anything in the checkout changed.
"""
import importlib.util
import os
import shutil
import tempfile

# httpx loads httpcore on its first request and keeps httpcore's exception classes to map them
# to its own; pytester's sys.modules snapshot drops an httpcore first loaded inside a test, and
# later transport errors would escape as httpcore's. Both are loaded here, before any snapshot.
from pathlib import Path

import httpcore  # noqa: F401
import httpx  # noqa: F401
import pytest

from rollbook.pytest_plugin.reporting import informational


def importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


# what the test extra brings that tests/ imports (the bench's own are skipped in its test)
TEST_EXTRA = ("hypothesis", "pytest_alembic", "check_jsonschema", "ruff")
MISSING = [name for name in TEST_EXTRA if not importable(name)]
if not MISSING:
    from pytest_alembic.plugin.fixtures import alembic_runner  # noqa: F401  (a fixture)

pytest_plugins = ("pytester", "examples.untouched")

MARKERS = (
    "long: too long for every push (see LONG): left out of rollbook's test session unless -m "
    "names it; the scheduled pipeline's tests-long job runs `pytest -n 2 -m long`",
    "alembic: pytest-alembic's built-in tests (tests/test_vibes_migrations.py)",
    "docker: needs a Docker engine (testcontainers)",
    "local_pg: needs a local PostgreSQL installation (e.g. Debian's postgresql-15)",
)


TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before the rollbook plugin's own, which makes the folder
def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    chosen = config.getoption("--reports-dir") or os.environ.get("ROLLBOOK_REPORTS_DIR")
    if getattr(config, "workerinput", None) is None and not chosen and not informational(config):
        config.option.reports_dir = tempfile.mkdtemp(prefix="rollbook-tests-")
    if not MISSING:
        hypothesis_in_a_temp_folder(config)
    if getattr(config, "workerinput", None) is None and not informational(config):
        initdb_once(config)
        bytecode_in_a_temp_folder(config)


# Drills and tests whose run is a long rehearsal rather than a test of one change: `pytest
# drills/` (which does not load this file) and the scheduled pipeline still run them.
LONG = {
    "drills/test_crash_points.py": "SIGKILL before each of the UUID downgrade's 138 statements, "
                                   "each followed by a second downgrade",
    "tests/test_bench_smoke.py": "bench/run, the benchmarks, end to end at the tiny scale",
}


# The files with the longest tests (pytest -n 2 --durations=40), started first so that the
# end of the session is short tests both workers share, not one long test one worker runs alone.
SLOWEST_FIRST = (
    "tests/test_schema_oracle.py", "drills/test_uuid_rollback.py", "tests/test_held_out_schema.py",
    "tests/test_crash_points_engine.py", "drills/test_index_dropped.py", "tests/test_serve_db.py",
    "tests/test_allure_report.py", "tests/test_record_prose.py", "tests/test_readme_commands.py",
    "tests/test_checks_run.py", "tests/test_releases.py", "tests/test_replicas.py",
    "drills/test_writers_during_rollback.py", "tests/test_schema_mutations.py",
    "tests/test_verdict_parity.py", "tests/test_checks_families.py", "tests/test_realworld.py",
    "tests/test_settings_once.py", "tests/test_project_startup.py", "tests/test_drill_harness.py",
)


def pytest_report_header(config):
    if not config.option.markexpr:
        return [f"rollbook's tests leave out (run them with -m long): {path}, {why}"
                for path, why in LONG.items()]
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """The slowest files first; every warning is an error in rollbook's own tests (and only
    there: a user's drills and checks record the warnings their project raises), put first
    among the test's marks so any filterwarnings mark of the test, its class or module wins;
    and the long rehearsals are left out unless -m chooses what runs."""
    root = config.rootpath
    rank = {path: number for number, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(relative(item, root), len(rank)))  # stable
    for item in items:
        if TESTS in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings("error"), append=False)
    if config.option.markexpr:  # -m chose what runs
        return
    dropped = [item for item in items if item.get_closest_marker("long")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("long")]


@pytest.hookimpl(tryfirst=True, specname="pytest_collection_modifyitems")
def pytest_mark_the_long_rehearsals(config, items):
    """Marked ahead of pytest's own -m selection, which runs before the trylast hook above
    (marked there, `-m long` selected nothing); a collection hook, not a per-item one, since
    this file is not drills/' conftest."""
    for item in items:
        if relative(item, config.rootpath) in LONG:
            item.add_marker("long")


def relative(item, root: Path) -> str:
    return item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before xdist's own, which picks by --dist
def pytest_xdist_make_scheduler(config, log):
    """`-n 2` alone (--dist load) hands each worker long runs of tests it must finish itself,
    and one worker is left alone with the last slow ones; a worker that runs out of tests here
    takes half of what the other has left (xdist's worksteal). Another --dist is kept."""
    if config.getvalue("dist") == "load":
        from xdist.scheduler import WorkStealingScheduling
        return WorkStealingScheduling(config, log)
    return None


@pytest.fixture(autouse=True)
def no_rollbook_settings_from_outside(monkeypatch):
    """A test of tests/ starts from rollbook's defaults, never the settings of the shell or CI
    job around the session (ROLLBOOK_REPORTS_DIR, ROLLBOOK_DSN, PYTEST_ADDOPTS' --junitxml):
    a pytest run it starts writes where the test says, against the database the test made;
    one default differs: no Allure HTML unless the test asks for it."""
    for name in [n for n in os.environ if n.startswith("ROLLBOOK_") or n == "PYTEST_ADDOPTS"]:
        monkeypatch.delenv(name)
    # Allure's HTML report (node, about 2 s of CPU a drill run) only where a test asks for it
    # (--allure-html yes, as tests/test_allure_report.py does)
    monkeypatch.setenv("ROLLBOOK_ALLURE_HTML", "no")


class NeedsTheTestExtra(pytest.Module):
    def collect(self):
        pytest.skip(f"rollbook's own tests need the test extra ({', '.join(MISSING)} not "
                    "installed). Hint: pip install -e '.[test]'")


def pytest_pycollect_makemodule(module_path, parent):
    if MISSING:
        return NeedsTheTestExtra.from_parent(parent, path=module_path)
    return None


def initdb_once(config) -> None:
    """Every PostgreSQL server of the session and of the pytest runs it starts copies a cluster
    initdb made once per installation (rollbook.pg.embedded.CLUSTER_CACHE_ENV), in a temp
    folder removed with the session (a session inside one uses its folder)."""
    from rollbook.pg.embedded import CLUSTER_CACHE_ENV
    if os.environ.get(CLUSTER_CACHE_ENV):
        return
    folder = tempfile.mkdtemp(prefix="rollbook-tests-initdb-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ[CLUSTER_CACHE_ENV] = folder


def bytecode_in_a_temp_folder(config) -> None:
    """With PYTHONDONTWRITEBYTECODE set, each of the many Python processes the session starts
    (workers, pytest runs, the CLI) compiled every module again, and pytest rewrote every test
    module's asserts again; here they keep the bytecode in a temp folder removed with the
    session instead (PYTHONPYCACHEPREFIX), still writing nothing beside the sources."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    folder = tempfile.mkdtemp(prefix="rollbook-tests-bytecode-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ["PYTHONPYCACHEPREFIX"] = folder
    del os.environ["PYTHONDONTWRITEBYTECODE"]


def hypothesis_in_a_temp_folder(config) -> None:
    """Hypothesis keeps its examples and caches in .hypothesis/ of the working directory (the
    checkout's root); here, and in the subprocesses tests start, in a temp folder instead."""
    folder = tempfile.mkdtemp(prefix="rollbook-tests-hypothesis-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = folder
    from hypothesis.configuration import set_hypothesis_home_dir
    set_hypothesis_home_dir(folder)
