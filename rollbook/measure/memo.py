"""Measurements taken once per run, by key, even when several threads or processes judge them.

Under pytest-xdist each worker used to measure what it needed: the orphan trigger on one worker
searched every foreign key again although the orphan checks on the other had just done so, and
the slowdown trigger re-ran the key queries the performance checks had timed. A run that
shares a folder between its processes (`SharedFolder`) measures each key once: the first
process to ask measures while holding the key's lock, the others wait for it and read the
result. One process alone keeps them in memory (`InMemory`); its threads (the checks and the
measurements started ahead of them, rollbook/pytest_plugin/measure_ahead.py) measure each key
once too.

A key can be reserved ahead in one process (`reserve`): whoever asks for it then waits until
the reserving side measures it (`fill`) or gives it up (`release`, and the asker measures it
itself). That is how the measurements started at session start keep the checks from
measuring the same thing at the same time on another connection.

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
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class _Slot:
    """One key: its value once measured, and the lock held while it is being measured (or
    while it is reserved)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.value: Any = None


class InMemory:
    """Values measured once in this process, whichever thread asks first."""

    def __init__(self) -> None:
        self._slots: dict[tuple, _Slot] = {}
        self._slots_lock = threading.Lock()

    def _slot(self, key: tuple) -> _Slot:
        with self._slots_lock:
            return self._slots.setdefault(key, _Slot())

    def measured(self, key: tuple) -> bool:
        return self._slot(key).done

    def get(self, key: tuple, measure: Callable[[], T]) -> T:
        slot = self._slot(key)
        with slot.lock:  # waits for whoever measures it, or reserved it
            if not slot.done:
                slot.value, slot.done = self._measure(key, measure), True
            return slot.value

    def _measure(self, key: tuple, measure: Callable[[], T]) -> T:
        return measure()

    def reserve(self, key: tuple) -> bool:
        """Hold `key` until `fill` or `release`: askers wait meanwhile. False (nothing held)
        when it is measured already."""
        slot = self._slot(key)
        slot.lock.acquire()
        if slot.done:
            slot.lock.release()
            return False
        return True

    def fill(self, key: tuple, measure: Callable[[], T]) -> T:
        """Measure a key reserved with `reserve`, keep it, and let the askers read it. If
        `measure` raises, nothing is kept: the next asker measures it (and sees the error)."""
        slot = self._slot(key)
        try:
            if not slot.done:
                slot.value, slot.done = self._measure(key, measure), True
            return slot.value
        finally:
            self.release(key)

    def release(self, key: tuple) -> None:
        """Give up a reservation without measuring: the next asker measures."""
        self._slot(key).lock.release()


class SharedFolder(InMemory):
    """Values measured once by whichever process of the run asks first."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def _measure(self, key: tuple, measure: Callable[[], T]) -> T:
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
