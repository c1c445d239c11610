"""What hangs off the Vibes tables: the application role's grants, a view, a trigger with its
function, a row-level-security policy, comments.

Revision 0001 attaches these to the integer schema. Revision 0002 rebuilds every table, and a
table dropped takes its triggers, policies, grants and comments with it (and cannot be dropped
while a view reads it), so 0002 detaches them first and attaches them again afterwards: for
uuid keys on the way up, exactly as 0001 made them on the way down. Both revisions read the
statements from here so that the two ways can never drift apart; they are part of the
migration history: change them only together with a new revision that applies the change.

Row-level security is enabled, not forced: the tables' owner (the service as deployed here,
the seeder, the drills) is not filtered, the application role is.
"""
from __future__ import annotations

APP_ROLE = "vibes_app"
INTEGER, UUID = "integer", "uuid"  # the type of the user ids the policy compares


def create_role(role: str = APP_ROLE) -> str:
    """A DO block creating the NOLOGIN role unless it exists.

    The role is cluster-wide and many databases may be migrated at once: check first, and if
    another transaction created it meanwhile, CREATE ROLE fails with duplicate_object (it
    committed before ours looked) or unique_violation (it committed while ours waited). A
    migrating user without CREATEROLE needs the role made for it, and is told so."""
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;
    WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'the Vibes schema grants to the role {role}, which does not exist,'
                        ' and this user may not create it'
            USING HINT = 'have an administrator run: CREATE ROLE {role} NOLOGIN';
END
$$"""


# Fires only when what the user wrote changes: not on INSERT (so bulk loads pay nothing), and
# not when a migration renumbers legacy_id.
CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION journals_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$"""
CREATE_TRIGGER = ("CREATE TRIGGER journals_touch_updated_at"
                  " BEFORE UPDATE OF title, content, mood ON journals"
                  " FOR EACH ROW EXECUTE FUNCTION journals_touch_updated_at()")

# Aggregated in a subquery rather than grouped by users.id, which would make the view depend
# on users_pkey and stop the seeder from dropping the key for its bulk load. security_invoker:
# the app role reading the view is subject to the journals policy, not the owner's rights.
CREATE_VIEW = """
CREATE VIEW user_journal_counts WITH (security_invoker = true) AS
SELECT u.id AS user_id, u.email, u.display_name,
       coalesce(j.journals, 0) AS journals, j.last_written_at
FROM users u
LEFT JOIN (SELECT user_id, count(*) AS journals, max(created_at) AS last_written_at
           FROM journals GROUP BY user_id) j ON j.user_id = u.id"""


def _policy(key_type: str) -> str:
    # nullif: a setting reset to '' means no user, as an unset one does, rather than an error.
    current_user = f"nullif(current_setting('vibes.user_id', true), '')::{key_type}"
    return (f"CREATE POLICY journals_owner ON journals TO {APP_ROLE}"
            f" USING (user_id = {current_user}) WITH CHECK (user_id = {current_user})")


# The service reads and writes its tables; it may change a user's name and password but not
# their email, and the audit log is append-only.
GRANTS = (
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON journals, tags, journal_tags, secret_tags,"
    f" reminders, user_sessions TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, DELETE ON users TO {APP_ROLE}",
    f"GRANT UPDATE (display_name, password_hash) ON users TO {APP_ROLE}",
    f"GRANT SELECT, INSERT ON audit_logs TO {APP_ROLE}",
    f"GRANT SELECT ON user_journal_counts TO {APP_ROLE}",
)
# Sequences are not rebuilt by 0002 (only their owning column changes): granted once, by 0001.
SEQUENCE_GRANT = (f"GRANT USAGE ON SEQUENCE users_id_seq, journals_id_seq, tags_id_seq,"
                  f" secret_tags_id_seq, reminders_id_seq, audit_logs_id_seq,"
                  f" user_sessions_id_seq TO {APP_ROLE}")

TABLE_COMMENTS = {
    "users": "People with a Vibes account.",
    "journals": "Journal entries; each belongs to one user.",
    "tags": "A user's own tags for their journal entries.",
    "journal_tags": "Which tags are on which journal entry.",
    "secret_tags": "Tags a user keeps private: only a salted hash of the name is stored.",
    "reminders": "Reminders to write, optionally about one journal entry.",
    "audit_logs": "Security-relevant events, append-only for the service.",
    "user_sessions": "Login sessions of the API.",
}
COLUMN_COMMENTS = {
    ("users", "email"): "Login name, unique, compared exactly as stored.",
    ("users", "password_hash"): "scrypt$n$r$p$salt$key (see rollbook_vibes.api.passwords).",
    ("journals", "updated_at"): "Last change of title, content or mood (set by a trigger).",
    ("secret_tags", "tag_hash"): "Hash of the tag name with salt; the name is not stored.",
    ("reminders", "journal_id"): "The entry the reminder is about; NULL if none or deleted.",
    ("audit_logs", "user_id"): "NULL for system events and for users deleted since.",
    ("user_sessions", "token"): "sha256 (hex) of the bearer token; never the token itself.",
}
# Only at 0002: the integer id of 0001, kept for the way back.
LEGACY_ID_COMMENT = ("The 0001 integer id; NULL for rows created since the uuid migration,"
                     " which the downgrade numbers from <table>_id_seq.")
LEGACY_ID_TABLES = ("users", "journals", "tags", "secret_tags", "reminders", "audit_logs",
                    "user_sessions")
VIEW_COMMENT = "Every user with the number of journal entries they wrote and the latest one."
FUNCTION_COMMENT = "Trigger function: sets journals.updated_at when an entry is edited."
POLICY_COMMENT = "The application sees and writes only the journals of the user in vibes.user_id."


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comments(key_type: str) -> list[str]:
    statements = [f"COMMENT ON TABLE {table} IS {_literal(text)}"
                  for table, text in TABLE_COMMENTS.items()]
    statements += [f"COMMENT ON COLUMN {table}.{column} IS {_literal(text)}"
                   for (table, column), text in COLUMN_COMMENTS.items()]
    if key_type == UUID:
        statements += [f"COMMENT ON COLUMN {table}.legacy_id IS {_literal(LEGACY_ID_COMMENT)}"
                       for table in LEGACY_ID_TABLES]
    return statements + [
        f"COMMENT ON VIEW user_journal_counts IS {_literal(VIEW_COMMENT)}",
        f"COMMENT ON FUNCTION journals_touch_updated_at() IS {_literal(FUNCTION_COMMENT)}",
        f"COMMENT ON POLICY journals_owner ON journals IS {_literal(POLICY_COMMENT)}",
    ]


def attach(key_type: str) -> list[str]:
    """Statements that give freshly created tables (user ids of ``key_type``) the role's
    grants, the view, the trigger, the policy and the comments."""
    if key_type not in (INTEGER, UUID):
        raise ValueError(f"key type {key_type!r} is neither {INTEGER!r} nor {UUID!r}")
    return [create_role(), CREATE_FUNCTION, CREATE_VIEW, CREATE_TRIGGER,
            "ALTER TABLE journals ENABLE ROW LEVEL SECURITY", _policy(key_type),
            *GRANTS, *_comments(key_type)]


# What must go before the tables are rebuilt: the view (it would keep the old tables alive)
# and the trigger (so renumbering rows never runs it). Policies, grants and comments go with
# the old tables; the function stays, attach() replaces it by its identical self.
DETACH = ("DROP VIEW user_journal_counts", "DROP TRIGGER journals_touch_updated_at ON journals")
# After the tables, on the way down from 0001 (the role stays, see its downgrade).
DROP_FUNCTION = "DROP FUNCTION journals_touch_updated_at()"
