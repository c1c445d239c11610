"""`rollbook snapshot` reads each table once: count, digest, key and time range, the
key-range digests and the row digests come from one scan (pg_stat_user_tables' seq_scan and
idx_scan before and after), and what it records equals what the separate statements it
replaced measure; the row digests it writes along are those written on their own."""
from __future__ import annotations

from examples.checkrun import index_scans, table_scans, vibes_copy

from rollbook.measure import fingerprint, row_digests, snapshot
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
        # row digests ride the same read: a table whose key is one integer column is read one
        # statement a block (the next rows along its index: one index scan, or a sequential
        # scan of a table too small for it), after its key's two ends; any other table once
        before, indexed = table_scans(dsn), index_scans(dsn)
        with_rows = _take(dsn, tmp_path, rows=True)
        after, indexed_after = table_scans(dsn), index_scans(dsn)
        scans = {t: after[t] - before[t] for t in after if t != "alembic_version"}
        layouts = with_rows.rows_writer.tables
        for table, scanned in scans.items():
            name = table if table in layouts else f"public.{table}"
            blocks = len(layouts[name].blocks)
            if layouts[name].form != "text":  # a last statement finds no rows after a full block
                reads = scanned + indexed_after[table] - indexed[table] - 2
                assert reads in {blocks, blocks + 1} and reads >= 1, (table, scanned, blocks)
            else:
                assert scanned == 1, (table, scanned)
        assert with_rows.tables == taken.tables and with_rows.facts == taken.facts
        apart = row_digests.Writer()
        with connect(dsn, read_only=True) as conn:
            for table in sorted(with_rows.tables):
                apart.add(conn, table, with_rows.whole_key(table), with_rows.digest_algorithm)
        assert apart.facts("x.rows") == with_rows.rows_writer.facts("x.rows")
        with_rows.rows_writer.file.seek(0)
        apart.file.seek(0)
        assert apart.file.read() == with_rows.rows_writer.file.read()
        apart.close()
        with_rows.rows_writer.close()
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


def test_the_exact_count_decides_when_the_estimate_was_wrong(pg_server, tmp_path, monkeypatch):
    """Row digests ride the read when the planner's estimate is below row_digests_below; an
    estimate above with a count below reads them apart (the same sidecar), an estimate below with
    a count above keeps none."""
    name, dsn = vibes_copy(pg_server)
    try:
        with connect(dsn, read_only=True) as conn:
            total = sum(t.rows for t in snapshot.take(
                conn, Profile(name="bare", path=tmp_path / "bare.toml"), rows=False
            ).tables.values())

        def take(estimate, below):
            monkeypatch.setattr(snapshot, "_estimated_rows", lambda *args: estimate)
            profile = Profile(name="bare", path=tmp_path / "bare.toml", row_digests_below=below)
            with connect(dsn, read_only=True) as conn:
                return snapshot.take(conn, profile)

        ridden, apart = take(0, total + 1), take(total + 1, total + 1)
        assert ridden.rows_writer is not None and apart.rows_writer is not None
        assert apart.rows_writer.facts("x.rows") == ridden.rows_writer.facts("x.rows")
        assert take(0, total).rows_writer is None
        assert take(total, total).rows_writer is None
        ridden.rows_writer.close()
        apart.rows_writer.close()
    finally:
        pg_server.drop_database(name)
