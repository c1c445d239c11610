"""The checks' database measurements started at session start, ahead of the checks that read them.

Python imports, pytest collects and runs ~160 items; the database has nothing to do meanwhile,
and the machine has more than one core. So once the target is open, a run in one process (not
under xdist: there the workers' start-up already keeps every core busy, and a key query timed
beside it is timed slow) reserves the keys the checks will ask for (rollbook/measure/memo.py)
and measures them over AHEAD_CONNECTIONS read-only connections of its own (the checks' own
`checks_connection`: READ ONLY, the profile's timeouts). A check that asks for a key waits for
its value instead of measuring it again; the verdict functions decide exactly as before, on the
same measurements.

Once collection has given up the families no collected item reads (their keys released: a
run of some checks measures only what they read), the key queries are timed first, on one
connection while the others wait, as the baseline timed them: never beside a scan of ours.
Then the content chunks, the tables, the orphan searches and the schema comparison, over
every connection. The post-rollback watch starts
at once too, on a thread and connection of its own (monitoring.observation_taker), so that
its window passes while the rest runs. At the end of the session what is left
is given up and the connections are closed (a statement still running is cancelled).
"""
from __future__ import annotations

import queue
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Callable

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from rollbook.measure import plans
from rollbook.measure.memo import InMemory
from rollbook.pytest_plugin.api import given_api_url
from rollbook.pytest_plugin.checks import content_chunks, measured_on, run_memo_for
from rollbook.pytest_plugin.monitoring import OBSERVATION_KEY, observation_taker
from rollbook.pytest_plugin.profile import TARGET, inventory_for
from rollbook.verdicts.content_ranges import Bisection, Span, baseline_leaves
from rollbook.verdicts.measured import Measured

AHEAD = pytest.StashKey["Ahead"]()
AHEAD_CONNECTIONS = 2

# families of measurements -> the fixtures (or parameters) of the checks that read them
READERS = {
    "key queries": {"key_query_measurements"},
    "content chunks": {"content_chunk"},
    "tables": {"table", "time_column", "content_chunk"},
    "orphans": {"foreign_key", "trigger_signals"},
    "schema": {"schema_comparison", "trigger_signals"},
}


class _GivenUp(Exception):
    """The watch was cut short: what it saw is not the window's, and is not kept."""


class _Asked(Exception):
    """Raised by _Planning instead of measuring: the key a measurement asks for."""

    def __init__(self, key: tuple):
        super().__init__(key)
        self.key = key


class _Planning:
    """A memo through which a measurement names its key instead of being taken (what is
    measured already, e.g. row-level security, it reads)."""

    def __init__(self, memo: InMemory):
        self.memo = memo

    def get(self, key: tuple, measure: Callable[[], Any]) -> Any:
        if self.memo.measured(key):
            return self.memo.get(key, measure)
        raise _Asked(key)


class _Filling:
    """A memo through which a connection ahead fills the key it took, and reads the others."""

    def __init__(self, memo: InMemory, key: tuple):
        self.memo, self.key = memo, key

    def get(self, key: tuple, measure: Callable[[], Any]) -> Any:
        if key == self.key:
            self.key = None
            return self.memo.fill(key, measure)
        return self.memo.get(key, measure)


@dataclass(frozen=True)
class Job:
    family: str
    key: tuple
    measure: Callable[[Measured, plans.Measurements], Any]  # over one connection's views


class Ahead:
    """The reserved keys and the threads that measure them."""

    def __init__(self, config, memo: InMemory):
        self.config, self.memo = config, memo
        self.reserved: set[tuple] = set()
        self.lock = threading.Lock()
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.first: list[Job] = []  # the key queries, timed alone
        self.timed = threading.Event()
        self.collected = threading.Event()  # the families nobody reads given up
        self.watch_stop = threading.Event()
        self.stopping = threading.Event()
        self.stack = ExitStack()
        self.connections: list[psycopg.Connection] = []
        self.threads: list[threading.Thread] = []

    def take(self, key: tuple) -> bool:
        with self.lock:
            if key in self.reserved:
                self.reserved.discard(key)
                return True
            return False

    def give_up(self, key: tuple) -> None:
        if self.take(key):
            self.memo.release(key)

    def plan(self, conn: psycopg.Connection) -> None:
        """Reserve the key of every measurement the checks will ask for, in their order."""
        config = self.config
        planning = measured_on(conn, config, _Planning(self.memo))
        inventory = inventory_for(config)
        # read by every table and orphan measurement: measured now, so they name their own key
        measured_on(conn, config, self.memo).hidden("")
        performance = target(config).profile.performance
        candidates: list[tuple[str, Callable]] = [
            ("key queries", lambda m, q, query=query: q.of(m.conn, query))
            for query in inventory.queries]
        if not target(config).profile.database.replicas_env:  # else spread to the replicas
            candidates += [("content chunks", lambda m, q, c=chunk: _measure_chunk(m, c))
                           for chunk in content_chunks(config) if chunk.of > 1]
        candidates += [("tables", lambda m, q, t=table: m.table(t))
                       for table in inventory.tables]
        candidates += [("orphans", lambda m, q, fk=fk: m.orphans(fk))
                       for fk in inventory.foreign_keys]
        candidates += [("schema", lambda m, q: m.schema())]
        queries = plans.Measurements(performance, memo=_Planning(self.memo))
        for family, measure in candidates:
            try:
                measure(planning, queries)
            except _Asked as asked:
                if asked.key not in self.reserved and self.memo.reserve(asked.key):
                    self.reserved.add(asked.key)
                    job = Job(family, asked.key, measure)
                    if family == "key queries":
                        self.first.append(job)
                    else:
                        self.jobs.put(job)
            except Exception:  # noqa: BLE001 - a check measures it itself and says why
                continue

    def start(self, connect: Callable[[], Any]) -> None:
        for n in range(AHEAD_CONNECTIONS):
            conn = self.stack.enter_context(connect())
            self.connections.append(conn)
            if n == 0:
                self.plan(conn)
            thread = threading.Thread(target=self._run, args=(conn, n == 0), daemon=True,
                                      name=f"rollbook-ahead-{n}")
            self.threads.append(thread)
        self._watch_ahead()
        for thread in self.threads:
            thread.start()

    def _watch_ahead(self) -> None:
        """The post-rollback watch starts now, its window passing while pytest collects and
        runs, instead of from the first check (the API smoke then falls in its window, and its
        traffic in the window's counters). Not for a service the checks start themselves."""
        config = self.config
        base_url = given_api_url(config)
        if base_url is None and target(config).profile.api.service:
            return
        if not self.memo.reserve(OBSERVATION_KEY):
            return
        take = observation_taker(config, target(config), base_url)

        def watched():
            seen = take(stop=self.watch_stop)
            if self.watch_stop.is_set():
                raise _GivenUp()
            return seen

        def run():
            try:
                self.memo.fill(OBSERVATION_KEY, watched)
            except Exception:  # noqa: BLE001 - nothing kept: the monitoring checks watch
                pass
        self.threads.append(threading.Thread(target=run, daemon=True, name="rollbook-ahead-watch"))

    def _run(self, conn: psycopg.Connection, timer: bool) -> None:
        try:
            if timer:
                try:
                    self.collected.wait()  # a run that reads no key query times none
                    for job in self.first:
                        self._do(job, conn)
                finally:
                    self.timed.set()
            else:
                self.timed.wait()
            self.collected.wait()
            while not self.stopping.is_set():
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    return
                self._do(job, conn)
        finally:
            self.timed.set()

    def _do(self, job: Job, conn: psycopg.Connection) -> None:
        if not self.take(job.key):  # given up meanwhile
            return
        filling = _Filling(self.memo, job.key)
        try:
            if not (self.stopping.is_set() or conn.broken or conn.closed):
                job.measure(measured_on(conn, self.config, filling), plans.Measurements(
                    target(self.config).profile.performance, memo=filling))
        except Exception:  # noqa: BLE001 - nothing kept: the check measures it and says why
            pass
        finally:
            if filling.key is not None:  # not filled: the asker measures it
                self.memo.release(job.key)

    def drop_unread(self, items) -> None:
        """Give up the families no collected item reads."""
        asked = set().union(*(getattr(item, "fixturenames", ()) for item in items))
        for job in [*self.first, *list(self.jobs.queue)]:
            if not READERS[job.family] & asked:
                self.give_up(job.key)
        if "post_rollback" not in asked:
            self.watch_stop.set()
        self.collected.set()

    def stop(self) -> None:
        self.stopping.set()
        self.watch_stop.set()
        self.collected.set()
        for conn in self.connections:
            if not conn.closed and conn.info.transaction_status == TransactionStatus.ACTIVE:
                try:  # a statement still running
                    conn.cancel_safe(timeout=5)
                except psycopg.Error:  # the server went away: nothing runs there any more
                    pass
        for thread in self.threads:
            thread.join(timeout=30)
        for key in list(self.reserved):
            self.give_up(key)
        self.stack.close()


def distributed(config) -> bool:
    """Is this process an xdist controller, whose workers run the tests?"""
    return config.pluginmanager.has_plugin("dsession")


def target(config):
    return config.stash[TARGET]


def _measure_chunk(run: Measured, chunk) -> tuple[int, int, str]:
    """The one measurement content.compare_chunk reads for `chunk`: its key range's count and
    digest."""
    before = run.before(chunk.table)
    leaves = baseline_leaves(run.baseline, chunk.table)
    bisection = Bisection(run.conn, chunk.table, leaves, before.key_max, run.algorithm)
    return run.chunk(chunk.table, leaves["key"], *bisection.bounds(Span(chunk.first,
                                                                        chunk.last)))


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    """Once the target is open (rollbook.pytest_plugin.profile), the measurements start."""
    config = session.config
    if (TARGET not in config.stash or getattr(config, "workerinput", None) is not None
            or distributed(config) or config.option.collectonly):
        return  # under xdist the workers' start-up already keeps every core busy
    ahead = Ahead(config, run_memo_for(config))
    config.stash[AHEAD] = ahead
    config.add_cleanup(ahead.stop)
    try:
        ahead.start(target(config).connect)
    except Exception:  # noqa: BLE001 - the checks connect themselves and say why
        ahead.stop()


# what the checks that run first must not read: the families measured ahead, and the unique
# keys' own scans (which would run beside the key queries' timing)
READ_LATER = set().union(*READERS.values(), {"unique_key", "post_rollback"})


def pytest_collection_modifyitems(session, items):
    """One process measuring ahead: the checks that read nothing measured ahead run first
    (pre-flight, key types, sequences, the API), while the key queries are timed; their
    order is otherwise kept."""
    ahead = session.config.stash.get(AHEAD, None)
    if ahead is None:
        return
    first = [item for item in items if not READ_LATER & set(getattr(item, "fixturenames", ()))]
    if first:
        chosen = {id(item) for item in first}
        items[:] = first + [item for item in items if id(item) not in chosen]


def pytest_collection_finish(session):
    ahead = session.config.stash.get(AHEAD, None)
    if ahead is not None:
        ahead.drop_unread(session.items)


def pytest_sessionfinish(session):
    ahead = session.config.stash.get(AHEAD, None)
    if ahead is not None:
        ahead.stop()
