"""UUID keys: every primary and foreign key becomes a uuid; the integer ids are kept.

Each table is rebuilt rather than altered in place: the old table is renamed aside, the new
one created, filled with one INSERT ... SELECT that maps keys through a hash join, and only
then given its primary key, unique constraints, indexes and foreign keys. That is one pass
over each table's rows in either direction, whatever the number of key columns.

The UUID schema keeps what the downgrade needs: ``legacy_id`` (the integer id; unique,
NULL for rows created on the UUID schema) and the ``<table>_id_seq`` sequences, owned by
``legacy_id``. The downgrade gives NULL-legacy rows fresh ids from those sequences (in
created_at order), then rebuilds the integer schema exactly as 0001 created it: same
columns, defaults, constraint and index names and definitions, sequence ownership, ids.

A table dropped takes its grants, triggers, policies and comments along, and a view keeps it
from being dropped: both ways detach those first and attach them again at the end
(``rollbook_vibes.dependents``), the policy comparing uuid user ids on the way up and the
0001 objects, as 0001 made them, on the way down.

Revision ID: 0002
Revises: 0001
Create Date: 2024-03-01
"""
from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from alembic import context, op

from rollbook_vibes.dependents import DETACH, INTEGER, UUID, attach

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Session settings for the rebuild: hash joins over the largest table stay in memory.
SETTINGS = ("SET LOCAL work_mem = '256MB'", "SET LOCAL maintenance_work_mem = '512MB'")

KEY = "key"  # the table's own ``id``: serial at 0001, uuid (+ legacy_id) at 0002


class Ref(NamedTuple):
    """A foreign-key column: integer at 0001, uuid at 0002, same name and action."""

    parent: str
    on_delete: str
    nullable: bool = False


# Columns in 0001 order, parents before children. Plain columns are copied as they are.
TABLES: dict[str, tuple[tuple[str, object], ...]] = {
    "users": (
        ("id", KEY), ("email", "varchar(255) NOT NULL"),
        ("password_hash", "varchar(255) NOT NULL"), ("display_name", "varchar(100)"),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "journals": (
        ("id", KEY), ("user_id", Ref("users", "CASCADE")), ("title", "varchar(200) NOT NULL"),
        ("content", "text NOT NULL"), ("mood", "varchar(20)"),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
        ("updated_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "tags": (
        ("id", KEY), ("user_id", Ref("users", "CASCADE")), ("name", "varchar(50) NOT NULL"),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "journal_tags": (
        ("journal_id", Ref("journals", "CASCADE")), ("tag_id", Ref("tags", "CASCADE")),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "secret_tags": (
        ("id", KEY), ("user_id", Ref("users", "CASCADE")), ("tag_hash", "varchar(64) NOT NULL"),
        ("salt", "varchar(32) NOT NULL"), ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "reminders": (
        ("id", KEY), ("user_id", Ref("users", "CASCADE")),
        ("journal_id", Ref("journals", "SET NULL", nullable=True)),
        ("remind_at", "timestamptz NOT NULL"), ("message", "varchar(500) NOT NULL"),
        ("is_sent", "boolean NOT NULL DEFAULT false"),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "audit_logs": (
        ("id", KEY), ("user_id", Ref("users", "SET NULL", nullable=True)),
        ("action", "varchar(50) NOT NULL"), ("payload", "jsonb"), ("ip_address", "varchar(45)"),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
    ),
    "user_sessions": (
        ("id", KEY), ("user_id", Ref("users", "CASCADE")), ("token", "varchar(128) NOT NULL"),
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
        ("expires_at", "timestamptz NOT NULL"),
    ),
}

# Keys, unique constraints and indexes: the same names and text at both revisions.
AFTER_LOAD: dict[str, tuple[str, ...]] = {
    "users": ("ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id),"
              " ADD CONSTRAINT users_email_key UNIQUE (email)",),
    "journals": ("ALTER TABLE journals ADD CONSTRAINT journals_pkey PRIMARY KEY (id)",
                 "CREATE INDEX ix_journals_user_id_created_at ON journals (user_id, created_at)"),
    "tags": ("ALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY (id),"
             " ADD CONSTRAINT tags_user_id_name_key UNIQUE (user_id, name)",),
    "journal_tags": ("ALTER TABLE journal_tags"
                     " ADD CONSTRAINT journal_tags_pkey PRIMARY KEY (journal_id, tag_id)",
                     "CREATE INDEX ix_journal_tags_tag_id ON journal_tags (tag_id)"),
    "secret_tags": ("ALTER TABLE secret_tags ADD CONSTRAINT secret_tags_pkey PRIMARY KEY (id),"
                    " ADD CONSTRAINT secret_tags_user_id_tag_hash_key UNIQUE (user_id, tag_hash)",),
    "reminders": ("ALTER TABLE reminders ADD CONSTRAINT reminders_pkey PRIMARY KEY (id)",
                  "CREATE INDEX ix_reminders_user_id ON reminders (user_id)",
                  "CREATE INDEX ix_reminders_journal_id ON reminders (journal_id)",
                  "CREATE INDEX ix_reminders_due ON reminders (remind_at) WHERE NOT is_sent"),
    "audit_logs": ("ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (id)",
                   "CREATE INDEX ix_audit_logs_user_id ON audit_logs (user_id)",
                   "CREATE INDEX ix_audit_logs_created_at ON audit_logs (created_at)"),
    "user_sessions": ("ALTER TABLE user_sessions"
                      " ADD CONSTRAINT user_sessions_pkey PRIMARY KEY (id),"
                      " ADD CONSTRAINT user_sessions_token_key UNIQUE (token)",
                      "CREATE INDEX ix_user_sessions_user_id ON user_sessions (user_id)",
                      "CREATE INDEX ix_user_sessions_expires_at ON user_sessions (expires_at)"),
}


def upgrade() -> None:
    _rebuild(to_uuid=True)


def downgrade() -> None:
    _rebuild(to_uuid=False)


def _rebuild(*, to_uuid: bool) -> None:
    old = "__int" if to_uuid else "__uuid"
    keyed = [t for t, cols in TABLES.items() if any(spec is KEY for _, spec in cols)]
    for statement in (*SETTINGS, *DETACH):
        op.execute(statement)
    if not to_uuid:
        for table in keyed:
            _number_new_rows(table)
    for table in keyed:  # the sequences outlive the tables they are about to leave
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RENAME TO {table}{old}")
    for table, columns in TABLES.items():
        op.execute(f"CREATE TABLE {table} ({_column_list(table, columns, to_uuid)})")
        _copy_rows(table, columns, old, to_uuid)
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}{old}")
    for table in TABLES:
        for statement in AFTER_LOAD[table]:
            op.execute(statement)
        if to_uuid and table in keyed:
            op.execute(f"ALTER TABLE {table}"
                       f" ADD CONSTRAINT {table}_legacy_id_key UNIQUE (legacy_id)")
    for table, columns in TABLES.items():
        for name, spec in columns:
            if isinstance(spec, Ref):
                op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_{name}_fkey"
                           f" FOREIGN KEY ({name}) REFERENCES {spec.parent} (id)"
                           f" ON DELETE {spec.on_delete}")
    for table in keyed:
        owner = "legacy_id" if to_uuid else "id"
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.{owner}")
    for statement in attach(UUID if to_uuid else INTEGER):
        op.execute(statement)


def _number_new_rows(table: str) -> None:
    """Give rows created on the UUID schema (legacy_id NULL) the next integer ids."""
    seq = f"{table}_id_seq"
    # Never hand out an id that is already taken, even if the sequence fell behind.
    op.execute(f"SELECT setval('{seq}', m) FROM (SELECT max(legacy_id) AS m FROM {table}) s,"
               f" {seq} q WHERE m > q.last_value OR (m = q.last_value AND NOT q.is_called)")
    op.execute(f"UPDATE {table} t SET legacy_id = n.legacy_id"
               f" FROM (SELECT id, nextval('{seq}') AS legacy_id FROM"
               f"       (SELECT id FROM {table} WHERE legacy_id IS NULL"
               f"        ORDER BY created_at, id) o) n"
               f" WHERE t.id = n.id")


def _column_list(table: str, columns, to_uuid: bool) -> str:
    defs = []
    for name, spec in columns:
        if spec is KEY:
            defs.append("id uuid NOT NULL DEFAULT gen_random_uuid()" if to_uuid else
                        f"id integer NOT NULL DEFAULT nextval('{table}_id_seq'::regclass)")
        elif isinstance(spec, Ref):
            defs.append(f"{name} {'uuid' if to_uuid else 'integer'}"
                        f"{'' if spec.nullable else ' NOT NULL'}")
        else:
            defs.append(f"{name} {spec}")
    if to_uuid and any(spec is KEY for _, spec in columns):
        defs.append("legacy_id integer")
    return ", ".join(defs)


def _copy_rows(table: str, columns, old: str, to_uuid: bool) -> None:
    """One INSERT ... SELECT mapping every key column; fails if a single row is lost."""
    targets, values, joins = [], [], []
    for i, (name, spec) in enumerate(columns):
        if spec is KEY:
            targets += ["id", "legacy_id"] if to_uuid else ["id"]
            values += ["gen_random_uuid()", "o.id"] if to_uuid else ["o.legacy_id"]
        elif isinstance(spec, Ref):
            alias, join = f"p{i}", "LEFT JOIN" if spec.nullable else "JOIN"
            if to_uuid:  # the parent is already rebuilt: find its uuid by the old id
                joins.append(f"{join} {spec.parent} {alias} ON {alias}.legacy_id = o.{name}")
                values.append(f"{alias}.id")
            else:  # the parent's old table maps uuid -> legacy_id
                joins.append(f"{join} {spec.parent}__uuid {alias} ON {alias}.id = o.{name}")
                values.append(f"{alias}.legacy_id")
            targets.append(name)
        else:
            targets.append(name)
            values.append(f"o.{name}")
    insert = (f"INSERT INTO {table} ({', '.join(targets)}) SELECT {', '.join(values)}"
              f" FROM {table}{old} o {' '.join(joins)}")
    if context.is_offline_mode():  # --sql: no rows to count, the script is read first
        op.execute(insert)
        op.execute(f"ANALYZE {table}")
        return
    bind = op.get_bind()
    copied = bind.execute(sa.text(insert)).rowcount
    expected = bind.execute(sa.text(f"SELECT count(*) FROM {table}{old}")).scalar_one()
    if copied != expected:
        raise RuntimeError(f"{table}: copied {copied} of {expected} rows; a key did not map."
                           " The transaction is rolled back, nothing changed.")
    op.execute(f"ANALYZE {table}")
