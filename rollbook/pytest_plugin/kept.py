"""Evidence kept with the run: a drill's baseline, its backups' facts and (unless --keep-dumps
no) the dumps, the operator checks' report, the server log. Under
reports/<run>/evidence/<drill>/, so the run folder's SHA256SUMS covers them."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rollbook.record.redact import redact_text

KEEP_DUMPS = pytest.StashKey[bool]()


def pytest_addoption(parser):
    parser.getgroup("rollbook").addoption(
        "--keep-dumps", choices=("yes", "no"), default=None,
        help="keep the drills' pg_dump archives in the run folder (default yes; their facts "
             "and sha256 are kept either way). Env: ROLLBOOK_KEEP_DUMPS.")


def pytest_configure(config):
    value = config.getoption("--keep-dumps") or os.environ.get("ROLLBOOK_KEEP_DUMPS") or "yes"
    if value not in ("yes", "no"):
        raise pytest.UsageError(f"ROLLBOOK_KEEP_DUMPS={value!r}: not yes or no. Hint: "
                                "ROLLBOOK_KEEP_DUMPS=no keeps only the dumps' facts.")
    config.stash[KEEP_DUMPS] = value == "yes"


class KeptEvidence:
    """One drill's folder of kept evidence; each name is a file in it."""

    def __init__(self, folder: Path, keep_dumps: bool = True):
        self.folder = folder
        self.keep_dumps = keep_dumps

    def _path(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / name

    def text(self, name: str, text: str) -> Path:
        path = self._path(name)
        path.write_text(redact_text(text), encoding="utf-8")
        return path

    def json(self, name: str, value) -> Path:
        return self.text(name, json.dumps(value, indent=2, default=str) + "\n")

    def file(self, name: str, source: Path, *, link: bool = False) -> Path:
        """A copy, byte for byte (a dump, a baseline whose hash the record shows). With
        `link`, for a file nothing writes to again (a dump: hundreds of MB at 1M journals), a
        second link to it where both folders are on one file system, else a copy."""
        path = self._path(name)
        path.unlink(missing_ok=True)
        if link:
            try:
                os.link(source, path)
                return path
            except OSError:  # another file system, or links not allowed there
                pass
        shutil.copyfile(source, path)
        return path

    def listing(self, run_dir: Path) -> dict[str, str]:
        """Every file kept, as the record links it: its name -> its path in the run folder."""
        if not self.folder.is_dir():
            return {}
        return {path.name: path.relative_to(run_dir).as_posix()
                for path in sorted(self.folder.iterdir()) if path.is_file()}

    def backup(self, label: str, backup) -> dict:
        """The backup's facts as JSON and, unless --keep-dumps no, the archive itself."""
        facts = backup.to_dict()
        if self.keep_dumps:
            facts["kept_as"] = self.file(backup.path.name, backup.path, link=True).name
        else:
            facts["kept_as"] = "not kept (--keep-dumps no)"
        self.json(f"{label}.json", facts)
        return facts
