"""`pytest checks/` against the runbook's own psql and alembic commands, on one database: wall
time, how many things each asserts, and the checks' peak RSS."""
from __future__ import annotations

from checks_vs_runbook import items_judged, run, runbook_commands


def _checks(benchmark, repeats, argv, env, figure):
    outcomes = []

    def once():
        outcome = run(argv, env)
        assert outcome.code == 0, outcome.stdout[-2000:]
        outcomes.append(outcome)

    benchmark.pedantic(once, rounds=repeats, iterations=1)
    benchmark.extra_info.update(
        figure=figure, asserts=items_judged(outcomes[-1].stdout),
        asserts_what="test items judged (each a CheckResult with its SQL and evidence)",
        peak_rss_kib=max(o.peak_rss_kib for o in outcomes))


def test_checks_serial(benchmark, repeats, operator):
    argv, env = operator
    _checks(benchmark, repeats, argv, env, "pytest checks/ (-n 0)")


def test_checks_two_workers(benchmark, repeats, operator):
    argv, env = operator
    _checks(benchmark, repeats, [*argv, "-n", "2"], env, "pytest checks/ -n 2")


def test_runbook_commands(benchmark, repeats, pair, operator):
    commands = runbook_commands(pair.server, operator[1])

    def once():
        for _, argv, env in commands:
            run(argv, env)

    benchmark.pedantic(once, rounds=repeats, iterations=1)
    benchmark.extra_info.update(
        figure="the runbook's psql and alembic commands, one after the other",
        asserts=0, commands=len(commands),
        asserts_what=f"nothing: {len(commands)} commands whose output a person reads")
