"""The warnings of a run, recorded and never a failure.

Whatever the user's project, its libraries or rollbook warn about while a drill or a check runs
(a DeprecationWarning in a migration, Alembic's "No path_separator found" on the ini
`alembic init` wrote) is kept here on the controller (xdist relays its workers' warnings) and
handed to the record at the end of the run: each drill's own under it
(`DrillRecord.warnings`), every one in the run folder's `warnings.json`. Warnings are errors
in rollbook's own tests only (tests/conftest.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollbook.record.model import DrillRecord, RecordedWarning, tally_warnings
from rollbook.record.redact import redact_text

WARNINGS = pytest.StashKey[list]()
WARNINGS_FILE = "warnings.json"


class WarningLog:
    def __init__(self, config):
        self.config = config

    def pytest_warning_recorded(self, warning_message, when, nodeid, location):
        if getattr(self.config, "workerinput", None) is not None:
            return  # the controller records it, relayed by xdist
        self.config.stash.setdefault(WARNINGS, []).append(RecordedWarning(
            category=warning_message.category.__name__,
            message=redact_text(str(warning_message.message)),
            filename=str(warning_message.filename), lineno=warning_message.lineno or 0,
            when=when, nodeid=nodeid or ""))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.pluginmanager.register(WarningLog(config), "rollbook_warning_recorder")


def recorded(config) -> list[RecordedWarning]:
    """Every warning of this run so far, each counted once per place and test."""
    return tally_warnings(config.stash.get(WARNINGS, []))


def file_warnings(config, run_dir: Path, drills: dict[Path, DrillRecord]) -> None:
    """Each drill's warnings into its record (saved again), all of them into warnings.json."""
    found = recorded(config)
    for path, drill in drills.items():
        drill.warnings = [w for w in found if w.nodeid == drill.test_id]
        if drill.warnings:
            drill.save(path)
    (run_dir / WARNINGS_FILE).write_text(json.dumps([vars(w) for w in found], indent=2) + "\n",
                                         encoding="utf-8")


def load_warnings(run_dir: Path) -> list[RecordedWarning]:
    """The run's warnings as file_warnings wrote them (none when it wrote nothing)."""
    path = run_dir / WARNINGS_FILE
    if not path.exists():
        return []
    return [RecordedWarning.from_dict(w) for w in json.loads(path.read_text())]
