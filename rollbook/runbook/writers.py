"""Writers that keep creating journals through the API during a rollback window.

Bounded in count and in time, they stop by themselves. Every response is tallied: acknowledged
(201: the service promised the row exists), refused (503: maintenance mode said come back
later), failed (no answer, or any other status). After the rollback, every acknowledged write
must be in the database: an acknowledged write that is gone is a lost write.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from rollbook.measure.api_smoke import SmokeAccount, call, client_for

ACKNOWLEDGED, REFUSED, FAILED = "acknowledged", "refused", "failed"


@dataclass(frozen=True)
class Write:
    """One write's request: when it was sent and answered (time.monotonic()) and how."""

    started: float
    ended: float
    outcome: str  # "HTTP 201", "HTTP 500", or the transport error

    @property
    def ok(self) -> bool:
        return self.outcome == "HTTP 201"

    @property
    def elapsed_ms(self) -> float:
        return (self.ended - self.started) * 1000


@dataclass
class Tally:
    attempted: int = 0
    acknowledged: list[str] = field(default_factory=list)  # titles of acknowledged journals
    refused: int = 0
    failed: int = 0
    logins: int = 0
    failures: list[str] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)  # every write, for the lock footprint

    def summary(self) -> dict[str, int]:
        return {"attempted": self.attempted, "acknowledged": len(self.acknowledged),
                "refused": self.refused, "failed": self.failed, "logins": self.logins}


class JournalWriters:
    """`count` threads, each logged in as its own account, writing journals in a loop."""

    def __init__(self, base_url: str, accounts: list[SmokeAccount], *, max_requests: int,
                 max_seconds: float, pause_s: float = 0.01, label: str = "rollback window"):
        self.base_url = base_url
        self.accounts = accounts
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.pause_s = pause_s
        self.label = label
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "JournalWriters":
        for number, account in enumerate(self.accounts):
            thread = threading.Thread(target=self._write, args=(number, account),
                                      name=f"writer-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return self.tally.summary()

    def wait_for_acknowledged(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self.tally.acknowledged) < count:
            time.sleep(0.02)

    def stop(self) -> Tally:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self.tally

    def _write(self, number: int, account: SmokeAccount) -> None:
        deadline = time.monotonic() + self.max_seconds
        sequence = 0
        with client_for(self.base_url, timeout_s=5.0) as client:
            token = self._login(client, account)
            while not self._stop.is_set() and time.monotonic() < deadline:
                with self._lock:
                    if self.tally.attempted >= self.max_requests:
                        return
                    self.tally.attempted += 1
                sequence += 1
                title = f"{self.label} writer {number} #{sequence}"
                if token is None:
                    token = self._login(client, account)
                seen = call(client, "POST", "/api/v1/journals", json={
                    "title": title, "content": "written during the rollback window"},
                    headers={"Authorization": f"Bearer {token}"} if token else {})
                self._count(seen, title)
                if seen.status == 401:
                    token = None
                time.sleep(self.pause_s)

    def _login(self, client, account: SmokeAccount) -> str | None:
        seen = call(client, "POST", "/api/v1/auth/login",
                    json={"email": account.email, "password": account.password})
        if seen.status == 200 and isinstance(seen.body, dict):
            with self._lock:
                self.tally.logins += 1
            return seen.body.get("access_token")
        return None

    def _count(self, seen, title: str) -> None:
        ended = time.monotonic()
        with self._lock:
            self.tally.writes.append(Write(ended - seen.elapsed_ms / 1000, ended, seen.outcome()))
            if seen.status == 201:
                self.tally.acknowledged.append(title)
            elif seen.status == 503:
                self.tally.refused += 1
            else:
                self.tally.failed += 1
                if len(self.tally.failures) < 20:
                    self.tally.failures.append(seen.outcome())
