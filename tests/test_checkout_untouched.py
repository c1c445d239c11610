"""Tests own only their temp folders: tests/examples/untouched.py, the guard every session of
rollbook's tests runs under, fails the session when a test changed the checkout, and names the
path. Here it watches a checkout of its own (a pytester folder holding a user's baseline and a
`reports/latest`) while planted writers do what a careless test would."""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SENTINEL = "pre_migration_baseline.json"
HEADING = "the checkout changed during the run"

# a careless test's body -> the line the guard says about it
WRITERS = {
    f"Path({SENTINEL!r}).unlink()": f"removed: {SENTINEL}",
    "Path('reports/users-run/rollback-record.md').write_text('# edited')":
        "changed: reports/users-run/rollback-record.md",
    "link = Path('reports/latest'); link.unlink(); link.symlink_to('mine')":
        "changed: reports/latest (-> users-run, now -> mine)",
    "Path('reports/users-run/extra.txt').write_text('x')": "added: reports/users-run/extra.txt",
    "Path('envs/scratch.toml').write_text(''); Path('envs/scratch.toml').unlink()":
        "something was created and removed in envs/",
    "Path('allure-report/data').mkdir(parents=True)": "added: allure-report",
}


@pytest.fixture
def checkout(pytester, monkeypatch) -> Path:
    """A checkout as a user leaves it: a baseline in its root, their profile, a drill's run
    folder and the latest link; its sessions run under the guard. pytester's own files (the
    captured output, the inner basetemp) stay beside it."""
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    root = pytester.mkdir("checkout")
    (root / "conftest.py").write_text('pytest_plugins = ["examples.untouched"]\n')
    (root / SENTINEL).write_text('{"tables": {}}')
    (root / "envs").mkdir()
    (root / "envs" / "prod.toml").write_text('[database]\ndsn_env = "X"\n')
    (root / "reports" / "users-run").mkdir(parents=True)
    (root / "reports" / "users-run" / "rollback-record.md").write_text("# Rollback record\n")
    (root / "reports" / "latest").symlink_to("users-run")
    monkeypatch.chdir(root)
    return root


def plant(root: Path, bodies: list[str]) -> None:
    for i, body in enumerate(bodies):
        (root / f"test_planted_{i}.py").write_text(
            "from pathlib import Path\n\n\ndef test_planted(tmp_path):\n"
            f"    (tmp_path / 'mine.txt').write_text('ok')\n    {body}\n")


def run(pytester, root: Path, *args: str):
    """pytest in the checkout, as its user runs it there."""
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--rootdir={root}",
                                         "-o", "python_files=test_*.py", str(root), *args)


def guard_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if HEADING in line)
    return [line for line in lines[start + 1:] if line.startswith(
        ("added: ", "removed: ", "changed: ", "something was"))]


def test_a_test_writing_only_its_temp_folder_passes(pytester, checkout):
    """The session's own run folder (reports/<run-id>/ by default) is no test's doing."""
    plant(checkout, ["pass"])
    result = run(pytester, checkout)
    result.assert_outcomes(passed=1)
    assert result.ret == 0, result.stdout.str()
    assert HEADING not in result.stdout.str()


def test_every_planted_writer_fails_the_session_naming_its_path(pytester, checkout):
    plant(checkout, list(WRITERS))
    result = run(pytester, checkout)
    result.assert_outcomes(passed=len(WRITERS))  # each test passed: the session did not
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert sorted(guard_lines(result.stdout.str())) == sorted(WRITERS.values())


def test_under_two_xdist_workers_the_controller_sees_every_workers_writes(pytester, checkout):
    """The picture is the controller's, taken before the workers start and compared after
    every one ended, their session fixtures torn down; a file created and removed again in the
    root (as the README walkthrough's baseline once was) is seen too."""
    (checkout / "test_two.py").write_text(
        "import pytest\nfrom pathlib import Path\n\n\n@pytest.fixture(scope='session')\n"
        "def leaves_a_file():\n    yield\n    Path('reports/left-by-teardown.txt').write_text('x')\n\n\n"
        "@pytest.mark.parametrize('n', range(4))\n"
        "def test_one(n, leaves_a_file):\n    pass\n\n\n"
        "def test_scratch():\n    Path('scratch.json').write_text('{}')\n"
        "    Path('scratch.json').unlink()\n")
    result = run(pytester, checkout, "-n", "2")
    result.assert_outcomes(passed=5)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert guard_lines(result.stdout.str()) == [
        "added: reports/left-by-teardown.txt", "something was created and removed in ./"]
