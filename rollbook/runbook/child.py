"""Child processes that do not outlive the run (the service under test, its helpers).

On Linux a child asks the kernel for a signal when the thread that started it dies
(prctl PR_SET_PDEATHSIG), so even a SIGKILL of pytest (what CI sends on cancel) takes the child
with it. Elsewhere it is a no-op, and stop() or the process group is what ends the child.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Callable

PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn for subprocess.Popen: the child gets `signum` when its starter dies."""
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def arm() -> None:  # runs in the child, between fork and exec
        _PRCTL(PR_SET_PDEATHSIG, signum)
        if os.getppid() != parent:  # the starter died before the signal was armed
            os._exit(1)
    return arm
