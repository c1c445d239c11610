"""Every command in the README's fenced shell blocks is run by a test: here, for real, when it is
cheap and safe, or by the test COVERED names (a drill, the walkthrough, CI's own run). A new
README command that is neither fails here, naming it."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
THIS = "tests/test_readme_commands.py"
FENCE = re.compile(r"^```(bash|sh|shell)\s*$")
WALKTHROUGH = "tests/test_serve_db.py::test_readme_walkthrough_runs_as_written"
REMOTE_WORKERS = \
    "tests/test_replicas.py::test_remote_workers_through_an_xdist_socket_server_spread_them_too"

# command as the README writes it (comments dropped, `&&` chains split) -> the test running it
COVERED = {
    "pip install -e .": f"{THIS}::test_the_install_commands_left_this_environment",
    "pytest drills/test_uuid_rollback.py":
        "drills/test_uuid_rollback.py::test_uuid_rollback_with_alembic_downgrade",
    "pip install -e '.[test]'": f"{THIS}::test_the_install_commands_left_this_environment",
    # the whole suite, and tests/ or all drills at 1M: CI and the 1M measurement run them in
    # full; here they start and collect as written
    "pytest -n 2": f"{THIS}::test_pytest_commands_start_from_the_checkout",
    "pytest tests": f"{THIS}::test_pytest_commands_start_from_the_checkout",
    "pytest drills/ --scale 1m": f"{THIS}::test_pytest_commands_start_from_the_checkout",
    "mkdir -p envs": f"{THIS}::test_the_operator_setup_runs_as_written",
    "cp rollbook/envs/prod.example.toml envs/prod.toml":
        f"{THIS}::test_the_operator_setup_runs_as_written",
    "export VIBES_PROD_DSN='postgresql://checker@db.internal/vibes'":
        f"{THIS}::test_the_operator_setup_runs_as_written",
    # envs/prod.toml is a copy of prod.example, which the walkthrough runs these with
    "rollbook snapshot --env prod --output pre_migration_baseline.json": WALKTHROUGH,
    "pytest checks/ --env prod --baseline pre_migration_baseline.json": WALKTHROUGH,
    "rollbook assess --env prod --baseline pre_migration_baseline.json": WALKTHROUGH,
    # the walkthrough block, every line of it (test_serve_db reads it from this README)
    "rollbook serve-db --with-api": WALKTHROUGH,
    "rollbook snapshot --env prod.example --output pre_migration_baseline.json": WALKTHROUGH,
    "python -m rollbook_vibes.migrate upgrade 0002": WALKTHROUGH,
    "python -m rollbook_vibes.migrate downgrade -1": WALKTHROUGH,
    "pytest checks/ --env prod.example --baseline pre_migration_baseline.json": WALKTHROUGH,
    "rollbook assess --env prod.example --baseline pre_migration_baseline.json": WALKTHROUGH,
    # the worker hosts' set-up, rehearsed on one machine with execnet's socket server
    "cd /srv/rollbook": REMOTE_WORKERS,
    "export VIBES_PROD_DSN='postgresql://checker@db.internal/vibes' "
    "VIBES_REPLICA1_DSN='postgresql://checker@replica1.internal/vibes'": REMOTE_WORKERS,
    "python \"$(python -c 'import execnet.script.socketserver as s; print(s.__file__)')\" "
    "0.0.0.0:8888": REMOTE_WORKERS,
    "pytest checks/ --env prod --baseline pre_migration_baseline.json --dist load "
    "--px id=w1//socket=worker1.internal:8888 --tx 4*popen//via=w1 "
    "--px id=w2//socket=worker2.internal:8888 --tx 4*popen//via=w2": REMOTE_WORKERS,
    "pytest drills/ --pg-backend local --pg-bin-dir /usr/lib/postgresql/15/bin":
        "tests/test_postgres.py::test_local_debian_server_runs_as_unprivileged_user_and_uses_same_major_tools",
    "pip install -e '.[docker]'": f"{THIS}::test_the_install_commands_left_this_environment",
    "pytest drills/ --pg-backend docker":
        "tests/test_postgres.py::test_docker_backend_starts_a_server_or_skips_with_reason",
    "pytest checks/ -n 2": "tests/test_checks_run.py::test_fresh_clone_default_passes_on_two_workers",
    "rollbook verify reports/<run> --allowed-signers allowed_signers":
        "tests/test_manifest.py::test_verify_command_exit_codes",
    "python -m venv .venv": f"{THIS}::test_the_virtualenv_commands_run_as_written",
    ". .venv/bin/activate": f"{THIS}::test_the_virtualenv_commands_run_as_written",
    "pip install -e '.[lint,test]'": f"{THIS}::test_the_install_commands_left_this_environment",
    "ruff check rollbook rollbook_vibes drills checks tests bench":
        f"{THIS}::test_the_lint_command_is_clean",
    "bash .ci/run": f"{THIS}::test_ci_runs_the_readme_test_command",
    "npx --yes allure generate --config reports/latest/allurerc.json --output "
    "reports/allure-report reports/latest/allure-results":
        "tests/test_readme_allure.py::test_the_readme_allure_command_renders_inside_reports",
}


@dataclass(frozen=True)
class Command:
    text: str
    line: int


def _unquoted(text: str):
    """(index, char, inside quotes) for each character of a shell line."""
    quote = None
    for i, char in enumerate(text):
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        yield i, char, quote is not None


def _split(line: str) -> list[str]:
    """A shell line without its comment, cut at `&&` and `;` outside quotes."""
    parts, start, previous = [], 0, " "
    for i, char, quoted in _unquoted(line):
        if not quoted and char == "#" and previous.isspace():
            line = line[:i]
            break
        previous = char
    for i, char, quoted in _unquoted(line + ";"):
        if not quoted and (char == ";" or line[i:i + 2] == "&&"):
            parts.append(line[start:i])
            start = i + (1 if char == ";" else 2)
    return [" ".join(p.split()) for p in parts if p.strip()]


def readme_commands(text: str) -> list[Command]:
    """The commands of the ```bash blocks, each with the line it starts on."""
    commands, block, pending, start = [], False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not block:
            block = bool(FENCE.match(line))
        elif line.startswith("```"):
            block = False
        else:
            start = start if pending else number
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            commands += [Command(part, start) for part in _split(pending + line)]
            pending = ""
    return commands


def uncovered(commands: list[Command], covered: dict[str, str]) -> list[str]:
    return [f"README.md line {c.line}: `{c.text}` is run by no test. Hint: run it in {THIS} or "
            "map it in COVERED to the test that runs it" for c in commands if c.text not in covered]


def clean_env() -> dict[str, str]:
    """This process's environment without the settings of the run around it; the installed
    `rollbook` and `pytest` first on PATH, as in an activated virtualenv."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ROLLBOOK_", "PYTEST_XDIST_")) and k != "VIBES_PROD_DSN"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env={**clean_env(), **env},
                          capture_output=True, text=True, timeout=300)


def run(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    done = shell(command, cwd, **env)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def missing_tests(node_ids: list[str]) -> str:
    """pytest's complaint when a node id does not collect, else ''."""
    done = shell(f"pytest --collect-only -q {shlex.join(node_ids)}", ROOT)
    return "" if done.returncode == 0 else done.stdout[-2000:] + done.stderr[-2000:]


README = readme_commands((ROOT / "README.md").read_text())


def written(*commands: str) -> list[str]:
    """The commands as the README writes them; a test whose commands left it fails here."""
    texts = {c.text for c in README}
    assert [c for c in commands if c not in texts] == [], "no longer in README.md"
    return list(commands)


def test_every_readme_command_is_run_by_a_test():
    assert README, "no ```bash block found in README.md"
    assert uncovered(README, COVERED) == []
    stale = sorted(set(COVERED) - {c.text for c in README})
    assert stale == [], f"COVERED names commands the README no longer has: {stale}"


def test_every_test_named_in_covered_exists():
    assert missing_tests(sorted(set(COVERED.values()))) == ""


def test_a_command_neither_run_nor_mapped_fails_naming_it():
    planted = "Try:\n\n```bash\npytest tests\nrollbook frobnicate --now  # new\n```\n"
    assert uncovered(readme_commands(planted), COVERED) == [
        "README.md line 5: `rollbook frobnicate --now` is run by no test. Hint: run it in "
        f"{THIS} or map it in COVERED to the test that runs it"]
    assert "not found" in missing_tests([f"{THIS}::test_that_was_renamed"])


WORD = st.text("abcxyz019./=-_[],#", min_size=1, max_size=8).filter(lambda w: w[0] != "#")
QUOTED = st.text("ab #&;", min_size=1, max_size=6).map(lambda t: f"'{t}'")


@given(st.lists(st.lists(st.one_of(WORD, QUOTED), min_size=1, max_size=4).map(" ".join),
                min_size=1, max_size=3), st.booleans(), st.booleans())
def test_commands_are_read_through_chains_comments_and_continuations(commands, comment, wrap):
    line = commands[0] + "".join((" \\\n    && " if wrap else " && ") + c for c in commands[1:])
    line += "   # a comment && not-a-command" if comment else ""
    found = readme_commands(f"text\n```bash\n# a comment line\n{line}\n```\n")
    assert [c.text for c in found] == [" ".join(c.split()) for c in commands]
    assert {c.line for c in found} == {4}


def test_the_virtualenv_commands_run_as_written(tmp_path):
    commands = written("python -m venv .venv", ". .venv/bin/activate")
    done = run(" && ".join([*commands, 'python -c "import sys; print(sys.prefix)"']), tmp_path)
    assert done.stdout.strip() == str(tmp_path / ".venv")


def test_the_install_commands_left_this_environment():
    """pip is not run again here: these commands made the environment the suite runs in, and
    this checks what they leave: rollbook installed editable from this checkout, and every
    requirement of the test command's extra (the README's `pip install -e '.[test]' && pytest
    -n 2` installs nothing else). The README's other extras are checked when installed."""
    installs = [c.text for c in README if c.text.startswith("pip install -e ")]
    assert installs == written("pip install -e .", "pip install -e '.[test]'",
                               "pip install -e '.[docker]'", "pip install -e '.[lint,test]'")
    direct = json.loads(installed("rollbook").read_text("direct_url.json"))
    assert direct["dir_info"].get("editable") and direct["url"] == ROOT.as_uri()
    assert unmet_requirements({"test"}) == []
    assert unmet_requirements({"tests"}) == ["rollbook has no extra 'tests'"]
    extras = {extra for c in installs for group in re.findall(r"\[([\w,-]+)\]", c)
              for extra in group.split(",")}
    unmet = unmet_requirements(extras - {"test"})
    if unmet:
        pytest.skip(f"not installed here (only the test command's extra must be): "
                    f"{'; '.join(unmet)}")


def installed(name: str) -> metadata.Distribution:
    """The installed distribution, not a rollbook.egg-info a build left in the checkout."""
    path = [p for p in sys.path if Path(p or os.curdir).resolve() != ROOT]
    return next(iter(metadata.distributions(name=name, path=path)))


def unmet_requirements(extras: set[str], package: str = "rollbook") -> list[str]:
    dist = installed(package)
    unmet = [f"{package} has no extra {e!r}" for e in sorted(extras)
             if e not in dist.metadata.get_all("Provides-Extra", [])]
    for requirement in map(Requirement, dist.requires or []):
        if not any(requirement.marker is None or requirement.marker.evaluate({"extra": e})
                   for e in extras):
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{requirement} is not installed")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{requirement}: {version} is installed")
        if requirement.extras and requirement.name == package:
            unmet += unmet_requirements(requirement.extras, package)
    return unmet


def test_the_operator_setup_runs_as_written(tmp_path):
    """From a checkout's root (here a folder with the checkout's rollbook/), the copy step and
    the export as written, unadjusted (its [alembic] ini names the reference's Alembic project
    inside its package, found wherever the copy is); then the copy is the profile `--env prod`
    finds."""
    (tmp_path / "rollbook").symlink_to(ROOT / "rollbook")
    copy = written("mkdir -p envs", "cp rollbook/envs/prod.example.toml envs/prod.toml")
    run(" && ".join(copy), tmp_path)
    profile = tmp_path / "envs" / "prod.toml"
    export = written("export VIBES_PROD_DSN='postgresql://checker@db.internal/vibes'")
    done = run(" && ".join([*export, "rollbook profile --env prod"]), tmp_path)
    assert done.stdout.startswith(f"profile prod ({profile}, DSN from $VIBES_PROD_DSN)"), done.stdout
    assert "database: postgresql://checker@db.internal/vibes (set by $VIBES_PROD_DSN" in done.stdout
    assert f"{ROOT / 'rollbook_vibes' / 'alembic.ini'}" in done.stdout  # the copy finds it


def starts(command: str) -> subprocess.CompletedProcess:
    """A pytest command from the checkout, collecting only: its paths, options and profile
    accepted, nothing run."""
    return shell(f"{command} --collect-only -q", ROOT)


def test_pytest_commands_start_from_the_checkout():
    """Every README pytest command that needs no file an earlier command makes."""
    commands = [c.text for c in README
                if c.text.startswith("pytest ") and "--baseline" not in c.text]
    assert set(commands) >= {"pytest -n 2", "pytest tests", "pytest drills/ --scale 1m"}
    for command in commands:
        done = starts(command)
        said = [line for line in (done.stdout + done.stderr).splitlines() if "::" not in line]
        assert done.returncode == 0, "\n".join([f"{command}:", *said])[-3000:]
        assert re.search(r"^\d+(/\d+)? tests? collected", done.stdout, re.M), (command,
                                                                             done.stdout)


def test_a_pytest_command_naming_a_profile_nobody_made_is_refused():
    """The planted defect for the test above: a profile the copy step never made."""
    done = starts("pytest checks/ --env not-copied-yet")
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "unknown env 'not-copied-yet'" in done.stdout + done.stderr


def test_the_lint_command_is_clean(tmp_path):
    """From the checkout's root as written; ruff's cache goes to this test's temp folder."""
    run(written("ruff check rollbook rollbook_vibes drills checks tests bench")[0], ROOT,
        RUFF_CACHE_DIR=str(tmp_path / "ruff"))


def test_ci_runs_the_readme_test_command():
    """`bash .ci/run` is CI itself (it installs system packages): what it runs in the end is the
    README's test command."""
    written("bash .ci/run", "pip install -e '.[test]'", "pytest -n 2")
    script = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    assert shlex.split(script[-2]) == ["python", "-m", "pip", "install", "-q", "-e", ".[test]"]
    assert shlex.split(script[-1]) == ["python", "-m", "pytest", "-n", "2"]


def _collected_files(*args: str) -> set[str]:
    done = run(f"pytest --collect-only -q -p no:cacheprovider {shlex.join(args)}", ROOT)
    return {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}


def test_m_long_selects_the_long_rehearsals_the_test_command_leaves_out():
    from conftest import LONG  # tests/conftest.py: what the README's test command leaves out

    assert _collected_files("-m", "long") == set(LONG)
    assert _collected_files().isdisjoint(LONG)
