"""The seeder makes values that satisfy CHECK constraints it reads in PostgreSQL's own parse
(lists, ranges, lengths, NOT NULL, enums, domains), over constraints hypothesis writes; what it
cannot satisfy fails in one line naming table, column and constraint."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from rollbook.pg.connect import connect
from rollbook.runbook import generic_seed
from rollbook.runbook.generic_seed import SeedError

MLFLOW_LIKE = """
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0) CHECK (VALUE <= 1000);
CREATE TYPE stage AS ENUM ('None', 'Staging', 'Production');
CREATE TABLE experiments (
    experiment_id integer PRIMARY KEY,
    name varchar(256) NOT NULL UNIQUE,
    lifecycle_stage varchar(32) CONSTRAINT experiments_lifecycle_stage
        CHECK (lifecycle_stage IN ('active', 'deleted')),
    priority positive_int NOT NULL,
    code varchar(8) NOT NULL CHECK (char_length(code) BETWEEN 3 AND 5),
    ratio numeric(4, 3) NOT NULL CHECK (ratio > 0 AND ratio < 1),
    score smallint CHECK (score IS NULL OR score BETWEEN -5 AND 5),
    stage stage NOT NULL,
    status varchar(9) NOT NULL CHECK (status = ANY (ARRAY['RUNNING', 'FINISHED', 'FAILED']))
);
"""


@pytest.fixture
def conn(scratch_dsn):
    with connect(scratch_dsn) as conn:
        yield conn


def test_values_satisfy_lists_ranges_lengths_enums_and_domains(conn):
    conn.execute(MLFLOW_LIKE)
    assert generic_seed.seed_tables(conn, 200) == {"experiments": 200}
    seen = conn.execute(
        "SELECT array_agg(DISTINCT lifecycle_stage ORDER BY lifecycle_stage),"
        " min(priority), max(priority), min(char_length(code)) >= 3 AND max(char_length(code)) <= 5,"
        " min(ratio) > 0 AND max(ratio) < 1, min(score), max(score),"
        " array_agg(DISTINCT status ORDER BY status) FROM experiments").fetchone()
    assert seen == (["active", "deleted"], 1, 200, True, True, -5, 5,
                    ["FAILED", "FINISHED", "RUNNING"])


def test_a_constraint_it_cannot_satisfy_is_one_line_naming_table_column_and_constraint(conn):
    conn.execute("CREATE TABLE runs (id int PRIMARY KEY, name text NOT NULL"
                 " CONSTRAINT runs_name_lower CHECK (name ~ '^[a-z]+$'))")
    with pytest.raises(SeedError) as caught:
        generic_seed.seed_tables(conn, 5)
    line = caught.value.one_line()
    assert "\n" not in line
    assert line.startswith("seeding runs.name failed: the values made break constraint "
                           "runs_name_lower (CHECK ((name ~ '^[a-z]+$'::text))): new row for "
                           'relation "runs" violates check constraint "runs_name_lower"')
    conn.execute("ALTER TABLE runs ALTER name DROP NOT NULL")  # a CHECK holds on NULL
    assert generic_seed.seed_tables(conn, 5) == {"runs": 5}


def test_an_empty_list_after_the_range_is_refused_in_one_line(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY,"
                 " n int NOT NULL CHECK (n IN (1, 2)) CHECK (n > 5))")
    with pytest.raises(SeedError, match=r"^t\.n: no value satisfies its CHECK constraints"):
        generic_seed.seed_tables(conn, 5)


bounds = st.integers(min_value=-10_000, max_value=10_000)
words = st.text(alphabet="abcdefghij", min_size=1, max_size=8)


@st.composite
def check_constraints(draw) -> tuple[str, str]:
    """(column type, CHECK expression over column c) that some value satisfies."""
    kind = draw(st.sampled_from(["list", "int_range", "numeric_range", "length", "or_null",
                                 "domain"]))
    if kind == "list":
        values = draw(st.lists(words, min_size=1, max_size=6, unique=True))
        spelled = ", ".join(f"'{v}'" for v in values)
        form = draw(st.sampled_from(["c IN ({})", "c = ANY (ARRAY[{}])"]))
        return "varchar(16)", form.format(spelled)
    if kind in ("int_range", "numeric_range", "domain"):
        lo, width = draw(bounds), draw(st.integers(min_value=2, max_value=500))
        low_op, high_op = draw(st.sampled_from([">", ">="])), draw(st.sampled_from(["<", "<="]))
        if kind == "numeric_range":
            return "numeric(12, 2)", f"c {low_op} {lo}.5 AND c {high_op} {lo + width}.25"
        form = draw(st.sampled_from(["c {lo_op} {lo} AND c {hi_op} {hi}", "c BETWEEN {lo} AND {hi}",
                                     "{lo} {flip} c AND c {hi_op} {hi}"]))
        expression = form.format(lo_op=low_op, lo=lo, hi_op=high_op, hi=lo + width,
                                 flip="<" if low_op == ">" else "<=")
        return ("DOMAIN" if kind == "domain" else "integer"), expression
    if kind == "length":
        low = draw(st.integers(min_value=1, max_value=20))
        high = draw(st.integers(min_value=low + 5, max_value=40))
        return "text", f"char_length(c) >= {low} AND length(c) <= {high}"
    inner = draw(st.integers(min_value=0, max_value=100))
    return "bigint", f"c IS NULL OR c > {inner}"


counter = itertools.count()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(constraint=check_constraints())
def test_any_readable_check_constraint_is_satisfied(conn, constraint):
    column_type, expression = constraint
    n = next(counter)
    table = sql.Identifier(f"t{n}")
    # the drawn type and CHECK expression are SQL text this test wrote; names are identifiers
    if column_type == "DOMAIN":
        domain = sql.Identifier(f"d{n}")
        conn.execute(sql.SQL("CREATE DOMAIN {} AS integer CHECK ({})").format(
            domain, sql.SQL(expression.replace("c", "VALUE"))))
        column, check = domain, sql.SQL("")
    else:
        column = sql.SQL(column_type)
        check = sql.SQL(" CHECK ({})").format(sql.SQL(expression))
    conn.execute(sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, c {} NOT NULL{})").format(
        table, column, check))
    try:
        seeded = generic_seed.seed_tables(conn, 30)
        assert seeded[f"t{n}"] == 30
    finally:
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
