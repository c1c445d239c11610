"""Warnings are errors in rollbook's own tests only. A user's drill records the warnings their
project and its libraries raise (Alembic's "No path_separator found" on the ini `alembic init`
wrote, a DeprecationWarning inside their own migration) and fails on none of them."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
from examples.drillrun import run_drill

from rollbook.record.model import DrillRecord

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "tests" / "examples" / "ledger"
DRILL = ROOT / "drills" / "test_every_revision.py"


def test_a_warning_is_an_error_in_rollbooks_own_tests():
    with pytest.raises(DeprecationWarning, match="stays an error here"):
        warnings.warn("stays an error here", DeprecationWarning, stacklevel=1)


def warning_ledger(tmp_path: Path) -> Path:
    """A copy of the ledger whose ini is the kind `alembic init` wrote before path_separator
    (prepend_sys_path, no path_separator) and whose l002 warns in its upgrade and downgrade."""
    copy = tmp_path / "ledger"
    shutil.copytree(LEDGER, copy)
    ini = copy / "alembic.ini"
    ini.write_text(ini.read_text() + "prepend_sys_path = .\n")
    l002 = copy / "migrations" / "versions" / "l002_entries.py"
    text = l002.read_text().replace("from alembic import op\n", "import warnings\n\n"
                                    "from alembic import op\n")
    for verb in ("upgrade", "downgrade"):
        text = text.replace(f"def {verb}():\n", f"def {verb}():\n    warnings.warn("
                            f"'l002 {verb} uses an old API', DeprecationWarning)\n")
    l002.write_text(text)
    profile = copy / "ledger.toml"
    profile.write_text(profile.read_text().replace('revisions = "all"', 'revisions = ["l002"]'))
    return profile


def test_a_users_warnings_are_recorded_and_fail_nothing(tmp_path):
    done = run_drill(DRILL, warning_ledger(tmp_path), tmp_path / "reports")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    run = (tmp_path / "reports" / "latest").resolve()
    everything = json.loads((run / "warnings.json").read_text())
    assert any("No path_separator found" in w["message"] and w["when"] == "collect"
               for w in everything), everything
    [record] = [DrillRecord.load(p) for p in (run / "records").glob("*.json")]
    lines = [w.line() for w in record.warnings]
    for verb in ("upgrade", "downgrade"):
        assert any(line.startswith(f"DeprecationWarning: l002 {verb} uses an old API (")
                   and "l002_entries.py:" in line for line in lines), lines
    assert all(w.nodeid == record.test_id for w in record.warnings)
    # only the project's warnings: rollbook's own plugins raise none (a plugin module imported
    # before pytest loaded it as one warned "Module already imported so cannot be rewritten")
    assert not [w for w in everything if "rollbook" in w["message"]], everything
