"""The revision walk: which Alembic revisions a drill rehearses, and a migrated, seeded
database at each parent, made once and copied (CREATE DATABASE ... TEMPLATE) for every drill.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from psycopg import sql

from rollbook.errors import ConfigError
from rollbook.measure import baseline as baseline_mod
from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.pg.server import Server
from rollbook.runbook import generic_seed
from rollbook.runbook.migrations import Migrations, is_version_table
from rollbook.settings.profile import LAST_N_REVISIONS
from rollbook.settings.target import alembic_config

BASE = "base"


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


def clone(server: Server, template: str, name: str) -> None:
    """CREATE DATABASE name TEMPLATE template: a copy of the files, no re-seeding."""
    with connect(server.dsn("postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))


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
    data is); the chain starts at base, so a seeder that writes one revision's schema (Vibes':
    0001) seeds there, whichever revisions the walk rehearses."""

    server: Server
    ini: Path
    seed: Callable[[str, str], object]  # seed(dsn, scale), for a database with no rows yet
    scale: str
    take_baseline: Callable[[str], baseline_mod.Baseline]
    made: dict[str, ParentTemplate] = field(default_factory=dict)
    # table -> the profile's seeder of it ([tables.NAME] seed), used at whichever revision
    # created the table, by rollbook's own seeder and in its place
    table_seeds: dict[str, Callable] = field(default_factory=dict)

    def migrations(self, dsn: str) -> Migrations:
        return Migrations(alembic_config(self.ini, dsn), dsn)

    def parent_of(self, revision: str) -> str:
        for rev in self.migrations("").history():
            if rev.revision == revision:
                return rev.down_revision or BASE
        return BASE

    def at(self, parent: str) -> tuple[ParentTemplate, bool]:
        """The template at `parent`, and whether it was made just now."""
        if parent in self.made:
            return self.made[parent], False
        started = time.perf_counter()
        name = f"rb_rev_tpl_{uuid.uuid4().hex[:8]}"
        dsn = self.server.dsn(name)
        # made from the template one revision back (made first when missing), so rows are
        # seeded once, where the history starts, and migrated forward as production's were
        previous = self.at(self.parent_of(parent))[0] if parent != BASE else None
        if previous is not None:
            clone(self.server, previous.name, name)
            self.migrations(dsn).upgrade(parent)
        else:
            self.server.create_database(name)
            if parent == BASE:  # the version table exists at base once anything ran; so here
                command.stamp(alembic_config(self.ini, dsn), BASE)
            else:
                self.migrations(dsn).upgrade(parent)
        tables, rows = filled(dsn)
        seeded = {} if not tables else (
            generic_seed.seed(dsn, self.scale, only_empty=True, seeders=self.table_seeds)
            if rows or self.seed is generic_seed.seed else self.seed(dsn, self.scale) or {})
        taken = self.take_baseline(dsn)
        self.made[parent] = ParentTemplate(name, taken, dict(seeded),
                                           time.perf_counter() - started,
                                           previous.name if previous else None)
        return self.made[parent], True

    def close(self) -> None:
        for template in self.made.values():
            self.server.drop_database(template.name)
        self.made.clear()
