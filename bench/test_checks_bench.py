"""`pytest checks/` against the runbook's own psql and alembic commands, on one database: wall
time, how many things each asserts, and the checks' peak RSS. The three figures are measured in
the same rounds (bench/conftest.py's Interleaved): the runbook's commands, `pytest checks/`
(-n 0) and -n 2, the next round in the reverse order."""
from __future__ import annotations

import pytest
from checks_vs_runbook import items_judged, run, runbook_commands

FIGURES = {
    "test_runbook_commands": "the runbook's psql and alembic commands, one after the other",
    "test_checks_serial": "pytest checks/ (-n 0)",
    "test_checks_two_workers": "pytest checks/ -n 2",
}


@pytest.fixture(scope="module")
def commands(pair, operator):
    return runbook_commands(pair.server, operator[1])


def _rounds(interleaved, operator, commands):
    argv, env = operator

    def checks(*workers):
        outcome = run([*argv, *workers], env)
        assert outcome.code == 0, outcome.stdout[-2000:]
        return outcome

    def runbook():
        for _, command, command_env in commands:
            run(command, command_env)

    return interleaved.rounds({"test_runbook_commands": runbook, "test_checks_serial": checks,
                               "test_checks_two_workers": lambda: checks("-n", "2")})


def _checks(benchmark, interleaved, operator, commands, name):
    outcomes = interleaved.record(benchmark, name, _rounds(interleaved, operator, commands))
    benchmark.extra_info.update(
        figure=FIGURES[name], asserts=items_judged(outcomes[-1].stdout),
        asserts_what="test items judged (each a CheckResult with its SQL and evidence)",
        peak_rss_kib=max(o.peak_rss_kib for o in outcomes))


def test_checks_serial(benchmark, interleaved, operator, commands):
    _checks(benchmark, interleaved, operator, commands, "test_checks_serial")


def test_checks_two_workers(benchmark, interleaved, operator, commands):
    _checks(benchmark, interleaved, operator, commands, "test_checks_two_workers")


def test_runbook_commands(benchmark, interleaved, operator, commands):
    interleaved.record(benchmark, "test_runbook_commands",
                       _rounds(interleaved, operator, commands))
    benchmark.extra_info.update(
        figure=FIGURES["test_runbook_commands"], asserts=0, commands=len(commands),
        asserts_what=f"nothing: {len(commands)} commands whose output a person reads")
