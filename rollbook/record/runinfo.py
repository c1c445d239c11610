"""Facts about this run for the report: who ran it, when, why, from which code. No secrets."""
from __future__ import annotations

import datetime as dt
import getpass
import platform
import secrets
import socket
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Mapping

# GitLab's predefined variables for how a pipeline started, in words.
PIPELINE_SOURCES = {"schedule": "a pipeline schedule", "web": "a person, from GitLab's Run "
                    "pipeline page", "push": "a push", "merge_request_event": "a merge request",
                    "api": "the API", "trigger": "a trigger token", "pipeline": "another pipeline"}


def new_run_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def git_sha(cwd: Path) -> str:
    """The full commit, +dirty when tracked files differ from it."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10)
        sha = out.stdout.strip() if out.returncode == 0 else "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{sha}+dirty" if sha != "unknown" and dirty else sha


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def python_version() -> str:
    return platform.python_version()


def in_gitlab_ci(env: Mapping[str, str]) -> bool:
    return bool(env.get("CI_JOB_ID"))


def operator(env: Mapping[str, str]) -> dict[str, str]:
    """Who ran it: the CI job, pipeline and URL from GitLab's variables, else user and host."""
    if in_gitlab_ci(env):
        facts = {"operator": f"GitLab CI job, pipeline started by "
                             f"{env.get('GITLAB_USER_LOGIN', 'an unknown user')}",
                 "ci_job": f"{env.get('CI_JOB_NAME', '?')} #{env['CI_JOB_ID']}",
                 "ci_pipeline": f"#{env.get('CI_PIPELINE_ID', '?')} "
                                f"({env.get('CI_PIPELINE_SOURCE', 'unknown source')})",
                 "ci_job_url": env.get("CI_JOB_URL", "—"),
                 "host": env.get("CI_RUNNER_DESCRIPTION") or socket.gethostname()}
        return facts
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return {"operator": user, "host": socket.gethostname()}


def default_reason(env: Mapping[str, str]) -> str:
    """Why it ran, when --reason does not say: from how it was started."""
    if env.get("CI_PIPELINE_SOURCE") == "schedule":
        described = env.get("CI_PIPELINE_SCHEDULE_DESCRIPTION")
        return "scheduled run (pipeline schedule" + (f" {described!r})" if described else ")")
    if in_gitlab_ci(env):
        source = env.get("CI_PIPELINE_SOURCE", "")
        return f"CI run started by {PIPELINE_SOURCES.get(source, source or 'an unknown source')}"
    return "run by hand (no --reason given)"


def write_properties(path: Path, values: dict[str, object]) -> None:
    """A Java-style .properties file, as Allure reads environment.properties."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, value in values.items():
        text = str(value).replace("\\", "\\\\").replace("\n", " ")
        lines.append(f"{key.replace(' ', '_')}={text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
