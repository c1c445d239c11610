"""Facts about this run for the report: run id, git revision, tool versions. No secrets."""
from __future__ import annotations

import datetime as dt
import platform
import secrets
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def new_run_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def git_sha(cwd: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    sha = out.stdout.strip() if out.returncode == 0 else "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return f"{sha}+dirty" if sha != "unknown" and dirty else sha


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def python_version() -> str:
    return platform.python_version()


def write_properties(path: Path, values: dict[str, object]) -> None:
    """A Java-style .properties file, as Allure reads environment.properties."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, value in values.items():
        text = str(value).replace("\\", "\\\\").replace("\n", " ")
        lines.append(f"{key.replace(' ', '_')}={text}")
    path.write_text("\n".join(lines) + "\n")
