"""Names are names: tables, schemas and columns with dots, quotes, spaces, unicode and 63 bytes
round-trip through `rollbook snapshot`, the counts, content and orphan verdicts and their
summaries; the judge of what exists is the server's own catalog."""
from __future__ import annotations

import pytest
from psycopg import sql

from rollbook import cli
from rollbook.measure import baseline as baseline_mod
from rollbook.measure.catalog.base import display_name, relation
from rollbook.pg.connect import connect
from rollbook.verdicts import content, counts, orphans
from rollbook.verdicts.measured import Measured

LONGEST = "é" * 31 + "x"  # 63 bytes in UTF-8, PostgreSQL's NAMEDATALEN - 1
ODD_TABLES = [("public", "my.table"), ("public", 'we"ird'), ("public", "with space"),
              ("public", "Ünïcödé ☃"), ("public", LONGEST), ("odd.schema", "x.y"),
              ("Mixed Case", "T")]
ODD_COLUMN = 'col.with "dots"'


@pytest.fixture
def odd_database(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute('CREATE SCHEMA "odd.schema"')
        conn.execute('CREATE SCHEMA "Mixed Case"')
        for schema, table in ODD_TABLES:
            conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, {} text)").format(
                sql.Identifier(schema, table), sql.Identifier(ODD_COLUMN)))
            conn.execute(sql.SQL("INSERT INTO {} SELECT g, 'row ' || g FROM "
                                 "generate_series(1, 10) g").format(
                sql.Identifier(schema, table)))
        conn.execute('ALTER TABLE "odd.schema"."x.y" ADD COLUMN "parent.id" int '
                     'REFERENCES "my.table"(id)')
        conn.execute('UPDATE "odd.schema"."x.y" SET "parent.id" = id')
        names = {(s, t) for s, t in conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN "
            "('pg_catalog', 'information_schema', 'pg_toast')").fetchall()}
    assert names == set(ODD_TABLES)  # the server holds them as written (none truncated)
    return scratch_dsn


def test_display_names_read_back_as_the_same_relation():
    for schema, table in [*ODD_TABLES, ("public", ""), ('a"."b', "c.d")]:
        assert relation(display_name(schema, table)) == sql.Identifier(schema, table)


def _snapshot(dsn: str, tmp_path) -> baseline_mod.Baseline:
    profile = tmp_path / "odd.toml"
    profile.write_text('[database]\ndsn_env = "ODD_DSN"\n')
    output = tmp_path / "baseline.json"
    assert cli.main(["snapshot", "--env", str(profile), "--dsn", dsn, "-o", str(output)]) == 0
    return baseline_mod.load(output)


def test_odd_names_round_trip_through_snapshot_and_the_verdicts(odd_database, tmp_path):
    taken = _snapshot(odd_database, tmp_path)
    shown = [display_name(schema, table) for schema, table in ODD_TABLES]
    assert set(taken.tables) == set(shown)
    assert all(taken.tables[name].rows == 10 for name in shown)
    with connect(odd_database, read_only=True) as conn:
        run = Measured(conn, taken)
        for name in shown:
            for result in (counts.row_count(run, name), content.compare_table(run, name)):
                assert result.ok, result.summary
        [fk] = orphans.foreign_keys(conn, ("public", "odd.schema"))
        assert run.orphans(fk).ok


def test_a_change_to_an_odd_table_is_caught_and_named(odd_database, tmp_path):
    taken = _snapshot(odd_database, tmp_path)
    with connect(odd_database) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute('DELETE FROM "my.table" WHERE id = 3')
        conn.execute(sql.SQL("UPDATE {} SET {} = 'changed' WHERE id = 4").format(
            sql.Identifier("public", LONGEST), sql.Identifier(ODD_COLUMN)))
    with connect(odd_database, read_only=True) as conn:
        run = Measured(conn, taken)
        lost = counts.row_count(run, '"my.table"')
        changed = content.compare_table(run, LONGEST)
        [fk] = orphans.foreign_keys(conn, ("public", "odd.schema"))
        orphaned = run.orphans(fk)
    assert not lost.ok and '"my.table"' in lost.summary
    assert not changed.ok and LONGEST in changed.summary
    assert not orphaned.ok and "x.y" in orphaned.summary
