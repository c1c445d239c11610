"""rollbook's own seeder (rollbook/runbook/generic_seed.py) on real schemas: the shop example
(identity and serial keys, a composite key, a domain with a CHECK, an enum, citext, a
partitioned table, a second schema), deterministic, parents first; and the schemas it refuses."""
from __future__ import annotations

from pathlib import Path

import pytest

from rollbook.measure import baseline
from rollbook.pg.connect import connect
from rollbook.runbook import generic_seed
from rollbook.runbook.generic_seed import SeedError
from rollbook.verdicts import orphans

SHOP = Path(__file__).resolve().parent / "examples" / "shop" / "schema.sql"


def shop(dsn: str) -> None:
    with connect(dsn) as conn:
        conn.execute(SHOP.read_text())


@pytest.fixture
def second_dsn(pg_server):
    name = "rb_seed_second"
    pg_server.create_database(name, drop_existing=True)
    yield pg_server.dsn(name)
    pg_server.drop_database(name)


def test_shop_seeded_whole_parents_first_and_the_same_every_time(scratch_dsn, second_dsn):
    digests = []
    for dsn in (scratch_dsn, second_dsn):
        shop(dsn)
        with connect(dsn) as conn:
            seeded = generic_seed.seed_tables(conn, 40)
            taken = baseline.capture(conn, [])
            assert not [r.summary for fk in orphans.foreign_keys(conn)
                        for r in [orphans.find_orphans(conn, fk)] if not r.ok]
        digests.append({t: (b.rows, b.digest) for t, b in taken.tables.items()})
    assert seeded == {t: 40 for t in seeded} and "order_items" in seeded
    assert list(seeded).index("orders") < list(seeded).index("order_items")
    assert digests[0] == digests[1]  # deterministic: the same rows, digest for digest


def test_writer_rows_hang_off_the_rows_it_wrote(scratch_dsn):
    shop(scratch_dsn)
    with connect(scratch_dsn) as conn:
        generic_seed.seed_tables(conn, 40)
        last_order = conn.execute("SELECT max(id) FROM orders").fetchone()[0]
        written = generic_seed.write(conn, "any")
        assert written["orders"] == generic_seed.WRITER_ROWS
        # the new order items belong to the new orders, never to the ones before
        assert conn.execute("SELECT count(*) FROM order_items WHERE order_id > %s",
                            (last_order,)).fetchone()[0] == written["order_items"] > 0


def test_self_references_and_a_cycle_broken_at_a_nullable_key_are_seeded(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE teams (id int PRIMARY KEY, lead_id int, parent_id int"
                     "  REFERENCES teams);"
                     "CREATE TABLE people (id int PRIMARY KEY, team_id int NOT NULL REFERENCES"
                     "  teams, mentor_id int NOT NULL REFERENCES people);"
                     "ALTER TABLE teams ADD FOREIGN KEY (lead_id) REFERENCES people")
        assert generic_seed.seed_tables(conn, 20) == {"teams": 20, "people": 20}
        assert conn.execute("SELECT count(lead_id), count(parent_id) FROM teams").fetchone() \
            == (0, 0)
        assert conn.execute("SELECT count(*) FROM people WHERE mentor_id = id").fetchone()[0] \
            == 20
        assert not [r.summary for fk in orphans.foreign_keys(conn)
                    for r in [orphans.find_orphans(conn, fk)] if not r.ok]


def test_a_foreign_key_cycle_is_refused_with_a_hint(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL);"
                     "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);"
                     "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b")
        with pytest.raises(SeedError) as caught:
            generic_seed.seed_tables(conn, 5)
    assert "form a cycle with no key that may be NULL" in caught.value.one_line()
    assert caught.value.one_line().endswith(
        'Hint: name a seeder for the table in the profile ([tables.NAME] seed = '
        '"module:function"), or for the database ([embedded] seed).')


def test_a_required_column_of_an_unknown_type_is_refused_and_a_nullable_one_left_null(
        scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE shapes (id int PRIMARY KEY, spot point, area box NOT NULL)")
        with pytest.raises(SeedError) as caught:
            generic_seed.seed_tables(conn, 5)
        assert caught.value.message == ("column shapes.area of type box is required and "
                                        "rollbook does not know how to make its values.")
        conn.execute("ALTER TABLE shapes ALTER area DROP NOT NULL")
        assert generic_seed.seed_tables(conn, 5) == {"shapes": 5}
        assert conn.execute("SELECT count(spot) FROM shapes").fetchone()[0] == 0


def test_a_check_the_made_values_break_is_one_line_with_a_hint(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE debts (id int PRIMARY KEY, owed int NOT NULL"
                     " CHECK (owed % 7 = 3))")
        with pytest.raises(SeedError) as caught:
            generic_seed.seed_tables(conn, 5)
    assert caught.value.one_line().startswith(
        "seeding debts.owed failed: the values made break constraint debts_owed_check (CHECK "
        '(((owed % 7) = 3))): new row for relation "debts" violates check constraint '
        '"debts_owed_check"')
    assert caught.value.one_line().endswith("Hint: name a seeder for the table in the profile"
                                            ' ([tables.NAME] seed = "module:function"), or for'
                                            " the database ([embedded] seed).")
