"""The checks' profile and target database: resolved once, guarded, shared with xdist workers.

pytest_configure loads and validates the profile named by --env (every mistake one line). When
the session runs checks/, the controller resolves the target before any test: it prepares the
embedded database of a disposable profile, loads the baseline, and refuses a database the
checks must not run against (wrong revision, several heads, baseline from elsewhere, cannot
connect). A refusal is pytest's usage error: one line per reason, exit status 4, nothing run,
nothing written. xdist workers receive the prepared database from the controller.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import psycopg
import pytest

from rollbook.errors import RollbookError, ServerError
from rollbook.measure import baseline as baseline_mod
from rollbook.measure import inventory as inventory_mod
from rollbook.pg.connect import DatabaseUnresponsive
from rollbook.pytest_plugin.reporting import RUN_DIR, informational
from rollbook.record.redact import redact_text
from rollbook.runbook.migrations import Scripts
from rollbook.settings.resolve import ENV_VARS, Settings, resolve
from rollbook.settings.target import Target, open_target

SETTINGS = pytest.StashKey[Settings]()
TARGET = pytest.StashKey[Target]()
INVENTORY = pytest.StashKey[inventory_mod.Inventory]()
WORKER_KEY = "rollbook_checks_target"


def _cli(config) -> dict[str, str | None]:
    return {key: config.getoption(f"--{key.replace('_', '-')}") for key in ENV_VARS}


def _envs_dir(config) -> Path:
    return Path(config.rootpath) / "envs"


def _refusal(exc: RollbookError) -> pytest.UsageError:
    lines = getattr(exc, "mistakes", None) or getattr(exc, "reasons", None) or [exc.one_line()]
    return pytest.UsageError(*(redact_text(line) for line in lines))


def checks_selected(config) -> bool:
    """Does this session collect anything under checks/ (by its arguments or testpaths)?"""
    checks_dir = (Path(config.rootpath) / "checks").resolve()
    if not checks_dir.is_dir():  # a project (or a pytester folder) with no checks/
        return False
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        path = path.resolve()
        if path == checks_dir or checks_dir in path.parents or path in checks_dir.parents:
            return True
    return False


def settings_for(config) -> Settings:
    """The session's settings, resolved once for drills and checks alike: the profile (--env),
    the database, baseline, API, server backend and scale, each by CLI > environment > profile
    > default and each checked."""
    if SETTINGS not in config.stash:
        config.stash[SETTINGS] = resolve(_cli(config), os.environ, _envs_dir(config),
                                         need_dsn=False)
    return config.stash[SETTINGS]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Every setting resolved and checked before anything starts: a mistake is one line per
    mistake and exit status 4."""
    try:
        settings_for(config)
    except RollbookError as exc:
        raise _refusal(exc) from None


def _open(config) -> Target:
    target = open_target(settings_for(config), config.stash[RUN_DIR])
    config.add_cleanup(target.close)
    return target


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    config = session.config
    if getattr(config, "workerinput", None) is not None or not checks_selected(config):
        return
    if informational(config):
        return
    try:
        config.stash[TARGET] = _open(config)
    except RollbookError as exc:
        raise _refusal(exc) from None
    except psycopg.Error as exc:
        raise pytest.UsageError(redact_text(f"cannot prepare the checks' database: "
                                            f"{str(exc).strip().splitlines()[0]}")) from None
    try:  # read now, so a locked or unreadable catalog is one line before collection
        config.stash[INVENTORY] = _read_inventory(config)
    except (psycopg.Error, RollbookError) as exc:
        raise pytest.UsageError(f"cannot read what the checks iterate over: "
                                f"{one_line(exc)}") from None


def pytest_configure_node(node):
    """xdist controller hook: workers check the very database the controller prepared."""
    target = node.config.stash.get(TARGET, None)
    if target is None:
        return
    node.workerinput[WORKER_KEY] = {
        "dsn": target.dsn if target.server is not None else None,  # embedded: no password
        "baseline": str(target.baseline_path) if target.baseline_path else None,
        "baseline_source": target.baseline_source, "server_version": target.server_version,
        "revision": target.revision,
        "server_log": str(target.server_log) if target.server_log else None,
        "scripts": target.scripts.to_dict() if target.scripts else None}


def target_for(config) -> Target:
    """The session's target: the controller's, a worker's copy of it, or opened on demand."""
    if TARGET in config.stash:
        return config.stash[TARGET]
    given = getattr(config, "workerinput", {}).get(WORKER_KEY)
    try:
        if given is None:
            target = _open(config)
        else:
            settings = dataclasses.replace(
                settings_for(config), baseline_source=given["baseline_source"],
                baseline_path=Path(given["baseline"]) if given["baseline"] else None)
            target = Target(settings, given["dsn"] or settings.require_dsn(),
                            baseline_mod.load(Path(given["baseline"])) if given["baseline"]
                            else None, Path(given["baseline"]) if given["baseline"] else None,
                            given["baseline_source"], given["server_version"], given["revision"],
                            server_log=Path(given["server_log"]) if given["server_log"] else None,
                            scripts=Scripts.from_dict(given["scripts"]) if given["scripts"]
                            else None)
    except RollbookError as exc:
        pytest.exit(redact_text(exc.one_line()), returncode=pytest.ExitCode.USAGE_ERROR)
    config.stash[TARGET] = target
    return target


def inventory_for(config) -> inventory_mod.Inventory:
    """What the checks parametrize over, read once per process from the target."""
    if INVENTORY not in config.stash and informational(config):
        profile = settings_for(config).profile  # no database: what the profile names
        return inventory_mod.Inventory(tuple(sorted(profile.tables)), (), (), (), (), (),
                                       profile.queries)
    if INVENTORY not in config.stash:  # an xdist worker, or checks run without sessionstart
        try:
            config.stash[INVENTORY] = _read_inventory(config)
        except (psycopg.Error, RollbookError) as exc:
            pytest.exit(f"cannot read what the checks iterate over: {one_line(exc)}",
                        returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[INVENTORY]


def _read_inventory(config) -> inventory_mod.Inventory:
    target = target_for(config)
    with target.connect() as conn:
        return inventory_mod.build(conn, target.profile, target.baseline)


def one_line(exc: BaseException) -> str:
    """An error as the one line a person reads (a RollbookError's hint included)."""
    if isinstance(exc, RollbookError):
        return redact_text(exc.one_line())
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return redact_text(f"{type(exc).__name__}: {text}")


def _database_gone(exc: BaseException) -> bool:
    """The server stopped, crashed, froze or dropped us: no later check can succeed."""
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, psycopg.OperationalError) and (
        isinstance(exc, DatabaseUnresponsive) or state.startswith(("57P", "08")) or not state)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A database error in a check is one line, not a traceback; when the database went away,
    the run stops there instead of failing every remaining check the same way."""
    report = yield
    exc = call.excinfo.value if call.excinfo is not None else None
    if report.failed and isinstance(exc, (psycopg.Error, ServerError)) and _is_check(item):
        report.longrepr = one_line(exc)
        if isinstance(exc, ServerError) or _database_gone(exc):  # ServerError: cannot connect
            item.session.shouldstop = f"the checks' database went away: {report.longrepr}"
    return report


def _is_check(item) -> bool:
    checks_dir = Path(item.config.rootpath) / "checks"
    return Path(item.path).is_relative_to(checks_dir)


def pytest_report_header(config):
    target = config.stash.get(TARGET, None)
    if target is not None:
        return [f"rollbook checks: {redact_text(target.describe())}", *target.warnings]
    return None


def pytest_terminal_summary(terminalreporter, config):
    target = config.stash.get(TARGET, None)
    for warning in target.warnings if target is not None else ():
        terminalreporter.write_line(f"rollbook: {warning}", yellow=True)


@pytest.fixture(scope="session")
def checks_target(pytestconfig) -> Target:
    """The database the operator checks run against: chosen by --env/--dsn/--baseline (CLI >
    ROLLBOOK_* environment > profile > default), already guarded (expected revision, single
    head, baseline taken from this very database)."""
    return target_for(pytestconfig)


@pytest.fixture(scope="session")
def checks_profile(checks_target):
    """The validated profile (envs/NAME.toml) of this checks run."""
    return checks_target.profile


@pytest.fixture(scope="session")
def checks_baseline(checks_target):
    """The baseline manifest the checks compare against, or None: then the profile's
    expectations are used and content checks are skipped."""
    return checks_target.baseline


@pytest.fixture(scope="session")
def checks_conn(checks_target):
    """The checks' connection: default_transaction_read_only = on, the profile's
    statement_timeout, lock_timeout and application_name. Nothing sent over it can write."""
    with checks_target.connect() as conn:
        yield conn
