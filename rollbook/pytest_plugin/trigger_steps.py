"""The rollback triggers measured in a drill: before the rollback, the decision and its trail;
after it, the steady state (the same triggers quiet again)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

from rollbook.measure import amcheck, inventory
from rollbook.measure.baseline import Baseline
from rollbook.pg.two_connections import each_on_two, largest_first
from rollbook.settings.profile import Profile
from rollbook.settings.target import checks_connection
from rollbook.verdicts import triggers
from rollbook.verdicts.measured import Measured
from rollbook_vibes.migrations_config import REVISION_INTEGER

if TYPE_CHECKING:
    from rollbook.pytest_plugin.baseline_steps import Baselined


def evaluate_triggers(drill, prepared: Baselined, *, expected_revision: str,
                      baseline: Baseline | None, action_taken, extra_signals=(),
                      measured: Measured | None = None, measuring: Future | None = None):
    """Measure the rollback triggers, decide per the matrix, and log it in the decision trail.
    With `baseline`, the schema must be the baseline's and its foreign keys are searched for
    orphans too. `action_taken` is a string, or a function of the decision that returns one;
    `extra_signals` a list, or a function measuring them (then timed as part of deciding).
    `measured`: the validation's measurements of this same database state (its schema
    comparison and orphan searches are read from it, not taken again), on its connection.
    `measuring`: the database triggers already being measured (triggers_measured_beside),
    read from it, their time to decide counted from when that measurement started."""
    started = time.perf_counter()
    if callable(extra_signals):
        extra_signals = extra_signals()
    if measuring is not None:
        started, signals = measuring.result()
    else:
        signals = database_triggers(drill.profile, prepared.dsn,
                                    prepared.migrations.read_scripts(),
                                    expected_revision=expected_revision, baseline=baseline,
                                    measured=measured)
    decision = triggers.decide([*signals, *extra_signals])
    taken = action_taken(decision) if callable(action_taken) else action_taken
    return drill.decide(decision, started=started, action_taken=taken)


def triggers_measured_beside(drill, *, expected_revision: str, baseline: Baseline | None):
    """For upgrade_and_write_on_uuid's `beside`: the database triggers of the database it
    prepared, measured in a thread beside the pre-rollback assessment (both only read the same
    state of the database), for evaluate_triggers' `measuring`. The migration scripts are read
    first, in the drill's thread; the measurement returns (its start, its signals)."""
    def start(prepared: Baselined):
        scripts = prepared.migrations.read_scripts()

        def measure() -> tuple[float, list]:
            began = time.perf_counter()
            return began, database_triggers(drill.profile, prepared.dsn, scripts,
                                            expected_revision=expected_revision,
                                            baseline=baseline)
        return measure
    return start


def database_triggers(profile: Profile, dsn: str, scripts, *, expected_revision: str,
                      baseline: Baseline | None, measured: Measured | None = None) -> list:
    """The database's rollback triggers (triggers.database_signals): the orphan searches and
    amcheck's index checks on two checks connections, or with `measured` its own orphan
    searches and schema comparison (see evaluate_triggers)."""
    shared = measured is not None
    with (nullcontext(measured.conn) if shared
          else checks_connection(profile, dsn)) as conn:
        measured = measured if shared else Measured(conn, baseline)
        keys = inventory.build(conn, profile, baseline).foreign_keys
        indexes = amcheck.btree_indexes(conn) if amcheck.amcheck_available(conn) else []
        orphan_results, index_results = searched_on_two_connections(
            profile, dsn, measured, () if shared else keys, indexes)
        if shared:  # the validation's own searches, already taken
            orphan_results = [measured.orphans(fk) for fk in keys]
        return triggers.database_signals(
            conn, scripts, expected_revision=expected_revision, comparison=measured.schema(),
            orphan_results=orphan_results, index_results=index_results)


def searched_on_two_connections(profile: Profile, dsn: str, measured: Measured, keys,
                                indexes=()) -> tuple[list, list]:
    """The orphan search of every key in `keys` and amcheck's check of every (index, table) in
    `indexes`, each list in its order: each search or check is one statement on one backend,
    so a second checks connection takes the next one whenever it is free (the machine's second
    core): the orphan searches first, the largest tables first, then the indexes, the largest
    first."""
    searches = sorted(range(len(keys)), key=lambda i: -_rows_estimate(measured.conn, keys[i]))
    checks = largest_first(measured.conn, [index for index, _ in indexes])
    order = [("orphans", i) for i in searches] + [("amcheck", i) for i in checks]

    @contextmanager
    def second() -> Iterator[Measured]:
        with checks_connection(profile, dsn) as conn:
            yield Measured(conn, measured.baseline)

    def work(on: Measured, job: tuple[str, int]) -> object:
        kind, index = job
        return (on.orphans(keys[index]) if kind == "orphans" else
                amcheck.check_index(on.conn, *indexes[index]))

    results = dict(zip(order, each_on_two(order, measured, second, work), strict=True))
    return ([results["orphans", i] for i in range(len(keys))],
            [results["amcheck", i] for i in range(len(indexes))])


def _rows_estimate(conn, fk) -> float:
    """The planner's row estimate of the key's referencing table (0 when unknown)."""
    row = conn.execute("SELECT c.reltuples FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
                       (fk.schema, fk.table)).fetchone()
    return max(float(row[0]), 0.0) if row else 0.0


def steady_state(drill, prepared: Baselined, extra_signals=(),
                 measured: Measured | None = None) -> None:
    """After a rollback, the same triggers as before it must all be quiet. `extra_signals` may
    be a function, called only now (e.g. an API smoke that writes). `measured`: validation's
    measurements of the same database state, shared (see evaluate_triggers)."""
    with drill.step("Steady state: the rollback triggers are quiet again") as step:
        after = evaluate_triggers(drill, prepared, expected_revision=REVISION_INTEGER,
                                  baseline=prepared.baseline,
                                  action_taken="none: the rollback is complete",
                                  extra_signals=extra_signals, measured=measured)
        step.detail = after.summary() + (
            " (the schema comparison and orphan searches: the data checks' own, of this same "
            "database state)" if measured is not None else "")
        assert not after.fired, after.report()


