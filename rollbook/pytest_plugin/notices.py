"""A local SMTP relay and a local status page, so drills send their notices for real."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rollbook.net import free_port
from rollbook.runbook.notify import Channels


@dataclass
class Outbox:
    """What the local relay and status page received."""

    channels: Channels
    mail: list[dict] = field(default_factory=list)
    status_posts: list[dict] = field(default_factory=list)

    def mail_with(self, message_id: str) -> dict | None:
        return next((m for m in self.mail if m["message_id"] == message_id), None)


class _Relay:
    def __init__(self, outbox: Outbox):
        self.outbox = outbox

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content)
        self.outbox.mail.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                 "subject": parsed["Subject"],
                                 "message_id": parsed["Message-ID"]})
        return "250 OK"


def _status_handler(outbox: Outbox):
    class StatusPage(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            outbox.status_posts.append(json.loads(body or b"{}"))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    return StatusPage


@pytest.fixture(scope="session")
def outbox() -> Outbox:
    """A local SMTP relay (aiosmtpd) and status page (http.server) on free loopback ports;
    `outbox.channels` sends to them for real, and they record what arrives."""
    from aiosmtpd.controller import Controller  # only the drills that send notices need it

    smtp_port = free_port()
    status = ThreadingHTTPServer(("127.0.0.1", 0), None)
    box = Outbox(Channels(smtp_host="127.0.0.1", smtp_port=smtp_port,
                          sender="rollbook@drills.local", dry_run=False,
                          status_url=f"http://127.0.0.1:{status.server_port}/api/incidents"))
    status.RequestHandlerClass = _status_handler(box)
    relay = Controller(_Relay(box), hostname="127.0.0.1", port=smtp_port)
    relay.start()
    thread = threading.Thread(target=status.serve_forever, daemon=True)
    thread.start()
    yield box
    relay.stop()
    status.shutdown()
    status.server_close()
