"""The Vibes Alembic project as a Config any program can use, from any working directory.

    from alembic import command
    from rollbook_vibes.migrations_config import alembic_config
    command.upgrade(alembic_config(dsn), "0001")

The ini file ships inside the package (package-data), so this works from a checkout and from
an installed wheel alike.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from psycopg.conninfo import conninfo_to_dict

if TYPE_CHECKING:  # imported where used: importing the constants here stays light
    from alembic.config import Config
    from sqlalchemy.engine import URL

INI_PATH = Path(__file__).resolve().with_name("alembic.ini")
URL_ENV_VAR = "VIBES_DATABASE_URL"
DRIVER = "postgresql+psycopg"

REVISION_INTEGER = "0001"
REVISION_UUID = "0002"


def sqlalchemy_url(dsn: str | URL) -> URL:
    """A SQLAlchemy URL on the psycopg 3 driver for a libpq DSN (key=value or URL) or URL.

    ``host=h port=5 user=u dbname=d`` and ``postgresql://u@h:5/d`` both become
    ``postgresql+psycopg://u@h:5/d``; other libpq parameters (sslmode, connect_timeout, ...)
    are kept as query parameters. A URL that already names a driver is kept as it is.
    """
    from sqlalchemy.engine import URL, make_url

    if isinstance(dsn, URL):
        url = dsn
    elif "+" in dsn.partition("://")[0] and "://" in dsn:
        url = make_url(dsn)
    else:
        params = conninfo_to_dict(dsn)
        port = params.pop("port", None)
        url = URL.create(DRIVER, username=params.pop("user", None),
                         password=params.pop("password", None), host=params.pop("host", None),
                         port=int(port) if port and port.isdigit() else None,
                         database=params.pop("dbname", None),
                         query={k: str(v) for k, v in params.items()}
                         | ({"port": port} if port and not port.isdigit() else {}))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername=DRIVER)
    return url


def alembic_config(dsn: str | URL | None = None, *, stdout: TextIO | None = None,
                   ini: Path = INI_PATH) -> Config:
    """An Alembic Config for the Vibes migrations, pointed at ``dsn`` when one is given.

    Without a DSN, env.py falls back to a connection in ``config.attributes["connection"]``
    or the VIBES_DATABASE_URL environment variable. Logging configuration is left to the
    calling program (``attributes["configure_logger"] = False``).
    """
    from alembic.config import Config

    config = Config(str(ini), stdout=stdout if stdout is not None else sys.stdout)
    config.attributes["configure_logger"] = False
    if dsn is not None:
        rendered = sqlalchemy_url(dsn).render_as_string(hide_password=False)
        # ConfigParser interpolation: a literal % (URL-escaped characters) must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config
