"""The Vibes seeder: deterministic, realistic proportions, schema left as it found it."""
from __future__ import annotations

import psycopg
import pytest
from alembic import command
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from rollbook_vibes import bulkload
from rollbook_vibes.migrations_config import alembic_config
from rollbook_vibes.schema import ID_TABLES, TABLES, sequence_name, table_key_columns
from rollbook_vibes.seed import SCALES, SeedError, main, plan_for, seed


@pytest.fixture
def vibes_dsn(scratch_dsn) -> str:
    """A scratch database migrated to the integer baseline (0001), no rows yet."""
    command.upgrade(alembic_config(scratch_dsn), "0001")
    return scratch_dsn


def content_digest(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return {t: conn.execute(sql.SQL(
            "SELECT md5(string_agg(to_jsonb(t)::text, E'\\n' ORDER BY {})) FROM {} t").format(
            sql.SQL(", ").join(map(sql.Identifier, table_key_columns(t))),
            sql.Identifier(t))).fetchone()[0] for t in TABLES}


def test_tiny_seed_has_realistic_proportions(vibes_dsn):
    lines = []
    counts = seed(vibes_dsn, "tiny", progress=lines.append)

    assert list(counts) == list(TABLES)
    assert counts["users"] == 50 and counts["journals"] == 500
    assert counts["tags"] == 4 * counts["users"]
    assert counts["journal_tags"] == 750  # 0-3 tags a journal, 1.5 on average
    assert counts["reminders"] == 50 and counts["audit_logs"] == 125
    assert counts["user_sessions"] == 75 and counts["secret_tags"] == 25
    assert any(line.startswith("journals: 500 rows in ") for line in lines)
    assert lines[-1].startswith("seeded 1,775 rows in ")
    assert any(line.startswith("vacuumed and analyzed in ") for line in lines)
    with psycopg.connect(vibes_dsn) as conn:
        for table in TABLES:
            found = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(table))).fetchone()[0]
            assert found == counts[table], table
        writers, emails = conn.execute(
            "SELECT (SELECT count(DISTINCT user_id) FROM journals),"
            " (SELECT count(DISTINCT email) FROM users)").fetchone()
        assert 0 < writers < counts["users"]
        assert emails == counts["users"]
        # tags of a journal belong to the journal's author
        assert conn.execute("SELECT count(*) FROM journal_tags jt JOIN journals j"
                            " ON j.id = jt.journal_id JOIN tags t ON t.id = jt.tag_id"
                            " WHERE t.user_id <> j.user_id").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM reminders r JOIN journals j"
                            " ON j.id = r.journal_id WHERE r.user_id <> j.user_id"
                            ).fetchone() == (0,)


def test_sequences_continue_after_the_seeded_ids(vibes_dsn):
    counts = seed(vibes_dsn, "tiny")
    with psycopg.connect(vibes_dsn) as conn:
        for table in ID_TABLES:
            next_id = conn.execute("SELECT nextval(%s)", [sequence_name(table)]).fetchone()[0]
            assert next_id == counts[table] + 1, table


def test_same_scale_gives_the_same_rows(pg_server, vibes_dsn):
    name = "twin_" + conninfo_to_dict(vibes_dsn)["dbname"]
    other = make_conninfo(vibes_dsn, dbname=name)
    pg_server.create_database(name)
    try:
        command.upgrade(alembic_config(other), "0001")
        assert seed(vibes_dsn, 300) == seed(other, 300)
        assert content_digest(vibes_dsn) == content_digest(other)
    finally:
        pg_server.drop_database(name)


def test_seeding_leaves_keys_and_indexes_as_the_migration_made_them(vibes_dsn):
    with psycopg.connect(vibes_dsn) as conn:
        before = [(d.drop.as_string(conn), d.create.as_string(conn))
                  for d in bulkload.key_definitions(conn, TABLES)]
    seed(vibes_dsn, "tiny")
    with psycopg.connect(vibes_dsn) as conn:
        after = [(d.drop.as_string(conn), d.create.as_string(conn))
                 for d in bulkload.key_definitions(conn, TABLES)]
    assert len(before) == 30 and after == before


def test_a_seeded_database_is_refused(vibes_dsn):
    seed(vibes_dsn, "tiny")
    with pytest.raises(SeedError, match=r"tables already hold rows: users, journals, .*"
                                        r"Hint: seed into a fresh database"):
        seed(vibes_dsn, "tiny")


def test_the_uuid_schema_is_refused(scratch_dsn):
    command.upgrade(alembic_config(scratch_dsn), "0002")
    with pytest.raises(SeedError, match=r"at revision 0002.*Hint: seed at 0001, then upgrade"):
        seed(scratch_dsn, "tiny")


def test_an_empty_database_is_refused(scratch_dsn):
    with pytest.raises(SeedError, match=r"no Vibes schema\. Hint: run the migrations up to 0001"):
        seed(scratch_dsn, "tiny")


@pytest.mark.parametrize("scale, journals, users", [
    ("tiny", 500, 50), ("small", 10_000, 1_000), ("100k", 100_000, 10_000),
    ("1m", 1_000_000, 100_000), ("1M", 1_000_000, 100_000), (2_500, 2_500, 250),
    ("250_000", 250_000, 25_000),
])
def test_scales_by_name_or_journal_count(scale, journals, users):
    plan = plan_for(scale)
    assert (plan.journals, plan.users) == (journals, users)
    assert set(SCALES) == {"tiny", "small", "100k", "1m"}


@pytest.mark.parametrize("scale, message", [
    ("huge", r"unknown scale 'huge'\. Hint: use one of tiny, small, 100k, 1m"),
    (5, r"scale 5 is too small\. Hint: seed at least 10 journals"),
])
def test_bad_scales_are_refused(scale, message):
    with pytest.raises(SeedError, match=message):
        plan_for(scale)


def test_command_line_prints_progress_and_counts(vibes_dsn, capsys):
    assert main(["--dsn", vibes_dsn, "--scale", "200"]) == 0
    out = capsys.readouterr().out
    assert "journals: 200 rows in " in out
    assert "  journal_tags " in out and "300" in out


def test_command_line_error_is_one_line_and_exit_2(scratch_dsn, capsys):
    assert main(["--dsn", scratch_dsn, "--scale", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the database has no Vibes schema.") and err.count("\n") == 1
