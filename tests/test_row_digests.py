"""Row digests: the baseline keeps each row's key and hash in a compressed sidecar, so content
names the rows that changed, went missing or were added, by key, from the baseline alone; a
tampered sidecar is refused in one line; the pytest process holds one block, not the table."""
from __future__ import annotations

import tracemalloc

import pytest
from examples.checkrun import snapshot, vibes_copy
from examples.row_baselines import take
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook import cli
from rollbook.errors import BaselineError
from rollbook.measure import baseline, fingerprint, row_digests, row_digests_read
from rollbook.pg.connect import connect
from rollbook.verdicts import content
from rollbook.verdicts.measured import Measured

NOTES = """
CREATE TABLE notes (id int PRIMARY KEY, body text, n numeric);
INSERT INTO notes SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 10000) g
  WHERE g <> 5000;
"""
COMPOSITE = """
CREATE TABLE models (workspace text NOT NULL, name text NOT NULL, note text,
                     PRIMARY KEY (workspace, name));
INSERT INTO models SELECT 'default', 'model-' || g, 'n' || g FROM generate_series(1, 300) g;
INSERT INTO models VALUES (E'tab\\there', 'quote"d, (paren)', 'odd key');
CREATE TABLE audit (happened_at timestamptz, what text);
INSERT INTO audit SELECT timestamptz '2024-01-01' + g * interval '1 hour', 'did ' || g
  FROM generate_series(1, 40) g;
"""


def compare(dsn, before, table):
    with connect(dsn, read_only=True) as conn:
        return content.compare_table(Measured(conn, before), table)


def seeded(schema):
    """A fixture: (DSN, baseline) of a scratch database after `schema`."""
    @pytest.fixture
    def fixture(scratch_dsn, tmp_path):
        return scratch_dsn, take(scratch_dsn, tmp_path, schema)
    return fixture


notes = seeded(NOTES)
composite = seeded(COMPOSITE)


def test_sidecar_hashes_add_up_to_the_table_digest(notes):
    dsn, before = notes
    layout = before.row_layout("notes")
    kept = list(row_digests_read.kept_rows(before.rows_path, layout))
    assert [k for k, _ in kept] == [g for g in range(1, 10001) if g != 5000]
    assert layout.rows == len(kept) == before.tables["notes"].rows
    assert fingerprint.hex_digest(sum(h for _, h in kept)) == before.tables["notes"].digest
    assert before.facts["row_digests"]["file"] == "baseline.rows"
    # saved again elsewhere, the sidecar goes with it
    again = baseline.load(before.save(before.rows_path.parent / "copy" / "other.json"))
    assert again.rows_path.name == "other.rows"
    assert list(row_digests_read.kept_rows(again.rows_path, again.row_layout("notes"))) == kept


def test_unchanged_table_passes_without_reading_the_sidecar(notes):
    dsn, before = notes
    result = compare(dsn, before, "notes")
    assert result.ok and "rows" not in result.observed


def test_one_changed_one_deleted_one_added_row_named_by_key(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("UPDATE notes SET body = 'x' WHERE id = 4242")
        conn.execute("DELETE FROM notes WHERE id = 77")
        conn.execute("INSERT INTO notes VALUES (5000, 'back', 1)")
        conn.execute("INSERT INTO notes VALUES (20000, 'new since the baseline', 1)")
    result = compare(dsn, before, "notes")
    assert not result.ok
    rows = result.observed["rows"]
    assert (rows["changed"], rows["missing"], rows["added"]) == ([4242], [77], [5000])
    assert "rows by key (id): changed 1: 4242; missing 1: 77; added 1: 5000" in result.summary
    assert "key range" not in result.summary
    assert "Hint: `rollbook diff-rows --baseline BASELINE --against DSN`" in result.summary
    # bisection narrowed the rows read to the differing leaves, not the table
    assert rows["baseline_rows_compared"] < 1000


def test_many_changes_capped_on_screen_all_in_the_evidence(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("UPDATE notes SET n = n + 1 WHERE id % 100 = 0")
    result = compare(dsn, before, "notes")
    changed = result.observed["rows"]["changed"]
    # more ranges than bisection follows: every baseline row is compared
    assert result.observed["truncated"]
    assert changed == [g for g in range(100, 10001, 100) if g != 5000]
    assert "changed 99: 100, 200" in result.summary and "… 89 more" in result.summary
    assert "10000" not in result.summary.split("changed 99:")[1]


def test_composite_and_keyless_tables_named_by_whole_key(composite):
    scratch_dsn, before = composite
    with connect(scratch_dsn) as conn:
        conn.execute("UPDATE models SET note = 'edited' WHERE name = 'model-7'")
        conn.execute("DELETE FROM models WHERE workspace = E'tab\\there'")
        conn.execute("INSERT INTO models VALUES ('other', 'model-7', 'n7')")
        conn.execute("UPDATE audit SET what = 'undone' WHERE what = 'did 3'")
    result = compare(scratch_dsn, before, "models")
    rows = result.observed["rows"]
    assert rows["changed"] == ["(default,model-7)"]
    assert rows["missing"] == ['("tab\there","quote""d, (paren)")']
    assert rows["added"] == ["(other,model-7)"]
    assert "rows by key (workspace, name)" in result.summary
    audit = compare(scratch_dsn, before, "audit").observed["rows"]
    # a table without a key: its rows are their whole key, so a changed row is one missing,
    # one added
    assert len(audit["missing"]) == len(audit["added"]) == 1 and not audit["changed"]
    assert "did 3" in audit["missing"][0] and "undone" in audit["added"][0]


def test_rows_written_since_the_baseline_are_left_out_by_whole_key(composite):
    scratch_dsn, before = composite
    with connect(scratch_dsn) as conn:
        conn.execute("INSERT INTO models VALUES ('default', 'new-1', 'written on a revision')")
        conn.execute("DELETE FROM models WHERE name = 'model-9'")
    leave_out = {"models": (("workspace", "name"), ("(default,new-1)",))}
    with connect(scratch_dsn, read_only=True) as conn:
        result = content.compare_table(Measured(conn, before, leave_out=leave_out), "models")
    rows = result.observed["rows"]
    assert (rows["changed"], rows["missing"], rows["added"]) == ([], ["(default,model-9)"], [])


def test_tampered_sidecar_is_refused_in_one_line(notes, tmp_path):
    _, before = notes
    data = bytearray(before.rows_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    before.rows_path.write_bytes(bytes(data))
    with pytest.raises(BaselineError) as refused:
        baseline.load(tmp_path / "baseline.json")
    message = str(refused.value)
    assert "\n" not in message and "baseline.rows do not match the sha256" in message


def test_a_sidecar_format_newer_than_this_rollbook_is_refused_in_one_line(notes, tmp_path):
    _, before = notes
    before.facts["row_digests"]["tables"]["notes"]["format"] = row_digests.FORMAT + 1
    newer = before.save(before.rows_path.parent / "newer.json")  # its sha256 made anew
    with pytest.raises(BaselineError) as refused:
        baseline.load(newer)
    assert refused.value.message == (f"baseline {newer} keeps row digests in format "
                                     f"{row_digests.FORMAT + 1}, newer than this rollbook reads "
                                     f"(up to {row_digests.FORMAT}).")
    assert "Hint: upgrade rollbook" in refused.value.one_line()
    before.facts["row_digests"]["tables"]["notes"]["format"] = row_digests.FORMAT
    assert baseline.load(before.save(newer)).rows_path.is_file()  # the same file, readable


def test_missing_sidecar_is_refused_in_one_line(notes, tmp_path, capsys):
    dsn, before = notes
    before.rows_path.unlink()
    code = cli.main(["assess", "--env", "prod.example", "--dsn", dsn, "--no-api", "--no-watch",
                     "--baseline", str(tmp_path / "baseline.json")])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_REFUSED and len(err.splitlines()) == 1, err
    assert "baseline.rows, which does not exist" in err and "Traceback" not in err


def test_snapshot_keeps_row_digests_below_the_profile_size(pg_server, tmp_path):
    name, dsn = vibes_copy(pg_server)
    try:
        path = snapshot(dsn, tmp_path / "base.json")
        sidecar = tmp_path / "base.rows"
        taken = baseline.load(path)
        assert taken.rows_path == sidecar and sidecar.is_file()
        total = sum(t.rows for t in taken.tables.values())
        assert sum(layout["rows"] for layout in
                   taken.facts["row_digests"]["tables"].values()) == total
        assert cli.main(["snapshot", "--env", "prod.example", "--dsn", dsn, "--output",
                         str(tmp_path / "none.json"), "--no-row-digests"]) == 0
        assert not (tmp_path / "none.rows").exists()
        assert "row_digests" not in baseline.load(tmp_path / "none.json").facts
    finally:
        pg_server.drop_database(name)


def test_memory_does_not_grow_with_the_table(scratch_dsn):
    """Python's peak allocation while writing a table's row digests is one or two blocks (one
    packed while the next is read, as the threads run), not the table: 200,000 rows (4 blocks)
    and 1,000,000 rows (16 blocks) peak within 2.5x of each other (a peak that grew with the
    table would be 4x)."""
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE big (id bigint PRIMARY KEY, body text)")
        conn.execute("INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 200000) g")
        conn.execute("CREATE TABLE bigger (id bigint PRIMARY KEY, body text)")
        conn.execute("INSERT INTO bigger SELECT g, md5(g::text)"
                     " FROM generate_series(1, 1000000) g")
    peaks = {}
    with connect(scratch_dsn, read_only=True) as conn:
        for table in ("big", "bigger"):
            writer = row_digests.Writer()
            tracemalloc.start()
            writer.add(conn, table, ("id",), fingerprint.HASH_RECORD)
            peaks[table] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            writer.close()
    assert len(writer.tables["bigger"].blocks) == 16
    assert peaks["bigger"] < 8 * 2 ** 20
    assert peaks["bigger"] < peaks["big"] * 2.5


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updated=st.sets(st.integers(1, 10000), max_size=30),
       deleted=st.sets(st.integers(1, 10000), max_size=30),
       added=st.sets(st.integers(1, 10000), max_size=5))
def test_named_keys_equal_an_except_of_the_two_tables(notes, updated, deleted, added):
    """Against SQL's own EXCEPT between the baseline's copy and the changed table."""
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE was ON COMMIT DROP AS SELECT * FROM notes")
        conn.execute("UPDATE notes SET body = body || '!' WHERE id = ANY(%s)", [list(updated)])
        conn.execute("DELETE FROM notes WHERE id = ANY(%s)", [list(deleted)])
        conn.execute("INSERT INTO notes SELECT g, 'added', 0 FROM unnest(%s::int[]) g"
                     " ON CONFLICT DO NOTHING", [list(added)])
        old = {r[0] for r in conn.execute("SELECT id FROM (SELECT * FROM was EXCEPT"
                                          " SELECT * FROM notes) d").fetchall()}
        new = {r[0] for r in conn.execute("SELECT id FROM (SELECT * FROM notes EXCEPT"
                                          " SELECT * FROM was) d").fetchall()}
        conn.execute("COMMIT")
        try:
            result = compare(dsn, before, "notes")
            rows = result.observed.get("rows", {"changed": [], "missing": [], "added": []})
            assert set(rows["changed"]) == old & new
            assert set(rows["missing"]) == old - new
            assert set(rows["added"]) == new - old
            assert result.ok == (not old and not new)
        finally:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM notes")
            conn.execute("INSERT INTO notes SELECT g, md5(g::text), g / 7.0"
                         " FROM generate_series(1, 10000) g WHERE g <> 5000")
            conn.execute("COMMIT")


@pytest.mark.parametrize("rows", [200, 250])
def test_integer_key_blocks_cover_every_row_once(scratch_dsn, tmp_path, monkeypatch, rows):
    """A one-integer-key table is read a block at a time after the last block's key: blocks
    exactly full (200 rows, 100 a block) and not (250), sparse and negative keys."""
    monkeypatch.setattr(row_digests, "BLOCK_ROWS", 100)
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE sparse (id bigint PRIMARY KEY, body text)")
        conn.execute("INSERT INTO sparse SELECT g * 7 - 500, md5(g::text)"
                     " FROM generate_series(1, %s) g", [rows])
        expected = [r[0] for r in conn.execute("SELECT id FROM sparse ORDER BY id")]
    with connect(scratch_dsn, read_only=True) as conn:
        digest = fingerprint.measure_table(conn, "sparse",
                                           algorithm=fingerprint.HASH_RECORD).selected[1]
        writer = row_digests.Writer()
        writer.add(conn, "sparse", ("id",), fingerprint.HASH_RECORD)
    writer.place(tmp_path / "sparse.rows")
    writer.close()
    layout = writer.tables["sparse"]
    kept = list(row_digests_read.kept_rows(tmp_path / "sparse.rows", layout))
    assert [k for k, _ in kept] == expected and layout.rows == rows
    assert [b[3] for b in layout.blocks] == [100] * (rows // 100) + [rows % 100] * (rows % 100 > 0)
    assert fingerprint.hex_digest(sum(h for _, h in kept)) == digest


def test_tables_read_over_two_connections_keep_what_one_connection_keeps(
        scratch_dsn, tmp_path, monkeypatch):
    """`rollbook snapshot` reads the tables over two connections at once, both writing blocks
    into one sidecar: every table's count, digest and kept rows are those of one connection's
    read (small blocks, so the two tables' blocks lie interleaved in the file)."""
    monkeypatch.setattr(row_digests, "BLOCK_ROWS", 97)
    with connect(scratch_dsn) as conn:
        conn.execute(NOTES + COMPOSITE + "CREATE TABLE pairs (a int, b bigint, PRIMARY KEY (a, b));"
                     " INSERT INTO pairs SELECT g % 50, g FROM generate_series(1, 5000) g;")
    one = take(scratch_dsn, tmp_path / "one")
    two = take(scratch_dsn, tmp_path / "two", two_connections=True)
    assert two.tables == one.tables and two.facts["leaves"] == one.facts["leaves"]
    for table in ("notes", "models", "audit", "pairs"):
        kept = list(row_digests_read.kept_rows(one.rows_path, one.row_layout(table)))
        assert kept and list(row_digests_read.kept_rows(two.rows_path,
                                                        two.row_layout(table))) == kept
    offsets = sorted((block[1], table) for table in ("notes", "pairs")
                     for block in two.row_layout(table).blocks)
    assert len({table for _, table in offsets[:len(offsets) // 2]}) == 2  # read at once
