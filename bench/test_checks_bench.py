"""`pytest checks/` against the runbook's own psql and alembic commands, on one database: wall
time, how many things each asserts, and the checks' peak RSS. The four figures are measured in
the same rounds (bench/conftest.py's Interleaved): the runbook's commands, the same followed by
the runbook's health watch over the window the checks watch, `pytest checks/` (-n 0) and -n 2,
the next round in the reverse order."""
from __future__ import annotations

import pytest
from checks_vs_runbook import items_judged, run, runbook_commands, runbook_monitoring

from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile

FIGURES = {
    "test_runbook_commands": "the runbook's psql and alembic commands, one after the other",
    "test_runbook_with_monitoring": "the same, then the runbook's health watch over the checks' "
                                    "watch window",
    "test_checks_serial": "pytest checks/ (-n 0)",
    "test_checks_two_workers": "pytest checks/ -n 2",
}


@pytest.fixture(scope="module")
def commands(pair, operator):
    return runbook_commands(pair.server, operator[1])


@pytest.fixture(scope="module")
def monitoring(operator):
    """The runbook's watch over the window the checks' profile (prod.example) watches."""
    argv = operator[0]
    watch = load_profile("prod.example", BUILTIN_ENVS).monitoring
    return runbook_monitoring(argv[argv.index("--api-url") + 1], watch.window_s,
                              watch.interval_s)


def _rounds(interleaved, operator, commands, monitoring):
    argv, env = operator

    def checks(*workers):
        outcome = run([*argv, *workers], env)
        assert outcome.code == 0, outcome.stdout[-2000:]
        return outcome

    def runbook(*more):
        for _, command, command_env in (*commands, *more):
            run(command, command_env)

    return interleaved.rounds({"test_runbook_commands": runbook,
                               "test_runbook_with_monitoring": lambda: runbook(monitoring),
                               "test_checks_serial": checks,
                               "test_checks_two_workers": lambda: checks("-n", "2")})


def _checks(benchmark, interleaved, operator, commands, monitoring, name):
    outcomes = interleaved.record(benchmark, name,
                                  _rounds(interleaved, operator, commands, monitoring))
    benchmark.extra_info.update(
        figure=FIGURES[name], asserts=items_judged(outcomes[-1].stdout),
        asserts_what="test items judged (each a CheckResult with its SQL and evidence)",
        peak_rss_kib=max(o.peak_rss_kib for o in outcomes))


def test_checks_serial(benchmark, interleaved, operator, commands, monitoring):
    _checks(benchmark, interleaved, operator, commands, monitoring, "test_checks_serial")


def test_checks_two_workers(benchmark, interleaved, operator, commands, monitoring):
    _checks(benchmark, interleaved, operator, commands, monitoring, "test_checks_two_workers")


def test_runbook_commands(benchmark, interleaved, operator, commands, monitoring):
    interleaved.record(benchmark, "test_runbook_commands",
                       _rounds(interleaved, operator, commands, monitoring))
    benchmark.extra_info.update(
        figure=FIGURES["test_runbook_commands"], asserts=0, commands=len(commands),
        asserts_what=f"nothing: {len(commands)} commands whose output a person reads")


def test_runbook_with_monitoring(benchmark, interleaved, operator, commands, monitoring):
    interleaved.record(benchmark, "test_runbook_with_monitoring",
                       _rounds(interleaved, operator, commands, monitoring))
    benchmark.extra_info.update(
        figure=FIGURES["test_runbook_with_monitoring"], asserts=0, commands=len(commands) + 1,
        monitoring=monitoring[0],
        asserts_what=f"nothing: {len(commands) + 1} commands whose output a person reads")
