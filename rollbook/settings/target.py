"""The database the operator checks run against: chosen by precedence, prepared when the profile
is embedded, and refused, one line per reason, when it is not what the profile expects.

Precedence of every setting: command line, then environment, then profile, then default.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import psycopg
from alembic.config import Config
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import URL

from rollbook.errors import ConfigError, RollbookError
from rollbook.measure import baseline as baseline_mod
from rollbook.measure import snapshot
from rollbook.pg import role
from rollbook.pg.connect import connect
from rollbook.pg.server import Server, start_server
from rollbook.record.redact import redact_dsn
from rollbook.runbook.migrations import Migrations, current_revisions
from rollbook.settings.profile import DEFAULT_PROFILE, Profile, load_profile, load_ref
from rollbook.verdicts import preflight

ENV_VARS = {"env": "ROLLBOOK_ENV", "dsn": "ROLLBOOK_DSN", "baseline": "ROLLBOOK_BASELINE",
            "pg_backend": "ROLLBOOK_PG_BACKEND", "pg_bin_dir": "ROLLBOOK_PG_BIN_DIR",
            "scale": "ROLLBOOK_SCALE"}
EMBEDDED_DATABASE = "rollbook_checks"


class TargetRefused(RollbookError):
    """The target database is not one the checks may run against; one line per reason."""

    def __init__(self, reasons: list[str]):
        super().__init__(" | ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Settings:
    """A profile and every choice made on top of it, each with where it came from."""

    profile: Profile
    dsn: str | None  # None: an embedded database the suite prepares
    dsn_source: str
    baseline_path: Path | None
    baseline_source: str
    backend: str
    bin_dir: str | None
    scale: str


def _pick(cli: Mapping[str, Any], environ: Mapping[str, str], key: str):
    if cli.get(key) is not None:
        return cli[key], f"--{key.replace('_', '-')}"
    if environ.get(ENV_VARS[key]):
        return environ[ENV_VARS[key]], f"${ENV_VARS[key]}"
    return None, None


def resolve(cli: Mapping[str, Any], environ: Mapping[str, str], envs_dir: Path) -> Settings:
    """The profile named by --env / ROLLBOOK_ENV / "local", and the choices on top of it."""
    env_name = _pick(cli, environ, "env")[0] or DEFAULT_PROFILE
    profile = load_profile(env_name, envs_dir)
    dsn, dsn_source = _pick(cli, environ, "dsn")
    if dsn is None and profile.database.dsn_env:
        var = profile.database.dsn_env
        if not environ.get(var):
            raise ConfigError(f"profile {profile.name}: environment variable {var} is not set.",
                              hint=f"export {var}='postgresql://USER@HOST:5432/DBNAME' (keep "
                                   "the password in PGPASSWORD or ~/.pgpass), or pass --dsn.")
        dsn, dsn_source = environ[var], f"${var} (profile {profile.name})"
    if dsn is None:
        dsn_source = "embedded (profile)"
    baseline, baseline_source = _pick(cli, environ, "baseline")
    if baseline is None and profile.baseline is not None:
        baseline, baseline_source = profile.baseline, f"profile {profile.name}"
    backend = _pick(cli, environ, "pg_backend")[0] or profile.embedded.backend
    return Settings(profile=profile, dsn=dsn, dsn_source=dsn_source,
                    baseline_path=Path(baseline) if baseline is not None else None,
                    baseline_source=baseline_source or "none", backend=backend,
                    bin_dir=_pick(cli, environ, "pg_bin_dir")[0],
                    scale=_pick(cli, environ, "scale")[0] or profile.embedded.scale)


def checks_connection(profile: Profile, dsn: str) -> AbstractContextManager[psycopg.Connection]:
    """The only way checks connect: read-only, with the profile's timeouts and name."""
    db = profile.database
    return connect(dsn, read_only=True, statement_timeout_ms=db.statement_timeout_ms,
                   lock_timeout_ms=db.lock_timeout_ms, application_name=db.application_name)


def alembic_config(ini: Path, dsn: str | None = None) -> Config:
    """An Alembic Config for `ini`, pointed at `dsn` as a SQLAlchemy psycopg URL."""
    config = Config(str(ini))
    config.attributes["configure_logger"] = False
    if dsn is not None:
        params = conninfo_to_dict(dsn)
        port = params.pop("port", None)
        url = URL.create("postgresql+psycopg", username=params.pop("user", None),
                         password=params.pop("password", None), host=params.pop("host", None),
                         port=int(port) if port else None, database=params.pop("dbname", None),
                         query={k: str(v) for k, v in params.items()})
        rendered = url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


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

    @property
    def profile(self) -> Profile:
        return self.settings.profile

    def connect(self) -> AbstractContextManager[psycopg.Connection]:
        return checks_connection(self.profile, self.dsn)

    def migrations(self) -> Migrations | None:
        ini = self.profile.alembic.ini
        return Migrations(alembic_config(ini), self.dsn) if ini is not None else None

    def expected_revision(self) -> str | None:
        return expected_revision(self.profile, self.baseline)

    def describe(self) -> str:
        where = f"{self.server.kind} PostgreSQL" if self.server else "PostgreSQL"
        base = (f"baseline {self.baseline_path} (sha256 {self.baseline.sha256[:12]}…, "
                f"{self.baseline_source})" if self.baseline else "no baseline: profile "
                "expectations only")
        return (f"{self.profile.describe()}; {where} {self.server_version} at "
                f"{redact_dsn(self.dsn)} (from {self.settings.dsn_source}); alembic "
                f"{','.join(self.revision) or '<none>'}; {base}")

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def wrong_baseline(conn: psycopg.Connection, baseline: baseline_mod.Baseline,
                   baseline_path: Path | None) -> str | None:
    """Why the baseline does not belong to this database, or None when it does."""
    here = baseline_mod.database_identity(conn)
    then = baseline.database
    if (then.get("system_identifier"), then.get("name")) == (here["system_identifier"],
                                                              here["name"]):
        return None
    return (f"baseline {baseline_path} was taken from database {then.get('name')} (system "
            f"{then.get('system_identifier')}), but this is database {here['name']} (system "
            f"{here['system_identifier']}). Hint: point --dsn at the database the baseline "
            "came from, or take a new one with `rollbook snapshot`.")


def guard(conn: psycopg.Connection, profile: Profile, baseline: baseline_mod.Baseline | None,
          baseline_path: Path | None) -> list[str]:
    """Every reason not to run checks against this database, one line each."""
    reasons = [wrong_baseline(conn, baseline, baseline_path)] if baseline is not None else []
    reasons = [reason for reason in [*reasons, role.unreadable_tables(conn)] if reason]
    result = preflight.revision(conn, expected_revision(profile, baseline))
    if not result.ok:
        reasons.append(result.summary + ".")
    if profile.alembic.ini is not None:
        heads = preflight.single_head(Migrations(alembic_config(profile.alembic.ini), ""))
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
        dsn = settings.dsn
        if dsn is None:
            server, dsn, auto = prepare_embedded(settings, workdir)
            if baseline is None and auto is not None:
                baseline_path, baseline, source = auto, baseline_mod.load(auto), \
                    "taken when the embedded database was prepared"
        with checks_connection(settings.profile, dsn) as conn:
            reasons = guard(conn, settings.profile, baseline, baseline_path)
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
                  (warning,) if warning else ())


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
        Migrations(alembic_config(profile.alembic.ini, dsn), dsn).upgrade(
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
