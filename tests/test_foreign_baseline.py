"""A restore into another database or cluster can be checked against the baseline of the
original, when the operator says so explicitly; the report records that it was."""
from __future__ import annotations

import pytest
from examples.checkrun import failed, run_checks, snapshot, vibes_copy

from rollbook import cli
from rollbook.settings.profile_files import BUILTIN_ENVS

# the families that compare with the baseline (prod.example's API is not there to call)
BASELINE_FAMILIES = ("test_preflight.py", "test_schema.py", "test_counts.py", "test_content.py")


@pytest.fixture
def original_and_restored(pg_server, tmp_path):
    """A baseline of one database, and a second database holding the same data."""
    original_name, original = vibes_copy(pg_server)
    path = snapshot(original, tmp_path / "original.json")
    pg_server.drop_database(original_name)
    restored_name, restored = vibes_copy(pg_server)
    yield original_name, path, restored_name, restored
    pg_server.drop_database(restored_name)


def _assess(dsn, baseline, *args):
    return cli.main(["assess", "--env", "prod.example", "--dsn", dsn, "--baseline",
                     str(baseline), "--no-api", *args, "--envs-dir", str(BUILTIN_ENVS)])


def test_assess_refuses_it_naming_the_flag_then_compares_when_told(original_and_restored,
                                                                   capsys):
    original_name, baseline, restored_name, restored = original_and_restored
    assert _assess(restored, baseline) == cli.EXIT_REFUSED
    [line] = [x for x in capsys.readouterr().err.splitlines() if "error:" in x]
    assert f"taken from database {original_name} (system " in line
    assert line.endswith("compare anyway with --foreign-baseline (profile: foreign_baseline = "
                         "true).")

    # compared, nothing fired; --no-api leaves the Critical smoke triggers unevaluated (exit 1)
    assert _assess(restored, baseline, "--foreign-baseline") == cli.EXIT_NOT_VERIFIED
    out = capsys.readouterr()
    assert out.out.startswith("no trigger fired, not all verified")
    assert (f"rollbook: note: baseline from another database: taken from database "
            f"{original_name} (system ") in out.err
    assert f"compared with database {restored_name} (system " in out.err
    assert "as the same data (by --foreign-baseline)" in out.err


def test_pytest_checks_compare_with_the_flag_or_the_profile_key(original_and_restored,
                                                               pytester, monkeypatch, tmp_path):
    original_name, baseline, _, restored = original_and_restored
    result, found = run_checks(pytester, monkeypatch, "--env", "prod.example", "--dsn", restored,
                               "--baseline", str(baseline), "--foreign-baseline",
                               modules=BASELINE_FAMILIES)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert not failed(found)
    result.stdout.fnmatch_lines([f"rollbook checks: *; baseline from another database: taken "
                                 f"from database {original_name} (system *as the same data "
                                 "(by --foreign-baseline)"])

    profile = tmp_path / "restored.toml"
    text = (BUILTIN_ENVS / "prod.example.toml").read_text()  # its [alembic] ini: package:file
    profile.write_text("foreign_baseline = true\n" + text)
    result, found = run_checks(pytester, monkeypatch, "--env", str(profile), "--dsn", restored,
                               "--baseline", str(baseline), modules=("test_preflight.py",))
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*as the same data (by profile * (foreign_baseline = true))"])
