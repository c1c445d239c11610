"""The measurements started at session start (rollbook/pytest_plugin/measure_ahead.py): taken
over read-only checks connections, each once, read by the checks (those that read none of them
first), and not taken at all for a family no collected check reads."""
from __future__ import annotations

import json

import psycopg
import pytest
from examples.checkrun import run_checks, snapshot, vibes_copy

from rollbook.runbook.service import vibes_service

# what the connections ahead are, recorded once they are open
CONNECTIONS_SEEN = '''
import json
import pytest
from rollbook.pytest_plugin.measure_ahead import AHEAD


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    ahead = session.config.stash.get(AHEAD, None)
    seen = [{"type": type(conn).__name__, "read_only": conn.read_only,
             "statement_timeout_ms": conn.statement_timeout_ms,
             "lock_timeout_ms": conn.lock_timeout_ms,
             "cursor": conn.cursor_factory.__name__} for conn in (ahead.connections if ahead else [])]
    with open("ahead.json", "w") as out:
        json.dump(seen, out)
'''

CALLS_SQL = """\
SELECT coalesce(sum(s.calls) FILTER (WHERE s.query LIKE 'WITH orphan AS MATERIALIZED%%'), 0),
       coalesce(sum(s.calls) FILTER (WHERE s.query LIKE %s), 0)
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database()"""
JOURNAL_COUNT_EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT u.email, COUNT(j.id)%"


@pytest.fixture
def vibes(pg_server, tmp_path):
    name, dsn = vibes_copy(pg_server)
    baseline = snapshot(dsn, tmp_path / "baseline.json")
    with vibes_service(dsn, id_mode="integer") as api:
        yield dsn, baseline, ("--api-url", api.base_url)
    pg_server.drop_database(name)


def _reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database"
                     " WHERE datname = current_database()), 0)")


def _calls(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return tuple(conn.execute(CALLS_SQL, (JOURNAL_COUNT_EXPLAIN,)).fetchone())


def test_measured_ahead_once_on_read_only_connections(vibes, pytester, monkeypatch):
    """Every orphan search and the key query's runs happen once in the run (ahead, read by the
    checks and the triggers), over the checks' own read-only connections with their timeouts."""
    dsn, baseline, api = vibes
    pytester.makepyfile(connections_seen=CONNECTIONS_SEEN)
    _reset(dsn)
    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), *api, "-p", "connections_seen")

    assert result.ret == 0, result.stdout.str()[-3000:]
    seen = json.loads((pytester.path / "ahead.json").read_text())
    assert len(seen) == 2
    assert all(c == {"type": "ReadOnlyConnection", "read_only": True,
                     "statement_timeout_ms": 30000, "lock_timeout_ms": 500,
                     "cursor": "ReadOnlyCursor"} for c in seen), seen
    searches, explains = _calls(dsn)
    foreign_keys = [t for t in found if t.startswith("test_orphans::test_no_orphans[")]
    assert searches == len(foreign_keys) == 9
    assert 1 <= explains <= 7  # [performance] repeats: one measurement, not one per reader
    # the checks that read nothing measured ahead ran first, while the key queries were timed
    order = list(found)
    last_preflight = max(i for i, t in enumerate(order) if t.startswith("test_preflight::"))
    first_performance = min(i for i, t in enumerate(order) if t.startswith("test_performance::"))
    assert last_preflight < first_performance


def test_a_family_no_collected_check_reads_is_not_measured(vibes, pytester, monkeypatch):
    """`pytest checks/test_preflight.py` searches no orphans and digests no table."""
    dsn, baseline, api = vibes
    _reset(dsn)
    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), *api,
                               modules=("test_preflight.py",))

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert found and all(t.startswith("test_preflight::") for t in found)
    with psycopg.connect(dsn, autocommit=True) as conn:
        digests = conn.execute(
            "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON"
            " d.oid = s.dbid WHERE d.datname = current_database() AND s.query LIKE"
            " '%hash_record_extended%'").fetchone()[0]
    assert _calls(dsn)[0] == 0 and digests == 0
