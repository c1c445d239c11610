"""The runbook's communication steps of a drill: stakeholders before, users and the status page
after. Sent for real to the drill's local relay and status page, and checked on arrival."""
from __future__ import annotations

import datetime as dt

from rollbook.runbook.notify import post_status, send_email
from rollbook_vibes.runbook import (
    ROLLBACK_COMPLETE,
    ROLLBACK_STARTED,
    STAKEHOLDERS,
    STATUS_RESOLVED,
    USERS,
)


def _delivered(drill, outbox, result) -> str:
    drill.check(result)
    arrived = outbox.mail_with(result.observed["message_id"])
    assert arrived is not None, f"{result.observed['subject']!r} never reached the relay"
    return f"{arrived['subject']!r} to {', '.join(arrived['to'])}, {arrived['message_id']}"


def notify_stakeholders(drill, outbox) -> None:
    with drill.step("Notify stakeholders", covers=("Stakeholders notified",)) as step:
        subject, body = ROLLBACK_STARTED
        when = dt.datetime.now(dt.timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")
        step.detail = _delivered(drill, outbox, send_email(
            outbox.channels, STAKEHOLDERS, subject, body.format(when=when)))
        drill.checklist.done("Stakeholders notified", step.detail)


def notify_users_and_status_page(drill, outbox) -> None:
    with drill.step("Notify users", covers=("Users notified",)) as step:
        step.detail = _delivered(drill, outbox, send_email(outbox.channels, USERS,
                                                           *ROLLBACK_COMPLETE))
        drill.checklist.done("Users notified", step.detail)
    with drill.step("Update the status page") as step:
        posted = drill.check(post_status(outbox.channels, STATUS_RESOLVED))
        assert STATUS_RESOLVED in outbox.status_posts, "the status page received nothing"
        step.detail = f"{posted.summary}: " + ", ".join(
            f"{key} {value!s}" for key, value in STATUS_RESOLVED.items())
