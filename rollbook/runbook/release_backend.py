"""The build backend a Vibes release tree carries (PEP 517, standard library only).

rollbook copies this file into every release it commits (see rollbook.runbook.releases), so
`pip install --no-index --no-build-isolation <checkout>` builds the release offline on any
interpreter: no setuptools or wheel needs to be installed. The wheel holds the checked-out
`rollbook_vibes` package as it is in the tree, release.json included.
"""
from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

PACKAGE = "rollbook_vibes"


def get_requires_for_build_wheel(config_settings=None) -> list[str]:
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    dist = f"{project['name'].replace('-', '_')}-{project['version']}"
    wheel = Path(wheel_directory) / f"{dist}-py3-none-any.whl"
    records: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes) -> None:
            archive.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{name},sha256={digest.decode()},{len(data)}")

        for path in sorted(Path(PACKAGE).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                add(path.as_posix(), path.read_bytes())
        add(f"{dist}.dist-info/METADATA", (f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                           f"Version: {project['version']}\n").encode())
        add(f"{dist}.dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: rollbook\n"
                                       b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        record = f"{dist}.dist-info/RECORD"
        archive.writestr(record, "\n".join([*records, f"{record},,"]) + "\n")
    return wheel.name
