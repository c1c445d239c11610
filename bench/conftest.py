"""The benchmarks' shared set-up: one embedded PostgreSQL per run, Vibes at revision 0001 seeded
at `--bench-scale` (database `vibes`), and two copies of it on the same server: `vibes_same`
(identical) and `vibes_changed` (one journal's title changed).

Run through `bench/run`, which turns pytest-benchmark's JSON into bench/RESULTS.md.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks_vs_runbook import operator_checks, prepare  # noqa: E402
from growth import growth_scales  # noqa: E402

from rollbook.pg.connect import connect  # noqa: E402
from rollbook.pg.server import start_server  # noqa: E402

CHANGED_TABLE = "journals"  # bench/test_compare_bench.py compares it


def pytest_addoption(parser):
    group = parser.getgroup("bench", "rollbook benchmarks")
    group.addoption("--bench-scale", default="tiny", help="Vibes seed scale (tiny, 100k, 1m, ...)")
    group.addoption("--bench-repeats", type=int, default=3, help="rounds of each figure")
    group.addoption("--bench-growth", default=None,
                    help="scales of the growth figures, e.g. 100k,1m,5m (default: --bench-scale)")


def pytest_configure(config):
    try:
        growth_scales(config.getoption("bench_growth") or config.getoption("bench_scale"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_generate_tests(metafunc):
    """Each growth figure once per scale of --bench-growth."""
    if "growth_scale" in metafunc.fixturenames:
        config = metafunc.config
        metafunc.parametrize("growth_scale", growth_scales(
            config.getoption("bench_growth") or config.getoption("bench_scale")))


@dataclass(frozen=True)
class Pair:
    """The seeded database and its copies on one server."""

    server: object
    scale: str
    seeded: dict[str, int]
    dsn: str
    same: str
    changed: str
    changed_key: int
    server_version: str


@pytest.fixture(scope="session")
def repeats(pytestconfig) -> int:
    return pytestconfig.getoption("bench_repeats")


@pytest.fixture(scope="session")
def pair(pytestconfig) -> Pair:
    scale = pytestconfig.getoption("bench_scale")
    with start_server("embedded") as server:
        dsn, seeded = prepare(server, scale)
        with connect(dsn) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            low, high = conn.execute(sql.SQL("SELECT min(id), max(id) FROM {}").format(
                sql.Identifier(CHANGED_TABLE))).fetchone()
        with connect(server.dsn("postgres")) as conn:
            conn.autocommit = True
            for copy in ("vibes_same", "vibes_changed"):
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE vibes STRATEGY FILE_COPY")
                             .format(sql.Identifier(copy)))
        key = (low + high) // 2
        with connect(server.dsn("vibes_changed")) as conn:
            conn.execute(sql.SQL("UPDATE {} SET title = title || ' (changed)' WHERE id = %s")
                         .format(sql.Identifier(CHANGED_TABLE)), (key,))
        yield Pair(server, scale, seeded, dsn, server.dsn("vibes_same"),
                   server.dsn("vibes_changed"), key, version)


class Interleaved:
    """Figures measured in the same rounds: each round runs every figure of a group once, in the
    group's order on even rounds and reversed on odd ones (A B, B A, ...), so a change in the
    machine's load lands on both sides of a ratio and neither always goes first. A group is
    measured once, by the first of its tests to ask; each test then records its own figure."""

    def __init__(self, repeats: int):
        self.repeats = repeats
        self._groups: dict[tuple[str, ...], list[dict[str, tuple[float, Any]]]] = {}

    def rounds(self, figures: dict[str, Callable[[], Any]]) -> list[dict[str, tuple[float, Any]]]:
        """Per round, each figure's (seconds, result); `figures` maps test names to what each
        measures, in the group's order."""
        group = tuple(figures)
        if group not in self._groups:
            measured = []
            for number in range(self.repeats):
                order = group if number % 2 == 0 else group[::-1]
                this = {}
                for name in order:
                    started = time.perf_counter()
                    result = figures[name]()
                    this[name] = (time.perf_counter() - started, result)
                measured.append(this)
            self._groups[group] = measured
        return self._groups[group]

    @staticmethod
    def record(benchmark, name: str, measured: list[dict[str, tuple[float, Any]]]) -> list[Any]:
        """`name`'s seconds as `benchmark`'s rounds (pytest-benchmark's own statistics and
        JSON), its seconds and each round's order in extra_info, where bench/results.py divides
        figures round by round; `name`'s results, round by round."""
        # what benchmark.pedantic sets and fills, one iteration per round
        benchmark._mode = "interleaved rounds (bench/conftest.py)"
        if not benchmark.disabled:
            stats = benchmark._make_stats(1)
            for this in measured:
                stats.update(this[name][0])
        benchmark.extra_info["interleaved"] = {
            "rounds_s": [this[name][0] for this in measured],
            "orders": [list(this) for this in measured]}
        return [this[name][1] for this in measured]


@pytest.fixture(scope="session")
def interleaved(repeats) -> Interleaved:
    return Interleaved(repeats)


@pytest.fixture(scope="session")
def operator(pair, tmp_path_factory):
    """The checks' command line against `vibes` (its snapshot taken, the service running) and
    environment."""
    with operator_checks(pair.dsn, tmp_path_factory.mktemp("checks")) as command:
        yield command


@pytest.fixture(autouse=True)
def _server_version(request, pair):
    """Each figure names the server it ran on (RESULTS.md reads it from there)."""
    if "benchmark" in request.fixturenames:
        request.getfixturevalue("benchmark").extra_info["server_version"] = pair.server_version
