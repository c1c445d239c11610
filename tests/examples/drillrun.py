"""A drill run as a user runs it on their own project: `pytest DRILL --env PROFILE` in a child
process, from the checkout, with no ROLLBOOK_ variables of this session and the profile's
folder importable (a profile may name a writer or seeder module beside it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_drill(drill: Path, profile: Path, reports: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBOOK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(profile.parent), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(drill), "-q", "-p", "no:cacheprovider",
         "--env", str(profile), "--reports-dir", str(reports), "--allure-html", "no"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
