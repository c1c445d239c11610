"""Each statement a real Alembic migration sends is seen once, in order, with the backend that
ran it and how long it took."""
from __future__ import annotations

import psycopg

from rollbook.runbook.migrations import Migrations
from rollbook.runbook.statements import each_statement
from rollbook_vibes.migrations_config import alembic_config


def test_every_statement_of_an_upgrade_and_downgrade_is_seen(scratch_dsn):
    migrations = Migrations(alembic_config(scratch_dsn), scratch_dsn)
    started: list[int] = []
    with each_statement(before=lambda s: started.append(s.number)) as seen:
        migrations.upgrade("0001")
    upgrade_count = len(seen)
    with psycopg.connect(scratch_dsn) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                              " AND tablename <> 'alembic_version'").fetchone()[0]

    assert started == list(range(1, upgrade_count + 1))
    creates = [s for s in seen if s.sql.lstrip().upper().startswith("CREATE TABLE")
               and "alembic_version" not in s.sql]
    assert len(creates) == tables > 0
    assert all(s.elapsed_s is not None and s.elapsed_s >= 0 for s in seen)
    assert len({s.backend_pid for s in seen}) == 1 and seen[0].backend_pid is not None

    with each_statement() as seen_down:
        migrations.downgrade("base")
    drops = [s for s in seen_down if s.sql.lstrip().upper().startswith("DROP TABLE")]
    assert len(drops) == tables

    with each_statement() as after_exit:
        pass
    migrations.upgrade("0001")  # no longer listened to
    assert after_exit == []
