"""How rollbook grows with the data, at each scale of --bench-growth (default: the bench's
scale): the main drill as a child process (wall time, each runbook phase from its record, the
pytest process's peak RSS), and `pytest checks/` against a database seeded at that scale at
revision 0001, where the drill's rollback lands (time and peak RSS)."""
from __future__ import annotations

import statistics

from checks_vs_runbook import items_judged, operator_checks, prepare, run_pytest
from growth import journals, run_drill


def _peaks(benchmark, own: list[int | None], tree: list[int]) -> None:
    """The largest of the rounds: the pytest process's own, and with its reaped children."""
    known = [kib for kib in own if kib is not None]
    benchmark.extra_info.update(peak_rss_kib=max(tree),
                                **({"own_rss_kib": max(known)} if known else {}))


def test_growth_drill(benchmark, repeats, growth_scale, tmp_path):
    count = journals(growth_scale)
    rounds = []

    def once():
        rounds.append(run_drill(count, tmp_path / f"round-{len(rounds)}"))

    benchmark.pedantic(once, rounds=repeats, iterations=1)
    phases = {name: statistics.median(r.phases[name] for r in rounds)
              for name in rounds[-1].phases}
    benchmark.extra_info.update(figure=f"main drill, {growth_scale}", scale=growth_scale,
                                journals=count, phases=phases)
    _peaks(benchmark, [r.own_rss_kib for r in rounds], [r.peak_rss_kib for r in rounds])


def test_growth_checks(benchmark, repeats, pair, growth_scale, tmp_path):
    count = journals(growth_scale)
    database = f"growth_{count}"
    dsn, seeded = prepare(pair.server, count, database)
    outcomes = []
    try:
        with operator_checks(dsn, tmp_path) as (argv, env):
            def once():
                outcome, own = run_pytest(argv, env)
                assert outcome.code == 0, outcome.stdout[-3000:]
                outcomes.append((outcome, own))

            benchmark.pedantic(once, rounds=repeats, iterations=1)
    finally:
        pair.server.drop_database(database)
    benchmark.extra_info.update(figure=f"pytest checks/, {growth_scale}", scale=growth_scale,
                                journals=count, rows=sum(seeded.values()),
                                asserts=items_judged(outcomes[-1][0].stdout))
    _peaks(benchmark, [own for _, own in outcomes], [o.peak_rss_kib for o, _ in outcomes])
