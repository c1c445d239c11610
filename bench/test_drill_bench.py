"""The main drill against its floor, at the run's scale: the drill's wall time (`pytest
drills/test_uuid_rollback.py --scale N` as a child process, as the growth figures run it) and
the database work it cannot do without, alone: a fresh database migrated to 0001 and seeded,
`alembic upgrade 0002`, `alembic downgrade -1` (no baseline, backup, check, service or
record). Their ratio is the drill's wall per second of that work; what is above 1 is rollbook's
own."""
from __future__ import annotations

import statistics
import time

from growth import journals, run_drill

from rollbook.runbook.migrations import Migrations
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.seed import seed


def test_drill_floor(benchmark, repeats, pair):
    """Create, migrate to 0001 and seed, upgrade, downgrade: each part timed. The database is
    dropped outside the clock (before the next round and at the end)."""
    count, parts, name = journals(pair.scale), [], "drill_floor"

    def dropped():
        pair.server.drop_database(name)
        return (), {}

    def once():
        started = time.perf_counter()
        pair.server.create_database(name)
        dsn = pair.server.dsn(name)
        migrations = Migrations(alembic_config(dsn), dsn)
        migrations.upgrade(REVISION_INTEGER)
        seed(dsn, count)
        seeded = time.perf_counter()
        migrations.upgrade(REVISION_UUID)
        upgraded = time.perf_counter()
        migrations.downgrade("-1")
        parts.append({"create, migrate to 0001 and seed": seeded - started,
                      "alembic upgrade 0002": upgraded - seeded,
                      "alembic downgrade -1": time.perf_counter() - upgraded})

    try:
        benchmark.pedantic(once, setup=dropped, rounds=repeats, iterations=1)
    finally:
        pair.server.drop_database(name)
    benchmark.extra_info.update(
        figure=f"floor: seed + upgrade + downgrade, {pair.scale}", scale=pair.scale,
        parts={part: statistics.median(p[part] for p in parts) for part in parts[-1]})


def test_drill_main(benchmark, repeats, pair, tmp_path):
    """The main drill as an operator runs it, wall time of its pytest process."""
    count, rounds = journals(pair.scale), []

    def once():
        rounds.append(run_drill(count, tmp_path / f"round-{len(rounds)}"))

    benchmark.pedantic(once, rounds=repeats, iterations=1)
    benchmark.extra_info.update(
        figure=f"main drill, {pair.scale}", scale=pair.scale,
        steps={title: statistics.median(r.steps.get(title, 0.0) for r in rounds)
               for title in rounds[-1].steps})
