"""The runbook's own SQL for the Vibes service, verbatim where the runbook gives it."""
from __future__ import annotations

IMPACT_QUERIES = {
    "affected users": "SELECT COUNT(*) as total_users FROM users",
    "journals and users with journals": (
        "SELECT COUNT(*) as total_journals, COUNT(DISTINCT user_id) as users_with_journals"
        " FROM journals"),
}

# "Drop UUID tables (if safe to do so)", in the runbook's order. journal_tags is not in the
# runbook's list: `pg_restore -c` drops and recreates it. The view user_journal_counts goes
# with users and journals (DROP TABLE ... CASCADE) and comes back with the restore.
MANUAL_ROLLBACK_DROP = ("user_sessions", "audit_logs", "reminders", "secret_tags", "tags",
                        "journals", "users")

VALIDATION_QUERIES = {
    "foreign key join (journals -> users)": (
        "SELECT j.id as journal_id, j.user_id, u.id as user_id_check"
        " FROM journals j JOIN users u ON j.user_id = u.id LIMIT 10"),
    "integer id lookup": "SELECT id, pg_typeof(id) as id_type, email FROM users LIMIT 5",
    "join for one user": (
        "SELECT u.email, j.title, j.created_at FROM users u JOIN journals j ON u.id = j.user_id"
        " WHERE u.id = (SELECT min(user_id) FROM journals)"),
}


# "Notify Stakeholders", "Notify Users" and "Update Status Page", as the runbook words them.
STAKEHOLDERS = ["stakeholders@company.com"]
USERS = ["users@company.com"]
ROLLBACK_STARTED = ("URGENT: Vibes Database Rollback in Progress",
                    "UUID migration rollback initiated at {when}")
ROLLBACK_COMPLETE = ("Vibes System Update: Rollback Complete",
                     "UUID migration has been rolled back. System is stable.")
STATUS_RESOLVED = {"status": "resolved", "message": "Database rollback completed successfully"}
