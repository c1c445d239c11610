"""An upgrade or downgrade that leaves the version table anywhere but at its target fails at
once, naming both: an env.py that leaves its transaction open (its work rolled back when the
connection closes) is no "passed" migration."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rollbook.errors import MigrationError
from rollbook.runbook.migrations import Migrations
from rollbook.settings.target import alembic_config

LEDGER = Path(__file__).parent / "examples" / "ledger"
# a statement before configure() opens the connection's transaction: Alembic then takes it for
# the caller's and leaves it open, and closing the connection rolls the migrations back
OPEN_TRANSACTION = ("    with engine.connect() as connection:\n"
                    "        connection.exec_driver_sql(\"SELECT 1\")\n")


def ledger_copy(tmp_path: Path, leaves_transaction_open: bool) -> Path:
    copy = tmp_path / "ledger"
    shutil.copytree(LEDGER, copy)
    env = copy / "migrations" / "env.py"
    if leaves_transaction_open:
        text = env.read_text()
        assert "        connection.commit()\n" in text
        env.write_text(text.replace("    with engine.connect() as connection:\n",
                                    OPEN_TRANSACTION)
                       .replace("        connection.commit()\n", ""))
    return copy / "alembic.ini"


def migrations(ini: Path, dsn: str) -> Migrations:
    return Migrations(alembic_config(ini, dsn), dsn)


def test_an_upgrade_that_moved_nothing_fails_naming_both(scratch_dsn, tmp_path):
    broken = migrations(ledger_copy(tmp_path, leaves_transaction_open=True), scratch_dsn)
    with pytest.raises(MigrationError) as raised:
        broken.upgrade("l002")
    assert raised.value.message.startswith(
        "alembic upgrade l002 left the database at <base> (it was at <base>; expected l002)")
    assert broken.current() == []


def test_a_downgrade_that_moved_nothing_fails_naming_both(scratch_dsn, tmp_path):
    good = migrations(LEDGER / "alembic.ini", scratch_dsn)
    assert good.upgrade("l002").to_revision == "l002"
    broken = migrations(ledger_copy(tmp_path, leaves_transaction_open=True), scratch_dsn)
    with pytest.raises(MigrationError, match=r"alembic downgrade -1 left the database at l002 "
                                             r"\(it was at l002; expected not l002\)"):
        broken.downgrade("-1")
    with pytest.raises(MigrationError, match=r"alembic downgrade l001 left the database at "
                                             r"l002 \(it was at l002; expected l001\)"):
        broken.downgrade("l001")


def test_migrations_that_arrive_pass(scratch_dsn):
    good = migrations(LEDGER / "alembic.ini", scratch_dsn)
    assert good.upgrade("l003").to_revision == "l003"
    assert good.upgrade("l003").to_revision == "l003"  # already there: nothing to move
    assert good.downgrade("-1").to_revision == "l002"
    assert good.downgrade("base").to_revision is None
    assert good.upgrade("+2").to_revision == "l002"
