"""Each table measured in one statement: count, digest of the selected rows, key and time range.
The digest's properties hold for every algorithm a baseline may record."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.errors import BaselineError
from rollbook.measure import baseline
from rollbook.measure.fingerprint import (
    ALGORITHMS,
    HASH_RECORD,
    MD5,
    algorithm_for,
    measure_range,
    measure_table,
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


def digest(conn, table, algorithm=HASH_RECORD, **kwargs):
    return measure_table(conn, table, algorithm=algorithm, **kwargs).selected


def test_one_statement_counts_digests_and_reads_the_key_and_time_ranges(conn):
    conn.execute("INSERT INTO journals (user_id, title) SELECT 1, 'later' FROM generate_series(1, 5)")

    found = measure_table(conn, "users", algorithm=HASH_RECORD, key="id", upto=15,
                          time_column="created_at")
    journals = measure_table(conn, "journals", algorithm=HASH_RECORD, key="id", upto=100)

    assert (found.rows, found.selected[0], found.key_range) == (20, 15, (1, 20))
    assert [t.hour for t in found.time_range] == [1, 20]
    assert (journals.rows, journals.selected[0], journals.scope) == (105, 100, "id <= 100")
    statement = journals.sql[-1]
    assert statement.count("SELECT") == 1 and statement.count("FROM") == 1
    assert ('hash_record_extended(ROW("t"."body"::text COLLATE "C", "t"."id", "t"."title"::text'
            ' COLLATE "C", "t"."user_id"), 0)) FILTER (WHERE "t"."id" <= 100)') in statement


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_changed_row_changes_the_digest_not_the_count(conn, algorithm):
    before = digest(conn, "journals", algorithm)
    conn.execute("UPDATE journals SET title = 'entry 7 (edited)' WHERE id = 7")

    after = digest(conn, "journals", algorithm)

    assert after[0] == before[0] == 100 and after[1] != before[1]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_duplicated_rows_do_not_cancel_out(conn, algorithm):
    conn.execute("CREATE TABLE events (kind text, n integer)")
    conn.execute("INSERT INTO events VALUES ('login', 1)")
    once = digest(conn, "events", algorithm)
    conn.execute("INSERT INTO events VALUES ('login', 1)")
    twice = digest(conn, "events", algorithm)
    conn.execute("UPDATE events SET n = 2")
    other_pair = digest(conn, "events", algorithm)

    assert (once[0], twice[0]) == (1, 2)
    # XOR of two equal row hashes would be zero, and every pair of equal rows would collide
    assert twice[1] not in (EMPTY_DIGEST, once[1])
    assert int(twice[1], 16) == (2 * int(once[1], 16)) % 2 ** 64
    assert other_pair[1] != twice[1]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_rows_in_another_column_order_and_physical_order_match(conn, algorithm):
    conn.execute("""
        CREATE TABLE a (id integer, title text, at timestamptz, note text, n numeric);
        CREATE TABLE b (n numeric, note text, at timestamptz, title text, id integer);
        INSERT INTO a SELECT g, 'row ' || g, timestamptz '2024-05-01 12:00+02' + g * interval '1 s',
                             CASE WHEN g % 2 = 0 THEN NULL ELSE '' END, g / 3.0
                      FROM generate_series(1, 500) g;
        INSERT INTO b (id, title, at, note, n) SELECT id, title, at, note, n FROM a ORDER BY id DESC;
        ALTER TABLE a ADD COLUMN dropped_later integer;
        ALTER TABLE a DROP COLUMN dropped_later""")

    assert digest(conn, "a", algorithm) == digest(conn, "b", algorithm)
    assert digest(conn, "a", algorithm)[1] != EMPTY_DIGEST


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_digests_of_disjoint_key_ranges_add_up(conn, algorithm):
    rows, whole = digest(conn, "journals", algorithm, key="id", upto=100)
    low = measure_range(conn, "journals", "id", None, 37, algorithm)
    high = measure_range(conn, "journals", "id", 38, 100, algorithm)

    assert low[0] + high[0] == rows == 100
    assert format((low[1] + high[1]) % 2 ** 64, "016x") == whole
    assert high[2].endswith('WHERE "t"."id" BETWEEN 38 AND 100')


def test_a_printed_value_that_changes_changes_the_digest(conn):
    """numeric 1.0 = 1.00 and jsonb treats them alike too; the rollback record must not."""
    conn.execute("CREATE TABLE prices (id int, amount numeric, doc jsonb)")
    conn.execute("""INSERT INTO prices VALUES (1, 1.0, '{"a": 1.0}')""")
    before = digest(conn, "prices")
    conn.execute("UPDATE prices SET amount = 1.00")
    scale = digest(conn, "prices")
    conn.execute("""UPDATE prices SET amount = 1.0, doc = '{"a": 1.00}'""")

    assert len({before, scale, digest(conn, "prices")}) == 3


def test_null_and_empty_string_are_different_content(conn):
    conn.execute("CREATE TABLE n (v text); INSERT INTO n VALUES (NULL)")
    with_null = digest(conn, "n")
    conn.execute("UPDATE n SET v = ''")

    assert digest(conn, "n") != with_null


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_digest_does_not_depend_on_session_settings(conn, algorithm):
    conn.execute("SET TimeZone = 'Asia/Tokyo'; SET DateStyle = 'German'")
    tokyo = digest(conn, "users", algorithm)
    conn.execute("SET TimeZone = 'America/Lima'; SET DateStyle = 'SQL, MDY'")

    assert digest(conn, "users", algorithm) == tokyo
    # the pinned settings were local to the measurement's transaction
    assert conn.execute("SHOW TimeZone").fetchone() == ("America/Lima",)


def test_md5_digests_are_those_of_older_baselines(conn):
    """An older baseline (no algorithm recorded) holds md5 digests: the same numbers again."""
    conn.execute("CREATE TABLE one (id int, t text); INSERT INTO one VALUES (1, 'a')")
    expected = conn.execute("SELECT left(md5(ROW(1, 'a')::text), 16)").fetchone()[0]

    assert digest(conn, "one", MD5) == (1, expected)


def test_a_key_that_is_no_longer_an_integer_selects_nothing_and_says_what_it_is(conn):
    conn.execute("ALTER TABLE tag_notes ALTER COLUMN id DROP DEFAULT,"
                 " ALTER COLUMN id TYPE uuid USING gen_random_uuid()")

    found = measure_table(conn, "tag_notes", algorithm=HASH_RECORD, key="id", upto=11)

    assert (found.rows, found.selected, found.key_range, found.key_type) == (11, None, None,
                                                                             "uuid")


def test_missing_table_and_column(conn):
    assert not measure_table(conn, "no_such_table", algorithm=HASH_RECORD).exists
    found = measure_table(conn, "users", algorithm=HASH_RECORD, time_column="updated_at")
    assert found.time_range is None and found.rows == 20


def test_the_fastest_algorithm_the_server_has_is_picked(conn):
    assert algorithm_for(conn) == HASH_RECORD  # PostgreSQL 14+
    with pytest.raises(ValueError, match="unknown digest algorithm 'sha1'"):
        measure_table(conn, "users", algorithm="sha1")


def test_a_baseline_digested_with_an_unknown_algorithm_is_refused_in_one_line(tmp_path):
    written = baseline.Baseline(database={}, revision=[], schema={}, tables={}, sequences={},
                                recorded_algorithm="sha1").save(tmp_path / "baseline.json")

    with pytest.raises(BaselineError) as refused:
        baseline.load(written)

    assert refused.value.one_line() == (
        f"baseline file {written} digests rows with 'sha1', which this rollbook does not know"
        " (hash_record_extended, hashtextextended, md5). Hint: retake it with `rollbook"
        " snapshot --output FILE`.")


# what a PostgreSQL text value can hold: no NUL, and no lone surrogate (not encodable in UTF-8)
TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
               max_size=12)
AMOUNT = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**6,
                     max_value=10**6)
ROWS = st.lists(st.tuples(TEXT, AMOUNT), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS, split=st.integers(min_value=0, max_value=30), order=st.randoms())
def test_digests_add_up_and_ignore_row_order_whatever_the_rows(conn, rows, split, order):
    conn.execute("DROP TABLE IF EXISTS drawn; CREATE TABLE drawn (id int, t text, n numeric)")
    numbered = [(i + 1, t, n) for i, (t, n) in enumerate(rows)]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO drawn VALUES (%s, %s, %s)", numbered)
    count, whole = digest(conn, "drawn", key="id", upto=len(rows))
    low = measure_range(conn, "drawn", "id", None, split, HASH_RECORD)
    high = measure_range(conn, "drawn", "id", split + 1, len(rows), HASH_RECORD)
    order.shuffle(numbered)
    conn.execute("TRUNCATE drawn")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO drawn VALUES (%s, %s, %s)", numbered)

    assert count == low[0] + high[0] == len(rows)
    assert format((low[1] + high[1]) % 2 ** 64, "016x") == whole
    assert digest(conn, "drawn", key="id", upto=len(rows)) == (count, whole)


def test_rows_written_since_leave_a_uuid_keyed_table_by_key_and_a_changed_row_still_shows(conn):
    """A table keyed by uuid has no key range: the rows a drill wrote since the baseline are
    left out by their key values, so the baseline's rows digest as they did; a baseline row
    changed meanwhile still changes the digest."""
    conn.execute("CREATE TABLE notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text)")
    conn.execute("INSERT INTO notes (body) SELECT 'note ' || n FROM generate_series(1, 30) n")
    before = digest(conn, "notes")
    written = tuple(r[0] for r in conn.execute(
        "INSERT INTO notes (body) SELECT 'new ' || n FROM generate_series(1, 4) n"
        " RETURNING ROW(id)::text").fetchall())

    assert digest(conn, "notes") != before  # the new rows are in the table's digest
    assert digest(conn, "notes", leave_out=(("id",), written)) == before
    assert digest(conn, "notes", leave_out=(("id",), written[:3]))[0] == before[0] + 1

    conn.execute("UPDATE notes SET body = 'edited' WHERE body = 'note 7'")  # the planted defect
    changed = digest(conn, "notes", leave_out=(("id",), written))
    assert changed[0] == before[0] and changed[1] != before[1]
