"""Measurements taken once per run, by key, even when several processes judge them.

Under pytest-xdist each worker used to measure what it needed: the orphan trigger on one worker
searched every foreign key again although the orphan checks on the other had just done so, and
the slowdown trigger re-ran the key queries the performance checks had timed. A run that
shares a folder between its processes (`SharedFolder`) measures each key once: the first
process to ask measures while holding the key's lock, the others wait for it and read the
result. One process alone keeps them in memory (`InMemory`).

The folder is private to the run (mode 0700, made by the run's controller and removed at its
end), and only this run's own processes write into it: what is read back was written by the
same code moments before, which is why pickle is acceptable here and nowhere else.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class InMemory:
    """Values measured once in this process."""

    def __init__(self) -> None:
        self._values: dict[tuple, Any] = {}

    def get(self, key: tuple, measure: Callable[[], T]) -> T:
        if key not in self._values:
            self._values[key] = measure()
        return self._values[key]


class SharedFolder(InMemory):
    """Values measured once by whichever process of the run asks first."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def get(self, key: tuple, measure: Callable[[], T]) -> T:
        return super().get(key, lambda: self._shared(key, measure))

    def _shared(self, key: tuple, measure: Callable[[], T]) -> T:
        name = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
        value_path = self.folder / f"{name}.pickle"
        with open(self.folder / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if value_path.exists():
                return pickle.loads(value_path.read_bytes())
            value = measure()
            partial = value_path.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(value))
            os.replace(partial, value_path)
            return value


def private_folder(parent: Path | None = None) -> Path:
    """A new folder only this user can enter, for one run's SharedFolder."""
    return Path(tempfile.mkdtemp(prefix="rollbook-measured-", dir=parent))
