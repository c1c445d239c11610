"""The revision walk: which Alembic revisions a drill rehearses, and a migrated, seeded
database at each parent, made once and copied (CREATE DATABASE ... TEMPLATE) for every drill.
"""
from __future__ import annotations

import os
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from psycopg import sql

from rollbook.errors import ConfigError, MigrationError, RollbookError
from rollbook.measure import baseline as baseline_mod
from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.pg.server import Server
from rollbook.record.redact import redact_text
from rollbook.runbook import generic_seed
from rollbook.runbook.migrations import Migrations, is_version_table
from rollbook.settings.profile import LAST_N_REVISIONS, Alembic
from rollbook.settings.target import project_config

BASE = "base"
MADE_NOT = "the database at "


@dataclass(frozen=True)
class RevisionStep:
    """One revision and the one it comes from (BASE for the first)."""

    revision: str
    parent: str
    doc: str

    @property
    def id(self) -> str:
        return self.revision


def chosen(migrations: Migrations, spec: str | tuple[str, ...]) -> list[RevisionStep]:
    """The revisions `spec` names, oldest first: "all", "last N", or a list of revisions."""
    history = list(reversed(migrations.history()))  # oldest first
    for rev in history:
        if rev.down_revision and "," in rev.down_revision:
            raise ConfigError(f"revision {rev.revision} merges {rev.down_revision}: the "
                              "revision walk follows one line of history.",
                              hint="list the revisions to rehearse: [drill] revisions = [...].")
    steps = [RevisionStep(rev.revision, rev.down_revision or BASE, rev.doc.splitlines()[0]
                          if rev.doc else "") for rev in history]
    if isinstance(spec, tuple):
        known = {step.revision: step for step in steps}
        unknown = [rev for rev in spec if rev not in known]
        if unknown:
            raise ConfigError(f"[drill] revisions names {', '.join(unknown)}, not in the "
                              f"Alembic history ({', '.join(known) or 'empty'}).",
                              hint="name revisions `alembic history` lists.")
        return [known[rev] for rev in spec]
    if spec == "all":
        return steps
    match = LAST_N_REVISIONS.match(spec)
    if match is None:
        raise ConfigError(f"[drill] revisions = {spec!r} is not one of \"all\", \"last N\" or "
                          "a list.", hint='write e.g. revisions = "last 5".')
    return steps[-int(match.group(1)):]




def filled(dsn: str) -> tuple[bool, bool]:
    """Whether the database has tables (the version table aside), and whether any has rows."""
    with connect(dsn, read_only=True) as conn:
        tables = [t for t in catalog.snapshot(conn, kinds=("tables",)).tables
                  if not is_version_table(t)]
        rows = any(conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(
            catalog.relation(t))).fetchone()[0] for t in tables)
    return bool(tables), rows


@dataclass
class ParentTemplate:
    """A database at a parent revision, seeded, and its baseline; `made_in_s` is what making
    it cost, `made_from` the template it was copied and upgraded from (None: from scratch)."""

    name: str
    baseline: baseline_mod.Baseline
    seeded: dict[str, int]
    made_in_s: float
    made_from: str | None = None


@dataclass
class Templates:
    """One template database per parent revision, made on first use and dropped by close().

    The template at P is a copy of the template at P's own parent, upgraded one revision, with
    only the tables still empty seeded (rows seeded once, then migrated forward as production
    data is). The chain starts where the project's history starts: an empty database stamped
    at base, or, with the profile's `start` step, what that step made (a parent at or before
    the revision it left is reached from there with alembic downgrade, before any seeding); so
    a seeder that writes one revision's schema (Vibes': 0001) seeds there, whichever revisions
    the walk rehearses."""

    server: Server
    project: Alembic
    seed: Callable[[str, str], object]  # seed(dsn, scale), for a database with no rows yet
    scale: str
    take_baseline: Callable[[str], baseline_mod.Baseline]
    start: Callable[[str], None] | None = None  # the project's start-up step, given the DSN
    made: dict[str, ParentTemplate] = field(default_factory=dict)
    # table -> the profile's seeder of it ([tables.NAME] seed), used at whichever revision
    # created the table, by rollbook's own seeder and in its place
    table_seeds: dict[str, Callable] = field(default_factory=dict)
    origin: tuple[str, str] | None = None  # (database, revision): the empty start, unseeded
    failed: dict[str, str] = field(default_factory=dict)  # parent -> why it could not be made

    def migrations(self, dsn: str) -> Migrations:
        return Migrations(project_config(self.project, dsn), dsn)

    def order(self) -> dict[str, int]:
        """Each revision's place in the history, oldest first (base before all)."""
        history = reversed(self.migrations("").history())
        return {BASE: -1, **{rev.revision: i for i, rev in enumerate(history)}}

    def parent_of(self, revision: str) -> str:
        for rev in self.migrations("").history():
            if rev.revision == revision:
                return rev.down_revision or BASE
        return BASE

    def _origin(self) -> tuple[str, str]:
        """The empty database where the history starts, made once: stamped at base, or made
        by the start step (stamped at base when it left no revision)."""
        if self.origin is None:
            name = f"rb_rev_start_{uuid.uuid4().hex[:8]}"
            self.server.create_database(name)
            try:
                self.origin = (name, self._started(self.server.dsn(name)))
            except BaseException:
                self.server.drop_database(name)
                raise
        return self.origin

    def _started(self, dsn: str) -> str:
        if self.start is not None:
            self.start(dsn)
        revision = ",".join(self.migrations(dsn).current())
        if not revision:  # the version table exists at base once anything ran; so here
            command.stamp(project_config(self.project, dsn), BASE)
        elif revision not in self.order():
            raise MigrationError(f"[alembic] start left the database at {revision}, not in the "
                                 "Alembic history.", hint="the start step must leave a revision "
                                                          "of this history, or none.")
        return revision or BASE

    def at(self, parent: str) -> tuple[ParentTemplate, bool]:
        """The template at `parent`, and whether it was made just now. A template that could
        not be made raises a MigrationError, in one line, and again for every later ask (and
        for every parent made from it) without trying twice."""
        if parent in self.made:
            return self.made[parent], False
        if parent in self.failed:
            raise MigrationError(self.failed[parent])
        name = f"rb_rev_tpl_{uuid.uuid4().hex[:8]}"
        try:
            self.made[parent] = self._make(parent, name)
        except Exception as exc:  # whatever the project's migrations or seeder raise
            self.server.drop_database(name)
            said = (exc.one_line() if isinstance(exc, RollbookError) else
                    f"{type(exc).__name__}: {_first_line(exc)}")
            # a parent made from one that could not be made: said once, where it broke
            self.failed[parent] = said if said.startswith(MADE_NOT) else (
                f"{MADE_NOT}{parent} could not be made: {said}")
            raise MigrationError(self.failed[parent]) from None
        return self.made[parent], True

    def _make(self, parent: str, name: str) -> ParentTemplate:
        started = time.perf_counter()
        origin, origin_revision = self._origin()
        dsn = self.server.dsn(name)
        order = self.order()
        previous = None
        if order[parent] <= order[origin_revision]:
            self.server.copy_database(origin, name)
            if parent != origin_revision:
                self._migrate(dsn, "downgrade", parent, origin_revision)
        else:
            # made from the template one revision back (made first when missing), so rows are
            # seeded once, where the history starts, and migrated forward as production's were
            previous = self.at(self.parent_of(parent))[0]
            self.server.copy_database(previous.name, name)
            self._migrate(dsn, "upgrade", parent, self.parent_of(parent))
        tables, rows = filled(dsn)
        seeded = {} if not tables else (
            generic_seed.seed(dsn, self.scale, only_empty=True, seeders=self.table_seeds)
            if rows or self.seed is generic_seed.seed else self.seed(dsn, self.scale) or {})
        taken = self.take_baseline(dsn)
        return ParentTemplate(name, taken, dict(seeded), time.perf_counter() - started,
                              previous.name if previous else None)

    def _migrate(self, dsn: str, verb: str, target: str, source: str) -> None:
        migrations = self.migrations(dsn)
        try:
            getattr(migrations, verb)(target)
        except RollbookError:
            raise
        except Exception as exc:  # whatever the project's migration raises is the finding
            raise MigrationError(migration_raised(f"alembic {verb} {target} (from {source})",
                                                  exc, migrations)) from None

    def close(self) -> None:
        for template in self.made.values():
            self.server.drop_database(template.name)
        self.made.clear()
        if self.origin is not None:
            self.server.drop_database(self.origin[0])
            self.origin = None


def _first_line(exc: BaseException) -> str:
    return redact_text((str(exc).strip().splitlines() or [""])[0])


def migration_raised(command: str, exc: BaseException, migrations: Migrations) -> str:
    """One line for a migration that raised: the command, the exception, and the line of the
    project's scripts it raised at."""
    return (f"{command} raised {type(exc).__name__} in "
            f"{_script_line(exc, migrations.scripts.dir)}: {_first_line(exc)}")


def _script_line(exc: BaseException, scripts: str) -> str:
    """The last line of the project's own scripts the exception passed through (the revision
    whose migration raised), as file:line; "its scripts" when it passed through none."""
    folder = str(Path(scripts).resolve())
    found = "its scripts"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = str(Path(frame.f_code.co_filename).resolve())
        if path.startswith(folder + os.sep):
            found = f"{Path(path).name}:{line}"
    return found
