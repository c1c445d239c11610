"""The service's configuration, read once from the environment, typed and frozen.

| variable | meaning | default |
| --- | --- | --- |
| VIBES_DATABASE_URL (or the variable named by --dsn-env) | libpq DSN of the database | required |
| UUID_ENABLED / USE_INTEGER_IDS | id mode: uuid (revision 0002) or integer (0001) | integer |
| VIBES_ADMIN_TOKEN | token for /admin/*; without it the admin endpoints answer 403 | unset |
| VIBES_MAINTENANCE_FILE | present means maintenance is on | <tmp>/vibes-api.maintenance |
| VIBES_RETRY_AFTER_S | Retry-After of the 503s sent during maintenance | 120 |
| VIBES_SESSION_TTL_S | lifetime of a login's bearer token | 86400 |
| VIBES_POOL_MAX | largest number of database connections | 10 |
| VIBES_LOG_FILE | structured log file (JSON lines), appended to | none: stderr only |

A released build carries ``rollbook_vibes/release.json`` (its name, id mode and Alembic revision,
written by rollbook.runbook.releases): /health then reports the release, and its id mode is the
default when neither flag is set. The working tree has none: release null, integer by default.

The runbook's rollback sets ``UUID_ENABLED=false`` and ``USE_INTEGER_IDS=true``; either alone is
enough, and the two must agree when both are set.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

# The same values as rollbook_vibes.migrations_config (a test holds them equal), kept here so
# that the service starts without importing Alembic and SQLAlchemy.
REVISION_INTEGER, REVISION_UUID = "0001", "0002"
URL_ENV_VAR = "VIBES_DATABASE_URL"
INTEGER, UUID = "integer", "uuid"
REVISION_OF_MODE = {INTEGER: REVISION_INTEGER, UUID: REVISION_UUID}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
RELEASE_FILE = Path(__file__).resolve().parents[1] / "release.json"


class ConfigError(Exception):
    """The environment does not describe a service that can start; the message ends with the fix."""


@dataclass(frozen=True)
class Settings:
    dsn: str
    id_mode: str
    admin_token: str | None
    maintenance_file: Path
    retry_after_s: int = 120
    session_ttl_s: int = 86_400
    pool_max: int = 10
    log_file: Path | None = None
    release: str | None = None

    @property
    def expected_revision(self) -> str:
        return REVISION_OF_MODE[self.id_mode]

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log line: the DSN's password and the admin token."""
        found = [self.admin_token or ""]
        try:
            found.append(conninfo_to_dict(self.dsn).get("password") or "")
        except Exception:  # an unparseable DSN is refused at connect time
            pass
        return tuple(s for s in found if s)

    def describe_database(self) -> str:
        """user@host:port/dbname: the DSN without its password, for log lines."""
        try:
            p = conninfo_to_dict(self.dsn)
        except Exception:
            return "<unparseable DSN>"
        user = f"{p['user']}@" if p.get("user") else ""
        return f"{user}{p.get('host', 'localhost')}:{p.get('port', '5432')}/{p.get('dbname', '')}"

    def mode_flags(self) -> str:
        uuid_on = self.id_mode == UUID
        return (f"UUID_ENABLED={str(uuid_on).lower()}, "
                f"USE_INTEGER_IDS={str(not uuid_on).lower()}")


def from_env(environ: Mapping[str, str] | None = None, *, dsn_env: str = URL_ENV_VAR
             ) -> Settings:
    """Settings from the environment; ConfigError names the variable that is wrong."""
    env = os.environ if environ is None else environ
    dsn = env.get(dsn_env, "").strip()
    if not dsn:
        raise ConfigError(f"{dsn_env} is not set. Hint: export {dsn_env}='host=... dbname=...' "
                          "(the DSN is read from the environment, never from the command line).")
    try:
        conninfo_to_dict(dsn)
    except Exception:
        raise ConfigError(f"{dsn_env} is not a valid libpq DSN. Hint: use 'postgresql://"
                          "user@host:port/dbname' or 'host=... dbname=...'.") from None
    maintenance = Path(env.get("VIBES_MAINTENANCE_FILE")
                       or Path(tempfile.gettempdir()) / "vibes-api.maintenance")
    if not maintenance.parent.is_dir():
        raise ConfigError(f"VIBES_MAINTENANCE_FILE={maintenance}: folder "
                          f"{maintenance.parent} does not exist. Hint: create it or pick a "
                          "path in an existing folder.")
    log_file = Path(env["VIBES_LOG_FILE"]) if env.get("VIBES_LOG_FILE", "").strip() else None
    if log_file is not None and not log_file.parent.is_dir():
        raise ConfigError(f"VIBES_LOG_FILE={log_file}: folder {log_file.parent} does not "
                          "exist. Hint: create it or pick a path in an existing folder.")
    release = installed_release() or {}
    return Settings(dsn=dsn, id_mode=id_mode(env, release.get("id_mode") or INTEGER),
                    release=release.get("name"), admin_token=env.get("VIBES_ADMIN_TOKEN") or None,
                    maintenance_file=maintenance,
                    retry_after_s=_positive_int(env, "VIBES_RETRY_AFTER_S", 120),
                    session_ttl_s=_positive_int(env, "VIBES_SESSION_TTL_S", 86_400),
                    pool_max=_positive_int(env, "VIBES_POOL_MAX", 10), log_file=log_file)


def installed_release(path: Path = RELEASE_FILE) -> dict | None:
    """The release this build is ({"name", "id_mode", "revision"}), None outside a release."""
    try:
        release = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as a release: {exc}. Hint: reinstall the "
                          "release from its tag.") from None
    if not isinstance(release, dict) or release.get("id_mode") not in (INTEGER, UUID, None) \
            or not release.get("name"):
        raise ConfigError(f"{path} does not name a release and its id mode. Hint: reinstall "
                          "the release from its tag.")
    return release


def id_mode(env: Mapping[str, str], default: str = INTEGER) -> str:
    """integer or uuid, from UUID_ENABLED and USE_INTEGER_IDS (`default` when neither is set)."""
    uuid_on = _flag(env, "UUID_ENABLED")
    integer_on = _flag(env, "USE_INTEGER_IDS")
    if uuid_on is not None and integer_on is not None and uuid_on == integer_on:
        raise ConfigError(f"UUID_ENABLED={env['UUID_ENABLED']} and USE_INTEGER_IDS="
                          f"{env['USE_INTEGER_IDS']} contradict each other. Hint: integer ids "
                          "are UUID_ENABLED=false USE_INTEGER_IDS=true; uuid ids the reverse.")
    if uuid_on is not None:
        return UUID if uuid_on else INTEGER
    if integer_on is not None:
        return INTEGER if integer_on else UUID
    return default


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean. Hint: use true or false.")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} is not a positive whole number. Hint: e.g. "
                          f"{name}={default}.")
    return value
