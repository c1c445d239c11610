"""A drill shows its progress as it goes: one line per finished step with its time, a heartbeat
while a long step runs, and the record's path at the end."""
from __future__ import annotations

import re
import time
from itertools import pairwise

from rollbook.pytest_plugin import drill as harness


def test_steps_and_heartbeats_are_printed_as_they_happen(pytester):
    pytester.makepyfile(test_drill='''
import time

from rollbook.pytest_plugin import drill as harness

def test_drill(drill, monkeypatch):
    """A drill with one long step."""
    monkeypatch.setattr(harness, "HEARTBEAT_S", 1.0)
    with drill.step("Quick step"):
        pass
    with drill.step("Long step"):
        time.sleep(3.5)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--reports-dir",
                                           str(pytester.path / "reports"))
    assert result.ret == 0
    out = result.stdout.str()
    assert re.search(r"\[rollbook\] Quick step: passed in \d", out)
    beats = re.findall(r"\[rollbook\] … Long step: running for (\d)", out)
    assert len(beats) >= 2, out
    assert re.search(r"\[rollbook\] Long step: passed in 3\.\d+ s", out)
    assert re.search(r"rollbook: rollback record .*rollback-record\.md", out)


def test_heartbeat_lines_come_within_their_interval_not_a_second_later(monkeypatch):
    """The heartbeat wakes at its deadline: at 0.3 s, a 1 s polling tick (the old loop) would
    leave 1 s between lines."""
    monkeypatch.setattr(harness, "HEARTBEAT_S", 0.3)
    said: list[float] = []
    heartbeat = harness.Heartbeat(lambda line: said.append(time.monotonic()))
    started = time.monotonic()
    heartbeat.enter("Long step", time.perf_counter())
    time.sleep(2.0)
    heartbeat.leave()
    gaps = [b - a for a, b in pairwise([started, *said])]
    assert len(said) >= 4 and max(gaps) < 0.3 + 0.3, gaps
