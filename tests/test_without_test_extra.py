"""The README's first command installs rollbook alone (`pip install -e .`): from the checkout's
root, `pytest --help` and `pytest --collect-only` then still work, and tests/ says which extra
it needs instead of crashing on an import. The test extra is hidden from a pytest subprocess
(its modules cannot be imported, its distributions and their pytest plugins are not found),
as in an environment that never installed it."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

HIDER = '''\
import importlib.abc, importlib.metadata as md, sys
MODULES, DISTS = {modules!r}, {dists!r}


class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MODULES:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Hidden())
_distributions = md.distributions
md.distributions = lambda **kw: (d for d in _distributions(**kw)
                                 if d.metadata["Name"].lower().replace("_", "-") not in DISTS)
'''


def extra_only(extra: str = "test") -> set[str]:
    """The distributions the extra brings that a bare install does not (its nested extras'
    too)."""
    bare, extra_deps = set(), set()
    wanted = {extra}
    for requirement in map(Requirement, metadata.requires("rollbook") or []):
        if requirement.marker is None:
            bare.add(canonicalize_name(requirement.name))
        elif requirement.name == "rollbook":
            wanted |= requirement.extras
    for requirement in map(Requirement, metadata.requires("rollbook") or []):
        if requirement.marker is not None and any(
                requirement.marker.evaluate({"extra": e}) for e in wanted):
            extra_deps.add(canonicalize_name(requirement.name))
    return extra_deps - bare - {"rollbook"}


def modules_of(dists: set[str]) -> set[str]:
    return {module for module, owners in metadata.packages_distributions().items()
            if {canonicalize_name(o) for o in owners} & dists}


def bare_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    dists = extra_only()
    (tmp_path / "sitecustomize.py").write_text(HIDER.format(modules=sorted(modules_of(dists)),
                                                            dists=sorted(dists)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLBOOK_", "PYTEST_"))}
    env["PYTHONPATH"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_test_extra_is_what_gets_hidden():
    dists = extra_only()
    assert {"hypothesis", "pytest-alembic", "check-jsonschema", "ruff"} <= dists
    assert {"hypothesis", "pytest_alembic", "check_jsonschema"} <= modules_of(dists)
    assert "pytest" not in dists and "psycopg" not in dists


def test_help_works_without_the_test_extra(tmp_path):
    done = bare_pytest(tmp_path, "--help")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "--scale" in done.stdout and "--runpytest" in done.stdout


def test_collect_only_works_and_tests_name_the_extra(tmp_path):
    done = bare_pytest(tmp_path, "--collect-only", "-q", "-rs")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "drills/test_uuid_rollback.py::" in out and "checks/test_counts.py::" in out
    assert "tests/test_profile.py::" not in out
    assert ("rollbook's own tests need the test extra (hypothesis, pytest_alembic, "
            "check_jsonschema, ruff not installed). Hint: pip install -e '.[test]'") in out
    assert "Traceback" not in out and "No module named" not in out
