"""Measurements taken once per run: one process (or thread) measures a key, the others of the run
read it; a key reserved ahead is waited for."""
from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.measure.memo import InMemory, SharedFolder, private_folder


def _ask(folder: str, key: tuple, log: str, queue) -> None:
    def measure() -> dict:
        with open(log, "a") as out:
            out.write("measured\n")
        time.sleep(0.3)  # long enough for the other process to ask meanwhile
        return {"key": key, "rows": 42}
    queue.put(SharedFolder(Path(folder)).get(key, measure))


def test_two_processes_asking_at_once_measure_once(tmp_path):
    folder, log = private_folder(tmp_path), tmp_path / "log"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    askers = [context.Process(target=_ask, args=(str(folder), ("orphans", "a.b"), str(log), queue))
              for _ in range(3)]
    for asker in askers:
        asker.start()
    results = [queue.get(timeout=30) for _ in askers]
    for asker in askers:
        asker.join(timeout=30)
    assert log.read_text() == "measured\n"
    assert results == [{"key": ("orphans", "a.b"), "rows": 42}] * 3
    assert (folder.stat().st_mode & 0o777) == 0o700


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.tuples(st.sampled_from(["table", "chunk", "orphans"]),
                               st.text(max_size=8), st.integers()), max_size=12))
def test_each_distinct_key_measured_once_and_read_back_unchanged(tmp_path_factory, keys):
    folder = private_folder(tmp_path_factory.mktemp("memo"))
    measured: list[tuple] = []

    def measure_of(key):
        def measure():
            measured.append(key)
            return [key, len(measured)]
        return measure

    first = [SharedFolder(folder).get(key, measure_of(key)) for key in keys]
    # a second process of the run (a fresh SharedFolder on the same folder) measures nothing
    again = SharedFolder(folder)
    second = [again.get(key, measure_of(key)) for key in keys]
    assert sorted(measured) == sorted(set(keys))
    assert first == second


def test_in_memory_measures_once_per_key():
    memo, calls = InMemory(), []
    values = [memo.get(("k", n % 2), lambda n=n: calls.append(n) or n) for n in range(4)]
    assert calls == [0, 1] and values == [0, 1, 0, 1]


def _asked_in_a_thread(memo: InMemory, key: tuple, value) -> tuple[threading.Thread, list]:
    got: list = []
    asker = threading.Thread(target=lambda: got.append(memo.get(key, lambda: value)))
    asker.start()
    return asker, got


def test_an_asker_waits_for_the_reserved_key_and_reads_what_was_filled():
    memo = InMemory()
    assert memo.reserve(("orphans", "a.b"))
    asker, got = _asked_in_a_thread(memo, ("orphans", "a.b"), "measured by the asker")
    asker.join(timeout=0.3)
    assert asker.is_alive() and got == []  # waiting, not measuring
    assert memo.fill(("orphans", "a.b"), lambda: "measured ahead") == "measured ahead"
    asker.join(timeout=10)
    assert got == ["measured ahead"]
    assert not memo.reserve(("orphans", "a.b"))  # measured: nothing left to reserve


def test_a_released_or_failed_reservation_leaves_the_asker_to_measure():
    memo = InMemory()
    memo.reserve(("released",))
    memo.reserve(("failed",))
    released, got_released = _asked_in_a_thread(memo, ("released",), "the asker's")
    failed, got_failed = _asked_in_a_thread(memo, ("failed",), "the asker's")
    memo.release(("released",))
    with pytest.raises(ZeroDivisionError):
        memo.fill(("failed",), lambda: 1 / 0)
    released.join(timeout=10)
    failed.join(timeout=10)
    assert got_released == got_failed == ["the asker's"]
