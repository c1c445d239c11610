"""Row digests' keys compare as PostgreSQL orders them, whatever their form
(measure/row_digests_keys.py): a composite key of integers (negatives, bigints) as tuples read
along its index block by block, any other key as its row text in the "C" collation; the
leaves' counts and sums found along the way equal the survey's own GROUP BY; the
rows named equal an EXCEPT between the two tables; a sidecar of the earlier layout still loads
and names rows."""
from __future__ import annotations

import hashlib
import json
import zlib

import pytest
from examples.row_baselines import take
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.measure import baseline, fingerprint, row_digests, row_digests_read, survey
from rollbook.pg.connect import connect
from rollbook.verdicts import content, row_diff
from rollbook.verdicts.measured import Measured

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
# the survey's leaves subtract the key's minimum in bigint: keys within half its range
BIG = 2 ** 62 - 1
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=6)


def _written(dsn, table, key, first, tmp_path):
    """(the layout and kept rows of `table`'s row digests, its survey with them, without)."""
    with connect(dsn, read_only=True) as conn:
        writer = row_digests.Writer()
        ridden = survey.survey_table(conn, table, fingerprint.HASH_RECORD, first, None, 8,
                                     (writer, key))
        alone = survey.survey_table(conn, table, fingerprint.HASH_RECORD, first, None, 8)
    writer.place(tmp_path / "t.rows")
    writer.close()
    layout = writer.tables[table]
    return layout, list(row_digests_read.kept_rows(tmp_path / "t.rows", layout)), ridden, alone


def _same_survey(ridden, alone):
    assert (ridden.rows, ridden.digest, ridden.key_range, ridden.leaves) == (
        alone.rows, alone.digest, alone.key_range, alone.leaves)


@SETTINGS
@given(keys=st.sets(st.tuples(st.integers(-BIG, BIG), st.integers(-2 ** 31, 2 ** 31 - 1)),
                    max_size=60), block=st.integers(1, 9))
def test_integer_keys_kept_in_postgresqls_order(scratch_dsn, tmp_path, monkeypatch, keys, block):
    """Blocks of `block` rows read after the last block's key: every row once, as tuples in
    PostgreSQL's ORDER BY a, b; the leaves bisected from the keys are the GROUP BY's."""
    monkeypatch.setattr(row_digests, "BLOCK_ROWS", block)
    with connect(scratch_dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS pairs")
        conn.execute("CREATE TABLE pairs (a bigint, b int, body text, PRIMARY KEY (a, b))")
        conn.cursor().executemany("INSERT INTO pairs VALUES (%s, %s, md5(%s::text))",
                                  [(a, b, a) for a, b in keys])
        ordered = conn.execute("SELECT a, b FROM pairs ORDER BY a, b").fetchall()
    layout, kept, ridden, alone = _written(scratch_dsn, "pairs", ("a", "b"), "a", tmp_path)
    assert layout.form == "integers"
    assert [k for k, _ in kept] == [tuple(r) for r in ordered]
    assert [b[3] for b in layout.blocks] == [block] * (len(keys) // block) + (
        [len(keys) % block] if len(keys) % block else [])
    assert fingerprint.hex_digest(sum(h for _, h in kept)) == alone.digest
    _same_survey(ridden, alone)


@SETTINGS
@given(keys=st.sets(st.tuples(st.integers(-5, 5), TEXT), max_size=40), block=st.integers(1, 9))
def test_text_keys_kept_in_the_c_order_of_their_row_text(scratch_dsn, tmp_path, monkeypatch,
                                                         keys, block):
    """A key (int, text) is kept as its row text in the "C" collation, which Python's string
    order is (the merge's order), not the columns' own (-1 before -5, 10 before 9); its leaves
    (over the integer first column) are summed in SQL and equal the GROUP BY's. (This server
    has no collation ordering otherwise than "C": no ICU, no other locale.)"""
    monkeypatch.setattr(row_digests, "BLOCK_ROWS", block)
    with connect(scratch_dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS words")
        conn.execute("CREATE TABLE words (n int, w text, note text, PRIMARY KEY (n, w))")
        conn.cursor().executemany("INSERT INTO words VALUES (%s, %s, 'x')", list(keys))
    with connect(scratch_dsn, read_only=True) as conn:
        conn.execute(fingerprint.PIN_OUTPUT_SETTINGS)
        ordered = [r[0] for r in conn.execute(
            'SELECT ROW(n, w)::text FROM words ORDER BY ROW(n, w)::text COLLATE "C"')]
    layout, kept, ridden, alone = _written(scratch_dsn, "words", ("n", "w"), "n", tmp_path)
    assert layout.form == "text"
    assert [k for k, _ in kept] == ordered == sorted(ordered)
    _same_survey(ridden, alone)


def test_a_keyless_table_of_integers_keeps_its_null_rows(scratch_dsn, tmp_path):
    """Every column is the key of a table without one; a NULL in it makes it row text, so no
    row is lost."""
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE loose (a int, b int)")
        conn.execute("INSERT INTO loose VALUES (1, 2), (1, NULL), (NULL, NULL), (1, 2)")
    layout, kept, ridden, alone = _written(scratch_dsn, "loose", ("a", "b"), None, tmp_path)
    assert layout.form == "text" and len(kept) == 4
    _same_survey(ridden, alone)


PAIRS = """
CREATE TABLE pairs (a bigint, b int, body text, PRIMARY KEY (a, b));
INSERT INTO pairs SELECT (g % 40 - 20) * 1000000000000, g - 1500, md5(g::text)
  FROM generate_series(1, 3000) g;
"""


@pytest.fixture
def pairs(scratch_dsn, tmp_path):
    return scratch_dsn, take(scratch_dsn, tmp_path, PAIRS)


def _pair(key):
    return ((key % 40 - 20) * 1000000000000, key - 1500)


@SETTINGS
@given(updated=st.sets(st.integers(1, 3000), max_size=20),
       deleted=st.sets(st.integers(1, 3000), max_size=20),
       added=st.sets(st.tuples(st.integers(-BIG, BIG), st.integers(-9, 9)), max_size=5))
def test_composite_keys_named_equal_an_except_of_the_two_tables(pairs, updated, deleted, added):
    """diff-rows' keys against SQL's own EXCEPT between the baseline's copy and the changed
    table (rows added beyond the baseline's largest key included)."""
    dsn, before = pairs
    with connect(dsn) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE was ON COMMIT DROP AS SELECT * FROM pairs")
        conn.cursor().executemany("UPDATE pairs SET body = body || '!' WHERE (a, b) = (%s, %s)",
                                  [_pair(k) for k in updated])
        conn.cursor().executemany("DELETE FROM pairs WHERE (a, b) = (%s, %s)",
                                  [_pair(k) for k in deleted])
        conn.cursor().executemany("INSERT INTO pairs VALUES (%s, %s, 'added')"
                                  " ON CONFLICT DO NOTHING", list(added))
        old = {tuple(r) for r in conn.execute(
            "SELECT a, b FROM (SELECT * FROM was EXCEPT SELECT * FROM pairs) d")}
        new = {tuple(r) for r in conn.execute(
            "SELECT a, b FROM (SELECT * FROM pairs EXCEPT SELECT * FROM was) d")}
        conn.execute("COMMIT")
        try:
            with connect(dsn, read_only=True) as reader:
                found = row_diff.diff_table(reader, before, "pairs")
            assert found.why is None
            assert set(found.changed) == old & new
            assert set(found.missing) == old - new
            assert set(found.added) == new - old
        finally:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM pairs")
            conn.execute(PAIRS.split(";")[1])
            conn.execute("COMMIT")


def _as_format_1(before: baseline.Baseline) -> None:
    """Rewrite `before`'s sidecar as the earlier layout wrote it (each block one compressed
    text of lines "key TAB hash", a composite key as its row text) and save it again."""
    facts = before.facts["row_digests"]
    out, tables = b"", {}
    for table in facts["tables"]:
        layout = before.row_layout(table)
        kept = list(row_digests_read.kept_rows(before.rows_path, layout))
        if layout.form == "integers":  # kept as row text, in its order
            kept = sorted((f"({','.join(map(str, k))})", h) for k, h in kept)
        lines = "\n".join(f"{k}\t{h}" for k, h in kept).encode()
        packed = zlib.compress(lines)
        tables[table] = {"key": list(layout.key), "integer": layout.form == "integer",
                         "rows": len(kept), "blocks": [[kept[0][0], len(out), len(packed),
                                                        len(kept)]]}
        out += packed
    before.rows_path.write_bytes(out)
    facts.update(tables=tables, bytes=len(out), sha256=hashlib.sha256(out).hexdigest())
    before.save(before.rows_path.with_suffix(".json"))


def test_a_sidecar_of_the_earlier_layout_still_names_rows(pairs):
    dsn, before = pairs
    _as_format_1(before)
    again = baseline.load(before.rows_path.with_suffix(".json"))
    assert again.row_layout("pairs").form == "text"
    assert "format" not in json.dumps(again.facts["row_digests"]["tables"])
    with connect(dsn) as conn:
        conn.execute("UPDATE pairs SET body = 'x' WHERE (a, b) = (%s, %s)", _pair(7))
    try:
        with connect(dsn, read_only=True) as reader:
            rows = content.compare_table(Measured(reader, again), "pairs").observed["rows"]
        a, b = _pair(7)
        assert (rows["changed"], rows["missing"], rows["added"]) == ([f"({a},{b})"], [], [])
    finally:
        with connect(dsn) as conn:
            conn.execute("UPDATE pairs SET body = md5(7::text) WHERE (a, b) = (%s, %s)",
                         _pair(7))


def test_changed_composite_keys_rows_are_found_by_their_tuples(pairs):
    """Content's bisection narrows a composite key of integers to the differing ranges of its
    first column (not every row merged); diff-rows' --against reads the rows of changed tuple
    keys (a VALUES list): found in both databases (here the same one), the live row told apart
    from the baseline's."""
    dsn, before = pairs
    keys = [_pair(7), _pair(2999)]
    with connect(dsn) as conn:
        conn.cursor().executemany("UPDATE pairs SET body = 'x' WHERE (a, b) = (%s, %s)", keys)
    try:
        with connect(dsn, read_only=True) as reader:
            named = content.compare_table(Measured(reader, before), "pairs").observed["rows"]
            assert sorted(named["changed"]) == sorted(keys)
            assert named["baseline_rows_compared"] < 3000 / 4
            found = row_diff.diff_table(reader, before, "pairs")
            assert sorted(found.changed) == sorted(keys)
            row_diff.add_columns(found, reader, reader, before)
        assert not found.absent_old and found.not_baseline == set(keys)
        assert set(found.columns) == set(keys)
    finally:
        with connect(dsn) as conn:
            conn.cursor().executemany(
                "UPDATE pairs SET body = md5((b + 1500)::text) WHERE (a, b) = (%s, %s)", keys)
