"""Alembic: where the database is, where the scripts go, and timed upgrades/downgrades."""
from __future__ import annotations

import io
import os
import time
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from rollbook.errors import ConfigError, MigrationError
from rollbook.measure.lock_footprint import Footprint
from rollbook.measure.lock_sampler import observe
from rollbook.record.redact import redact_text

if TYPE_CHECKING:
    from alembic.config import Config

# alembic (and SQLAlchemy under it) is imported where it is used: every pytest process loads
# this module through the plugin, and most of them never migrate anything
VERSION_TABLE = "alembic_version"


@dataclass
class MigrationRun:
    """One alembic command: from which revision to which, and how long it took."""

    command: str
    from_revision: str | None
    to_revision: str | None
    elapsed_s: float
    output: str
    footprint: Footprint | None = field(default=None, repr=False)  # with Migrations(locks=True)

    def to_dict(self) -> dict:
        return {"command": self.command, "from": self.from_revision, "to": self.to_revision,
                "elapsed_s": round(self.elapsed_s, 3), "output": self.output}


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str

    def line(self) -> str:
        return f"{self.down_revision or '<base>'} -> {self.revision}, {self.doc}"


@dataclass(frozen=True)
class Scripts:
    """What an Alembic project's scripts say: where they are, their heads and their history
    (newest first). Plain data, read once per run: a check, a trigger or an xdist worker that
    needs it never loads Alembic (nor the scripts, nor SQLAlchemy under them) again."""

    location: str
    heads: tuple[str, ...]
    history: tuple[Revision, ...]

    def to_dict(self) -> dict:
        return {"location": self.location, "heads": list(self.heads),
                "history": [[r.revision, r.down_revision, r.doc] for r in self.history]}

    @classmethod
    def from_dict(cls, data: dict) -> Scripts:
        return cls(data["location"], tuple(data["heads"]),
                   tuple(Revision(*entry) for entry in data["history"]))


class Migrations:
    """An Alembic project bound to one database. With `locks`, each upgrade and downgrade's
    lock footprint is observed on the server and kept in `footprints`, in order."""

    def __init__(self, config: Config, dsn: str, *, locks: bool = False):
        from alembic.script import ScriptDirectory
        from alembic.util.exc import CommandError

        self.config = config
        self.dsn = dsn
        try:
            self.scripts = ScriptDirectory.from_config(config)
        except CommandError as exc:
            raise ConfigError(
                f"Alembic cannot read the scripts of {config.config_file_name}: script_location "
                f"{config.get_main_option('script_location')!r} (relative paths are relative "
                f"to the working directory, {os.getcwd()}): {str(exc).splitlines()[0]}",
                hint="set [alembic] script_location in the profile: a folder relative to the "
                     "profile, or package:folder inside an installed package.") from None
        self.locks = locks
        self.footprints: list[Footprint] = []

    def current(self, conn: psycopg.Connection | None = None) -> list[str]:
        """The revision(s) the database is at (empty when never migrated).

        Pass `conn` to read it over a connection of yours (e.g. a read-only one).
        """
        if conn is not None:
            return current_revisions(conn)
        with psycopg.connect(self.dsn, autocommit=True) as own:
            return current_revisions(own)

    def heads(self) -> list[str]:
        return list(self.scripts.get_heads())

    def history(self) -> list[Revision]:
        """All revisions, newest first, as `alembic history` lists them."""
        return [Revision(rev.revision, _down(rev.down_revision), (rev.doc or "").strip())
                for rev in self.scripts.walk_revisions()]

    def read_scripts(self) -> Scripts:
        return Scripts(str(self.scripts.dir), tuple(self.heads()), tuple(self.history()))

    def upgrade(self, target: str = "head") -> MigrationRun:
        return self._run("upgrade", target)

    def downgrade(self, target: str = "-1") -> MigrationRun:
        return self._run("downgrade", target)

    def _run(self, verb: str, target: str) -> MigrationRun:
        from alembic import command
        from alembic.util.exc import CommandError

        before = self.current()
        out = io.StringIO()
        observing = observe(self.dsn, f"alembic {verb} {target}") if self.locks else nullcontext()
        started = time.perf_counter()
        try:
            with observing as footprint, redirect_stdout(out):
                getattr(command, verb)(self.config, target)
        except CommandError as exc:
            raise MigrationError(f"alembic {verb} {target} refused: {redact_text(str(exc))}",
                                 hint="check `alembic current` and `alembic history`.") from exc
        elapsed = time.perf_counter() - started
        after = self.current()
        if footprint is not None:
            self.footprints.append(footprint)
        self._check_arrived(verb, target, before, after)
        return MigrationRun(command=f"alembic {verb} {target}",
                            from_revision=",".join(before) or None,
                            to_revision=",".join(after) or None,
                            elapsed_s=elapsed, output=redact_text(out.getvalue()),
                            footprint=footprint)


    def _check_arrived(self, verb: str, target: str, before: list[str],
                       after: list[str]) -> None:
        """An alembic command that left the version table anywhere but at its target (or, for
        a relative target, where it was) moved nothing the database kept: it fails here,
        naming both, however quietly Alembic returned."""
        expected = self._target_revisions(target)
        moved_nowhere = expected is None and after == before and not _stays(target)
        if (expected is None or sorted(after) == expected) and not moved_nowhere:
            return
        was, now = _revisions(before), _revisions(after)
        wanted = _revisions(expected) if expected is not None else f"not {was}"
        raise MigrationError(
            f"alembic {verb} {target} left the database at {now} (it was at {was}; expected "
            f"{wanted}): the migration's changes did not reach the database.",
            hint="the project's env.py must commit its transaction (run the migrations inside"
                 " `with context.begin_transaction():` on a connection with no transaction "
                 "of its own open).")

    def _target_revisions(self, target: str) -> list[str] | None:
        """The revisions the version table holds once at `target`; None for a relative one."""
        if target == "base":
            return []
        if target in ("head", "heads"):
            return sorted(self.heads())
        if "+" in target or target.startswith("-"):
            return None
        try:
            found = self.scripts.get_revision(target)
        except Exception:  # alembic's own refusal came first, had the target been unknown
            return None
        return [found.revision] if found is not None else []


def _stays(target: str) -> bool:
    return target.lstrip("+-").lstrip("0") == "" or target.endswith(("+0", "-0"))


def _revisions(revisions: list[str]) -> str:
    return ", ".join(revisions) or "<base>"


# the version table, in whichever schema env.py keeps it (version_table_schema): the one on the
# search path first
FIND_VERSION_TABLE_SQL = """\
SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND c.relkind IN ('r', 'p')
ORDER BY n.nspname = ANY(current_schemas(false)) DESC, n.nspname LIMIT 1"""


def is_version_table(table: str) -> bool:
    """Whether `table` (as catalog.display_name names it) is Alembic's version table."""
    return table.rpartition(".")[2] == VERSION_TABLE


def current_revisions(conn: psycopg.Connection) -> list[str]:
    """The revision(s) in the database's version table (empty when it has none); reads only."""
    found = conn.execute(FIND_VERSION_TABLE_SQL, (VERSION_TABLE,)).fetchone()
    if found is None:
        return []
    current = sql.SQL("SELECT version_num FROM {} ORDER BY 1").format(
        sql.Identifier(found[0], VERSION_TABLE))
    return [row[0] for row in conn.execute(current).fetchall()]


def _down(down_revision) -> str | None:
    if isinstance(down_revision, (tuple, list)):
        return ",".join(down_revision)
    return down_revision
