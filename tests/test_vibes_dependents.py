"""What hangs off the Vibes tables, as the application role meets it at every revision: the
grants, the row-level-security policy on journals, the view, the updated_at trigger; and the
role itself, created once per cluster however many databases migrate at the same time."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import psycopg
import pytest
from alembic import command
from psycopg import sql

from rollbook_vibes.dependents import APP_ROLE, create_role
from rollbook_vibes.migrations_config import alembic_config
from rollbook_vibes.seed import seed
from rollbook_vibes.traffic import write_on_uuid

STAGES = ("0001", "0002", "0001 after the round trip")


@pytest.fixture(scope="module", params=STAGES)
def vibes_at(request, pg_server) -> str:
    """A seeded (tiny) Vibes database at 0001, at 0002, or back at 0001 from 0002; built once
    per stage, so the tests using it roll back what they do (see ``conn``)."""
    name = f"rb_dependents_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(name)
    dsn = pg_server.dsn(name)
    config = alembic_config(dsn)
    command.upgrade(config, "0001")
    seed(dsn, "tiny")
    if request.param != "0001":
        command.upgrade(config, "0002")
    if request.param == "0001 after the round trip":
        with psycopg.connect(dsn) as conn:
            write_on_uuid(conn)
        command.downgrade(config, "0001")
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture
def conn(vibes_at):
    """A connection to the stage's database; nothing it does is committed."""
    with psycopg.connect(vibes_at) as connection:
        yield connection
        connection.rollback()


def busiest_writer(conn: psycopg.Connection):
    """(user id, journal count) of the user with the most journals, at either revision."""
    return conn.execute("SELECT user_id, count(*) FROM journals GROUP BY user_id"
                        " ORDER BY 2 DESC, 1 LIMIT 1").fetchone()


def as_app(conn: psycopg.Connection, user_id) -> None:
    """The rest of this transaction runs as the application role, signed in as user_id."""
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(APP_ROLE)))
    conn.execute("SELECT set_config('vibes.user_id', %s, true)", (str(user_id),))


def test_the_app_role_sees_and_writes_only_its_users_journals(conn):
    user_id, written = busiest_writer(conn)
    other = conn.execute("SELECT user_id FROM journals WHERE user_id <> %s LIMIT 1",
                         (user_id,)).fetchone()[0]
    as_app(conn, user_id)
    assert conn.execute("SELECT count(*), count(DISTINCT user_id) FROM journals"
                        ).fetchone() == (written, 1)
    conn.execute("INSERT INTO journals (user_id, title, content) VALUES (%s, 't', 'c')",
                 (user_id,))
    counts = dict(conn.execute("SELECT user_id, journals FROM user_journal_counts"
                               " WHERE journals > 0").fetchall())
    assert counts == {user_id: written + 1}  # the view runs with the reader's rights
    with pytest.raises(psycopg.errors.InsufficientPrivilege,
                       match="violates row-level security policy"):
        conn.execute("INSERT INTO journals (user_id, title, content) VALUES (%s, 't', 'c')",
                     (other,))
    conn.rollback()
    as_app(conn, "")  # signed out: nothing, rather than an error
    assert conn.execute("SELECT count(*) FROM journals").fetchone() == (0,)


@pytest.mark.parametrize("statement, allowed", [
    ("UPDATE users SET display_name = 'renamed' WHERE id = %(user)s", True),
    ("UPDATE users SET email = 'taken@example.com' WHERE id = %(user)s", False),
    ("INSERT INTO audit_logs (user_id, action) VALUES (%(user)s, 'login')", True),
    ("UPDATE audit_logs SET action = 'forged' WHERE user_id = %(user)s", False),
    ("DELETE FROM audit_logs WHERE user_id = %(user)s", False),
    ("INSERT INTO tags (user_id, name) VALUES (%(user)s, 'fresh')", True),
    ("DELETE FROM user_sessions WHERE user_id = %(user)s", True),
])
def test_the_app_role_has_the_grants_of_a_service(conn, statement, allowed):
    user_id, _ = busiest_writer(conn)
    as_app(conn, user_id)
    try:
        conn.execute(statement, {"user": user_id})
        outcome = True
    except psycopg.errors.InsufficientPrivilege:
        outcome = False
    assert outcome is allowed, f"{APP_ROLE} {'could' if outcome else 'could not'}: {statement}"


def test_edits_touch_updated_at_but_inserts_and_migrations_do_not(conn):
    # seeded a whole number of days after created_at, written on uuid at created_at: a trigger
    # that fired on a load or on a migration's renumbering would show as a rest
    gaps = {gap for (gap,) in conn.execute(
        "SELECT DISTINCT updated_at - created_at FROM journals")}
    assert gaps <= {timedelta(days=d) for d in range(3)}, sorted(gaps)
    journal, created = conn.execute("SELECT id, created_at FROM journals LIMIT 1").fetchone()
    conn.execute("UPDATE journals SET mood = 'calm', title = title || '!' WHERE id = %s",
                 (journal,))
    edited = conn.execute("SELECT now(), created_at, updated_at FROM journals WHERE id = %s",
                          (journal,)).fetchone()
    assert edited == (edited[0], created, edited[0])


def privileges_left(dsn: str) -> int:
    """How many objects of this database still grant the application role something."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_shdepend WHERE refobjid = %s::regrole AND deptype = 'a'"
            " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (APP_ROLE,)).fetchone()[0]


@pytest.mark.parametrize("granted_outside_the_tables, left", [
    (None, 0),
    ("GRANT USAGE ON SCHEMA public TO vibes_app", 1),  # planted: a grant nobody revokes
])
def test_downgrading_0001_keeps_the_role_for_the_other_databases(
        pg_server, scratch_dsn, granted_outside_the_tables, left):
    other = f"rb_other_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(other)
    try:
        command.upgrade(alembic_config(scratch_dsn), "0001")
        command.upgrade(alembic_config(pg_server.dsn(other)), "0001")
        if granted_outside_the_tables:
            with psycopg.connect(scratch_dsn) as conn:
                conn.execute(granted_outside_the_tables)
        command.downgrade(alembic_config(scratch_dsn), "base")
        assert privileges_left(scratch_dsn) == left
        with psycopg.connect(pg_server.dsn(other)) as conn:
            as_app(conn, 1)
            assert conn.execute("SELECT count(*) FROM journals").fetchone() == (0,)
    finally:
        pg_server.drop_database(other)


@pytest.mark.parametrize("statement, survives", [
    (create_role, True),
    (lambda role: f"CREATE ROLE {role} NOLOGIN", False),  # planted: no guard against the race
])
def test_the_role_is_created_once_when_databases_migrate_at_the_same_time(
        pg_server, statement, survives):
    role = f"rb_race_{uuid.uuid4().hex[:8]}"
    errors: list[Exception] = []
    with psycopg.connect(pg_server.dsn()) as first, psycopg.connect(pg_server.dsn()) as second:
        try:
            first.execute(statement(role))  # created, not committed yet

            def racing() -> None:
                try:
                    with second.transaction():
                        second.execute(statement(role))
                except psycopg.Error as exc:
                    errors.append(exc)

            racer = threading.Thread(target=racing)
            racer.start()
            racer.join(timeout=1)
            assert racer.is_alive(), "the second CREATE ROLE should wait for the first"
            first.commit()
            racer.join(timeout=10)
            assert (errors == []) is survives, errors
        finally:
            first.rollback()
            first.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            first.commit()


def test_a_user_who_may_not_create_the_role_is_told_who_can(pg_server):
    role, migrator = f"rb_app_{uuid.uuid4().hex[:8]}", f"rb_migrator_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEROLE").format(
            sql.Identifier(migrator)))
        try:
            with psycopg.connect(pg_server.dsn(), user=migrator) as conn, pytest.raises(
                    psycopg.errors.RaiseException, match="may not create it") as refused:
                conn.execute(create_role(role))
            assert refused.value.diag.message_hint == (
                f"have an administrator run: CREATE ROLE {role} NOLOGIN")
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(migrator)))
