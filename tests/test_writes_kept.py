"""The writer drills' "Every acknowledged write is in the database" step, run as a drill: it
passes when every acknowledged journal is there and fails, naming the loss, when one is not."""
from __future__ import annotations

import psycopg
import pytest
from examples.checkrun import vibes_copy

DRILL = '''
import os

from rollbook.pytest_plugin.writes_kept import acknowledged_writes_kept
from rollbook.runbook.writers import Tally


def test_drill(drill):
    """Writers during a rollback."""
    titles = os.environ["ACKNOWLEDGED_TITLES"].split("|")
    tally = Tally(attempted=len(titles) + 1, acknowledged=titles, failed=1)
    with acknowledged_writes_kept(drill, os.environ["WRITES_DSN"], tally) as counts:
        assert counts["acknowledged"] == len(titles)
'''


@pytest.fixture
def database(pg_server):
    name, dsn = vibes_copy(pg_server)
    with psycopg.connect(dsn) as conn:
        kept = conn.execute("SELECT title FROM journals ORDER BY id LIMIT 2").fetchall()
    yield dsn, [title for (title,) in kept]
    pg_server.drop_database(name)


def run_drill(pytester, monkeypatch, dsn: str, titles: list[str]):
    monkeypatch.setenv("WRITES_DSN", dsn)
    monkeypatch.setenv("ACKNOWLEDGED_TITLES", "|".join(titles))
    pytester.makepyfile(test_drill=DRILL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    record = (pytester.path / "reports" / "latest" / "rollback-record.md").read_text()
    return result, record


def test_every_acknowledged_write_found_passes(database, pytester, monkeypatch):
    dsn, kept = database
    result, record = run_drill(pytester, monkeypatch, dsn, kept)
    result.assert_outcomes(passed=1)
    assert ("written 3, refused 0, failed 1, acknowledged 2, kept 2, lost 0" in record)


def test_an_acknowledged_write_the_database_lost_fails_the_step(database, pytester,
                                                                 monkeypatch):
    dsn, kept = database
    result, record = run_drill(pytester, monkeypatch, dsn, [*kept, "a journal never saved"])
    result.assert_outcomes(failed=1)
    assert "acknowledged 3, kept 2, lost 1" in record
    assert "1 acknowledged writes are missing" in record
