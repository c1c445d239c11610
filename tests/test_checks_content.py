"""Content: key-range digests add up to the table's fingerprint, and a mismatch is narrowed down
by bisection to the ranges that changed, with a few queries."""
from __future__ import annotations

import dataclasses
from itertools import pairwise

import pytest
from examples.checkrun import run_checks, snapshot, vibes_copy
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.measure import baseline, fingerprint
from rollbook.pg.connect import connect
from rollbook.verdicts import content
from rollbook.verdicts.measured import Measured


@pytest.fixture
def notes(scratch_dsn):
    """10,000 notes and their baseline, with key-range digests (64 leaves of 157 ids)."""
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text, n numeric)")
        conn.execute("INSERT INTO notes SELECT g, md5(g::text), g / 7.0"
                     " FROM generate_series(1, 10000) g")
    with connect(scratch_dsn, read_only=True) as conn:
        before = baseline.capture(conn, [])
        before.facts = {"leaves": content.capture_all(conn, before, before.schema_snapshot(),
                                                      leaves=64)}
    return scratch_dsn, before


def compare(dsn, before):
    with connect(dsn, read_only=True) as conn:
        return content.compare_table(Measured(conn, before), "notes")


def table_reads(result):
    """The statements that read the table (the others pin session settings)."""
    return [statement for statement in result.sql if "FROM" in statement]


def test_leaf_digests_add_up_to_the_table_fingerprint(notes):
    dsn, before = notes
    info = before.facts["leaves"]["notes"]
    total = sum(int(digest, 16) for _, digest in info["leaves"].values()) % 2 ** 64
    assert (info["lo"], info["hi"], info["width"], len(info["leaves"])) == (1, 10000, 157, 64)
    assert sum(rows for rows, _ in info["leaves"].values()) == 10000
    assert format(total, "016x") == before.tables["notes"].digest
    with connect(dsn, read_only=True) as conn:
        whole = fingerprint.measure_table(conn, "notes", algorithm=before.digest_algorithm)
    assert whole.selected == (10000, before.tables["notes"].digest)


def test_unchanged_table_passes_with_one_query(notes):
    result = compare(*notes)
    assert result.ok and len(table_reads(result)) == 1
    assert result.summary.startswith("notes: 10000 rows (id <= 10000) match the baseline")


def test_changed_rows_are_narrowed_down_to_their_key_ranges(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("UPDATE notes SET body = 'edited' WHERE id = 5000")
        conn.execute("DELETE FROM notes WHERE id IN (9421, 9422)")
        conn.execute("INSERT INTO notes VALUES (10001, 'added since', 0)")  # not a baseline row

    result = compare(dsn, before)

    assert not result.ok
    ranges = result.observed["differing_ranges"]
    assert ranges == [{"from": 4868, "to": 5024, "baseline_rows": 157, "rows": 157},
                      {"from": 9421, "to": 9577, "baseline_rows": 157, "rows": 155}]
    assert "Differs in 2 key range(s): id 4868..5024 (content changed); id 9421..9577 (157 ->" \
           " 155 rows)" in result.summary
    assert result.observed["bisection_queries"] <= 2 * 6  # two paths down a 64-leaf tree
    assert all("sum(" in statement for statement in table_reads(result))  # sums, never rows


def test_adjacent_differing_leaves_are_merged_and_the_first_leaf_is_open_below(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("UPDATE notes SET n = -1 WHERE id BETWEEN 100 AND 200")
        conn.execute("INSERT INTO notes VALUES (-5, 'below every baseline key', 0)")

    ranges = compare(dsn, before).observed["differing_ranges"]

    assert ranges == [{"from": None, "to": 314, "baseline_rows": 314, "rows": 315}]


def test_without_leaves_the_mismatch_is_reported_with_the_fix(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("UPDATE notes SET body = 'edited' WHERE id = 1")
    result = compare(dsn, dataclasses.replace(before, facts={}))
    assert not result.ok
    assert result.summary.endswith("Hint: the baseline has no key-range digests (take it with"
                                   " `rollbook snapshot`) to narrow this down")


def test_tables_without_an_integer_key_get_no_leaves(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE docs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), t text)")
        conn.execute("INSERT INTO docs (t) SELECT 'd' || g FROM generate_series(1, 10) g")
    with connect(scratch_dsn, read_only=True) as conn:
        before = baseline.capture(conn, [])
        assert content.capture_all(conn, before, before.schema_snapshot()) == {}


def compare_chunks(dsn, before, rows_per_chunk):
    chunks = content.plan_chunks(before, "notes", rows_per_chunk)
    with connect(dsn, read_only=True) as conn:
        run = Measured(conn, before, chunked=content.chunked_tables(before, rows_per_chunk))
        return chunks, [content.compare_chunk(run, chunk) for chunk in chunks]


@settings(max_examples=25, deadline=None)
@given(rows_per_chunk=st.integers(min_value=1, max_value=12_000))
def test_chunks_are_whole_runs_of_leaves_covering_the_table(rows_per_chunk):
    leaves = {str(i): [157, "0"] for i in range(63)} | {"63": [109, "0"]}
    info = {"key": "id", "lo": 1, "hi": 10000, "width": 157, "leaves": leaves}
    before = baseline.Baseline({}, [], {}, {"notes": baseline.TableBaseline(
        rows=10000, digest="0", key="id", key_max=10000, key_columns=("id",))}, {}, facts={"leaves": {"notes": info}})

    chunks = content.plan_chunks(before, "notes", rows_per_chunk)

    if rows_per_chunk > 157 * 63:  # not even the first 63 leaves reach it: one chunk
        assert chunks == [content.Chunk("notes")]
        return
    assert [(c.index, c.of) for c in chunks] == [(i, len(chunks)) for i in range(1, len(chunks) + 1)]
    assert chunks[0].first == 0 and chunks[-1].last == 64
    assert all(a.last == b.first for a, b in pairwise(chunks))
    assert all(157 * (c.last - c.first) >= rows_per_chunk for c in chunks[:-1])
    assert [c.label for c in chunks][-1] == f"notes[{len(chunks)}/{len(chunks)}]"


def test_chunks_of_an_unchanged_table_pass_each_reading_its_range_once(notes):
    dsn, before = notes
    chunks, results = compare_chunks(dsn, before, 2500)
    assert len(chunks) == 4 and all(r.ok for r in results), [r.summary for r in results]
    assert [len(table_reads(r)) for r in results] == [1, 1, 1, 1]
    assert results[0].summary.startswith("notes: 2512 rows (id <= 2512, chunk 1 of 4) match")
    assert "id 7537..10000, chunk 4 of 4" in results[-1].summary


def test_a_chunked_tables_count_statement_hashes_no_row(notes):
    dsn, before = notes
    with connect(dsn, read_only=True) as conn:
        counted = Measured(conn, before, chunked=frozenset({"notes"})).table("notes")
    assert counted.selected == (10000, None)
    assert not any("hash_record_extended" in statement for statement in counted.sql)


def test_a_changed_row_fails_only_its_chunk_and_is_bisected_there(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("UPDATE notes SET body = 'edited' WHERE id = 5000")

    chunks, results = compare_chunks(dsn, before, 2500)

    assert [r.ok for r in results] == [True, False, True, True]
    failed = results[1]
    assert failed.name == "content: notes[2/4]"
    assert failed.observed["differing_ranges"] == [
        {"from": 4868, "to": 5024, "baseline_rows": 157, "rows": 157}]
    assert "chunk 2 of 4" in failed.summary and "id 4868..5024 (content changed)" in failed.summary


def test_the_last_chunk_fails_when_the_leaves_do_not_add_up_to_the_table(notes):
    dsn, before = notes
    tampered = dataclasses.replace(before, tables={"notes": dataclasses.replace(
        before.tables["notes"], digest="0123456789abcdef")})
    _, results = compare_chunks(dsn, tampered, 2500)
    assert [r.ok for r in results] == [True, True, True, False]
    assert "do not add up to its table digest" in results[-1].summary
    assert "Hint: take the baseline again" in results[-1].summary


# Statements that hash journals' rows, from pg_stat_statements (seq_scan and idx_scan also
# count the planner's probes of the key index for a range's actual end; and PostgreSQL 18 files
# same-shaped statements on other tables under one entry, so only hashing ones are told apart)
JOURNAL_HASHING_SQL = """\
SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
WHERE query ~ '"journals" AS t' AND query ~ 'hash_record_extended'"""


def test_checks_split_a_table_into_chunk_items_each_read_once(pg_server, pytester,
                                                               monkeypatch, tmp_path):
    """With --content-chunk-rows 100, the tiny Vibes journals (500 rows) are five content items,
    each digested by one statement, and the counts' statement hashes no row; a changed journal
    fails its chunk alone."""
    name, dsn = vibes_copy(pg_server)
    args = ("--env", "prod.example", "--dsn", dsn, "--content-chunk-rows", "100", "--baseline",
            str(snapshot(dsn, tmp_path / "baseline.json")))
    with connect(dsn) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    result, found = run_checks(pytester, monkeypatch, *args,
                               modules=("test_counts.py", "test_content.py"))
    assert result.ret == 0 and found, result.stdout.str()[-3000:]
    journal_items = sorted(t for t in found if "test_baseline_rows_unchanged[journals" in t)
    assert journal_items == [f"test_content::test_baseline_rows_unchanged[journals[{i}/5]]"
                             for i in range(1, 6)]
    with connect(dsn) as conn:
        hashing = conn.execute(JOURNAL_HASHING_SQL).fetchone()[0]
    assert hashing == 5  # one per chunk; the counts' statement hashes none

    with connect(dsn) as conn:
        key = conn.execute("SELECT id FROM journals ORDER BY id OFFSET 250 LIMIT 1").fetchone()[0]
        conn.execute("UPDATE journals SET title = 'planted' WHERE id = %s", (key,))
    result, found = run_checks(pytester, monkeypatch, *args, modules=("test_content.py",))
    pg_server.drop_database(name)
    failures = {t for t, outcome in found.items() if outcome == "failed"}
    assert failures == {"test_content::test_baseline_rows_unchanged[journals[3/5]]"}, failures
    assert "chunk 3 of 5" in result.stdout.str()
    # named from the baseline's row digests alone
    assert f"rows by key (id): changed 1: {key} (all in the evidence)" in result.stdout.str()


def test_a_chunk_size_below_one_row_is_one_line_with_a_hint(pg_server, pytester, monkeypatch,
                                                            tmp_path):
    name, dsn = vibes_copy(pg_server)
    result, _ = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                           "--content-chunk-rows", "0", modules=("test_content.py",))
    pg_server.drop_database(name)
    assert result.ret == 4
    output = result.stdout.str() + result.stderr.str()
    assert "--content-chunk-rows 0: a chunk holds at least one row. Hint:" in output
    assert "Traceback" not in output


def test_chunks_of_a_table_whose_key_is_no_longer_an_integer_say_so(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("ALTER TABLE notes ALTER COLUMN id TYPE text")
    _, results = compare_chunks(dsn, before, 2500)
    assert not any(r.ok for r in results)
    assert results[0].summary.startswith("notes.id: key type changed: integer at baseline, text"
                                         " now, so the baseline rows (id <= 10000) cannot be")


def test_chunks_of_a_dropped_table_say_it_is_gone(notes):
    dsn, before = notes
    with connect(dsn) as conn:
        conn.execute("DROP TABLE notes")
    _, results = compare_chunks(dsn, before, 2500)
    assert {r.summary for r in results} == {"table notes does not exist (had 10000 rows at "
                                            "baseline)"}
