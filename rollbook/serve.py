"""`rollbook serve-db`: a live Vibes database (and its API) to try the operator's commands on.

Starts the embedded PostgreSQL on loopback (trust authentication, no password), migrates the
Vibes reference to the chosen revision, seeds it, optionally serves its API, prints the DSN,
the API URL and ready-to-paste `export` lines, then waits. Ctrl-C or SIGTERM stops the API and
the server and removes the server's data directory.
"""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from rollbook.errors import ConfigError
from rollbook.pg.server import start_server
from rollbook.runbook.migrations import Migrations
from rollbook.runbook.service import vibes_service
from rollbook_vibes.migrations_config import REVISION_INTEGER, REVISION_UUID, alembic_config
from rollbook_vibes.seed import SeedError, plan_for, seed

DATABASE = "vibes"
ID_MODES = {REVISION_INTEGER: "integer", REVISION_UUID: "uuid"}


@dataclass(frozen=True)
class Served:
    dsn: str
    api_url: str | None
    revision: str
    rows: int

    def lines(self) -> list[str]:
        out = [f"Vibes at revision {self.revision}, {self.rows:,} rows seeded",
               f"  database: {self.dsn}"]
        if self.api_url:
            out.append(f"  api:      {self.api_url}")
        out += ["", "Paste into another shell:", f"  export ROLLBOOK_DSN='{self.dsn}'",
                f"  export VIBES_DATABASE_URL='{self.dsn}'"]
        if self.api_url:
            out.append(f"  export ROLLBOOK_API_URL='{self.api_url}'")
        out += ["", "Stop with Ctrl-C (or SIGTERM): the API and the server stop, their files go."]
        return out


def check_arguments(scale: str, revision: str) -> None:
    """Refuse bad input before anything starts."""
    if revision not in ID_MODES:
        raise ConfigError(f"--revision {revision}: the Vibes reference has revisions "
                          f"{', '.join(ID_MODES)}.", hint=f"pass --revision {REVISION_INTEGER} "
                          "(integer keys, before the migration) or "
                          f"{REVISION_UUID} (uuid keys).")
    try:
        plan_for(scale)
    except SeedError as exc:
        raise ConfigError(f"--scale {scale}: {exc}") from None


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGINT and SIGTERM set `stop`; returns what puts the old handlers back."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    return lambda: [signal.signal(sig, handler) for sig, handler in previous.items()]


def serve(*, scale: str, revision: str, with_api: bool, say: Callable[[str], None],
          stop: threading.Event | None = None) -> None:
    """Serve until `stop` is set (by default: until SIGINT or SIGTERM)."""
    check_arguments(scale, revision)
    stop = stop or threading.Event()
    restore = _stop_on_signals(stop) if threading.current_thread() is threading.main_thread() \
        else (lambda: None)
    try:
        with ExitStack() as running:
            say("starting the embedded PostgreSQL …")
            server = running.enter_context(start_server("embedded"))
            server.create_database(DATABASE, drop_existing=True)
            dsn = server.dsn(DATABASE)
            say(f"migrating to {REVISION_INTEGER} and seeding (scale {scale}) …")
            migrations = Migrations(alembic_config(dsn), dsn)
            migrations.upgrade(REVISION_INTEGER)
            started = time.perf_counter()
            rows = sum(seed(dsn, scale).values())
            say(f"seeded {rows:,} rows in {time.perf_counter() - started:.1f} s")
            if revision != REVISION_INTEGER:
                say(f"migrating to {revision} …")
                migrations.upgrade(revision)
            api_url = None
            if with_api:
                service = vibes_service(dsn, id_mode=ID_MODES[revision])
                service.start()
                running.callback(service.stop)
                api_url = service.base_url
            for line in Served(dsn, api_url, revision, rows).lines():
                say(line)
            stop.wait()
            say("stopping …")
    finally:
        restore()
    say("stopped; nothing left behind")
