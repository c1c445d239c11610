"""Integer baseline: the Vibes schema before the UUID migration.

Every table has a ``serial`` key (sequence ``<table>_id_seq`` owned by the column), and every
constraint and index is named explicitly so that a rollback can be compared name for name.
Then what a real service has around its tables (``rollbook_vibes.dependents``): grants to the
application role ``vibes_app``, a view, a trigger, a row-level-security policy, comments.

Revision ID: 0001
Revises:
Create Date: 2024-01-15
"""
from alembic import op

from rollbook_vibes.dependents import DETACH, DROP_FUNCTION, INTEGER, SEQUENCE_GRANT, attach

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE users (
        id serial NOT NULL,
        email varchar(255) NOT NULL,
        password_hash varchar(255) NOT NULL,
        display_name varchar(100),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_pkey PRIMARY KEY (id),
        CONSTRAINT users_email_key UNIQUE (email)
    )
    """,
    """
    CREATE TABLE journals (
        id serial NOT NULL,
        user_id integer NOT NULL,
        title varchar(200) NOT NULL,
        content text NOT NULL,
        mood varchar(20),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT journals_pkey PRIMARY KEY (id),
        CONSTRAINT journals_user_id_fkey FOREIGN KEY (user_id)
            REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX ix_journals_user_id_created_at ON journals (user_id, created_at)",
    """
    CREATE TABLE tags (
        id serial NOT NULL,
        user_id integer NOT NULL,
        name varchar(50) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT tags_pkey PRIMARY KEY (id),
        CONSTRAINT tags_user_id_name_key UNIQUE (user_id, name),
        CONSTRAINT tags_user_id_fkey FOREIGN KEY (user_id)
            REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE journal_tags (
        journal_id integer NOT NULL,
        tag_id integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT journal_tags_pkey PRIMARY KEY (journal_id, tag_id),
        CONSTRAINT journal_tags_journal_id_fkey FOREIGN KEY (journal_id)
            REFERENCES journals (id) ON DELETE CASCADE,
        CONSTRAINT journal_tags_tag_id_fkey FOREIGN KEY (tag_id)
            REFERENCES tags (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX ix_journal_tags_tag_id ON journal_tags (tag_id)",
    """
    CREATE TABLE secret_tags (
        id serial NOT NULL,
        user_id integer NOT NULL,
        tag_hash varchar(64) NOT NULL,
        salt varchar(32) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT secret_tags_pkey PRIMARY KEY (id),
        CONSTRAINT secret_tags_user_id_tag_hash_key UNIQUE (user_id, tag_hash),
        CONSTRAINT secret_tags_user_id_fkey FOREIGN KEY (user_id)
            REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE reminders (
        id serial NOT NULL,
        user_id integer NOT NULL,
        journal_id integer,
        remind_at timestamptz NOT NULL,
        message varchar(500) NOT NULL,
        is_sent boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT reminders_pkey PRIMARY KEY (id),
        CONSTRAINT reminders_user_id_fkey FOREIGN KEY (user_id)
            REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT reminders_journal_id_fkey FOREIGN KEY (journal_id)
            REFERENCES journals (id) ON DELETE SET NULL
    )
    """,
    "CREATE INDEX ix_reminders_user_id ON reminders (user_id)",
    "CREATE INDEX ix_reminders_journal_id ON reminders (journal_id)",
    "CREATE INDEX ix_reminders_due ON reminders (remind_at) WHERE NOT is_sent",
    """
    CREATE TABLE audit_logs (
        id serial NOT NULL,
        user_id integer,
        action varchar(50) NOT NULL,
        payload jsonb,
        ip_address varchar(45),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
        CONSTRAINT audit_logs_user_id_fkey FOREIGN KEY (user_id)
            REFERENCES users (id) ON DELETE SET NULL
    )
    """,
    "CREATE INDEX ix_audit_logs_user_id ON audit_logs (user_id)",
    "CREATE INDEX ix_audit_logs_created_at ON audit_logs (created_at)",
    """
    CREATE TABLE user_sessions (
        id serial NOT NULL,
        user_id integer NOT NULL,
        token varchar(128) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        CONSTRAINT user_sessions_pkey PRIMARY KEY (id),
        CONSTRAINT user_sessions_token_key UNIQUE (token),
        CONSTRAINT user_sessions_user_id_fkey FOREIGN KEY (user_id)
            REFERENCES users (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX ix_user_sessions_user_id ON user_sessions (user_id)",
    "CREATE INDEX ix_user_sessions_expires_at ON user_sessions (expires_at)",
)

TABLES = ("users", "journals", "tags", "journal_tags", "secret_tags", "reminders",
          "audit_logs", "user_sessions")


def upgrade() -> None:
    for statement in (*STATEMENTS, *attach(INTEGER), SEQUENCE_GRANT):
        op.execute(statement)


def downgrade() -> None:
    for statement in DETACH:
        op.execute(statement)
    # Children first; each serial's sequence goes with its owning table, and the grants,
    # trigger, policy and comments with theirs.
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table}")
    op.execute(DROP_FUNCTION)
    # The role stays: it belongs to the cluster, and other databases may grant it rights.
    # Nothing of this database is granted to it any more.
