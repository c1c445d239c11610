"""Seeding rate: Vibes at revision 0001 seeded at the run's scale into a fresh database."""
from __future__ import annotations

from rollbook.runbook.migrations import Migrations
from rollbook_vibes.migrations_config import alembic_config
from rollbook_vibes.seed import seed


def test_seed(benchmark, repeats, pair):
    rounds = iter(range(repeats))
    seeded = []

    def fresh_database():
        name = f"seed_{next(rounds)}"
        pair.server.create_database(name, drop_existing=True)
        dsn = pair.server.dsn(name)
        Migrations(alembic_config(dsn), dsn).upgrade("0001")
        return (dsn,), {}

    def once(dsn):
        seeded.append(sum(seed(dsn, pair.scale).values()))

    benchmark.pedantic(once, setup=fresh_database, rounds=repeats, iterations=1)
    for index in range(repeats):
        pair.server.drop_database(f"seed_{index}")
    benchmark.extra_info.update(figure=f"seed {pair.scale}", rows=seeded[-1])
    assert seeded[-1] == sum(pair.seeded.values())
