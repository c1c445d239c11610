"""The command line explains itself: --version, a description and the exit codes on every
subcommand's --help."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from rollbook.record.runinfo import package_version

SUBCOMMANDS = ("snapshot", "assess", "verify", "serve-db", "profile", "role-sql", "diff-rows")


def rollbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rollbook.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_version():
    done = rollbook("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"rollbook {package_version('rollbook')}"
    assert package_version("rollbook") != "not installed"


# what each command can exit with (its code paths: tests/test_exit_codes.py, test_manifest.py,
# test_serve_db.py, test_assess.py, test_diff_rows.py)
OWN_CODES = {"snapshot": {0, 2}, "assess": {0, 1, 2, 3}, "verify": {0, 1, 2},
             "serve-db": {0, 2}, "profile": {0, 2}, "role-sql": {0}, "diff-rows": {0, 1, 2}}


def listed_codes(help_text: str) -> dict[int, str]:
    block = help_text.split("\nexit codes:\n", 1)[1]
    return {int(code): " ".join(text.split())
            for code, text in re.findall(r"^  (\d)  (.*(?:\n     .*)*)", block, re.M)}


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_commands_help_lists_its_own_exit_codes(command):
    done = rollbook(command, "--help")
    assert done.returncode == 0 and done.stderr == ""
    codes = listed_codes(done.stdout)
    assert set(codes) == OWN_CODES[command]
    others = [f"rollbook {name}" for name in SUBCOMMANDS if name != command]
    assert [o for o in others if o in done.stdout.split("\nexit codes:\n", 1)[1]] == []
    description = done.stdout.split("\n\n")[1]
    assert description[0].isupper() and description.rstrip().endswith(".")


def test_verify_calls_2_nothing_to_verify_and_assess_1_could_not_verify():
    assert listed_codes(rollbook("verify", "--help").stdout)[2].startswith("nothing to verify")
    assert listed_codes(rollbook("assess", "--help").stdout)[1].startswith("could not verify")
    assert "refused" in listed_codes(rollbook("snapshot", "--help").stdout)[2]


def test_a_help_listing_another_commands_codes_fails():
    """The planted defect: the old shared epilog (every command's codes, 2 called "refused")."""
    shared = ("exit codes:\n  0  done\n  1  rollbook verify: a file changed\n  2  refused\n"
              "  3  rollbook assess: an automatic rollback is due\n")
    assert set(listed_codes(f"usage: rollbook verify\n{shared}")) != OWN_CODES["verify"]


def test_top_level_help_points_at_each_commands_own():
    done = rollbook("--help")
    assert done.returncode == 0
    assert "each command's --help lists its own" in done.stdout
