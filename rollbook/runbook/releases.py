"""The reference service's releases as the runbook handles them: a git repository with one tag
per release, each paired with its Alembic revision, and the runbook's code rollback
(`git checkout <tag>`, restore its configuration, reinstall it) into a fresh virtualenv.

    repo = ReleaseRepo.create(folder / "vibes")         # commits and tags VIBES_RELEASES
    repo.pairs()                                         # {"pre-uuid-migration": "0001", ...}
    installed = repo.install(repo.release_for("0001"), folder / "venvs")
    service.use_interpreter(installed.python, cwd=installed.venv)

A release tree is the `rollbook_vibes` package source, its release.json (release name, id mode,
revision: the configuration the runbook restores), a pyproject.toml and the standard-library
build backend of rollbook.runbook.release_backend, so pip builds it offline. The virtualenv
sees the running environment's packages (the service's dependencies) through a .pth file; its
own site-packages comes first, so the `rollbook_vibes` it imports is the checked-out one.
"""
from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import rollbook_vibes
from rollbook.errors import RollbookError
from rollbook.record.evidence import CheckResult
from rollbook.runbook import release_backend
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID

RELEASE_FILE = "rollbook_vibes/release.json"  # inside the package: installed with it
GIT_IDENTITY = ("-c", "user.name=rollbook", "-c", "user.email=rollbook@localhost",
                "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false")
COMMAND_TIMEOUT_S = 120
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")
_ERROR_LINE = re.compile(r"^(ERROR|error): (?!subprocess-exited-with-error|metadata-generation)")


class ReleaseError(RollbookError):
    """A release could not be tagged, checked out or installed."""


@dataclass(frozen=True)
class Release:
    name: str       # the git tag
    revision: str   # the Alembic revision this release serves
    id_mode: str    # its configuration: integer or uuid ids


VIBES_RELEASES = (Release("pre-uuid-migration", REVISION_INTEGER, "integer"),
                  Release("uuid-migration", REVISION_UUID, "uuid"))


@dataclass(frozen=True)
class InstalledRelease:
    """One release checked out and reinstalled: what the record shows."""

    release: Release
    commit: str
    checkout: Path
    venv: Path
    python: Path
    log: str               # git log --oneline -5 at the checkout, as the runbook verifies
    checkout_s: float
    venv_s: float
    install_s: float
    install_log: str = ""  # pip's output installing the checkout
    freeze: str = ""       # pip freeze of the virtualenv: what the release runs with

    def summary(self) -> str:
        """What was installed, not where: the virtualenv is a temp folder gone after the run
        (its install log and pip freeze are what the record keeps)."""
        return (f"git checkout {self.release.name} ({self.commit[:12]}), installed into a "
                f"fresh virtualenv in {self.install_s:.2f} s (venv {self.venv_s:.2f} s)")

    def to_dict(self) -> dict[str, Any]:
        return {"release": asdict(self.release), "commit": self.commit,
                "checkout": str(self.checkout), "venv": str(self.venv),
                "python": str(self.python), "git_log": self.log.splitlines(),
                "checkout_s": round(self.checkout_s, 3), "venv_s": round(self.venv_s, 3),
                "install_s": round(self.install_s, 3)}


class ReleaseRepo:
    """The service's application directory: a git work tree whose tags are its releases."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path: Path, releases: tuple[Release, ...] = VIBES_RELEASES,
               source: Path | None = None) -> ReleaseRepo:
        """Commit and tag each release in order over the package source; the work tree is left
        at the last one, the release deployed now."""
        repo = cls(path)
        source = Path(source or Path(rollbook_vibes.__file__).parent)
        repo.path.mkdir(parents=True)
        repo.git("init", "-q", "-b", "main")
        shutil.copytree(source, repo.path / "rollbook_vibes",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "release.json"))
        shutil.copy(release_backend.__file__, repo.path / "release_backend.py")
        for number, release in enumerate(releases, start=1):
            (repo.path / RELEASE_FILE).write_text(json.dumps(asdict(release), indent=2) + "\n")
            (repo.path / "pyproject.toml").write_text(_pyproject(f"{number}.0.0"))
            repo.git("add", "-A")
            repo.git(*GIT_IDENTITY, "commit", "-q", "-m", f"Release {release.name}")
            repo.git(*GIT_IDENTITY, "tag", "-a", release.name, "-m",
                     f"{release.name}: Alembic revision {release.revision}")
        return repo

    def git(self, *args: str) -> str:
        command = "git " + " ".join(a for a in args if a not in GIT_IDENTITY)
        try:
            done = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReleaseError(f"{command} could not run in {self.path}: {exc}.",
                               hint="install git and check the folder exists.") from None
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[0]
            raise ReleaseError(f"{command} failed in {self.path}: {said}",
                               hint="run the same git command there by hand to see why.")
        return done.stdout.strip()

    def tags(self) -> list[str]:
        return self.git("tag", "--list").split()

    def release_at(self, tag: str) -> Release:
        """The release a tag holds, from its release.json: its name, revision and id mode."""
        self._require_tag(tag)
        return Release(**json.loads(self.git("show", f"{tag}:{RELEASE_FILE}")))

    def pairs(self) -> dict[str, str]:
        """Each tag and the Alembic revision its release serves."""
        return {tag: self.release_at(tag).revision for tag in self.tags()}

    def release_for(self, revision: str) -> str:
        """The tag of the release that serves `revision`."""
        matching = [tag for tag, paired in self.pairs().items() if paired == revision]
        if len(matching) != 1:
            raise ReleaseError(f"{len(matching)} releases in {self.path} serve Alembic revision "
                               f"{revision} (tags: {', '.join(self.tags()) or 'none'}).",
                               hint="tag exactly one release per revision; its release.json "
                               "names the revision.")
        return matching[0]

    def install(self, tag: str, venvs: Path) -> InstalledRelease:
        """The runbook's code rollback: check out `tag`, create a fresh virtualenv and pip
        install the checkout into it, offline. A failed install leaves no virtualenv behind."""
        self._require_tag(tag)
        started = time.perf_counter()
        self.git("checkout", "-q", "--detach", tag)
        commit, log = self.git("rev-parse", "HEAD"), self.git("log", "--oneline", "-5")
        release = Release(**json.loads((self.path / RELEASE_FILE).read_text()))
        checked_out = time.perf_counter()
        venv = Path(venvs) / f"{tag}-{commit[:12]}"
        shutil.rmtree(venv, ignore_errors=True)
        try:
            python = _create_venv(venv)
            made = time.perf_counter()
            install_log = _pip_install(python, self.path)
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        done = time.perf_counter()
        freeze = _run([sys.executable, "-m", "pip", "--python", str(python), "freeze",
                       "--disable-pip-version-check"], "pip freeze",
                      f"run `python -m pip --python {python} freeze` to see why.")
        return InstalledRelease(release, commit, self.path, venv, python, log,
                                checked_out - started, made - checked_out, done - made,
                                install_log, freeze)

    def _require_tag(self, tag: str) -> None:
        if tag not in self.tags():
            raise ReleaseError(f"the release repository {self.path} has no tag {tag!r} "
                               f"(tags: {', '.join(self.tags()) or 'none'}).",
                               hint=f"tag the release first: git tag {tag} <commit>.")


def health_reports_release(health: CheckResult, tag: str) -> CheckResult:
    """The service's /health (a read_health result) names release `tag`."""
    body = health.observed.get("response", {}).get("body")
    said = body.get("release") if isinstance(body, dict) else None
    ok = health.ok and said == tag
    summary = f"/health reports release {said!r}" + ("" if ok else
              f", expected {tag!r}. Hint: the service still runs another build: check the "
              "interpreter it was started with and that the release was installed.")
    return CheckResult("service release", ok, summary, observed={"release": said, "want": tag})


def _create_venv(venv: Path) -> Path:
    """A virtualenv without pip of its own (the running pip installs into it), which sees the
    running environment's packages after its own through a .pth file."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv",
         "check that this Python has the venv module (Debian: apt-get install python3-venv).")
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   "the new virtualenv's python", "recreate the virtualenv.").strip()
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    running = [p for p in dict.fromkeys([*site.getsitepackages(), *user]) if Path(p).is_dir()]
    (Path(purelib) / "rollbook-running-env.pth").write_text("\n".join(running) + "\n")
    return python


def _pip_install(python: Path, checkout: Path) -> str:
    return _run([sys.executable, "-m", "pip", "--python", str(python), "install",
                 "--no-index", "--no-deps", "--no-build-isolation",
                 "--disable-pip-version-check", "--no-input", str(checkout)],
                f"pip install {checkout}",
                f"run `python -m pip install --no-index --no-build-isolation .` in {checkout} "
                "to see pip's whole output.")


def _run(argv: list[str], what: str, hint: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReleaseError(f"{what} could not run: {exc}.", hint=hint) from None
    if done.returncode != 0:
        raise ReleaseError(f"{what} exited with code {done.returncode}: "
                           f"{_cause(done.stderr + done.stdout)}", hint=hint)
    return done.stdout


def _cause(output: str) -> str:
    """The line of a failed command's output that says why: the exception a build backend
    raised (pip wraps it in boxes and notes), else the last error line, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for pattern in (_RAISED, _ERROR_LINE):
        found = [line for line in lines if pattern.match(line)]
        if found:
            return found[-1]
    return lines[-1] if lines else "no output"


def _pyproject(version: str) -> str:
    return ("[build-system]\nrequires = []\nbuild-backend = \"release_backend\"\n"
            "backend-path = [\".\"]\n\n"
            f"[project]\nname = \"vibes\"\nversion = \"{version}\"\n"
            "requires-python = \">=3.11\"\n")
