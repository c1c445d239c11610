"""Maintenance mode as a file beside the service, not a row in the database.

The flag has to hold while the schema is rolled back underneath the service: an Alembic
downgrade rebuilds every table, a restore drops and recreates the database. A file outlives
both, and outlives a restart of the service, and every process of the service sees the same
one. Its presence means "on"; it holds the time it was switched on.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path


class MaintenanceFlag:
    def __init__(self, path: Path):
        self.path = Path(path)

    def enabled(self) -> bool:
        return self.path.exists()

    def since(self) -> str | None:
        """When maintenance was switched on (ISO 8601), or None when it is off."""
        try:
            return json.loads(self.path.read_text()).get("enabled_at")
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return "unknown"  # present but unreadable: still on

    def enable(self) -> str:
        """Switch on (idempotent: a second call keeps the first time); returns the time."""
        current = self.since()
        if current is not None:
            return current
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"enabled_at": now}) + "\n")
        os.replace(tmp, self.path)  # atomic: readers see the old state or the new one
        return now

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
