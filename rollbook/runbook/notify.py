"""The runbook's notices: e-mail to stakeholders and users, and the status-page update.

Dry-run by default: the notice is composed and recorded as evidence, nothing leaves the
machine. With dry_run off, e-mail goes through the given SMTP relay and the status update is
POSTed to the status page's API.
"""
from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from rollbook.record.evidence import CheckResult
from rollbook.record.redact import redact_text


@dataclass(frozen=True)
class Channels:
    smtp_host: str = "localhost"
    smtp_port: int = 25
    sender: str = "rollbook@localhost"
    status_url: str | None = None
    dry_run: bool = True
    timeout_s: float = 10.0
    secrets: tuple[str, ...] = field(default=(), repr=False)


def send_email(channels: Channels, to: list[str], subject: str, body: str) -> CheckResult:
    """One e-mail through the relay (or, dry-run, only composed)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = channels.sender, ", ".join(to), subject
    message["Message-ID"] = make_msgid(domain="rollbook")
    message.set_content(body)
    observed = {"to": to, "subject": subject, "body": body, "message_id": message["Message-ID"],
                "relay": f"{channels.smtp_host}:{channels.smtp_port}",
                "dry_run": channels.dry_run}
    name = f"e-mail: {subject}"
    if channels.dry_run:
        return CheckResult(name, True, f"dry run: would send {subject!r} to {', '.join(to)}",
                           observed=observed)
    started = time.perf_counter()
    try:
        with smtplib.SMTP(channels.smtp_host, channels.smtp_port,
                          timeout=channels.timeout_s) as relay:
            refused = relay.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return CheckResult(name, False, f"cannot send {subject!r} through "
                           f"{observed['relay']}: {redact_text(str(exc), channels.secrets)}. "
                           "Hint: check the SMTP relay's host and port", observed=observed)
    observed |= {"refused": refused, "elapsed_ms": round((time.perf_counter() - started) * 1e3)}
    ok = not refused
    return CheckResult(name, ok, f"sent {subject!r} to {', '.join(to)} via {observed['relay']}"
                       if ok else f"the relay refused {', '.join(refused)}", observed=observed)


def post_status(channels: Channels, payload: dict) -> CheckResult:
    """The status-page update (or, dry-run, only composed)."""
    observed = {"url": channels.status_url, "payload": payload, "dry_run": channels.dry_run}
    name = "status page update"
    if channels.status_url is None:
        return CheckResult(name, False, "no status page URL configured. Hint: set the status "
                           "page's incidents API URL", observed=observed)
    if channels.dry_run:
        return CheckResult(name, True, f"dry run: would POST {payload} to "
                           f"{channels.status_url}", observed=observed)
    import httpx  # imported when a notice is posted: see rollbook/measure/api_smoke.py

    try:
        response = httpx.post(channels.status_url, json=payload, timeout=channels.timeout_s)
    except httpx.HTTPError as exc:
        return CheckResult(name, False, f"cannot reach the status page {channels.status_url}: "
                           f"{type(exc).__name__}", observed=observed)
    observed |= {"status": response.status_code, "response": response.text[:500]}
    ok = 200 <= response.status_code < 300
    return CheckResult(name, ok, f"status page answered HTTP {response.status_code}",
                       observed=observed)
