"""Files the operator names (-o, --reports-dir): written whole or not at all, one line when not.

A file is written to a hidden partial file beside it and renamed into place, so a reader never
sees half of it; a failure (missing or unwritable directory, a name too long, a full disk)
removes the partial file and says what to do. A path that exists and is not a regular file (a
directory, /dev/full, a socket) is never replaced.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from rollbook.errors import ConfigError

HINT = "choose another path: an existing, writable directory with free space."


def why_not_writable(path: Path, what: str) -> str | None:
    """Why `path` cannot take a new file, or None when it can (as far as can be told)."""
    try:
        if path.exists() and not path.is_file():
            return f"{what} {short_path(path)} exists and is not a regular file"
        if not path.parent.is_dir():
            return f"{what} {short_path(path)}: directory {short_path(path.parent)} does not exist"
    except OSError as exc:
        return f"{what} {short_path(path)}: {exc.strerror or exc}"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{what} {short_path(path)}: directory {short_path(path.parent)} is not writable"
    return None


def write_atomically(path: Path, write: Callable[[Path], object], what: str) -> None:
    """Call write(partial) and rename the partial file to `path`; ConfigError when it fails."""
    reason = why_not_writable(path, what)
    if reason:
        raise ConfigError(f"{reason}.", hint=HINT)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(partial)
        partial.replace(path)
    except OSError as exc:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        raise ConfigError(f"cannot write {what} {short_path(path)}: {exc.strerror or exc}.",
                          hint=HINT) from None


def short_path(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}…{text[-40:]} ({len(text)} characters)"
