"""Expensive set-up made once per test session, also under xdist: the first worker that asks
makes it, under a lock, in the session's shared temp folder; the others wait and read what it
left. For runs several tests only read (a drill's record and artifacts)."""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path


def once_per_session(tmp_path_factory, name: str, make: Callable[[Path], dict]) -> dict:
    """What make(folder) returned (JSON-able), made in `folder` by whichever worker asked
    first; a make that failed is tried again by the next worker that asks."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' basetemps are popen-gw0, popen-gw1, ... in one folder
    made = root / f"once-{name}.json"
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if made.exists():
            return json.loads(made.read_text())
        folder = root / f"once-{name}"
        folder.mkdir(exist_ok=True)
        found = make(folder)
        made.write_text(json.dumps(found))
        return found
