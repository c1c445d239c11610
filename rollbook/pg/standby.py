"""A streaming standby of an embedded primary: `pg_basebackup -R`, then PostgreSQL's own
streaming replication, from the primary's installation.

Made for rehearsing the checks on a primary and its replica (tests, `pytest checks/` spread
over both). It runs the way its primary does (as the unprivileged service user when we are
root, in its own `/tmp/rollbook-pg-*` directory, watched by the janitor) and is removed on stop.
"""
from __future__ import annotations

import time

import psycopg

from rollbook.errors import ServerError
from rollbook.pg.embedded import EmbeddedServer

STREAMING_TIMEOUT_S = 60
# a second server on the same machine needs little memory of its own
STANDBY_SETTINGS = {"shared_buffers": "'128MB'", "maintenance_work_mem": "'64MB'"}


class StandbyServer(EmbeddedServer):
    """A hot standby of `primary`, streaming from it; read-only, like any replica."""

    def __init__(self, primary: EmbeddedServer):
        # the primary's own installation, not the copy it may run from (removed with it)
        super().__init__(primary.installation, run_as=primary.run_as, settings=STANDBY_SETTINGS)
        self.kind = f"{primary.kind} standby"
        self.primary = primary
        self._primary_conninfo = ""

    def _make_cluster(self) -> None:
        self._run("pg_basebackup", "-h", self.primary.host, "-p", str(self.primary.port),
                  "-U", self.primary.user, "-D", str(self.data_dir), "--write-recovery-conf",
                  "--wal-method=stream", "--checkpoint=fast", "--no-sync")
        # -R wrote primary_conninfo into postgresql.auto.conf, which _write_settings replaces
        lines = (self.data_dir / "postgresql.auto.conf").read_text().splitlines()
        self._primary_conninfo = next(line for line in lines
                                      if line.startswith("primary_conninfo"))

    def _write_settings(self) -> None:
        super()._write_settings()
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(self._primary_conninfo + "\n")

    def _start(self) -> "StandbyServer":
        super()._start()
        self._wait_streaming()
        return self

    def _wait_streaming(self) -> None:
        deadline = time.monotonic() + STREAMING_TIMEOUT_S
        status = None
        while time.monotonic() < deadline:
            with psycopg.connect(self.dsn(), autocommit=True) as conn:
                row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
            status = row[0] if row else None
            if status == "streaming":
                return
            time.sleep(0.1)
        raise ServerError(f"the standby on 127.0.0.1:{self.port} is not streaming from its "
                          f"primary after {STREAMING_TIMEOUT_S} s (wal receiver: {status}).",
                          context=[("standby log", self.read_log()[-4000:])],
                          hint="read the standby's log above.")


def start_standby(primary: EmbeddedServer) -> StandbyServer:
    """A started streaming standby of the running `primary`; stop() removes it."""
    return StandbyServer(primary).start()
