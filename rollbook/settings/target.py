"""The database the operator checks run against: chosen by the resolved settings
(rollbook.settings.resolve), prepared when the profile is embedded, and refused, one line per
reason, when it is not what the profile expects.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from rollbook.errors import ConfigError, RollbookError
from rollbook.measure import baseline as baseline_mod
from rollbook.measure import snapshot
from rollbook.pg import query_guard, role
from rollbook.pg.connect import connect
from rollbook.pg.server import Server, start_server
from rollbook.record.redact import redact_dsn
from rollbook.runbook.migrations import Migrations, Scripts, current_revisions
from rollbook.settings.profile import Alembic, Profile
from rollbook.settings.profile_files import load_ref
from rollbook.settings.resolve import Settings
from rollbook.verdicts import preflight

if TYPE_CHECKING:
    from alembic.config import Config

EMBEDDED_DATABASE = "rollbook_checks"


class TargetRefused(RollbookError):
    """The target database is not one the checks may run against; one line per reason."""

    def __init__(self, reasons: list[str]):
        super().__init__(" | ".join(reasons))
        self.reasons = reasons


def checks_connection(profile: Profile, dsn: str) -> AbstractContextManager[psycopg.Connection]:
    """The only way checks connect: read-only, with the profile's timeouts and name."""
    db = profile.database
    return connect(dsn, read_only=True, statement_timeout_ms=db.statement_timeout_ms,
                   lock_timeout_ms=db.lock_timeout_ms, application_name=db.application_name)


def sqlalchemy_url(dsn: str) -> str:
    """A libpq DSN as a SQLAlchemy psycopg URL (password included: never log it)."""
    from sqlalchemy.engine import URL

    params = conninfo_to_dict(dsn)
    port = params.pop("port", None)
    url = URL.create("postgresql+psycopg", username=params.pop("user", None),
                     password=params.pop("password", None), host=params.pop("host", None),
                     port=int(port) if port else None, database=params.pop("dbname", None),
                     query={k: str(v) for k, v in params.items()})
    return url.render_as_string(hide_password=False)


def alembic_config(ini: Path, dsn: str | None = None, *,
                   script_location: Path | None = None) -> Config:
    """An Alembic Config for `ini`, pointed at `dsn` as a SQLAlchemy psycopg URL; with
    `script_location`, that folder instead of the one the ini names."""
    from alembic.config import Config  # imported when used: see rollbook/runbook/migrations.py

    config = Config(str(ini))
    config.attributes["configure_logger"] = False
    if script_location is not None:
        config.set_main_option("script_location", str(script_location).replace("%", "%%"))
    if dsn is not None:
        config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def project_config(project: Alembic, dsn: str | None = None) -> Config:
    """The Alembic Config of the project a profile's [alembic] names, with its overrides."""
    assert project.ini is not None, "the profile names no Alembic project"
    return alembic_config(project.ini, dsn, script_location=project.script_location)


def expected_revision(profile: Profile, baseline: baseline_mod.Baseline | None) -> str | None:
    if profile.alembic.expected_revision:
        return profile.alembic.expected_revision
    if baseline is not None and len(baseline.revision) == 1:
        return baseline.revision[0]
    return None


@dataclass
class Target:
    settings: Settings
    dsn: str
    baseline: baseline_mod.Baseline | None
    baseline_path: Path | None
    baseline_source: str
    server_version: str
    revision: list[str]
    server: Server | None = None
    warnings: tuple[str, ...] = ()  # said in the report, never a failure
    baseline_note: str | None = None  # a baseline from another database, compared on purpose
    server_log: Path | None = None  # the log of a server this run started (embedded)
    scripts: Scripts | None = None  # the profile's Alembic scripts, read once by the guard

    def __post_init__(self) -> None:
        if self.server_log is None and self.server is not None:
            self.server_log = getattr(self.server, "log_path", None)

    @property
    def profile(self) -> Profile:
        return self.settings.profile

    def connect(self) -> AbstractContextManager[psycopg.Connection]:
        return checks_connection(self.profile, self.dsn)

    def expected_revision(self) -> str | None:
        return expected_revision(self.profile, self.baseline)

    def describe(self) -> str:
        where = f"{self.server.kind} PostgreSQL" if self.server else "PostgreSQL"
        base = (f"baseline {self.baseline_path} (sha256 {self.baseline.sha256}, "
                f"{self.baseline_source})" if self.baseline else "no baseline: profile "
                "expectations only")
        return (f"{self.profile.describe()}; {where} {self.server_version} at "
                f"{redact_dsn(self.dsn)} (from {self.settings.dsn_source}); alembic "
                f"{','.join(self.revision) or '<none>'}; {base}"
                + (f"; {self.baseline_note}" if self.baseline_note else ""))

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def _origins(conn: psycopg.Connection, baseline: baseline_mod.Baseline) -> tuple[str, str] | None:
    """(where the baseline was taken, this database) when they differ, else None."""
    here = baseline_mod.database_identity(conn)
    then = baseline.database
    if (then.get("system_identifier"), then.get("name")) == (here["system_identifier"],
                                                              here["name"]):
        return None
    return (f"database {then.get('name')} (system {then.get('system_identifier')})",
            f"database {here['name']} (system {here['system_identifier']})")


def wrong_baseline(conn: psycopg.Connection, baseline: baseline_mod.Baseline,
                   baseline_path: Path | None, foreign_ok: str | None = None) -> str | None:
    """Why the baseline does not belong to this database, or None when it does (or when
    `foreign_ok` says where the operator declared it the same data)."""
    origins = _origins(conn, baseline)
    if origins is None or foreign_ok:
        return None
    return (f"baseline {baseline_path} was taken from {origins[0]}, but this is {origins[1]}. "
            "Hint: point --dsn at the database the baseline came from, take a new one with "
            "`rollbook snapshot`, or, if this is the same data restored into another database "
            "or cluster, compare anyway with --foreign-baseline (profile: foreign_baseline = "
            "true).")


def foreign_baseline_note(conn: psycopg.Connection, baseline: baseline_mod.Baseline,
                          foreign_ok: str | None) -> str | None:
    """The line the report carries when a baseline from elsewhere is compared on purpose."""
    origins = _origins(conn, baseline)
    if origins is None or not foreign_ok:
        return None
    return (f"baseline from another database: taken from {origins[0]}, compared with "
            f"{origins[1]} as the same data (by {foreign_ok})")


def read_scripts(profile: Profile) -> Scripts | None:
    """The profile's Alembic scripts (None when it names no project)."""
    if profile.alembic.ini is None:
        return None
    return Migrations(project_config(profile.alembic), "").read_scripts()


def guard(conn: psycopg.Connection, profile: Profile, baseline: baseline_mod.Baseline | None,
          baseline_path: Path | None, foreign_ok: str | None,
          scripts: Scripts | None) -> list[str]:
    """Every reason not to run checks against this database, one line each; `scripts`: the
    profile's Alembic scripts, as read_scripts read them (None: it names no project)."""
    reasons = ([wrong_baseline(conn, baseline, baseline_path, foreign_ok)]
               if baseline is not None else [])
    reasons = [reason for reason in [*reasons, role.unreadable_tables(conn)] if reason]
    reasons += [f"{line}." for line in query_guard.refusals(conn, profile.queries)]
    result = preflight.revision(conn, expected_revision(profile, baseline))
    if not result.ok:
        reasons.append(result.summary + ".")
    if scripts is not None:
        heads = preflight.single_head(scripts)
        if not heads.ok:
            reasons.append(heads.summary + ".")
    return reasons


def open_target(settings: Settings, workdir: Path) -> Target:
    """Prepare (embedded) or reach (DSN) the database, load the baseline and run the guard."""
    baseline = baseline_path = None
    source = settings.baseline_source
    if settings.baseline_path is not None:
        baseline_path = settings.baseline_path
        baseline = baseline_mod.load(baseline_path)
    server = None
    try:
        dsn = settings.require_dsn()
        if dsn is None:
            server, dsn, auto = prepare_embedded(settings, workdir)
            if baseline is None and auto is not None:
                baseline_path, baseline, source = auto, baseline_mod.load(auto), \
                    "taken when the embedded database was prepared"
        scripts = read_scripts(settings.profile)
        with checks_connection(settings.profile, dsn) as conn:
            reasons = guard(conn, settings.profile, baseline, baseline_path,
                            settings.foreign_baseline, scripts)
            note = (foreign_baseline_note(conn, baseline, settings.foreign_baseline)
                    if baseline is not None else None)
            version = conn.execute("SELECT current_setting('server_version')").fetchone()[0]
            revision = current_revisions(conn)
            warning = role.write_warning(conn) if server is None else None
        if reasons:
            raise TargetRefused(reasons)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    return Target(settings, dsn, baseline, baseline_path, source, version, revision, server,
                  (warning,) if warning else (), note, scripts=scripts)


def prepare_embedded(settings: Settings, workdir: Path) -> tuple[Server, str, Path | None]:
    """Start a server, create the database, migrate, seed, add extensions, take a baseline.

    Mutates only what it creates, and only for a profile marked disposable.
    """
    profile = settings.profile
    if not profile.disposable:
        raise ConfigError(f"profile {profile.name} is not disposable = true: rollbook will not "
                          "create, migrate or seed its database.",
                          hint="point --dsn at an existing database, or mark the profile "
                               "disposable if it really is.")
    server = start_server(settings.backend, bin_dir=settings.bin_dir)
    server.start()
    try:
        server.create_database(EMBEDDED_DATABASE, drop_existing=True)
        dsn = server.dsn(EMBEDDED_DATABASE)
        if profile.alembic.start:
            from rollbook.runbook.startup import run_start  # it imports this module
            run_start(profile.alembic.start, dsn, profile.path.parent)
        Migrations(project_config(profile.alembic, dsn), dsn).upgrade(
            profile.alembic.expected_revision)
        if profile.embedded.seed:
            try:
                load_ref(profile.embedded.seed)(dsn, settings.scale)
            except Exception as exc:  # any refusal of the seeder (e.g. an unknown scale)
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ConfigError(f"seeding the embedded database with {profile.embedded.seed}"
                                  f" failed: {first}") from exc
        with connect(dsn) as conn:
            for extension in profile.embedded.extensions:
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                    sql.Identifier(extension)))
        path = None
        if profile.embedded.snapshot:
            with checks_connection(profile, dsn) as conn:
                taken = snapshot.take(conn, profile)
            workdir.mkdir(parents=True, exist_ok=True)
            path = taken.save(workdir / f"baseline-{profile.name}.json")
    except BaseException:
        server.stop()
        raise
    return server, dsn, path
