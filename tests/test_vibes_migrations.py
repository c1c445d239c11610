"""The Vibes migrations: 0001 integer baseline, 0002 uuid keys (then 0003 word count, 0004 a
concurrently built index, 0005 the mood enum), and a lossless way back.

The built-in pytest-alembic tests (single head, upgrade, up/down consistency, models match
the DDL) run here against a scratch database; the rest check what a rollback must guarantee:
the downgrade rebuilds the 0001 schema object for object (names and definitions read from
pg_catalog) and every row with its original id, and rows created on the UUID schema come
back with fresh ids from the sequences and intact references. What hangs off the tables
(grants, view, trigger, policy, comments) is held to ``pg_dump --schema-only``, line for line.
"""
from __future__ import annotations

import io
import logging
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from examples.vibes_state import (
    assert_no_orphans,
    assert_same_dump,
    assert_same_schema,
    assert_sequences_ahead,
    catalog,
    column_types,
    dump_round_trip,
    fingerprints,
    schema_dump,
    sequence_states,
)
from psycopg.conninfo import make_conninfo
from pytest_alembic.tests import (  # noqa: F401  (collected as tests of this module)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.orm import Session

from rollbook_vibes import models
from rollbook_vibes.migrations_config import INI_PATH, sqlalchemy_url
from rollbook_vibes.migrations_config import alembic_config as vibes_alembic_config
from rollbook_vibes.schema import FOREIGN_KEYS, ID_TABLES, TABLES, sequence_name
from rollbook_vibes.seed import seed


@pytest.fixture
def alembic_config():
    """pytest-alembic: the Vibes project; the connection comes from alembic_engine."""
    return vibes_alembic_config()


@pytest.fixture
def alembic_engine(scratch_dsn):
    """pytest-alembic: an engine on a fresh scratch database."""
    engine = sa.create_engine(sqlalchemy_url(scratch_dsn), poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


# -- the tests ------------------------------------------------------------------------


def test_config_is_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = vibes_alembic_config("host=db.invalid dbname=vibes")
    script = ScriptDirectory.from_config(config)
    assert INI_PATH.is_file()
    assert script.get_heads() == ["0005"]
    assert [r.revision for r in script.walk_revisions()] == ["0005", "0004", "0003", "0002",
                                                             "0001"]


@pytest.mark.parametrize("dsn, expected", [
    ("host=h port=5433 user=u dbname=d sslmode=require",
     "postgresql+psycopg://u@h:5433/d?sslmode=require"),
    ("postgresql://u@h:5433/d", "postgresql+psycopg://u@h:5433/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
])
def test_dsn_becomes_a_psycopg3_url(dsn, expected):
    assert sqlalchemy_url(dsn).render_as_string(hide_password=False) == expected


def test_password_survives_the_config_and_never_reaches_the_log(pg_server, scratch_dsn,
                                                                 caplog):
    password = "pa%ss:w@rd/1"  # trust auth accepts any password; it must just not leak
    dsn = make_conninfo(scratch_dsn, password=password)
    config = vibes_alembic_config(dsn)
    assert sqlalchemy_url(config.get_main_option("sqlalchemy.url")).password == password
    with caplog.at_level(logging.INFO, logger="alembic"):
        command.upgrade(config, "0001")
    assert "database postgresql+psycopg://postgres:***@" in caplog.text
    assert password not in caplog.text and "pa%ss" not in caplog.text


def test_uuid_revision_moves_every_key_to_uuid_and_keeps_integer_ids(scratch_dsn):
    config = vibes_alembic_config(scratch_dsn)
    command.upgrade(config, "0001")
    seed(scratch_dsn, "tiny")
    with psycopg.connect(scratch_dsn) as conn:
        before = dict(conn.execute("SELECT email, id FROM users").fetchall())
    command.upgrade(config, "0002")

    assert set(column_types(scratch_dsn, "id").values()) == {"uuid"}
    key_types = {f"{t}.{c}": column_types(scratch_dsn, c)[t] for t, c in FOREIGN_KEYS}
    assert set(key_types.values()) == {"uuid"}, key_types
    assert column_types(scratch_dsn, "legacy_id") == {t: "integer" for t in ID_TABLES}
    with psycopg.connect(scratch_dsn) as conn:
        assert dict(conn.execute("SELECT email, legacy_id FROM users").fetchall()) == before
        owners = conn.execute(
            "SELECT s.relname, t.relname || '.' || a.attname FROM pg_depend d"
            " JOIN pg_class s ON s.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
            " WHERE s.relkind = 'S' AND d.deptype = 'a'").fetchall()
    assert dict(owners) == {sequence_name(t): f"{t}.legacy_id" for t in ID_TABLES}
    assert_no_orphans(scratch_dsn)


@pytest.mark.parametrize("scale", ["tiny", "small"])
def test_downgrade_restores_the_integer_schema_and_every_row_exactly(scratch_dsn, scale):
    config = vibes_alembic_config(scratch_dsn)
    command.upgrade(config, "0001")
    baseline = catalog(scratch_dsn)
    seed(scratch_dsn, scale)
    assert_same_schema(baseline, catalog(scratch_dsn))
    before, sequences = fingerprints(scratch_dsn), sequence_states(scratch_dsn)

    command.upgrade(config, "0002")
    command.downgrade(config, "0001")

    assert_same_schema(baseline, catalog(scratch_dsn))
    assert fingerprints(scratch_dsn) == before
    assert sequence_states(scratch_dsn) == sequences  # no row added: not a number consumed
    assert_sequences_ahead(scratch_dsn)
    assert_no_orphans(scratch_dsn)
    # and once more round: a second upgrade/downgrade is just as lossless
    command.upgrade(config, "0002")
    command.downgrade(config, "-1")
    assert_same_schema(baseline, catalog(scratch_dsn))
    assert fingerprints(scratch_dsn) == before


def _add_rows_on_uuid_schema(dsn: str) -> None:
    """What the service writes after the upgrade: uuid keys only, legacy_id left NULL."""
    engine = sa.create_engine(sqlalchemy_url(dsn), poolclass=sa.pool.NullPool)
    at = datetime(2025, 2, 1, tzinfo=timezone.utc)
    try:
        with Session(engine) as session, session.begin():
            old_user = session.scalars(sa.select(models.User).where(
                models.User.legacy_id == 1)).one()
            old_journal = session.scalars(sa.select(models.Journal).where(
                models.Journal.legacy_id == 1)).one()
            user = models.User(id=uuid.uuid4(), email="new@example.com", password_hash="x",
                               created_at=at)
            journal = models.Journal(id=uuid.uuid4(), user_id=user.id, title="after the upgrade",
                                     content="written on uuid keys", created_at=at,
                                     updated_at=at)
            tag = models.Tag(id=uuid.uuid4(), user_id=user.id, name="uuid-era")
            session.add(user)
            session.flush()  # no relationship() between the models: parents go first
            session.add_all([journal, tag])
            session.flush()
            session.add_all([
                models.JournalTag(journal_id=journal.id, tag_id=tag.id),
                models.JournalTag(journal_id=old_journal.id, tag_id=tag.id),
                models.Reminder(user_id=user.id, journal_id=journal.id, remind_at=at,
                                message="new reminder"),
                models.Reminder(user_id=old_user.id, journal_id=old_journal.id, remind_at=at,
                                message="old user, new reminder"),
                models.AuditLog(user_id=user.id, action="login", payload={"new": True}),
                models.AuditLog(user_id=None, action="system", payload=None),
                models.UserSession(user_id=user.id, token="new-token", expires_at=at),
                models.SecretTag(user_id=old_user.id, tag_hash="f" * 64, salt="s" * 32),
            ])
    finally:
        engine.dispose()


def test_rows_created_on_uuid_survive_the_downgrade_with_fresh_ids(scratch_dsn):
    config = vibes_alembic_config(scratch_dsn)
    command.upgrade(config, "0001")
    counts = seed(scratch_dsn, "tiny")
    before = fingerprints(scratch_dsn)
    command.upgrade(config, "head")  # the rows are written through the models: the head's
    _add_rows_on_uuid_schema(scratch_dsn)
    command.downgrade(config, "0001")

    after = fingerprints(scratch_dsn)
    added = {"users": 1, "journals": 1, "tags": 1, "journal_tags": 2, "secret_tags": 1,
             "reminders": 2, "audit_logs": 2, "user_sessions": 1}
    assert {t: after[t][0] - before[t][0] for t in TABLES} == added
    with psycopg.connect(scratch_dsn) as conn:
        user_id = conn.execute("SELECT id FROM users WHERE email = 'new@example.com'").fetchone()[0]
        assert user_id == counts["users"] + 1
        journal = conn.execute("SELECT id, user_id FROM journals"
                               " WHERE title = 'after the upgrade'").fetchone()
        assert journal == (counts["journals"] + 1, user_id)
        tag_id = conn.execute("SELECT id FROM tags WHERE name = 'uuid-era'").fetchone()[0]
        assert conn.execute("SELECT journal_id FROM journal_tags WHERE tag_id = %s"
                            " ORDER BY journal_id", [tag_id]).fetchall() == [(1,), (journal[0],)]
        # both were created in one transaction: same created_at, so either may come first
        assert set(conn.execute("SELECT user_id, journal_id FROM reminders WHERE id > %s",
                                [counts["reminders"]])) == {(user_id, journal[0]), (1, 1)}
        assert set(conn.execute("SELECT user_id FROM audit_logs WHERE id > %s",
                                [counts["audit_logs"]])) == {(user_id,), (None,)}
        # the rows that existed before the upgrade are untouched, ids included
        assert conn.execute("SELECT count(*) FROM users WHERE id <= %s",
                            [counts["users"]]).fetchone()[0] == counts["users"]
    assert_sequences_ahead(scratch_dsn)
    assert_no_orphans(scratch_dsn)


def test_downgrade_never_reuses_an_id_when_a_sequence_fell_behind(scratch_dsn):
    config = vibes_alembic_config(scratch_dsn)
    command.upgrade(config, "0001")
    counts = seed(scratch_dsn, "tiny")
    command.upgrade(config, "0002")
    with psycopg.connect(scratch_dsn) as conn:
        conn.execute("SELECT setval('users_id_seq', 1, false)")
        conn.execute("INSERT INTO users (email, password_hash) VALUES ('late@example.com', 'x')")
    command.downgrade(config, "0001")
    with psycopg.connect(scratch_dsn) as conn:
        assert conn.execute("SELECT id FROM users WHERE email = 'late@example.com'"
                            ).fetchone() == (counts["users"] + 1,)
    assert_sequences_ahead(scratch_dsn)


def test_offline_mode_writes_the_sql_of_both_directions_without_a_database():
    out = io.StringIO()
    config = vibes_alembic_config("host=db.invalid user=u password=hush dbname=vibes", stdout=out)
    config.output_buffer = out
    command.upgrade(config, "0001:0002", sql=True)
    command.downgrade(config, "0002:0001", sql=True)
    script = out.getvalue()
    assert "ALTER TABLE journals RENAME TO journals__int;" in script
    assert "UPDATE users t SET legacy_id = n.legacy_id" in script
    assert "ALTER SEQUENCE users_id_seq OWNED BY users.id;" in script
    assert "hush" not in script


def test_downgrade_restores_what_pg_dump_prints_line_for_line(pg_server, scratch_dsn):
    before, after = dump_round_trip(pg_server, scratch_dsn)
    for rebuilt in ("GRANT UPDATE(display_name) ON TABLE public.users TO vibes_app;",
                    "CREATE VIEW public.user_journal_counts", "CREATE POLICY journals_owner",
                    "CREATE TRIGGER journals_touch_updated_at", "COMMENT ON TABLE public.users"):
        assert rebuilt in before
    assert_same_dump(before, after)


@pytest.mark.parametrize("forgotten, expected_lines", [
    ("REVOKE INSERT ON audit_logs FROM vibes_app",
     ["-GRANT SELECT,INSERT ON TABLE public.audit_logs TO vibes_app;",
      "+GRANT SELECT ON TABLE public.audit_logs TO vibes_app;"]),
    ("DROP POLICY journals_owner ON journals", ["-CREATE POLICY journals_owner ON public.journals"
                                                " TO vibes_app USING ((user_id ="]),
    ("ALTER TABLE journals DISABLE TRIGGER journals_touch_updated_at",
     ["+ALTER TABLE public.journals DISABLE TRIGGER journals_touch_updated_at;"]),
    ("COMMENT ON COLUMN user_sessions.token IS NULL",
     ["-COMMENT ON COLUMN public.user_sessions.token IS 'sha256 (hex) of the bearer token;"]),
])
def test_a_downgrade_that_forgets_a_dependent_fails_the_dump_comparison(
        pg_server, scratch_dsn, forgotten, expected_lines):
    before, _ = dump_round_trip(pg_server, scratch_dsn)
    with psycopg.connect(scratch_dsn) as conn:
        conn.execute(forgotten)  # planted after the real downgrade: as if it had left it out
    with pytest.raises(AssertionError) as failure:
        assert_same_dump(before, schema_dump(pg_server, scratch_dsn))
    message = str(failure.value)
    assert message.startswith("pg_dump --schema-only differs from the one at 0001:\n--- at 0001")
    for line in expected_lines:
        assert any(shown.startswith(line) for shown in message.splitlines()), message
