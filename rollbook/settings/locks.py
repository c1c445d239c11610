"""The profile's [locks] section: how long a migration may hold a table exclusively.

    [locks]
    max_exclusive_ms = 5000        # ACCESS EXCLUSIVE per table, any table (unset: no limit)
    require_lock_timeout = false   # true: a migration that never sets lock_timeout fails
    [locks.tables]
    journals = 2000                # this table's own limit (name or schema.name)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rollbook.settings.reader import Reader

KNOWN = ("max_exclusive_ms", "require_lock_timeout", "tables")


@dataclass(frozen=True)
class LockBudget:
    max_exclusive_ms: float | None = None
    tables: dict[str, float] = field(default_factory=dict)
    require_lock_timeout: bool = False

    def limit_for(self, table: str) -> float | None:
        """The limit of `table` (schema.name): its own, by either name, else the default."""
        bare = table.split(".", 1)[-1]
        return self.tables.get(table, self.tables.get(bare, self.max_exclusive_ms))

    @property
    def any(self) -> bool:
        return self.max_exclusive_ms is not None or bool(self.tables) or \
            self.require_lock_timeout


def _milliseconds(section: Reader, key: str, example: str) -> float | None:
    section.consume(key)
    value = section.data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        section.error(key, f"must be a positive number of milliseconds, got {value!r}. "
                      f"Hint: write {example}")
        return None
    return float(value)


def parse_locks(top: Reader) -> LockBudget:
    """Read [locks]; each mistake is one line naming the key, with a Hint."""
    section = top.section("locks")
    maximum = _milliseconds(section, "max_exclusive_ms", "max_exclusive_ms = 5000")
    section.consume("require_lock_timeout")
    required = section.data.get("require_lock_timeout", False)
    if not isinstance(required, bool):
        section.error("require_lock_timeout", f"must be true or false, got {required!r}. "
                      "Hint: write require_lock_timeout = true (or leave it out)")
        required = False
    tables = section.section("tables")
    limits = {name: _milliseconds(tables, name, f"{name} = 2000") for name in tables.keys()}
    for key in [k for k in section.keys() if k not in KNOWN]:
        section.error(key, f"unknown key. Hint: [locks] knows {', '.join(KNOWN)}")
        section.consume(key)
    section.finish(known=KNOWN)
    return LockBudget(maximum, {n: v for n, v in limits.items() if v is not None}, required)
