"""A pytest plugin for the benchmarks' child runs: at the end of the session it writes the pytest
process's own peak resident set size (KiB; getrusage of itself, its children not counted) to
the file named by $ROLLBOOK_BENCH_OWN_RSS. bench/checks_vs_runbook.py's run_pytest loads it."""
from __future__ import annotations

import os
import resource
from pathlib import Path

TARGET = "ROLLBOOK_BENCH_OWN_RSS"


def pytest_unconfigure(config):
    target = os.environ.get(TARGET)
    if target and getattr(config, "workerinput", None) is None:
        Path(target).write_text(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
