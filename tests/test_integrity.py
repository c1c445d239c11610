"""Orphans, sequences behind their column, NOT VALID constraints and invalid indexes."""
from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rollbook.measure import baseline
from rollbook.pg.connect import connect
from rollbook.verdicts import content
from rollbook.verdicts.measured import Measured
from rollbook.verdicts.orphans import (
    ForeignKey,
    find_orphans,
    foreign_keys,
    invalid_indexes,
    join_choice,
    not_valid_constraints,
    owned_sequences,
    sequence_ahead,
)
from rollbook.verdicts.schema import schema_matches

JOURNAL_APP = Path(__file__).parent / "schemas" / "journal_app.sql"


@pytest.fixture
def conn(scratch_dsn):
    """A connection to a scratch database holding the clean journal_app schema."""
    with connect(scratch_dsn) as conn:
        conn.execute(JOURNAL_APP.read_text())
        yield conn


def by_name(results):
    return {r.name: r for r in results}


def all_orphans(conn, soft=()):
    """find_orphans over every declared foreign key, then the soft ones."""
    return [find_orphans(conn, fk) for fk in [*foreign_keys(conn), *soft]]


def all_sequences(conn):
    return [sequence_ahead(conn, owned) for owned in owned_sequences(conn)]


def test_foreign_keys_come_from_the_catalog_with_composite_columns_in_order(conn):
    fks = {fk.name: fk for fk in foreign_keys(conn)}

    assert sorted(fks) == ["journal_tags_journal_id_fkey", "journal_tags_tag_id_fkey",
                           "journals_user_id_fkey", "tag_notes_journal_tag_fkey"]
    assert fks["tag_notes_journal_tag_fkey"] == ForeignKey(
        "tag_notes_journal_tag_fkey", "tag_notes", ("journal_id", "tag_id"), "journal_tags",
        ("journal_id", "tag_id"), True)


def test_clean_schema_has_no_orphans(conn):
    results = by_name(all_orphans(conn))

    assert all(r.ok for r in results.values()), [r.summary for r in results.values()]
    assert results["orphans: journals.user_id -> users.id"].summary == (
        "no orphans: every non-null journals.user_id has a matching users.id")
    composite = results["orphans: tag_notes.(journal_id, tag_id) -> journal_tags.(journal_id,"
                        " tag_id)"]
    assert composite.observed["orphans"] == 0
    assert "NOT EXISTS" in composite.sql[-1]  # after the statement that turns hash joins off


def test_orphan_inserted_with_triggers_disabled_is_found(conn):
    conn.execute("""
        ALTER TABLE journals DISABLE TRIGGER ALL;
        INSERT INTO journals (user_id, title) VALUES (9999, 'orphan'), (9998, 'orphan 2');
        ALTER TABLE journals ENABLE TRIGGER ALL""")

    result = by_name(all_orphans(conn))["orphans: journals.user_id -> users.id"]

    assert not result.ok
    assert result.summary == ("2 orphan rows in journals: journals.user_id -> users.id has no"
                              " parent (e.g. user_id=9998). Hint: see observed.samples; re-run"
                              " the sql to list them all")
    assert result.observed["samples"] == [{"user_id": 9998}, {"user_id": 9999}]


def test_composite_orphan_is_found_and_partly_null_keys_are_not_orphans(conn):
    conn.execute("""
        ALTER TABLE tag_notes DISABLE TRIGGER ALL;
        INSERT INTO tag_notes (journal_id, tag_id, note)
        VALUES (1, 5, 'no such journal_tag'), (1, NULL, 'partly null: not checked');
        ALTER TABLE tag_notes ENABLE TRIGGER ALL""")
    [fk] = [fk for fk in foreign_keys(conn) if fk.name == "tag_notes_journal_tag_fkey"]

    result = find_orphans(conn, fk)

    assert not result.ok
    assert result.summary.startswith(
        "1 orphan row in tag_notes: tag_notes.(journal_id, tag_id) -> journal_tags.(journal_id,"
        " tag_id) has no parent (e.g. journal_id=1, tag_id=5).")


def test_soft_foreign_key_without_a_constraint_is_checked_too(conn):
    conn.execute("""
        CREATE TABLE audit_log (id serial PRIMARY KEY, user_id integer, action text);
        INSERT INTO audit_log (user_id, action) VALUES (1, 'login'), (NULL, 'cron'),
                                                       (777, 'login')""")
    soft = ForeignKey.soft_key("audit_log", ["user_id"], "users", ["id"])

    results = all_orphans(conn, soft=[soft])

    assert len(results) == 5
    assert results[-1].name == "orphans: audit_log.user_id -> users.id"
    assert not results[-1].ok
    assert results[-1].summary.startswith("1 orphan row in audit_log:")
    assert results[-1].observed["soft"] is True


def test_soft_foreign_key_across_a_uuid_integer_mismatch_says_why_it_cannot_check(conn):
    conn.execute("CREATE TABLE sessions (user_id uuid)")
    soft = ForeignKey.soft_key("sessions", ["user_id"], "users", ["id"])

    result = find_orphans(conn, soft)

    assert not result.ok
    assert result.summary == (
        "cannot look for orphans of sessions.user_id -> users.id: operator does not exist:"
        " integer = uuid. Hint: the key columns may be missing or of different types")


def test_sequences_of_serial_and_identity_columns_are_ahead_when_clean(conn):
    results = by_name(all_sequences(conn))

    assert sorted(results) == ["sequence journals_id_seq ahead of max(journals.id)",
                               "sequence tag_notes_id_seq ahead of max(tag_notes.id)",
                               "sequence tags_id_seq ahead of max(tags.id)",
                               "sequence users_id_seq ahead of max(users.id)"]
    assert all(r.ok for r in results.values())
    assert results["sequence users_id_seq ahead of max(users.id)"].summary == (
        "users_id_seq next value 21 is past max(users.id) = 20")


def test_sequence_set_back_below_max_id_is_behind_and_the_hint_fixes_it(conn):
    conn.execute("SELECT setval('users_id_seq', 3)")

    [result] = [r for r in all_sequences(conn) if "users_id_seq" in r.name]

    assert not result.ok
    assert result.summary == (
        "users_id_seq is behind: next value 4 but max(users.id) = 20; the next insert will"
        " collide. Hint: SELECT setval('\"public\".\"users_id_seq\"', (SELECT max(\"id\") FROM"
        " \"public\".\"users\"))")
    conn.execute(result.summary.split("Hint: ")[1])
    assert all(r.ok for r in all_sequences(conn))


def test_identity_rows_inserted_with_explicit_ids_leave_the_sequence_behind(conn):
    conn.execute("INSERT INTO tags (id, name) VALUES (40, 'restored with its id')")

    [result] = [r for r in all_sequences(conn) if "tags_id_seq" in r.name]

    assert not result.ok
    assert result.summary.startswith("tags_id_seq is behind: next value 6 but max(tags.id) = 40")
    assert result.observed["is_called"] is True


def test_not_valid_constraint_is_reported_with_the_fix(conn):
    assert [r.summary for r in not_valid_constraints(conn)] == ["every constraint is validated"]
    conn.execute("ALTER TABLE journals ADD CONSTRAINT journals_title_not_blank"
                 " CHECK (title <> '') NOT VALID")

    [result] = not_valid_constraints(conn)

    assert not result.ok
    assert result.summary == (
        "constraint journals.journals_title_not_blank is NOT VALID: existing rows were never"
        " checked against CHECK ((title <> ''::text)) NOT VALID. Hint: ALTER TABLE"
        " \"public\".\"journals\" VALIDATE CONSTRAINT \"journals_title_not_blank\"")


def test_index_left_invalid_by_a_failed_concurrent_build_is_reported(conn):
    assert [r.summary for r in invalid_indexes(conn)] == ["all 8 indexes are valid"]
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY journals_user_id_key ON journals (user_id)")

    [result] = invalid_indexes(conn)

    assert not result.ok
    assert result.summary == (
        "index journals_user_id_key on journals is invalid: queries do not use it. Hint: REINDEX INDEX CONCURRENTLY \"public\".\"journals_user_id_key\","
        " or drop it and create it again")
    assert result.observed["definition"] == (
        "CREATE UNIQUE INDEX journals_user_id_key ON public.journals USING btree (user_id)")


def test_every_check_runs_on_a_read_only_operator_connection(conn, scratch_dsn):
    before = baseline.capture(conn, [])
    with connect(scratch_dsn, read_only=True, statement_timeout_ms=5000) as operator:
        measured = Measured(operator, before)
        results = [schema_matches(operator, before.schema_snapshot()),
                   *(content.compare_table(measured, t) for t in ("users", "journals")),
                   *all_orphans(operator), *all_sequences(operator),
                   *not_valid_constraints(operator), *invalid_indexes(operator)]
        assert operator.execute("SHOW transaction_read_only").fetchone() == ("on",)

    assert [r.summary for r in results if not r.ok] == []
    assert len(results) == 1 + 2 + 4 + 4 + 1 + 1


def test_hash_joins_are_off_only_where_a_merge_reads_the_child_in_heap_order(conn):
    """The orphan search turns hash joins off only for a parent that outgrows work_mem x
    hash_mem_multiplier and a child whose key follows its heap order (pg_stats correlation):
    merging a child in random heap order (uuid keys, a rewritten table) outran the statement
    timeout at 5M journals."""
    conn.execute("SET work_mem = '64kB'")
    conn.execute("CREATE TABLE small_parent (id int PRIMARY KEY);"
                 "INSERT INTO small_parent VALUES (1);"
                 "CREATE TABLE big_parent (id int PRIMARY KEY, pad text);"
                 "INSERT INTO big_parent SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;"
                 "CREATE TABLE kid (s int REFERENCES small_parent, b int REFERENCES big_parent,"
                 " r int REFERENCES big_parent);"
                 "INSERT INTO kid SELECT 1, g, 1 + (g * 7919) % 5000 FROM generate_series(1, 5000) g")
    keys = {fk.columns[0]: fk for fk in foreign_keys(conn) if fk.table == "kid"}

    def hash_join_after_choice(fk):
        with conn.transaction():
            conn.execute(join_choice(fk))
            return conn.execute("SHOW enable_hashjoin").fetchone()[0]

    assert hash_join_after_choice(keys["b"]) == "on"  # not analyzed: its order is unknown
    conn.execute("ANALYZE kid")
    assert hash_join_after_choice(keys["b"]) == "off"  # in heap order, a big parent
    assert hash_join_after_choice(keys["r"]) == "on"  # in random heap order
    assert hash_join_after_choice(keys["s"]) == "on"  # a parent a hash holds
    assert conn.execute("SHOW enable_hashjoin").fetchone()[0] == "on"  # for its transaction
    result = find_orphans(conn, keys["b"])
    assert result.ok and "enable_hashjoin" in result.sql[0], result.sql
