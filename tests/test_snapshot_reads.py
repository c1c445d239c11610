"""`rollbook snapshot` reads each table once: count, digest, key and time range and the
key-range digests come from one scan (pg_stat_user_tables' seq_scan before and after), and
what it records equals what the separate statements it replaced measure."""
from __future__ import annotations

from examples.checkrun import table_scans, vibes_copy

from rollbook.measure import fingerprint, snapshot
from rollbook.pg.connect import connect
from rollbook.settings.profile import Profile
from rollbook.verdicts import content, counts


def _take(dsn, tmp_path, rows):
    with connect(dsn, read_only=True) as conn:
        return snapshot.take(conn, Profile(name="bare", path=tmp_path / "bare.toml"), rows=rows)


def test_every_table_is_scanned_once(pg_server, tmp_path, monkeypatch):
    """The key queries' timed runs (the profile's and a key lookup per table) are the
    operator's workload, measured on purpose: left out here; alembic_version is also read for
    the revision."""
    monkeypatch.setattr(snapshot.plans, "measure_for_baseline", lambda *args: {})
    name, dsn = vibes_copy(pg_server)
    try:
        before = table_scans(dsn)
        taken = _take(dsn, tmp_path, rows=False)
        after = table_scans(dsn)
        scans = {t: after[t] - before[t] for t in after}
        assert scans.pop("alembic_version") == 2
        assert set(scans.values()) == {1}, scans
        assert taken.facts["leaves"] and taken.facts["time_ranges"]
        # row digests are one more read of each table (a COPY in key order)
        before = table_scans(dsn)
        with_rows = _take(dsn, tmp_path, rows=True)
        with_rows.rows_writer.close()
        after = table_scans(dsn)
        scans = {t: after[t] - before[t] for t in after if t != "alembic_version"}
        assert set(scans.values()) <= {1, 2}, scans
    finally:
        pg_server.drop_database(name)


def test_one_read_records_what_the_separate_statements_measure(pg_server, tmp_path):
    name, dsn = vibes_copy(pg_server)
    try:
        taken = _take(dsn, tmp_path, rows=False)
        with connect(dsn, read_only=True) as conn:
            schema = taken.schema_snapshot()
            assert taken.facts["leaves"] == content.capture_all(conn, taken, schema)
            pairs = [tuple(k.split(".", 1)) for k in taken.facts["time_ranges"]]
            assert taken.facts["time_ranges"] == counts.capture_time_ranges(conn, pairs)
            for table, before in taken.tables.items():
                measured = fingerprint.measure_table(conn, table, algorithm=taken.digest_algorithm,
                                                     key=before.key)
                assert (measured.rows, measured.selected[1]) == (before.rows, before.digest)
                assert before.key_max == (measured.key_range[1] if measured.key_range else None)
    finally:
        pg_server.drop_database(name)
