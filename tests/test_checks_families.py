"""Each check family fails on its planted defect, and only where the defect is.

A fresh copy of a clean Vibes database gets a baseline from `rollbook snapshot`, then one
defect; `pytest checks/test_<family>.py` must fail exactly the tests that concern the defect.
(The clean run, where every family passes, is in test_checks_run.py.)
"""
from __future__ import annotations

import pytest
from examples.checkrun import failed, run_checks, snapshot, vibes_copy

from rollbook.pg.connect import connect

PLANTED = {
    "types": (
        "ALTER TABLE reminders ALTER COLUMN journal_id TYPE bigint",
        {"test_types::test_key_column_type[reminders.journal_id]"},
        "reminders.journal_id (foreign key -> journals.id) is bigint, expected integer"),
    "schema": (
        "DROP INDEX ix_reminders_due;"
        " ALTER TABLE users ALTER COLUMN display_name SET DEFAULT 'anonymous'",
        {"test_schema::test_table_matches_the_baseline[reminders]",
         "test_schema::test_table_matches_the_baseline[users]"},
        "index ix_reminders_due: missing (expected CREATE INDEX ix_reminders_due ON"),
    "counts": (
        "DELETE FROM journals WHERE id = 1;"
        " ALTER TABLE users DROP CONSTRAINT users_email_key;"
        " UPDATE users SET email = (SELECT email FROM users WHERE id = 1) WHERE id = 2",
        {"test_counts::test_row_count[journals]",
         "test_counts::test_oldest_and_newest[journals.created_at]",
         # ON DELETE CASCADE took the journal's tags with it
         "test_counts::test_row_count[journal_tags]",
         "test_counts::test_oldest_and_newest[journal_tags.created_at]",
         "test_counts::test_unique_values[users(email)]"},
        "journals: 1 baseline rows lost: 499 rows with id <= 500 now, 500 at baseline"),
    "orphans": (
        "ALTER TABLE journals DISABLE TRIGGER ALL;"
        " INSERT INTO journals (user_id, title, content) VALUES (999999, 'orphan', 'x');"
        " ALTER TABLE journals ENABLE TRIGGER ALL;"
        " ALTER TABLE tags DROP CONSTRAINT tags_user_id_fkey;"
        " ALTER TABLE tags ADD CONSTRAINT tags_user_id_fkey FOREIGN KEY (user_id)"
        "   REFERENCES users (id) ON DELETE CASCADE NOT VALID;"
        " SELECT setval('users_id_seq', 3)",
        {"test_orphans::test_no_orphans[journals.user_id->users.id]",
         "test_orphans::test_constraints_are_validated",
         "test_orphans::test_sequence_is_ahead_of_its_column[users_id_seq]"},
        "1 orphan row in journals: journals.user_id -> users.id has no parent"),
    "content": (
        "UPDATE journals SET title = 'changed after the baseline' WHERE id = 250",
        {"test_content::test_baseline_rows_unchanged[journals]"},
        "rows by key (id): changed 1: 250 (all in the evidence)"),
    "performance": (
        "DROP INDEX ix_journals_user_id_created_at",
        {"test_performance::test_plan_uses_the_expected_index"
         "[journals of one user (users join journals)]"},
        "journals of one user (users join journals): index ix_journals_user_id_created_at"
        " does not exist"),
}


@pytest.mark.parametrize("family", sorted(PLANTED))
def test_family_fails_on_its_planted_defect(pytester, monkeypatch, pg_server, tmp_path, family):
    statements, expected, message = PLANTED[family]
    name, dsn = vibes_copy(pg_server)
    baseline = snapshot(dsn, tmp_path / "baseline.json")
    with connect(dsn) as conn:
        conn.execute(statements)

    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), modules=(f"test_{family}.py",))

    pg_server.drop_database(name)
    assert result.ret == 1, result.stdout.str()[-3000:]
    assert failed(found) == expected
    result.stdout.fnmatch_lines([f"*{message}*"])


def test_invalid_index_is_found(pytester, monkeypatch, pg_server, tmp_path):
    name, dsn = vibes_copy(pg_server)
    baseline = snapshot(dsn, tmp_path / "baseline.json")
    with connect(dsn) as conn, pytest.raises(Exception, match="could not create unique index"):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_one_mood ON journals (mood)")

    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", dsn,
                               "--baseline", str(baseline), modules=("test_orphans.py",))

    pg_server.drop_database(name)
    assert failed(found) == {"test_orphans::test_indexes_are_valid"}
    result.stdout.fnmatch_lines(["*index ix_one_mood on journals is invalid*REINDEX INDEX"
                                 " CONCURRENTLY*"])
