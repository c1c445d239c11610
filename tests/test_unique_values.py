"""A unique key's check counts its rows and distinct keys as PostgreSQL's own count(DISTINCT)
does, whatever the rows (NULLs in any column, duplicates), on a read-only connection too."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollbook.pg.connect import connect
from rollbook.verdicts.counts import unique_values

ORACLE = ("SELECT count(*) FILTER (WHERE a IS NOT NULL AND b IS NOT NULL),"
          " count(DISTINCT (a, b)) FILTER (WHERE a IS NOT NULL AND b IS NOT NULL) FROM drawn")
ROWS = st.lists(st.tuples(st.none() | st.integers(0, 3),
                          st.none() | st.sampled_from(["x", "y", "X", "x "])), max_size=25)


@pytest.fixture
def conn(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE drawn (a int, b text)")
        yield conn


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_rows_and_distinct_keys_as_count_distinct_counts_them(conn, rows):
    conn.execute("TRUNCATE drawn")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO drawn VALUES (%s, %s)", rows)
    rows_now, distinct = conn.execute(ORACLE).fetchone()

    result = unique_values(conn, "drawn", ("a", "b"))

    assert (result.observed["rows"], result.observed["distinct"]) == (rows_now, distinct)
    assert result.ok == (rows_now == distinct)


def test_a_duplicate_fails_on_the_checks_read_only_connection(scratch_dsn, conn):
    conn.execute("INSERT INTO drawn VALUES (1, 'x'), (1, 'x'), (1, NULL), (2, 'x')")
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=10_000) as checks:
        result = unique_values(checks, "drawn", ("a", "b"))
        assert checks.execute("SHOW enable_hashagg").fetchone()[0] == "on"

    assert not result.ok
    assert result.summary.startswith("drawn(a, b): 1 duplicate values (3 rows, 2 distinct)")
