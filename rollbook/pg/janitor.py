"""Nothing of a run outlives it: a watchdog per server, and reaping of what older runs left.

`pg_ctl start` detaches the postmaster into its own session, so neither Ctrl-C nor a SIGKILL of
pytest (what CI sends on cancel) reaches it. Each server's work directory therefore gets:

- an `owner` file (pid and start time of the process that made it), so a later run can tell an
  abandoned directory from one in use and reap it (`reap_abandoned`);
- a watchdog process in a session of its own that holds the read end of a pipe whose write end
  only the owner has: when the owner dies, for whatever reason, the read returns, and the
  watchdog stops the server immediately and removes the directory.

Run as `python -m rollbook.pg.janitor FD WORKDIR` (the watchdog); imports nothing heavy.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKDIR_PREFIX = "rollbook-pg-"
OWNER_FILE = "owner"
LEGACY_GRACE_S = 15 * 60  # a directory from before owner files, untouched that long, is abandoned
STOP_WAIT_S = 5.0


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"


def claim(workdir: Path) -> None:
    """Mark `workdir` as this process's."""
    (workdir / OWNER_FILE).write_text(f"{os.getpid()} {_started(os.getpid())}\n")


def _abandoned(workdir: Path) -> bool:
    try:
        pid, started = (workdir / OWNER_FILE).read_text().split()
    except FileNotFoundError:
        return time.time() - workdir.stat().st_mtime > LEGACY_GRACE_S and not _postmasters(workdir)
    except (OSError, ValueError):
        return False
    now = _started(int(pid))
    return now is None or (now != "?" and now != started)


def _postmasters(workdir: Path) -> list[int]:
    """Live postmasters whose data directory is inside `workdir`."""
    pids = []
    # cluster/data/ today; data/ in directories from before the cluster/ folder
    for pidfile in [*workdir.glob("cluster/data/postmaster.pid"),
                    *workdir.glob("data/postmaster.pid")]:
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if _started(pid) is not None:
            pids.append(pid)
    return pids


def stop_and_remove(workdir: Path) -> None:
    """Immediate shutdown of any server in `workdir` (SIGQUIT, then SIGKILL), then remove it."""
    pids = _postmasters(workdir)
    for pid in pids:
        _signal(pid, signal.SIGQUIT)
    deadline = time.monotonic() + STOP_WAIT_S
    while any(_started(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    shutil.rmtree(workdir, ignore_errors=True)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def reap_abandoned(root: Path | None = None) -> list[Path]:
    """Stop and remove the servers and directories older runs left behind; the ones reaped."""
    root = Path(root or tempfile.gettempdir())
    reaped = []
    for workdir in root.glob(f"{WORKDIR_PREFIX}*"):
        if workdir.is_dir() and not workdir.is_symlink() and _abandoned(workdir):
            stop_and_remove(workdir)
            reaped.append(workdir)
    return reaped


class Watchdog:
    """The process that cleans `workdir` up if this one dies without doing it."""

    def __init__(self, workdir: Path):
        read_end, self._write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "rollbook.pg.janitor", str(read_end), str(workdir)],
                pass_fds=(read_end,), start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(read_end)

    @property
    def pid(self) -> int:
        return self._process.pid

    def dismiss(self) -> None:
        """The owner cleaned up itself: end the watchdog without it doing anything."""
        self._process.kill()
        self._process.wait()
        os.close(self._write_end)


def _watch(fd: int, workdir: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with os.fdopen(fd, "rb") as pipe:
        pipe.read()  # returns at EOF: every holder of the write end is gone
    stop_and_remove(workdir)


if __name__ == "__main__":
    _watch(int(sys.argv[1]), Path(sys.argv[2]))
