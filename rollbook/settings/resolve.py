"""Every setting of a run, resolved once: the profile and each choice on top of it.

Precedence of every setting: command line, then environment, then profile, then default. Each
is checked here, so a mistake is one line before anything starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from rollbook.errors import ConfigError
from rollbook.net import http_base_url
from rollbook.pg.connect import check_dsn
from rollbook.settings.profile import DEFAULT_PROFILE, Profile
from rollbook.settings.profile_files import load_profile

ENV_VARS = {"env": "ROLLBOOK_ENV", "dsn": "ROLLBOOK_DSN", "baseline": "ROLLBOOK_BASELINE",
            "api_url": "ROLLBOOK_API_URL", "foreign_baseline": "ROLLBOOK_FOREIGN_BASELINE",
            "pg_backend": "ROLLBOOK_PG_BACKEND",
            "pg_bin_dir": "ROLLBOOK_PG_BIN_DIR", "scale": "ROLLBOOK_SCALE"}
BACKENDS = ("embedded", "local", "docker", "url")


@dataclass(frozen=True)
class Settings:
    """A profile and every choice made on top of it, each with where it came from."""

    profile: Profile
    dsn: str | None  # None: an embedded database the suite prepares, or dsn_env not set
    dsn_source: str
    baseline_path: Path | None
    baseline_source: str
    backend: str
    bin_dir: str | None
    scale: str
    api_url: str | None = None
    api_url_source: str = "none"
    foreign_baseline: str | None = None  # who said the baseline may come from elsewhere
    scale_source: str = "--scale"

    def require_dsn(self) -> str | None:
        """The DSN, None for an embedded profile; one line when the profile's variable is unset."""
        var = self.profile.database.dsn_env
        if self.dsn is None and var:
            raise ConfigError(f"profile {self.profile.name}: environment variable {var} is not "
                              "set.", hint=f"export {var}='postgresql://USER@HOST:5432/DBNAME' "
                              "(keep the password in PGPASSWORD or ~/.pgpass), or pass --dsn.")
        return self.dsn


def _pick(cli: Mapping[str, Any], environ: Mapping[str, str], key: str):
    option = f"--{key.replace('_', '-')}"
    if cli.get(key) is not None:
        if not str(cli[key]).strip():
            raise ConfigError(f"{option} is empty.", hint=f"give {option} a value, or leave it "
                              f"out for the default (env {ENV_VARS[key]}, then the profile).")
        return cli[key], option
    if environ.get(ENV_VARS[key]):
        return environ[ENV_VARS[key]], f"${ENV_VARS[key]}"
    return None, None


def _profile(name: str, source: str | None, envs_dir: Path) -> Profile:
    try:
        return load_profile(name, envs_dir)
    except OSError as exc:  # e.g. a name longer than the file system allows
        shown = name if len(name) <= 80 else f"{name[:40]}… ({len(name)} characters)"
        raise ConfigError(f"{source or '--env'} {shown!r}: {exc.strerror or exc}.",
                          hint="pass a profile name (envs/NAME.toml) or the path of a .toml "
                               "file.") from None


def resolve(cli: Mapping[str, Any], environ: Mapping[str, str], envs_dir: Path, *,
            need_dsn: bool = True) -> Settings:
    """Every setting, once: the profile named by --env / ROLLBOOK_ENV / "local", and each
    choice on top of it (command line, then environment, then profile, then default), each
    checked. need_dsn=False leaves an unset dsn_env variable for require_dsn to report."""
    env_name, env_source = _pick(cli, environ, "env")
    profile = _profile(env_name or DEFAULT_PROFILE, env_source, envs_dir)
    dsn, dsn_source = _pick(cli, environ, "dsn")
    var = profile.database.dsn_env
    if dsn is None and var and environ.get(var):
        dsn, dsn_source = environ[var], f"${var} (profile {profile.name})"
    if dsn is not None:
        check_dsn(dsn)
    baseline, baseline_source = _pick(cli, environ, "baseline")
    if baseline is None and profile.baseline is not None:
        baseline, baseline_source = profile.baseline, f"profile {profile.name}"
    api_url, api_source = _pick(cli, environ, "api_url")
    if api_url is not None:
        api_url = http_base_url(api_url, api_source)
    elif profile.api.base_url:
        api_url, api_source = profile.api.base_url, f"profile {profile.name}"
    backend, backend_source = _pick(cli, environ, "pg_backend")
    if backend is not None and backend not in BACKENDS:
        raise ConfigError(f"{backend_source} {backend[:40]!r} is not a server backend.",
                          hint=f"use one of: {', '.join(BACKENDS)}.")
    backend = backend or profile.embedded.backend
    bin_dir, bin_source = _pick(cli, environ, "pg_bin_dir")
    if bin_dir is not None and backend != "local":
        raise ConfigError(f"{bin_source} is only used by the local backend, but the backend is "
                          f"{backend}.", hint="add --pg-backend local, or drop --pg-bin-dir.")
    scale, scale_source = _pick(cli, environ, "scale")
    foreign, foreign_source = _pick(cli, environ, "foreign_baseline")
    if foreign is not None and str(foreign).lower() not in ("true", "1", "yes", "on"):
        foreign_source = None
    if foreign_source is None and profile.foreign_baseline:
        foreign_source = f"profile {profile.name} (foreign_baseline = true)"
    settings = Settings(profile=profile, dsn=dsn,
                        dsn_source=dsn_source or ("embedded (profile)" if not var else
                                                  f"${var} (not set)"),
                        baseline_path=Path(baseline) if baseline is not None else None,
                        baseline_source=baseline_source or "none", backend=backend,
                        bin_dir=bin_dir, scale=scale or profile.embedded.scale,
                        scale_source=scale_source or f"profile {profile.name}", api_url=api_url,
                        api_url_source=api_source or "none", foreign_baseline=foreign_source)
    if need_dsn:
        settings.require_dsn()
    return settings
