"""Refuse early: what would fail only after the rollback (and blame it) fails before it.

A key query that errors fails the snapshot; a placeholder the params query cannot fill, or a
literal % psycopg would read as one, fails the profile's load; a kind of object the baseline
recorded that this rollbook does not know is "not compared", never dropped without a word."""
from __future__ import annotations

import json

import pytest

from rollbook import cli
from rollbook.errors import ConfigError
from rollbook.measure import catalog
from rollbook.settings.profile_files import load_profile
from rollbook.verdicts import schema
from tests.examples.checkrun import ROOT, vibes_database

ENVS = str(ROOT / "envs")


def _profile(tmp_path, sql: str, params: str | None = None) -> str:
    lines = ['[database]', 'dsn_env = "VIBES_DSN"', '', '[[queries]]', 'name = "q"',
             f"sql = '''{sql}'''"] + ([f"params = '''{params}'''"] if params else [])
    path = tmp_path / "early.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def vibes(pg_server):
    with vibes_database(pg_server) as dsn:
        yield dsn


def test_a_key_query_that_fails_at_snapshot_fails_the_snapshot(vibes, tmp_path, capsys):
    output = tmp_path / "baseline.json"
    profile = _profile(tmp_path, "SELECT count(*) / 0 AS boom FROM users")
    code = cli.main(["snapshot", "--env", profile, "--dsn", vibes, "-o", str(output),
                     "--envs-dir", ENVS])
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2 and not output.exists()
    assert errors == ["rollbook: error: key query 'q' failed: division by zero; no baseline was "
                      "written. Hint: fix the query in the profile's [[queries]] (or the "
                      "database it reads), then snapshot again."]


@pytest.mark.parametrize("sql, params, mistake", [
    ("SELECT * FROM users WHERE id = %(id)s", "SELECT id AS user_id FROM users LIMIT 1",
     "uses %(id)s but the params query returns only user_id; name a column of the params "
     "query AS id"),
    ("SELECT * FROM users WHERE id = %(id)s AND email = %(email)s",
     "SELECT u.id, lower(u.display_name) FROM users u LIMIT 1",
     "uses %(email)s but the params query returns only id, lower; name a column of the params "
     "query AS email"),
    ("SELECT * FROM users WHERE email LIKE 'a%' AND id = %(id)s", "SELECT id FROM users LIMIT 1",
     "holds a '%' that is not a placeholder: with a params query every % is read by psycopg; "
     "write a literal % as %%, a value as %(column)s"),
    ("SELECT * FROM users WHERE id = %(id)s", None,
     "uses the placeholder %(id)s but the query has no params query to fill it"),
])
def test_placeholders_are_checked_against_the_params_querys_columns_at_load(
        tmp_path, sql, params, mistake):
    with pytest.raises(ConfigError) as caught:
        load_profile(_profile(tmp_path, sql, params), tmp_path)
    [line] = caught.value.mistakes
    assert line.split(" sql: ", 1)[1].startswith(mistake)


@pytest.mark.parametrize("sql, params", [
    ("SELECT * FROM users WHERE email LIKE 'a%%' AND id = %(id)s",
     "SELECT id FROM users LIMIT 1"),
    ("SELECT * FROM users WHERE id = %(user_id)s", "SELECT id AS user_id FROM users LIMIT 1"),
    ("SELECT * FROM users WHERE id = %(id)s", "SELECT * FROM users LIMIT 1"),  # run checks it
    ("SELECT * FROM users WHERE email LIKE 'a%'", None),  # no params: sent as it is
])
def test_placeholders_that_can_be_filled_pass(tmp_path, sql, params):
    assert load_profile(_profile(tmp_path, sql, params), tmp_path).queries[0].sql


def _with_unknown_kind(recorded: dict) -> dict:
    return {**recorded, "frobnicators": {"public.f1": {"x": 1}, "public.f2": {"x": 2}}}


def test_an_unknown_baseline_kind_is_listed_as_not_compared(vibes):
    from rollbook.measure import baseline
    from rollbook.pg.connect import connect

    with connect(vibes, read_only=True) as conn:
        recorded = baseline.capture(conn, ["0001"]).schema
    assert schema.kinds_compared(recorded).ok
    result = schema.kinds_compared(_with_unknown_kind(json.loads(json.dumps(recorded))))
    assert not result.ok
    assert result.summary.startswith("not compared: the baseline recorded kinds this rollbook "
                                     "does not know: frobnicators (2 objects). Hint:")


def test_planted_defect_the_schema_reader_drops_an_unknown_kind_without_a_word(vibes):
    """What the checks had: the reader keeps only the kinds it knows, so without the check
    above nothing would say the frobnicators went uncompared."""
    from rollbook.measure import baseline
    from rollbook.pg.connect import connect

    with connect(vibes, read_only=True) as conn:
        recorded = baseline.capture(conn, ["0001"]).schema
    read = catalog.Schema.from_dict(_with_unknown_kind(recorded))
    assert "frobnicators" not in read.objects
