"""The held-out case: an Alembic project whose every table (its version table too) lives outside
public, with string and composite keys and CHECK lists (tests/examples/tracking), passes clean
through the every-revision drill and the operator checks, by profile only. Its profile names
one table's seeder, used at whichever revision created the table."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from examples.checkrun import failed, run_checks, snapshot
from examples.drillrun import run_drill

from rollbook.pg.connect import connect
from rollbook.runbook import generic_seed
from rollbook.runbook.migrations import Migrations
from rollbook.settings.target import alembic_config

ROOT = Path(__file__).resolve().parents[1]
TRACKING = ROOT / "tests" / "examples" / "tracking"
PROFILE = TRACKING / "tracking.toml"
DRILL = ROOT / "drills" / "test_every_revision.py"


def test_every_revision_of_a_schema_outside_public_passes_clean(tmp_path):
    done = run_drill(DRILL, PROFILE, tmp_path / "reports")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout
    run = (tmp_path / "reports" / "latest").resolve()
    record = (run / "rollback-record.md").read_text()
    # the profile's seeder of registered_models at t003, where the table was created
    assert re.search(r"Database at t003: .* upgraded; seeded: tracking.registered_models \|",
                     record)
    # 500 models all in workspace 'default', 5 more written there on t004: kept, none lost
    # (before whole keys, the key was `workspace`: leaving the 5 out left all 505 out)
    assert re.search(r"kept [^|]*tracking.registered_models \+5", record)


def test_a_failing_table_seeder_is_one_line_in_the_drills_that_need_it(tmp_path):
    copy = tmp_path / "tracking"
    shutil.copytree(TRACKING, copy)
    (copy / "tracking_seed.py").write_text(
        "def registered_models(conn, table, rows):\n"
        "    raise ValueError('no models today')\n")
    done = run_drill(DRILL, copy / "tracking.toml", tmp_path / "reports")
    assert done.returncode == 1
    assert re.findall(r"FAILED \S+\[(\w+)\]", done.stdout) == ["t004", "t005"]
    assert ("t004: the database at t003 could not be made: seeding tracking.registered_models "
            "with the profile's seeder tracking_seed:registered_models failed: ValueError: no "
            "models today") in done.stdout
    assert "Traceback" not in done.stdout and "tracking_seed.py\", line" not in done.stdout


def test_the_checks_pass_clean_on_a_schema_outside_public(pytester, monkeypatch, scratch_dsn,
                                                          tmp_path):
    monkeypatch.syspath_prepend(str(TRACKING))
    monkeypatch.setenv("PYTHONPATH", str(TRACKING))
    import tracking_seed

    Migrations(alembic_config(TRACKING / "alembic.ini", scratch_dsn), scratch_dsn).upgrade("head")
    with connect(scratch_dsn) as conn:
        generic_seed.seed_tables(conn, 60, seeders={
            "tracking.registered_models": tracking_seed.registered_models})
    baseline = snapshot(scratch_dsn, tmp_path / "baseline.json", env=str(PROFILE))

    result, found = run_checks(pytester, monkeypatch, "--env", str(PROFILE), "--dsn",
                               scratch_dsn, "--baseline", str(baseline),
                               modules=("test_preflight.py", "test_types.py", "test_schema.py",
                                        "test_counts.py", "test_orphans.py", "test_content.py"))

    assert result.ret == 0, result.stdout.str()[-4000:]
    assert not failed(found)
    assert found["test_types::test_key_column_type[tracking.runs.run_uuid]"] == "passed"
    assert found["test_types::test_information_schema_id_columns"] == "skipped"
    assert found["test_preflight::test_alembic_current_is_the_expected_revision"] == "passed"
    assert found["test_content::test_baseline_rows_unchanged[tracking.registered_models]"] \
        == "passed"
    assert sys.modules.get("tracking_seed") is tracking_seed
