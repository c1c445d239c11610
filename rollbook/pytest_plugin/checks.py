"""Check results into the report, and checks/ parametrized by what the database holds.

`check(result)` attaches a CheckResult's SQL and observations to the Allure report, records it
in reports/<run>/checks/, and fails the test with the result's one-line summary (no traceback:
the summary says what is wrong and where to look). The controller renders every recorded result
into reports/<run>/checks.md at the end, whichever xdist worker produced it.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from rollbook.measure import memo, plans
from rollbook.measure.inventory import Inventory, fk_label
from rollbook.pytest_plugin.evidence import attach_result
from rollbook.pytest_plugin.profile import TARGET, inventory_for, target_for
from rollbook.pytest_plugin.reporting import RUN_DIR, informational
from rollbook.pytest_plugin.seal import interruption
from rollbook.record.evidence import CheckResult
from rollbook.record.redact import redact_text
from rollbook.verdicts import content
from rollbook.verdicts.measured import Measured

# the content chunks spread over the primary and its replicas; the measurements started at
# session start, ahead of the checks that read them
pytest_plugins = ("rollbook.pytest_plugin.content_servers", "rollbook.pytest_plugin.measure_ahead")
# lines the checks' report (checks.md) carries under the target's description
CHECKS_NOTES = pytest.StashKey[list[str]]()
MEMO_DIR = pytest.StashKey[Path]()
RUN_MEMO = pytest.StashKey[memo.InMemory]()
MEMO_WORKER_KEY = "rollbook_memo"

# fixture name -> (values from the inventory, test id of a value)
PARAMETERS: dict[str, tuple[Callable, Callable]] = {
    "table": (lambda inv: inv.tables, str),
    "key_column": (lambda inv: inv.key_columns, lambda k: k.label()),
    "foreign_key": (lambda inv: inv.foreign_keys, fk_label),
    "owned_sequence": (lambda inv: inv.sequences, lambda s: s.label),
    "unique_key": (lambda inv: inv.unique_keys, lambda u: u.label()),
    "time_column": (lambda inv: inv.time_columns, lambda t: t.label()),
    "key_query": (lambda inv: inv.queries, lambda q: q.name),
}


def pytest_addoption(parser):
    parser.getgroup("rollbook").addoption(
        "--content-chunk-rows", type=int, default=content.CHUNK_ROWS, metavar="N",
        help="content checks: compare a table of more than N baseline rows in key-range chunks "
             f"of about N rows, one test item each, spread by -n (default {content.CHUNK_ROWS:,})")


def pytest_configure(config):
    rows = config.getoption("content_chunk_rows")
    if rows < 1:
        raise pytest.UsageError(f"--content-chunk-rows {rows}: a chunk holds at least one row. "
                                f"Hint: --content-chunk-rows {content.CHUNK_ROWS}")


def chunk_rows(config) -> int:
    return config.getoption("content_chunk_rows")


def pytest_generate_tests(metafunc):
    checks_dir = (Path(metafunc.config.rootpath) / "checks").resolve()
    if checks_dir not in Path(metafunc.definition.path).resolve().parents:
        return
    for name, (values, label) in PARAMETERS.items():
        if name in metafunc.fixturenames:
            items = list(values(inventory_for(metafunc.config)))
            metafunc.parametrize(name, items, ids=[label(item) for item in items])
    if "content_chunk" in metafunc.fixturenames:
        chunks = content_chunks(metafunc.config)
        metafunc.parametrize("content_chunk", chunks, ids=[c.label for c in chunks])


def content_chunks(config) -> list[content.Chunk]:
    """Each table's content chunks (one item each, so xdist spreads a large table over its
    workers), planned from the baseline, the same on every worker."""
    tables = inventory_for(config).tables
    baseline = None if informational(config) else target_for(config).baseline
    return [chunk for table in tables
            for chunk in content.plan_chunks(baseline, table, chunk_rows(config))]


def _record(run_dir: Path, nodeid: str, results: list[CheckResult]) -> None:
    folder = run_dir / "checks"
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[:180]
    body = {"test": nodeid, "results": [{"name": r.name, "ok": r.ok, "summary": r.summary}
                                        for r in results]}
    (folder / f"{slug}.json").write_text(redact_text(json.dumps(body, indent=1)), encoding="utf-8")


@pytest.fixture
def check(request, run_dir: Path):
    """Judge CheckResults: attach each one's evidence, record it in reports/<run>/checks/, and
    fail the test with the one-line summary of every result that is not ok."""
    judged: list[CheckResult] = []

    def judge(*results: CheckResult) -> CheckResult:
        for result in results:
            attach_result(result)
        judged.extend(results)
        _record(run_dir, request.node.nodeid, judged)
        failed = [r for r in results if not r.ok]
        if failed:
            lines = [r.summary for r in failed]
            lines += [r.observed["diff"] for r in failed if r.observed.get("diff")]
            pytest.fail(redact_text("\n".join(lines)), pytrace=False)
        return results[-1] if results else None

    return judge


@pytest.fixture(scope="session")
def checks_inventory(pytestconfig) -> Inventory:
    """What the checks look at (tables, key columns, foreign keys, sequences, unique keys, time
    columns, key queries): the baseline's, the live catalog's and the profile's, built once."""
    return inventory_for(pytestconfig)


def pytest_configure_node(node):
    """xdist controller hook: the workers share one folder of measurements, so what one
    worker measured (an orphan search, a key query's runs) the others read instead of
    measuring again."""
    config = node.config
    if MEMO_DIR not in config.stash:
        folder = memo.private_folder()
        config.stash[MEMO_DIR] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    node.workerinput[MEMO_WORKER_KEY] = str(config.stash[MEMO_DIR])


def run_memo_for(config) -> memo.InMemory:
    """Where this run keeps its measurements: shared with the other xdist workers on this
    host, else (one process, or a remote worker) in this process, for all its threads."""
    if RUN_MEMO not in config.stash:
        folder = getattr(config, "workerinput", {}).get(MEMO_WORKER_KEY)
        shared = folder is not None and Path(folder).is_dir()
        config.stash[RUN_MEMO] = memo.SharedFolder(Path(folder)) if shared else memo.InMemory()
    return config.stash[RUN_MEMO]


@pytest.fixture(scope="session")
def run_memo(pytestconfig) -> memo.InMemory:
    """Where this run keeps its measurements (run_memo_for)."""
    return run_memo_for(pytestconfig)


def measured_on(conn, config, measurements: memo.InMemory) -> Measured:
    """The session's measurements over `conn`, kept in `measurements`: one statement per
    table (count, baseline rows' count and digest, key range, time range) read by the counts
    and content checks, and one orphan search per foreign key read by the orphan checks and
    the orphan trigger, whichever worker (or connection measuring ahead) takes them."""
    baseline = target_for(config).baseline
    time_columns = {t.table: t.column for t in inventory_for(config).time_columns}
    return Measured(conn, baseline, time_columns,
                    content.chunked_tables(baseline, chunk_rows(config)), memo=measurements)


@pytest.fixture(scope="session")
def measured(pytestconfig, checks_conn, run_memo) -> Measured:
    """This run's measurements, each taken once and shared (measured_on)."""
    return measured_on(checks_conn, pytestconfig, run_memo)


@pytest.fixture(scope="session")
def key_query_measurements(checks_profile, run_memo) -> plans.Measurements:
    """Each key query measured once per run, whichever worker asks first: its EXPLAIN ANALYZE
    runs serve the plan check, the time check and the Performance Degradation trigger alike."""
    return plans.Measurements(checks_profile.performance, memo=run_memo)


def pytest_sessionfinish(session):
    config = session.config
    if getattr(config, "workerinput", None) is not None or RUN_DIR not in config.stash:
        return
    folder = config.stash[RUN_DIR] / "checks"
    if not folder.is_dir():
        return
    target = config.stash.get(TARGET, None)
    lines = ["# Operator checks", ""]
    stopped = interruption(config)
    if stopped:
        lines += [f"**{stopped}.**", ""]
    if target is not None:
        lines += [redact_text(target.describe()), *config.stash.get(CHECKS_NOTES, []), ""]
    lines += ["| verdict | test | summary |", "| --- | --- | --- |"]
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    for record in sorted(records, key=lambda r: r["test"]):
        for r in record["results"]:
            summary = r["summary"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {'ok' if r['ok'] else 'FAILED'} | `{record['test']}` | {summary} |")
    (config.stash[RUN_DIR] / "checks.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
