"""The trigger evaluation's orphan searches and amcheck's index checks, shared by two checks
connections: the same results, in the keys' and the indexes' order, as one connection taking
them one after the other; a corrupted index still fires the corruption trigger."""
from __future__ import annotations

from pathlib import Path

from rollbook.measure import amcheck
from rollbook.pg.connect import connect
from rollbook.pg.server import start_server
from rollbook.pg.two_connections import largest_first
from rollbook.pytest_plugin.trigger_steps import searched_on_two_connections
from rollbook.runbook.corrupt import scribble_on_page
from rollbook.settings.profile import Profile
from rollbook.settings.target import checks_connection
from rollbook.verdicts import orphans, triggers
from rollbook.verdicts.measured import Measured

SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY);
CREATE TABLE journals (id int PRIMARY KEY, user_id int REFERENCES users);
CREATE TABLE notes (id int PRIMARY KEY, user_id int, journal_id int);
CREATE TABLE tags (id int PRIMARY KEY, journal_id int);
INSERT INTO users SELECT g FROM generate_series(1, 50) g;
INSERT INTO journals SELECT g, 1 + g % 50 FROM generate_series(1, 2000) g;
-- notes: 7 orphans by user (ids 51..57), 3 by journal (ids 2001..2003); tags: none
INSERT INTO notes SELECT g, CASE WHEN g <= 7 THEN 50 + g ELSE 1 END,
       CASE WHEN g > 7 AND g <= 10 THEN 1993 + g ELSE 1 END FROM generate_series(1, 500) g;
INSERT INTO tags SELECT g, 1 + g % 2000 FROM generate_series(1, 3000) g;
ANALYZE;
"""


def test_two_connections_find_what_one_finds_in_the_same_order(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute(SCHEMA)
    profile = Profile(name="test", path=Path("test.toml"))
    with checks_connection(profile, scratch_dsn) as conn:
        keys = [*orphans.foreign_keys(conn),
                orphans.ForeignKey.soft_key("notes", ["user_id"], "users", ["id"]),
                orphans.ForeignKey.soft_key("tags", ["journal_id"], "journals", ["id"]),
                orphans.ForeignKey.soft_key("notes", ["journal_id"], "journals", ["id"])]
        alone = [Measured(conn, None).orphans(fk) for fk in keys]
        shared, checked = searched_on_two_connections(profile, scratch_dsn,
                                                      Measured(conn, None), keys)
    assert [_seen(r) for r in shared] == [_seen(r) for r in alone]
    assert [r.observed.get("orphans") for r in shared][-3:] == [7, 0, 3]  # planted above
    assert checked == []


def test_a_corrupted_index_checked_beside_the_orphan_searches_fires_the_trigger():
    profile = Profile(name="test", path=Path("test.toml"))
    with start_server("embedded") as server:
        dsn = server.dsn()
        with connect(dsn) as conn:
            conn.execute("CREATE EXTENSION amcheck")
            conn.execute(SCHEMA)
        with checks_connection(profile, dsn) as conn:
            keys = orphans.foreign_keys(conn)
            indexes = amcheck.btree_indexes(conn)
            clean = searched_on_two_connections(profile, dsn, Measured(conn, None), keys,
                                                indexes)[1]
            assert [_seen(r) for r in clean] == [_seen(r) for r in amcheck.check_indexes(conn)]
            assert not triggers.corruption(clean, available=True).fired
        scribble_on_page(server, dsn, "journals_pkey")
        with checks_connection(profile, dsn) as conn:
            alone = amcheck.check_indexes(conn)
            found, checked = searched_on_two_connections(profile, dsn, Measured(conn, None),
                                                         keys, indexes)
    assert [_seen(r) for r in checked] == [_seen(r) for r in alone]
    assert [r.name for r in checked] == [f"amcheck: {index}" for index, _ in indexes]
    signal = triggers.corruption(checked, available=True)
    assert signal.fired and "journals_pkey on journals is corrupt" in signal.detail
    assert [r.ok for r in found] == [True]  # the one catalog key, searched beside


def _seen(result) -> tuple:
    return result.name, result.ok, result.summary, result.observed


def test_the_largest_relation_is_taken_first_ties_in_their_given_order(scratch_dsn):
    with connect(scratch_dsn) as conn:
        conn.execute("CREATE TABLE small (id int); CREATE TABLE big (id int);"
                     " CREATE TABLE empty_a (id int); CREATE TABLE empty_b (id int);"
                     " INSERT INTO small SELECT generate_series(1, 1000);"
                     " INSERT INTO big SELECT generate_series(1, 50000); ANALYZE")
        named = ["empty_a", "small", '"no such table"', "big", "empty_b"]
        assert [named[i] for i in largest_first(conn, named)] == [
            "big", "small", "empty_a", '"no such table"', "empty_b"]
        assert largest_first(conn, []) == []
