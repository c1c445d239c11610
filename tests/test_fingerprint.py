"""Row counts and content fingerprints, computed in one SQL statement per table."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollbook.errors import RollbookError
from rollbook.measure.fingerprint import (
    TableFingerprint,
    compare_fingerprints,
    fingerprint_table,
    fingerprint_tables,
)
from rollbook.pg.connect import connect

JOURNAL_APP = Path(__file__).parent / "schemas" / "journal_app.sql"
EMPTY_DIGEST = "0000000000000000"


@pytest.fixture
def conn(scratch_dsn):
    """A connection to a scratch database holding the clean journal_app schema."""
    with connect(scratch_dsn) as conn:
        conn.execute(JOURNAL_APP.read_text())
        yield conn


def test_unchanged_tables_match_their_fingerprints(conn):
    expected = fingerprint_tables(conn, ["users", "journals", "tags"])

    results = compare_fingerprints(conn, expected)

    assert [r.ok for r in results] == [True, True, True]
    assert results[1].summary == (
        f"journals: 100 rows match the baseline (digest {expected['journals'].digest})")
    assert results[1].sql[-1] == (
        "SELECT count(*), coalesce(sum(('x' || left(md5(ROW(\"t\".\"body\", \"t\".\"id\","
        " \"t\".\"title\", \"t\".\"user_id\")::text), 16))::bit(64)::bigint), 0)"
        ' FROM "public"."journals" AS t')
    assert expected["journals"].rows == 100
    assert len(expected["journals"].digest) == 16


def test_fingerprint_round_trips_through_json(conn):
    fp = fingerprint_table(conn, "journals", key="id")
    again = TableFingerprint.from_dict(json.loads(json.dumps(fp.to_dict())))

    assert again == fp
    assert again.key_range == (1, 100)


def test_one_changed_row_changes_the_digest_but_not_the_count(conn):
    expected = fingerprint_tables(conn, ["journals"])
    conn.execute("UPDATE journals SET title = 'entry 7 (edited)' WHERE id = 7")

    [result] = compare_fingerprints(conn, expected)

    assert not result.ok
    assert result.summary.startswith(
        "journals: rows differ from the baseline: same row count (100) but the content of at"
        f" least one row changed, digest {expected['journals'].digest} -> ")
    assert result.observed["found"]["rows"] == 100


def test_one_deleted_row_changes_count_and_digest(conn):
    expected = fingerprint_tables(conn, ["journals"])
    conn.execute("DELETE FROM journal_tags WHERE journal_id = 42; DELETE FROM journals WHERE id = 42")

    [result] = compare_fingerprints(conn, expected)

    assert not result.ok
    assert "journals: rows differ from the baseline: row count 100 -> 99, digest" in result.summary
    assert result.observed["found"]["digest"] != expected["journals"].digest


def test_duplicated_rows_do_not_cancel_out(conn):
    conn.execute("CREATE TABLE events (kind text, n integer)")
    conn.execute("INSERT INTO events VALUES ('login', 1)")
    once = fingerprint_table(conn, "events")
    conn.execute("INSERT INTO events VALUES ('login', 1)")
    twice = fingerprint_table(conn, "events")
    conn.execute("UPDATE events SET n = 2")
    other_pair = fingerprint_table(conn, "events")

    assert (once.rows, twice.rows) == (1, 2)
    # XOR of two equal row hashes would be zero, and every pair of equal rows would collide
    assert twice.digest not in (EMPTY_DIGEST, once.digest)
    assert int(twice.digest, 16) == (2 * int(once.digest, 16)) % 2 ** 64
    assert other_pair.rows == 2 and other_pair.digest != twice.digest


def test_same_rows_in_another_column_order_and_physical_order_match(conn):
    conn.execute("""
        CREATE TABLE a (id integer, title text, at timestamptz, note text);
        CREATE TABLE b (note text, at timestamptz, title text, id integer);
        INSERT INTO a SELECT g, 'row ' || g, timestamptz '2024-05-01 12:00+02' + g * interval '1 s',
                             CASE WHEN g % 2 = 0 THEN NULL ELSE '' END
                      FROM generate_series(1, 500) g;
        INSERT INTO b (id, title, at, note) SELECT id, title, at, note FROM a ORDER BY id DESC;
        ALTER TABLE a ADD COLUMN dropped_later integer;
        ALTER TABLE a DROP COLUMN dropped_later""")

    a, b = fingerprint_table(conn, "a"), fingerprint_table(conn, "b")

    assert (a.rows, a.digest) == (b.rows, b.digest) == (500, a.digest)
    assert a.digest != EMPTY_DIGEST


def test_null_and_empty_string_are_different_content(conn):
    conn.execute("CREATE TABLE n (v text); INSERT INTO n VALUES (NULL)")
    with_null = fingerprint_table(conn, "n")
    conn.execute("UPDATE n SET v = ''")

    assert fingerprint_table(conn, "n").digest != with_null.digest


def test_digest_does_not_depend_on_session_settings(conn):
    conn.execute("SET TimeZone = 'Asia/Tokyo'; SET DateStyle = 'German'")
    tokyo = fingerprint_table(conn, "users")
    conn.execute("SET TimeZone = 'America/Lima'; SET DateStyle = 'SQL, MDY'")

    assert fingerprint_table(conn, "users") == tokyo
    # the pinned settings were local to the fingerprint's transaction
    assert conn.execute("SHOW TimeZone").fetchone() == ("America/Lima",)


def test_key_range_leaves_out_rows_added_after_the_baseline(conn):
    expected = {"journals": fingerprint_table(conn, "journals", key="id")}
    conn.execute("INSERT INTO journals (user_id, title) SELECT 1, 'later' FROM generate_series(1, 5)")

    [result] = compare_fingerprints(conn, expected)

    assert result.ok, result.summary
    assert result.summary.startswith("journals: 100 rows with id in [1, 100] match the baseline")
    assert result.sql[-1].endswith('FROM "public"."journals" AS t WHERE "t"."id" BETWEEN 1 AND 100')


def test_key_range_narrows_a_difference_down_by_bisection(conn):
    halves = [fingerprint_table(conn, "journals", key_range=r) for r in ((1, 50), (51, 100))]
    conn.execute("UPDATE journals SET body = 'changed' WHERE id = 64")

    results = compare_fingerprints(conn, {str(i): fp for i, fp in enumerate(halves)})

    assert [r.ok for r in results] == [True, False]
    assert results[1].summary.startswith("journals: rows with id in [51, 100] differ")
    assert halves[0].key == "id"  # the primary key, found in the catalog


def test_open_and_empty_key_ranges(conn):
    assert fingerprint_table(conn, "journals", key_range=(None, 10)).rows == 10
    assert fingerprint_table(conn, "journals", key_range=(91, None)).rows == 10
    conn.execute("CREATE TABLE later (id integer PRIMARY KEY)")
    empty = fingerprint_table(conn, "later", key="id")
    conn.execute("INSERT INTO later VALUES (1)")

    assert empty.key_range == (None, None)
    assert fingerprint_table(conn, "later", key="id", key_range=empty.key_range).rows == 0


def test_missing_table_is_a_failed_comparison_not_a_crash(conn):
    expected = fingerprint_tables(conn, ["tag_notes"])
    conn.execute("DROP TABLE tag_notes")

    [result] = compare_fingerprints(conn, expected)

    assert not result.ok
    assert result.summary == ("tag_notes: cannot fingerprint: table tag_notes does not exist."
                              " Hint: check the table name and schema.")


def test_key_range_needs_a_single_column_key(conn):
    with pytest.raises(RollbookError, match="journal_tags has no single-column primary key"):
        fingerprint_table(conn, "journal_tags", key_range=(1, 2))
