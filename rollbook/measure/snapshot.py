"""`rollbook snapshot`: the baseline manifest of a live database, taken read-only.

Each table is read once for its count, digest, key and time range and key-range digests
(survey.py) and, when row digests are kept, its rows' keys and hashes by that same read.
On top of what the drill's baseline holds (schema, counts, fingerprints, key maxima, sequences,
revision) it records what the operator checks compare against: the oldest/newest timestamps,
the key-range digests that let a content mismatch be narrowed down, and the key queries'
plans and times (every run's time, their median and spread, the plan's shape and buffers),
and, below the profile's [content] row_digests_below rows or when asked, each row's key and hash
in a sidecar file (row_digests.py), so a content mismatch names its rows.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg

from rollbook.errors import ConfigError
from rollbook.measure import (
    baseline,
    catalog,
    fingerprint,
    inventory,
    observation,
    plans,
    row_digests,
    survey,
)
from rollbook.measure.catalog import relation
from rollbook.measure.catalog.base import display_name
from rollbook.pg import query_guard, role
from rollbook.pg.two_connections import each_on_two, largest_first
from rollbook.runbook.migrations import current_revisions
from rollbook.settings.profile import Profile
from rollbook.verdicts import content, counts

RLS_HINT = ("give the role what is said above, or pass --visible-rows-only to record only the "
            "rows the role sees (the baseline names those tables, and the checks still cannot "
            "verify them).")


def take(conn: psycopg.Connection, profile: Profile, leaves: int = content.LEAVES,
         rows: bool | None = None, *, visible_rows_only: bool = False,
         before_plans: Callable[[], object] | None = None,
         schema: catalog.Schema | None = None,
         second: Callable[[], AbstractContextManager[psycopg.Connection]] | None = None
         ) -> baseline.Baseline:
    """Capture everything over `conn` (which should be a read-only checks connection); the
    profile's key queries are judged on its server before anything is read. Tables whose
    row-level security may hide rows from the role refuse the snapshot, unless
    `visible_rows_only` says to record what the role sees (the baseline names them). Row
    digests are kept when `rows` says so, or (None) below the profile's row_digests_below rows.
    `before_plans` is called before the key queries are timed (a drill waits there for work it
    ran alongside the reads, so the baseline's query times are not shared with it). `schema`:
    the catalog already read of the database `conn` is a file copy of (the drill reads the
    original's schema, then its rows from the copy while the original is upgraded). `second`
    opens another connection to the same database: with row digests the tables are read over
    both, each on whichever is free, the largest first (a table's row digests are read along
    its index by one backend, where a scan without them has PostgreSQL's parallel workers)."""
    query_guard.refuse(conn, profile.queries)
    hidden = role.rls_hidden(conn)
    if hidden and not visible_rows_only:
        raise ConfigError(f"snapshot refused: {'; '.join(hidden.values())}", hint=RLS_HINT)
    schema = schema or catalog.snapshot(conn, profile.schemas)
    timed = {t.table: t.column for t in inventory.time_columns(schema, profile)}
    # below row_digests_below rows as the planner's statistics estimate, row digests ride the
    # survey's read; the exact count decides below
    writer = (row_digests.Writer() if rows or (rows is None and _estimated_rows(
        conn, schema) < profile.row_digests_below) else None)
    taken, surveys = read_tables(conn, schema, timed, leaves, writer,
                                 second if writer is not None else None)
    found = inventory.build(conn, profile, taken)
    unsurveyed = [(t.table, t.column) for t in found.time_columns
                  if t.table not in surveys or surveys[t.table].time_range is None]
    taken.facts = {
        "time_ranges": {**{f"{t}.{timed[t]}": [counts.time_text(v) for v in s.time_range]
                           for t, s in surveys.items() if s.time_range is not None},
                        **counts.capture_time_ranges(conn, unsurveyed)},
        "leaves": {t: s.leaves for t, s in sorted(surveys.items())
                   if s.leaves is not None and s.rows},
    }
    total = sum(t.rows for t in taken.tables.values())
    if rows or (rows is None and total < profile.row_digests_below):
        if writer is None:  # the estimate was above the bar, the count below: read them now
            writer = row_digests.Writer()
            for table in sorted(taken.tables):
                writer.add(conn, table, taken.whole_key(table), taken.digest_algorithm)
        taken.rows_writer = writer
    elif writer is not None:  # the estimate was below the bar, the count above
        writer.close()
    if before_plans is not None:
        before_plans()
    taken.plans = plans.measure_for_baseline(conn, found.queries, profile.performance)
    failed = [f"key query {name!r} failed: {entry['error']}" for name, entry in taken.plans.items()
              if "error" in entry]
    if failed:
        raise ConfigError("; ".join(failed) + "; no baseline was written.",
                          hint="fix the query in the profile's [[queries]] (or the database it "
                               "reads), then snapshot again.")
    if hidden:
        taken.facts["row_level_security_hidden"] = sorted(
            display_name(*name) for name in hidden)
    monitored = observation.baseline_facts(conn, profile.monitoring)  # rates before
    if monitored:
        taken.facts["monitoring"] = monitored
    return taken


def read_tables(conn: psycopg.Connection, schema: catalog.Schema, timed: dict[str, str],
                leaves: int, writer: row_digests.Writer | None,
                second: Callable[[], AbstractContextManager[psycopg.Connection]] | None = None
                ) -> tuple[baseline.Baseline, dict[str, survey.Survey]]:
    """The baseline of `schema`'s tables, each read once (survey.py): its count, digest, key
    and time range (`timed`: table -> time column) and leaves, and its row digests when a
    `writer` is given; with `second`, over `conn` and a second connection at once."""
    surveys: dict[str, survey.Survey] = {}
    whole_keys = catalog.whole_keys(schema)

    def surveyed(on: psycopg.Connection, table: str, key: str | None, algorithm: str
                 ) -> survey.Survey:
        kept = (writer, baseline.whole_key_of(schema, table, whole_keys.get(table))
                ) if writer is not None else None
        return survey.survey_table(on, table, algorithm, key, timed.get(table), leaves, kept)

    if second is not None:
        surveys.update(_on_two_connections(conn, second, schema, whole_keys, surveyed))

    def read(table: str, key: str | None, algorithm: str) -> tuple[int, str, int | None]:
        if table not in surveys:
            surveys[table] = surveyed(conn, table, key, algorithm)
        found = surveys[table]
        return found.rows, found.digest, found.key_range[1] if found.key_range else None

    return baseline.capture(conn, current_revisions(conn), schema=schema, read=read), surveys


def _on_two_connections(conn: psycopg.Connection,
                        second: Callable[[], AbstractContextManager[psycopg.Connection]],
                        schema: catalog.Schema, whole_keys: dict,
                        surveyed: Callable[..., survey.Survey]) -> dict[str, survey.Survey]:
    """Every table of `schema` surveyed, the largest first (by pg_class.relpages), each on
    whichever of `conn` and a second connection is free."""
    algorithm = fingerprint.algorithm_for(conn)
    names = sorted(schema.tables)
    ordered = [names[i] for i in largest_first(conn, [relation(t).as_string(conn)
                                                      for t in names])]

    def work(on: psycopg.Connection, table: str) -> survey.Survey:
        whole = whole_keys.get(table) or ()
        return surveyed(on, table, whole[0] if whole else None, algorithm)

    return dict(zip(ordered, each_on_two(ordered, conn, second, work), strict=True))


def _estimated_rows(conn: psycopg.Connection, schema: catalog.Schema) -> float:
    """The planner's estimate of the rows of `schema`'s tables (a table never analyzed: 0)."""
    return conn.execute(
        "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)",
        [list(schema.schemas)]).fetchone()[0]
