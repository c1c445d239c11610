"""Profiles: the shipped ones load; every mistake is one line naming file, key and fix; the
settings on top follow CLI > environment > profile > default; no secret in a profile."""
from __future__ import annotations

from pathlib import Path

import pytest

from rollbook.errors import ConfigError
from rollbook.settings.profile import ProfileError
from rollbook.settings.profile_files import BUILTIN_ENVS, load_profile, parse_profile
from rollbook.settings.resolve import resolve

ENVS = BUILTIN_ENVS


def mistakes(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path), ENVS)
    return [m.removeprefix(f"{path}: ") for m in caught.value.mistakes]


@pytest.mark.parametrize("name", ["local", "ci", "prod.example"])
def test_shipped_profiles_load(name):
    profile = load_profile(name, ENVS)
    assert profile.name == name
    assert [q.name for q in profile.queries] == [
        "user by id", "journals of one user (users join journals)", "journal count per user"]
    assert profile.alembic.expected_revision == "0001"
    assert profile.triggers.query_slowdown_ratio == 1.5
    assert profile.rto_s["Total Rollback"] == 70 * 60
    assert profile.disposable is (name != "prod.example")


def test_local_is_embedded_and_prod_names_a_variable():
    local, prod = load_profile("local", ENVS), load_profile("prod.example", ENVS)
    assert local.database.embedded and local.embedded.seed == "rollbook_vibes.seed:seed"
    assert local.embedded.snapshot and local.embedded.extensions == ("pg_stat_statements", "amcheck")
    assert not prod.database.embedded and prod.database.dsn_env == "VIBES_PROD_DSN"
    assert prod.tables["users"].unique == (("email",),)


def test_a_minimal_profile_only_names_the_dsn_variable(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text('[database]\ndsn_env = "SHOP_DSN"\n')
    profile = load_profile(str(path), ENVS)
    assert profile.name == "shop" and profile.queries == () and profile.tables == {}
    assert profile.key_types == () and not profile.id_columns  # Vibes' expectations: declared
    assert profile.database.statement_timeout_ms == 30_000


@pytest.mark.parametrize("text, expected", [
    ('[database]\ndsn_env = "X"\nlock_timeout_ms = 0\n',
     "[database] lock_timeout_ms: must be at least 1, got 0"),
    ('[database]\ndsn_env = "postgresql://u:pw@h/db"\n',
     "[database] dsn_env: must name an environment variable (e.g. VIBES_DSN), not hold the DSN"
     " itself; export the DSN in that variable"),
    ('[database]\ndsn_env = "X"\npassword = "hunter2"\n',
     "password: profiles never hold a DSN or password; put the DSN in an environment variable"
     " and name it with [database] dsn_env"),
    ("[database]\n", "[database] dsn_env: missing: name the environment variable that holds the"
     ' DSN (e.g. dsn_env = "VIBES_DSN"), or set embedded = true'),
    ('[database]\ndsn_env = "X"\n[databse]\n', "databse: unknown key (did you mean database?)"),
    ('[database]\ndsn_env = "X"\ndisposable = true\n',
     "[database] disposable: unknown key; known keys: application_name, dsn_env, embedded, "
     "lock_timeout_ms, replicas_env, statement_timeout_ms"),
    ('[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "DELETE FROM users"\n',
     "[[queries]] #1 sql: must be a SELECT (checks are read-only), got 'DELETE FROM users'"),
    ('[database]\ndsn_env = "X"\n[[queries]]\nname = "q"\nsql = "SELECT 1"\n'
     '[[queries]]\nname = "q"\nsql = "SELECT 2"\n',
     "[[queries]] #2 name: 'q' is used twice; query names must be unique"),
    ('[database]\ndsn_env = "X"\n[[soft_foreign_keys]]\ntable = "a"\ncolumns = ["x", "y"]\n'
     'references = "b"\nref_columns = ["id"]\n',
     "[[soft_foreign_keys]] #1 ref_columns: has 1 columns but columns has 2; they pair up one "
     "to one"),
    ('[database]\ndsn_env = "X"\n[rto]\n"Database Rollback" = "soon"\n',
     '[rto] Database Rollback: must be a positive duration such as 1800, "30m", "90s" or "1h",'
     " got 'soon'"),
    ('[database]\ndsn_env = "X"\n[tables.users]\nunique = "email"\n',
     "[tables.users] unique: must be a list of column lists, e.g. [[\"email\"]], got 'email'"),
    ('[database]\ndsn_env = "X"\n[api]\nbase_url = "https://ops:token@vibes.example.com"\n',
     "[api] base_url: must not carry credentials; tokens go in environment variables"),
    ('[database]\ndsn_env = "X"\n[embedded]\nseed = "no_such_module:seed"\n',
     "[embedded] seed: module 'no_such_module' cannot be imported"),
    ('[database]\ndsn_env = "X"\n[api]\nservice = "rollbook.runbook.service:vibes_service"\n',
     "[api] service: only a disposable profile may name one; point base_url at the running "
     "API and name a smoke account by smoke_email/smoke_password_env"),
    ('[database]\ndsn_env = "X"\n[api]\nsmoke_email = "smoke@vibes.example.com"\n',
     "[api] smoke_email: a smoke account needs both smoke_email and smoke_password_env (the "
     "name of the variable holding its password)"),
    ('[database]\ndsn_env = "X"\n[api.p95_budget_ms]\nlogon = 5\n',
     "[api.p95_budget_ms] logon: unknown key (did you mean login?)"),
    ('[database]\ndsn_env = "X"\n[alembic]\nini = "no_such_package:alembic.ini"\n',
     "[alembic] ini: no_such_package:alembic.ini: no installed package no_such_package"),
    ('[database]\ndsn_env = "X"\n[alembic]\nini = "rollbook_vibes:no.ini"\n',
     "[alembic] ini: rollbook_vibes:no.ini: package rollbook_vibes has no no.ini"),
])
def test_each_mistake_is_one_line_naming_key_and_fix(tmp_path, text, expected):
    assert mistakes(text, tmp_path) == [expected]


def test_embedded_needs_disposable_and_an_alembic_project(tmp_path):
    assert mistakes("[database]\nembedded = true\n", tmp_path) == [
        "disposable: [database] embedded = true needs disposable = true: rollbook creates, "
        "migrates and seeds that database",
        "[alembic] ini: an embedded profile needs [alembic] ini and expected_revision: the suite"
        " migrates its database to that revision"]


def test_every_mistake_is_reported_not_only_the_first(tmp_path):
    found = mistakes('disposable = "yes"\n[database]\ndsn_env = "X"\nstatement_timeout_ms = -5\n'
                     '[performance]\nrepeats = 0\n', tmp_path)
    assert found == ["disposable: must be true or false, got 'yes'",
                     "[database] statement_timeout_ms: must be at least 1, got -5",
                     "[performance] repeats: must be at least 1, got 0"]


def test_rto_durations_accept_seconds_and_units(tmp_path):
    path = tmp_path / "rto.toml"
    path.write_text('[database]\ndsn_env = "X"\n[rto]\n"Database Rollback" = "45m"\n'
                    '"Service Restart" = 90\n"Validation Testing" = "1.5h"\n')
    rto = load_profile(str(path), ENVS).rto_s
    assert (rto["Database Rollback"], rto["Service Restart"], rto["Validation Testing"]) == (
        2700.0, 90.0, 5400.0)
    assert rto["Application Rollback"] == 900.0  # the runbook's default stays


def test_unknown_env_and_missing_file_are_one_line():
    with pytest.raises(ConfigError) as caught:
        load_profile("staging", ENVS)
    assert caught.value.one_line() == (
        f"unknown env 'staging': there is no {ENVS}/staging.toml (nor a built-in profile of that name). Hint: use one of: ci, local, "
        "prod.example; or pass a path to a .toml profile.")
    with pytest.raises(ConfigError, match=r"profile file /nowhere/p.toml does not exist\."):
        load_profile("/nowhere/p.toml", ENVS)


def test_parse_keeps_paths_relative_to_the_profile(tmp_path):
    (tmp_path / "alembic.ini").write_text("[alembic]\n")
    profile = parse_profile({"database": {"dsn_env": "X"},
                             "alembic": {"ini": "alembic.ini", "expected_revision": "7"}},
                            tmp_path / "p.toml")
    assert profile.alembic.ini == tmp_path / "alembic.ini"


def test_a_file_inside_a_package_is_found_wherever_the_profile_is(tmp_path):
    """The shipped profiles name the reference's Alembic project as package:file, so a copy of
    one in a project's envs/ (or anywhere) still finds it."""
    import rollbook_vibes
    for folder in (tmp_path, tmp_path / "deeper" / "envs"):
        profile = parse_profile({"database": {"dsn_env": "X"},
                                 "alembic": {"ini": "rollbook_vibes:alembic.ini"}},
                                folder / "p.toml")
        assert profile.alembic.ini == Path(rollbook_vibes.__file__).parent / "alembic.ini"


# -- precedence: command line > environment > profile > default -------------------------
NOTHING = {"env": None, "dsn": None, "baseline": None, "pg_backend": None, "pg_bin_dir": None,
           "scale": None}


def test_defaults_are_the_local_profile_and_its_embedded_database():
    settings = resolve(NOTHING, {}, ENVS)
    assert settings.profile.name == "local" and settings.dsn is None
    assert (settings.backend, settings.scale, settings.baseline_path) == ("embedded", "tiny", None)


def test_environment_beats_profile_and_command_line_beats_environment():
    environ = {"ROLLBOOK_ENV": "prod.example", "VIBES_PROD_DSN": "host=prod dbname=vibes",
               "ROLLBOOK_BASELINE": "/env/b.json", "ROLLBOOK_SCALE": "small"}
    from_env = resolve(NOTHING, environ, ENVS)
    assert (from_env.profile.name, from_env.dsn, from_env.dsn_source) == (
        "prod.example", "host=prod dbname=vibes", "$VIBES_PROD_DSN (profile prod.example)")
    assert (str(from_env.baseline_path), from_env.scale) == ("/env/b.json", "small")

    environ["ROLLBOOK_DSN"] = "host=override dbname=vibes"
    assert resolve(NOTHING, environ, ENVS).dsn_source == "$ROLLBOOK_DSN"

    cli = dict(NOTHING, env="ci", dsn="host=cli dbname=x", baseline="/cli/b.json", scale="1m")
    from_cli = resolve(cli, environ, ENVS)
    assert (from_cli.profile.name, from_cli.dsn, from_cli.dsn_source) == (
        "ci", "host=cli dbname=x", "--dsn")
    assert (str(from_cli.baseline_path), from_cli.baseline_source, from_cli.scale) == (
        "/cli/b.json", "--baseline", "1m")


def test_profile_baseline_applies_when_neither_cli_nor_environment_gives_one(tmp_path):
    path = tmp_path / "withbase.toml"
    path.write_text('baseline = "b.json"\n[database]\ndsn_env = "D"\n')
    settings = resolve(dict(NOTHING, env=str(path)), {"D": "host=h"}, ENVS)
    assert settings.baseline_path == tmp_path / "b.json"
    assert settings.baseline_source == "profile withbase"


def test_missing_dsn_variable_is_one_line_with_the_fix():
    with pytest.raises(ConfigError) as caught:
        resolve(dict(NOTHING, env="prod.example"), {}, ENVS)
    assert caught.value.one_line() == (
        "profile prod.example: environment variable VIBES_PROD_DSN is not set. Hint: export "
        "VIBES_PROD_DSN='postgresql://USER@HOST:5432/DBNAME' (keep the password in PGPASSWORD "
        "or ~/.pgpass), or pass --dsn.")
