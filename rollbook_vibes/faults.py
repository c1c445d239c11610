"""Planted faults in copies of the Vibes migrations, for drills that rehearse failures.

The copy is made from the shipped revision text, so the fault runs the real migration up to the
point of failure. A copy that cannot be planted (the revision's text changed) is an error, not a
silently healthy migration.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from psycopg import sql

from rollbook_vibes.migrations_config import INI_PATH

UUID_REVISION_FILE = "0002_uuid_primary_keys.py"
FAIL_AFTER_TABLE = "tags"

# Run the upgrade outside the migration's transaction, as a migration with non-transactional
# steps (CREATE INDEX CONCURRENTLY, batched backfills) does, so its work up to the error stays.
_NON_TRANSACTIONAL = '''def upgrade() -> None:
    with op.get_context().autocommit_block():  # planted: no enclosing transaction
        _planted_upgrade()


def _planted_upgrade() -> None:
'''
_COPY_LINE = "        _copy_rows(table, columns, old, to_uuid)\n"
_FAILURE = (_COPY_LINE + f"        if to_uuid and table == {FAIL_AFTER_TABLE!r}:  # planted\n"
            "            raise RuntimeError('planted failure: the UUID migration failed "
            f"halfway, after rebuilding {FAIL_AFTER_TABLE}')\n")


class PlantError(RuntimeError):
    """The fault could not be planted in the copied revision."""


def copy_failing_halfway(destination: Path) -> Path:
    """A copy of the Vibes Alembic project whose 0002 upgrade dies after rebuilding some tables,
    leaving them committed; returns the copy's alembic.ini."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(INI_PATH, destination / INI_PATH.name)
    shutil.copytree(INI_PATH.parent / "alembic", destination / "alembic",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    revision = destination / "alembic" / "versions" / UUID_REVISION_FILE
    text = revision.read_text()
    for marker in ("def upgrade() -> None:\n", _COPY_LINE):
        if text.count(marker) != 1:
            raise PlantError(f"cannot plant the fault: {marker.strip()!r} is not found exactly "
                             f"once in {UUID_REVISION_FILE}")
    text = text.replace("def upgrade() -> None:\n", _NON_TRANSACTIONAL)
    text = text.replace(_COPY_LINE, _FAILURE)
    revision.write_text(text)
    return destination / INI_PATH.name


def plant_orphans(conn, count: int) -> str:
    """Journals whose user does not exist, written with triggers (and so FK checks) disabled,
    as a careless bulk load does."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("INSERT INTO journals (user_id, title, content)"
                     " SELECT gen_random_uuid(), 'orphan ' || g, 'no such user'"
                     " FROM generate_series(1, %s) g", (count,))
    return f"{count} journals reference users that do not exist"


def drop_index(conn, name: str) -> str:
    """The index is gone, as after a migration that forgot to recreate it."""
    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return f"index {name} dropped"


def break_logins(conn) -> str:
    """Every login fails inside the database (a trigger raises on the session insert), as a
    UUID build whose session writes are broken would: the API answers 500."""
    conn.execute("CREATE OR REPLACE FUNCTION planted_session_failure() RETURNS trigger"
                 " LANGUAGE plpgsql AS $$ BEGIN"
                 " RAISE EXCEPTION 'planted: session insert fails'; END $$")
    conn.execute("CREATE TRIGGER planted_session_failure BEFORE INSERT ON user_sessions"
                 " FOR EACH ROW EXECUTE FUNCTION planted_session_failure()")
    return "user_sessions inserts raise: every login answers 500"


def repair_logins(conn) -> str:
    """Drop what break_logins planted. A downgrade that rebuilds user_sessions takes the trigger
    with the table but leaves the function, which the schema check reports as extra."""
    conn.execute("DROP FUNCTION IF EXISTS planted_session_failure() CASCADE")
    return "function planted_session_failure() dropped (its trigger with it)"
