"""A project's start-up, named by its profile only: `[alembic] start` (the project's own step
that brings an empty database to the start of its history: a "module:attr" or a shell-free
argv) and `[alembic] script_location` (overriding an ini whose folder is relative to the
working directory). Each shown on a copy of the ledger example whose first tables are created
in code, as many projects do, with the defect planted: no start step, a start step that fails,
an ini whose script_location only works from another folder."""
from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import psycopg
import pytest
from examples.drillrun import run_drill

from rollbook.errors import ConfigError, MigrationError
from rollbook.pytest_plugin.revision_walk import revision_steps, templates_for
from rollbook.settings.profile_files import load_profile

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "tests" / "examples" / "ledger"
DRILL = ROOT / "drills" / "test_every_revision.py"

# the accounts table of l001, created in code (SQLAlchemy create_all) instead
MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False))


def broken(url):
    raise RuntimeError("the init step broke")
"""
CREATE_ACCOUNTS = ("import os, psycopg; psycopg.connect(os.environ['ROLLBOOK_DSN'], "
                   "autocommit=True).execute('CREATE TABLE accounts (id serial PRIMARY KEY, "
                   "name text NOT NULL UNIQUE, opened_at timestamptz NOT NULL)')")


def started_in_code(tmp_path: Path, start: str | None,
                    script_location: str | None = '"migrations"') -> Path:
    """A copy of the ledger whose l001 is an empty base revision (its table made by
    ledger_models), whose ini names its scripts relative to the working directory, and whose
    profile says `start` and `script_location` (each left out when None)."""
    copy = tmp_path / "ledger"
    shutil.copytree(LEDGER, copy)
    (copy / "ledger_models.py").write_text(MODELS)
    l001 = copy / "migrations" / "versions" / "l001_accounts.py"
    text = l001.read_text()
    l001.write_text(text[:text.index("def upgrade():")]
                    + "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    (copy / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    alembic = "".join(f"{key} = {value}\n" for key, value in
                      (("start", start), ("script_location", script_location)) if value)
    profile = copy / "ledger.toml"
    profile.write_text(profile.read_text().replace(
        "[alembic]\n", f"[alembic]\n{alembic}").replace(
        'revisions = "all"', 'revisions = ["l002", "l003"]'))
    return profile


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from a folder that is not the project's, as rollbook's drills run from its checkout;
    the copy's modules importable, as run_drill makes them."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(tmp_path / "ledger"))
    yield folder
    sys.modules.pop("ledger_models", None)


def templates(pg_server, profile_path: Path):
    return templates_for(pg_server, load_profile(str(profile_path), profile_path.parent), "tiny")


def accounts_rows(pg_server, name: str) -> int:
    with psycopg.connect(pg_server.dsn(name)) as conn:
        return conn.execute("SELECT count(*) FROM accounts").fetchone()[0]


@pytest.mark.parametrize("start", ['"ledger_models:metadata"',
                                   f'["{sys.executable}", "-c", "{CREATE_ACCOUNTS}"]'],
                         ids=["module-attr", "argv"])
def test_the_start_step_makes_the_first_tables_and_the_walk_starts_there(
        tmp_path, elsewhere, pg_server, start):
    walk = templates(pg_server, started_in_code(tmp_path, start))
    try:
        at_l002, made = walk.at("l002")
        assert made and "entries" in at_l002.baseline.tables
        # rows seeded once where the history starts, migrated forward
        assert accounts_rows(pg_server, walk.made["base"].name) == 500
        assert accounts_rows(pg_server, at_l002.name) == 500
    finally:
        walk.close()


def test_planted_without_the_start_step_the_first_upgrade_fails_in_one_line(
        tmp_path, elsewhere, pg_server):
    walk = templates(pg_server, started_in_code(tmp_path, None))
    try:
        with pytest.raises(MigrationError) as caught:
            walk.at("l002")
        assert caught.value.one_line() == (
            "the database at l002 could not be made: alembic upgrade l002 (from l001) raised "
            "ProgrammingError in l002_entries.py:14: (psycopg.errors.UndefinedTable) relation "
            '"accounts" does not exist')
        with pytest.raises(MigrationError):  # said again, not tried again
            walk.at("l002")
    finally:
        walk.close()


@pytest.mark.parametrize("start, said", [
    ('"ledger_models:broken"',
     "[alembic] start ledger_models:broken failed: RuntimeError: the init step broke"),
    ('"ledger_models:nothing_here"', "[alembic] start ledger_models:nothing_here cannot be "
     "loaded: AttributeError: module 'ledger_models' has no attribute 'nothing_here'"),
    (f'["{sys.executable}", "-c", "import sys; print(\'no database configured\'); '
     'sys.exit(3)"]', "exited with 3: no database configured"),
    ('["no-such-init-command"]', "[alembic] start command 'no-such-init-command' is not "
     "found."),
], ids=["raises", "missing", "exits", "not-found"])
def test_planted_a_start_step_that_fails_is_one_line(tmp_path, elsewhere, pg_server, start,
                                                      said):
    walk = templates(pg_server, started_in_code(tmp_path, start))
    try:
        with pytest.raises((MigrationError, ConfigError)) as caught:
            walk.at("l001")
        line = caught.value.one_line()
        assert said in line and "\n" not in line
        assert walk.origin is None  # the half-made start database was dropped
    finally:
        walk.close()


def test_script_location_resolves_as_the_profile_says_or_is_one_line(tmp_path, elsewhere):
    profile = load_profile(str(started_in_code(tmp_path, None)), tmp_path)
    assert [step.revision for step in revision_steps(profile)] == ["l002", "l003"]
    # planted: the profile leaves the ini's own script_location, relative to the working
    # directory, which here is another folder
    bare = dataclasses.replace(profile, alembic=dataclasses.replace(profile.alembic,
                                                                    script_location=None))
    with pytest.raises(ConfigError) as caught:
        revision_steps(bare)
    assert caught.value.one_line().startswith(
        f"Alembic cannot read the scripts of {tmp_path / 'ledger' / 'alembic.ini'}: "
        f"script_location 'migrations' (relative paths are relative to the working directory, "
        f"{elsewhere}): Path doesn't exist")
    assert caught.value.hint.startswith("set [alembic] script_location in the profile")


def test_a_profile_naming_a_missing_script_location_is_one_mistake(tmp_path):
    path = started_in_code(tmp_path, None, script_location='"no_such_folder"')
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path), tmp_path)
    assert caught.value.mistakes == [
        f"{path}: [alembic] script_location: {path.parent / 'no_such_folder'} does not exist; "
        "paths are relative to the profile file, or name a file inside an installed package "
        "as package:file"]


def test_drill_by_profile_only_with_the_start_step(tmp_path):
    done = run_drill(DRILL, started_in_code(tmp_path, '"ledger_models:metadata"'),
                     tmp_path / "reports")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout


def test_drill_with_an_unreadable_script_location_is_one_line(tmp_path):
    done = run_drill(DRILL, started_in_code(tmp_path, None, script_location=None),
                     tmp_path / "reports")
    assert done.returncode != 0
    assert "Alembic cannot read the scripts of" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "CommandError" not in done.stdout
