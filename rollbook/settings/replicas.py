"""The replicas a profile lists: `[database] replicas_env = ["REPLICA1_DSN", ...]`.

Like the primary's `dsn_env`, the profile names environment variables, never DSNs or
passwords. The variables are read when the checks start (not for drills), each checked as the
primary's DSN is: an unset variable or a value that is no DSN is one line with a hint.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rollbook.errors import ConfigError
from rollbook.measure.replicas import Replica
from rollbook.pg.connect import check_dsn
from rollbook.settings.reader import ENV_VAR, Reader

if TYPE_CHECKING:  # profile.py reads its [database] replicas_env through read_names
    from rollbook.settings.profile import Profile

KEY = "replicas_env"


def read_names(db: Reader, *, embedded: bool, dsn_env: str | None) -> tuple[str, ...]:
    """The `[database] replicas_env` list, each an environment variable's name."""
    names = db.string_list(KEY, default=[])
    wrong = [name for name in names if not ENV_VAR.match(name)]
    if wrong:
        db.error(KEY, f"{wrong[0]!r} is not an environment variable's name: list the names of "
                 'the variables that hold the replicas\' DSNs, e.g. ["VIBES_REPLICA1_DSN"]')
        return ()
    if len(set(names)) != len(names) or dsn_env in names:
        db.error(KEY, "names a variable twice, or the primary's dsn_env: list each replica once")
        return ()
    if names and embedded:
        db.error(KEY, "an embedded profile has no replicas; use dsn_env and replicas_env for a "
                 "live database")
        return ()
    return tuple(names)


def from_environment(profile: Profile, environ: Mapping[str, str],
                     names: tuple[str, ...] | None = None) -> tuple[Replica, ...]:
    """The profile's replicas (or those of `names`), each DSN read from its variable."""
    replicas = []
    for name in profile.database.replicas_env if names is None else names:
        value = environ.get(name, "")
        if not value.strip():
            raise ConfigError(f"profile {profile.name}: [database] replicas_env names {name}, "
                              "which is not set.",
                              hint=f"export {name}='postgresql://USER@HOST:5432/DBNAME' (keep "
                              "the password in PGPASSWORD or ~/.pgpass), or remove it from "
                              "replicas_env.")
        check_dsn(value)
        replicas.append(Replica(f"${name}", value))
    return tuple(replicas)
