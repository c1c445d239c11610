"""The run folder sealed at the end of every run: SHA256SUMS over its files, signed with an SSH
key when --sign-key (or ROLLBOOK_SIGN_KEY) names one. `rollbook verify RUN_DIR` checks it.

A run stopped before its end (Ctrl-C, SIGTERM turned into KeyboardInterrupt) is sealed as
interrupted: an INTERRUPTED file in the folder (hashed with the rest) counts the tests that never
ran, the record and checks.md say so (`interruption`), and no `latest` link moves to it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from rollbook.errors import RollbookError
from rollbook.pytest_plugin.reporting import RUN_DIR
from rollbook.record import manifest

SIGN_KEY = pytest.StashKey[Path | None]()
REPORTED = pytest.StashKey["_Reported"]()
INTERRUPTED = pytest.StashKey[str]()
MARK = "INTERRUPTED"


def pytest_addoption(parser):
    group = parser.getgroup("rollbook")
    group.addoption("--sign-key", default=None, type=str,
                    help="SSH private key that signs the run folder's SHA256SUMS (ssh-keygen "
                         "-Y sign). Env: ROLLBOOK_SIGN_KEY. Without one the run is sealed "
                         "unsigned.")


def pytest_configure(config):
    value = config.getoption("--sign-key") or os.environ.get("ROLLBOOK_SIGN_KEY") or None
    key = Path(value).expanduser() if value else None
    if key is not None and not key.is_file():
        raise pytest.UsageError(f"--sign-key {key}: no such file. Hint: pass the path of an SSH "
                                "private key (ssh-keygen -t ed25519 -f KEY), or leave it out "
                                "for an unsigned run.")
    config.stash[SIGN_KEY] = key
    config.stash[REPORTED] = reported = _Reported()
    config.pluginmanager.register(reported, "rollbook-reported")


class _Reported:
    """The tests that reported at least one phase (on the controller too, under xdist)."""

    def __init__(self) -> None:
        self.nodeids: set[str] = set()

    def pytest_runtest_logreport(self, report) -> None:
        self.nodeids.add(report.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """Before the record and checks.md are written: an interrupted run is marked so."""
    config = session.config
    worker = getattr(config, "workerinput", None) is not None
    if worker or exitstatus != pytest.ExitCode.INTERRUPTED:
        return
    collected = session.testscollected
    reported = config.stash.get(REPORTED, None)
    never = max(collected - len(reported.nodeids if reported else ()), 0)
    line = (f"INTERRUPTED: the run was stopped before its end; {never} of {collected} tests "
            "never ran, so this record is not a verdict on them")
    config.stash[INTERRUPTED] = line
    run_dir = config.stash.get(RUN_DIR, None)
    if run_dir is not None and run_dir.is_dir():
        (run_dir / MARK).write_text(line + "\n", encoding="utf-8")


def interruption(config) -> str | None:
    """The line that marks this run interrupted, or None when it ran to its end."""
    return config.stash.get(INTERRUPTED, None)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    """Runs after every plugin's sessionfinish has written its part of the run folder."""
    if getattr(config, "workerinput", None) is not None:
        return
    run_dir = config.stash.get(RUN_DIR, None)
    if run_dir is None or not run_dir.is_dir():
        return
    try:
        line = manifest.seal(run_dir, config.stash.get(SIGN_KEY, None))
    except (RollbookError, OSError) as exc:
        text = exc.one_line() if isinstance(exc, RollbookError) else str(exc)
        terminalreporter.write_line(f"rollbook: the run folder could not be sealed: {text}",
                                    red=True)
        return
    record = run_dir / "rollback-record.md"
    if record.is_file():
        terminalreporter.write_line(f"rollbook: rollback record {record} (and .html)")
    if interruption(config):
        line += f"; sealed as interrupted ({MARK})"
    terminalreporter.write_line(f"rollbook: {line}; check it with {verify_hint(run_dir, config)}")


def verify_hint(run_dir: Path, config) -> str:
    """The command that checks this run folder: a signed one against the signers allowed."""
    if config.stash.get(SIGN_KEY, None) is None:
        return f"`rollbook verify {run_dir}`"
    return (f"`rollbook verify {run_dir} --allowed-signers ALLOWED_SIGNERS` (a file of lines "
            "\"<principal> <key type> <public key>\": the keys whose signature you accept)")
