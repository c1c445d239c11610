"""Notices: dry-run composes and sends nothing; real sends reach a local relay and status page;
an unreachable relay is one clear failure."""
from __future__ import annotations

from dataclasses import replace

from rollbook.net import free_port
from rollbook.runbook.notify import Channels, post_status, send_email


def test_dry_run_is_the_default_and_sends_nothing(outbox):
    dry = replace(outbox.channels, dry_run=True)
    assert Channels().dry_run
    result = send_email(dry, ["ops@company.com"], "rehearsal", "body")
    posted = post_status(dry, {"status": "resolved"})
    assert result.ok and result.summary.startswith("dry run: would send 'rehearsal'")
    assert posted.ok and posted.summary.startswith("dry run: would POST")
    assert outbox.mail_with(result.observed["message_id"]) is None
    assert {"status": "resolved"} not in outbox.status_posts


def test_real_send_reaches_the_relay_and_the_status_page(outbox):
    result = send_email(outbox.channels, ["a@company.com", "b@company.com"], "hello", "text")
    assert result.ok, result.summary
    arrived = outbox.mail_with(result.observed["message_id"])
    assert arrived["to"] == ["a@company.com", "b@company.com"] and arrived["subject"] == "hello"
    assert post_status(outbox.channels, {"status": "probe-1"}).ok
    assert {"status": "probe-1"} in outbox.status_posts


def test_unreachable_relay_and_status_page_fail_with_a_hint(outbox):
    closed = replace(outbox.channels, smtp_port=free_port(),
                     status_url=f"http://127.0.0.1:{free_port()}/api/incidents")
    mail = send_email(closed, ["a@company.com"], "hello", "text")
    status = post_status(closed, {"status": "resolved"})
    assert not mail.ok and "Hint: check the SMTP relay" in mail.summary
    assert not status.ok and "cannot reach the status page" in status.summary
