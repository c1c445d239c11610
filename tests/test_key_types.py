"""Key types are judged against what the baseline recorded (its exact type, modifier included),
and the runbook's Vibes-specific `id` query runs over the schemas in scope, only for a profile
that declares it."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from rollbook.measure import catalog, inventory
from rollbook.pg.connect import connect
from rollbook.settings.profile_files import load_profile
from rollbook.verdicts import validation
from rollbook.verdicts.key_types import check_key_column, information_schema_ids

SCHEMA = """
CREATE SCHEMA tracking;
CREATE TABLE tracking.runs (run_uuid varchar(32) PRIMARY KEY, status varchar(9));
CREATE TABLE tracking.tags (id varchar(250) PRIMARY KEY,
                            run_uuid varchar(32) REFERENCES tracking.runs);
INSERT INTO tracking.runs VALUES ('a1', 'RUNNING'), ('b2', 'FINISHED');
INSERT INTO tracking.tags VALUES ('t1', 'a1');
"""


@pytest.fixture
def conn(scratch_dsn):
    with connect(scratch_dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        yield conn


def keys(conn):
    return {(k.table, k.column): k for k in catalog.key_columns(catalog.snapshot(conn))}


def test_a_varchar_key_matches_the_baseline_type_it_was_recorded_with(conn):
    recorded = keys(conn)
    for key in recorded.values():
        result = check_key_column(conn, key, (key.type,))
        assert result.ok, result.summary
        assert result.observed["declared"] == key.type
    assert recorded[("tracking.runs", "run_uuid")].type == "character varying(32)"


def test_a_changed_length_or_type_of_a_varchar_key_fails(conn):
    key = keys(conn)[("tracking.runs", "run_uuid")]
    conn.execute("ALTER TABLE tracking.tags DROP CONSTRAINT tags_run_uuid_fkey;"
                 " ALTER TABLE tracking.runs ALTER COLUMN run_uuid TYPE varchar(64)")
    result = check_key_column(conn, key, (key.type,))
    assert not result.ok
    assert ("tracking.runs.run_uuid (primary key) is character varying(64), expected "
            "character varying(32)") in result.summary
    conn.execute("ALTER TABLE tracking.runs ALTER COLUMN run_uuid TYPE text")
    assert "is text, expected character varying(32)" in check_key_column(
        conn, key, (key.type,)).summary


def test_the_id_query_looks_in_the_schemas_in_scope(conn):
    found = information_schema_ids(conn, ("character varying(250)",))
    assert found.ok, found.summary
    assert found.observed["schemas"] == ["public", "tracking"]
    assert found.summary == "1 id columns, all character varying(250)"
    wrong = information_schema_ids(conn, ("integer", "bigint"))
    assert not wrong.ok
    assert "tracking.tags.id is character varying" in wrong.summary
    nowhere = information_schema_ids(conn, ("integer",), ("public",))
    assert not nowhere.ok and nowhere.summary == "no id columns found in public"


@pytest.mark.parametrize("declared", [False, True])
def test_the_id_query_runs_only_where_the_profile_declares_it(conn, tmp_path, declared):
    profile = tmp_path / "p.toml"
    profile.write_text(f'[database]\ndsn_env = "X"\n[keys]\nid_columns = {str(declared).lower()}\n')
    run = SimpleNamespace(conn=conn, profile=load_profile(str(profile), tmp_path), baseline=None,
                          found=SimpleNamespace(key_columns=()))
    names = [r.name for r in validation.types_checks(run)]
    assert names == (["information_schema: id column types"] if declared else [])


def test_without_a_baseline_key_types_are_only_what_the_profile_declares(conn, tmp_path):
    bare, declared = tmp_path / "bare.toml", tmp_path / "declared.toml"
    bare.write_text('[database]\ndsn_env = "X"\n')
    declared.write_text('[database]\ndsn_env = "X"\n[keys]\ntypes = ["integer"]\n')
    assert inventory.build(conn, load_profile(str(bare), tmp_path), None).key_columns == ()
    expected = inventory.build(conn, load_profile(str(declared), tmp_path), None).key_columns
    assert {(k.key.table, k.key.column, k.types) for k in expected} == {
        ("tracking.runs", "run_uuid", ("integer",)), ("tracking.tags", "id", ("integer",)),
        ("tracking.tags", "run_uuid", ("integer",))}
