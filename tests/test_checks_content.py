"""Content: key-range digests add up to the table's fingerprint, and a mismatch is narrowed down
by bisection to the ranges that changed, with a few queries."""
from __future__ import annotations

import dataclasses

import pytest

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
