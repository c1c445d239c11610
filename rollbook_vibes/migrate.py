"""The Vibes migrations from any directory, as the runbook runs them with `python -m alembic`:

    python -m rollbook_vibes.migrate upgrade 0002
    python -m rollbook_vibes.migrate downgrade -1
    python -m rollbook_vibes.migrate current

The database comes from VIBES_DATABASE_URL (a libpq DSN or URL); the Alembic project is the one
shipped inside this package, so the command works from a checkout and an installed wheel alike.
"""
from __future__ import annotations

import sys

from alembic.config import main as alembic_main

from rollbook_vibes.migrations_config import INI_PATH


def main(argv: list[str] | None = None) -> int:
    alembic_main(argv=["-c", str(INI_PATH), *(sys.argv[1:] if argv is None else argv)],
                 prog="python -m rollbook_vibes.migrate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
