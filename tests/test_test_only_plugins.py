"""What only rollbook's own tests use (pytester, pytest-alembic, the docker/local_pg/alembic
markers) stays out of the way of people running the drills and checks: `pytest drills/ --help`
lists rollbook's options but not pytester's `--runpytest`, while tests/ still gets pytester."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY_OPTIONS = ("--runpytest", "--lsof", "--test-alembic")
TEST_ONLY_MARKERS = ("@pytest.mark.docker", "@pytest.mark.local_pg", "@pytest.mark.alembic")


def pytest_output(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ROLLBOOK_", "PYTEST_XDIST_"))}
    done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_users_of_the_suite_see_rollbook_but_no_test_only_plugin():
    for suite in ("drills/", "checks/"):
        help_text = pytest_output(ROOT, suite, "--help")
        assert "--scale" in help_text and "--baseline" in help_text
        assert [o for o in TEST_ONLY_OPTIONS if o in help_text] == [], suite
        markers = pytest_output(ROOT, suite, "--markers")
        assert "@pytest.mark.drill" in markers and "@pytest.mark.check" in markers
        assert [m for m in TEST_ONLY_MARKERS if m in markers] == [], suite


def test_rollbook_s_own_tests_get_pytester_and_their_markers(pytester):
    """Asking for pytester is the proof for tests/ as a whole; a file named alone loads
    tests/conftest.py at start-up too, so its --help has pytester's options."""
    help_text = pytest_output(ROOT, "tests/test_profile.py", "--help")
    assert "--runpytest" in help_text
    markers = pytest_output(ROOT, "tests/test_profile.py", "--markers")
    assert all(m in markers for m in TEST_ONLY_MARKERS)


def test_pytester_in_a_root_conftest_would_show_it_to_users(tmp_path):
    """The planted defect: the old root conftest, and `pytest drills/ --help` lists
    `--runpytest` again."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "tests")
    (tmp_path / "drills").mkdir()
    (tmp_path / "drills" / "test_drill.py").write_text("def test_drill():\n    pass\n")
    assert "--runpytest" not in pytest_output(tmp_path, "drills/", "--help")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ("pytester",)\n')
    assert "--runpytest" in pytest_output(tmp_path, "drills/", "--help")
