"""Facts about the Vibes tables that do not depend on the revision a database is at.

Importable without SQLAlchemy or Alembic: fingerprints, counts and orphan searches use these
to know which tables exist and how to order their rows.
"""
from __future__ import annotations

# Parents before children: the order to load in, and (reversed) the order to empty in.
TABLES: tuple[str, ...] = (
    "users",
    "journals",
    "tags",
    "journal_tags",
    "secret_tags",
    "reminders",
    "audit_logs",
    "user_sessions",
)

# Tables with a surrogate key: ``id`` (a serial at 0001, a uuid at 0002, whose integer value
# is then kept in ``legacy_id``) drawn from the sequence ``<table>_id_seq``.
ID_TABLES: tuple[str, ...] = tuple(t for t in TABLES if t != "journal_tags")

_KEY_COLUMNS = {t: ("id",) for t in ID_TABLES} | {"journal_tags": ("journal_id", "tag_id")}

# (table, column) -> referenced table, for every foreign key; all reference ``id``.
FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("journals", "user_id"): "users",
    ("tags", "user_id"): "users",
    ("journal_tags", "journal_id"): "journals",
    ("journal_tags", "tag_id"): "tags",
    ("secret_tags", "user_id"): "users",
    ("reminders", "user_id"): "users",
    ("reminders", "journal_id"): "journals",
    ("audit_logs", "user_id"): "users",
    ("user_sessions", "user_id"): "users",
}


def table_key_columns(table: str) -> tuple[str, ...]:
    """The primary-key columns of a Vibes table (the same names at every revision)."""
    try:
        return _KEY_COLUMNS[table]
    except KeyError:
        raise ValueError(f"{table!r} is not a Vibes table; known: {', '.join(TABLES)}") from None


def sequence_name(table: str) -> str:
    """The sequence that numbers a table's integer ids (owned by ``id`` at 0001)."""
    if table not in ID_TABLES:
        raise ValueError(f"{table!r} has no integer id sequence; tables with one: "
                         f"{', '.join(ID_TABLES)}")
    return f"{table}_id_seq"
