"""Content chunks spread over the primary and the profile's read-only replicas.

When the checks start, the controller reads the DSNs of the profile's `[database]
replicas_env` and keeps the replicas that hold what the primary holds (measure/replicas.py,
one line each). xdist workers receive the names of the variables of the replicas kept, never a
DSN: each reads them from its own environment, as it does the primary's. Each split content
chunk runs on the server `replicas.spread` gives it, over a read-only connection of this
worker's own to that server; its result (and so the Allure step, checks.md and the JUnit
properties) names the server, and the terminal summary counts the chunks per server.
Loaded by `rollbook.pytest_plugin.checks` (its `pytest_plugins`).
"""
from __future__ import annotations

import os
from collections import Counter
from contextlib import ExitStack

import allure
import pytest

from rollbook.errors import RollbookError
from rollbook.measure import replicas
from rollbook.measure.replicas import Replica
from rollbook.pytest_plugin.checks import CHECKS_NOTES, content_chunks
from rollbook.pytest_plugin.profile import TARGET, target_for
from rollbook.record.redact import redact_text
from rollbook.settings import replicas as replica_settings
from rollbook.settings.target import checks_connection
from rollbook.verdicts.content import Chunk
from rollbook.verdicts.measured import Measured

USED = pytest.StashKey[tuple[Replica, ...]]()
SPREAD = pytest.StashKey[dict[Chunk, Replica | None]]()
WORKER_KEY = "rollbook_replicas"
PROPERTY = "rollbook_server"  # a chunk's server, in its report's user_properties (and JUnit)


def _worker(config) -> bool:
    return getattr(config, "workerinput", None) is not None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    """Controller, once the target is open: which listed replicas the chunks may use."""
    config = session.config
    target = config.stash.get(TARGET, None)
    if _worker(config) or target is None or not target.profile.database.replicas_env:
        return
    try:
        listed = replica_settings.from_environment(target.profile, os.environ)
    except RollbookError as exc:
        raise pytest.UsageError(redact_text(exc.one_line())) from None
    with target.connect() as primary:
        used, lines = replicas.sort_out(
            primary, listed, lambda dsn: checks_connection(target.profile, dsn))
    config.stash[USED] = tuple(used)
    config.stash.setdefault(CHECKS_NOTES, []).extend(lines)


def pytest_configure_node(node):
    """xdist controller hook: workers use the replicas the controller kept."""
    used = node.config.stash.get(USED, None)
    if used is not None:
        node.workerinput[WORKER_KEY] = [replica.source.removeprefix("$") for replica in used]


def used_replicas(config) -> tuple[Replica, ...]:
    """The replicas this process spreads chunks to: the controller's choice."""
    if USED not in config.stash:
        names = getattr(config, "workerinput", {}).get(WORKER_KEY, [])
        try:
            config.stash[USED] = replica_settings.from_environment(
                target_for(config).profile, os.environ, tuple(names))
        except RollbookError as exc:
            pytest.exit(redact_text(exc.one_line()), returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[USED]


def chunk_spread(config) -> dict[Chunk, Replica | None]:
    """Each split chunk's replica (None: the primary), the same on every worker."""
    if SPREAD not in config.stash:
        split = [chunk for chunk in content_chunks(config) if chunk.of > 1]
        config.stash[SPREAD] = replicas.spread(split, [None, *used_replicas(config)])
    return config.stash[SPREAD]


@pytest.fixture(scope="session")
def content_servers(checks_target, checks_conn, measured):
    """This worker's measurements per server the content chunks are spread to (the primary
    under None), each over a read-only connection of its own, opened when first needed."""
    runs: dict[Replica | None, Measured] = {}
    with ExitStack() as stack:
        def run_on(replica: Replica | None) -> Measured:
            if replica not in runs:
                conn = (checks_conn if replica is None else stack.enter_context(
                    checks_connection(checks_target.profile, replica.dsn)))
                label = (replicas.primary_label(checks_target.dsn) if replica is None
                         else replica.label)
                runs[replica] = Measured(conn, measured.baseline, measured.time_columns,
                                         measured.chunked, server=label)
            return runs[replica]
        yield run_on


@pytest.fixture
def content_run(request, content_chunk: Chunk, measured: Measured, checks_profile,
                content_servers) -> Measured:
    """The measurements `content_chunk` is judged on: the session's own (a table compared
    whole, or a profile without replicas), else those of the server the chunk is spread to."""
    if content_chunk.of == 1 or not checks_profile.database.replicas_env:
        return measured
    run = content_servers(chunk_spread(request.config)[content_chunk])
    request.node.user_properties.append((PROPERTY, run.server))
    allure.dynamic.parameter("server", run.server, excluded=True)
    return run


def pytest_terminal_summary(terminalreporter, config):
    notes = [line for line in config.stash.get(CHECKS_NOTES, []) if line.startswith("replica")]
    if not notes:
        return
    ran = Counter(value for reports in terminalreporter.stats.values() for report in reports
                  if getattr(report, "when", None) == "call"
                  for name, value in getattr(report, "user_properties", ()) if name == PROPERTY)
    terminalreporter.write_sep("-", "rollbook content chunks by server")
    for line in notes:
        terminalreporter.write_line(line)
    for server, count in sorted(ran.items()):
        terminalreporter.write_line(f"{count} content chunk(s) ran on {server}")
