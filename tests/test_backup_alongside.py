"""The drill's pre-migration pg_dump runs alongside the baseline's reads of the tables, never
alongside the timing of its key queries: `snapshot.take(before_plans=)` is called after every
table was read (survey and row digests) and before the first key query is timed."""
from __future__ import annotations

from examples.checkrun import vibes_database

from rollbook.measure import snapshot
from rollbook.pg.connect import connect
from rollbook.settings.profile import Profile


def _recording(monkeypatch, calls: list[str]) -> None:
    """Each table read and the key queries' timing append to `calls`, then run as they do."""
    survey, add = snapshot.survey.survey_table, snapshot.row_digests.Writer.add
    plans = snapshot.plans.measure_for_baseline

    def surveyed(conn, table, *args):
        calls.append(f"survey {table}")
        return survey(conn, table, *args)

    def digested(self, conn, table, *args):
        calls.append(f"row digests {table}")
        return add(self, conn, table, *args)

    def timed(*args):
        calls.append("key queries timed")
        return plans(*args)

    monkeypatch.setattr(snapshot.survey, "survey_table", surveyed)
    monkeypatch.setattr(snapshot.row_digests.Writer, "add", digested)
    monkeypatch.setattr(snapshot.plans, "measure_for_baseline", timed)


def test_before_plans_waits_between_the_reads_and_the_timing(pg_server, tmp_path,
                                                              monkeypatch):
    calls: list[str] = []
    _recording(monkeypatch, calls)
    profile = Profile(name="bare", path=tmp_path / "bare.toml")
    with vibes_database(pg_server) as dsn, connect(dsn, read_only=True) as conn:
        taken = snapshot.take(conn, profile, rows=True,
                              before_plans=lambda: calls.append("before plans"))
        taken.rows_writer.close()
    reads = [c for c in calls if c.startswith(("survey ", "row digests "))]
    assert {c.split(" ", 1)[1] for c in reads if c.startswith("survey ")} == set(taken.tables)
    assert calls == [*reads, "before plans", "key queries timed"], calls
    assert taken.plans is not None
