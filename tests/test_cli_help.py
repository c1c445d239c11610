"""The command line explains itself: --version, a description and the exit codes on every
subcommand's --help."""
from __future__ import annotations

import subprocess
import sys

import pytest

from rollbook import cli
from rollbook.record.runinfo import package_version

SUBCOMMANDS = ("snapshot", "assess", "verify", "serve-db", "profile", "role-sql")


def rollbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_version():
    done = rollbook("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"rollbook {package_version('rollbook')}"
    assert package_version("rollbook") != "not installed"


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_describes_and_lists_exit_codes(command):
    done = rollbook(*([command] if command else []), "--help")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.rstrip().endswith(cli.EXIT_CODES.splitlines()[-1])
    for code in (0, cli.EXIT_NOT_VERIFIED, cli.EXIT_REFUSED, cli.EXIT_ROLLBACK_DUE):
        assert f"\n  {code}  " in done.stdout
    if command:
        description = done.stdout.split("\n\n")[1]
        assert description[0].isupper() and description.rstrip().endswith(".")
