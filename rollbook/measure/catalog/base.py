"""What every kind of schema object shares: names, the one-line Difference, and `Kind`, the
comparator a kind module registers (its SQL, how rows become records, what is compared).
"""
from __future__ import annotations

import re
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Callable, NamedTuple

from psycopg import sql

# Every catalog query runs with an empty search_path, so names are printed schema-qualified
# and a snapshot does not depend on the search_path of the session that took it.
PIN_SEARCH_PATH = "SELECT set_config('search_path', '', true)"

# An object created by CREATE EXTENSION belongs to the extension (pg_depend deptype 'e'):
# the extension's version says what it is, so it is not compared one by one.
NOT_FROM_EXTENSION = """NOT EXISTS (
    SELECT 1 FROM pg_depend e
    WHERE e.deptype = 'e' AND e.classid = {classid}::regclass AND e.objid = {objid})"""

# What a baseline written before an attribute existed holds for it: never compared.
UNRECORDED = "(not recorded)"
_PUBLIC = re.compile(r"(^|[\s(,])public\.")
_LINE_WIDTH = 100


def display_name(schema: str, name: str) -> str:
    """How rollbook names a relation: bare in public, schema-qualified elsewhere; a part that
    holds a dot or a double quote (or is empty) is double-quoted as SQL quotes it, so that
    relation() reads every name back as it was."""
    table = _quoted_if_needed(name)
    return table if schema == "public" else f"{_quoted_if_needed(schema)}.{table}"


def _quoted_if_needed(part: str) -> str:
    return sql.Identifier(part).as_string(None) if not part or "." in part or '"' in part \
        else part


_PART = r'(?:"(?:[^"]|"")*"|[^."]*)'
_NAME = re.compile(rf"(?:(?P<schema>{_PART})\.)?(?P<table>{_PART})")


def _unquoted(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def short_identity(identity: str) -> str:
    """pg_identify_object()'s identity with the `public.` qualifiers dropped, as display_name
    drops them: "public.users.email" -> "users.email", "t on public.users" -> "t on users"."""
    return _PUBLIC.sub(r"\1", identity)


def relation(name: str) -> sql.Identifier:
    """The schema-qualified identifier of a relation named as display_name() names it."""
    parts = _NAME.fullmatch(name)
    if parts is None:  # not a name display_name() wrote: read as one bare table name
        return sql.Identifier("public", name)
    schema = _unquoted(parts.group("schema")) if parts.group("schema") is not None else "public"
    return sql.Identifier(schema, _unquoted(parts.group("table")))


class Difference(NamedTuple):
    """One way `after` differs from `before`. For "changed", attribute names what changed and
    before/after hold its two values; for "missing"/"extra", the object as a dict. `table` is
    the relation the object belongs to (a table, view, ...), None for one that belongs to none;
    `of` the object an owner, grant or comment is of ("function f(integer)").
    """

    kind: str  # "table", "column", "constraint", "view", "grant", ...
    name: str
    change: str  # "missing", "extra", "changed"
    before: Any
    after: Any
    attribute: str | None = None
    table: str | None = None
    brief: str = ""  # the missing/extra object in a few words
    of: str | None = None  # the object this is a property of (an owner's, a grant's), if any

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    def __str__(self) -> str:
        if self.change == "changed":
            old, new = _contrast(_show(self.before), _show(self.after))
            return f"{self.kind} {self.name}: {self.attribute} {old} -> {new}"
        expected = "expected" if self.change == "missing" else "not expected;"
        return f"{self.kind} {self.name}: {self.change} ({expected} {_clip(self.brief)})"


def _show(value: Any) -> str:
    """A value on one line: whitespace runs collapsed, lists joined."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return " ".join(str(value).split())


def _clip(text: str) -> str:
    text = _show(text)
    return text if len(text) <= _LINE_WIDTH else text[:_LINE_WIDTH - 1] + "…"


def _contrast(old: str, new: str) -> tuple[str, str]:
    """Two long values cut to the stretch where they differ, with a little context."""
    if len(old) + len(new) <= 2 * _LINE_WIDTH:
        return old, new
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    start = max(0, start - 30)

    def cut(text: str) -> str:
        middle = text[start:len(text) - max(0, end - 30)]
        middle = middle if len(middle) <= _LINE_WIDTH else middle[:_LINE_WIDTH - 1] + "…"
        return ("…" if start else "") + middle + ("…" if end > 30 else "")

    return cut(old), cut(new)


def plain(record: Any) -> dict[str, Any]:
    return asdict(record)


def load(record_type: type, data: dict[str, Any]) -> Any:
    """Rebuild a frozen record from JSON: lists back into tuples; a field the JSON lacks (a
    baseline older than the field) gets the field's default, else UNRECORDED."""
    values = {}
    for f in fields(record_type):
        if f.name in data:
            value = data[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
        else:
            values[f.name] = f.default if f.default is not MISSING else UNRECORDED
    return record_type(**values)


@dataclass(frozen=True)
class Kind:
    """One kind of schema object: how it is read and how two snapshots of it compare.

    `sql` returns rows that `read` turns into {display name: record}; `compared` lists the
    record attributes whose change is a difference; `brief` names a missing or extra object in
    a few words; `table_of(name, record)` gives the relation an object belongs to, and
    `of(record)` the object whose property it is (for owners, grants, comments). `covers`
    names the object types (as pg_identify_object() names them) whose owners, grants and
    comments a baseline holds only if it recorded this kind: an older baseline's lack of them
    is not a difference.
    """

    name: str  # the word a difference line starts with
    key: str  # the Schema's and the JSON's key for these objects
    sql: str
    read: Callable[[list[tuple]], dict[str, Any]]
    record: type
    compared: tuple[str, ...]
    brief: Callable[[Any], str]
    table_of: Callable[[str, Any], str | None] = lambda name, record: None
    of: Callable[[Any], str | None] = lambda record: None
    dump: Callable[[Any], Any] = plain
    undump: Callable[[Any], Any] | None = None
    covers: tuple[str, ...] = ()

    def load(self, data: Any) -> Any:
        return self.undump(data) if self.undump else load(self.record, data)

    def unrecorded(self, records: dict[str, Any]) -> set[str]:
        """Compared attributes some record of `records` lacks (read from an older baseline)."""
        return {attr for r in records.values() for attr in self.compared
                if getattr(r, attr, None) == UNRECORDED}

    def compare(self, before: dict[str, Any], after: dict[str, Any]) -> list[Difference]:
        found = []
        for name in sorted(before.keys() | after.keys()):
            old, new = before.get(name), after.get(name)
            if old is None or new is None:
                found.append(self.absent(name, old, new))
                continue
            found += [Difference(self.name, name, "changed", getattr(old, attr),
                                 getattr(new, attr), attr, self.table_of(name, old),
                                 of=self.of(old))
                      for attr in self.compared if _differs(getattr(old, attr),
                                                            getattr(new, attr))]
        return found

    def absent(self, name: str, old: Any, new: Any) -> Difference:
        """The Difference of an object found on one side only."""
        record = old if old is not None else new
        change = "missing" if new is None else "extra"
        return Difference(self.name, name, change, self.dump(old) if old is not None else None,
                          self.dump(new) if new is not None else None, None,
                          self.table_of(name, record), self.brief(record), self.of(record))


def _differs(old: Any, new: Any) -> bool:
    return UNRECORDED not in (old, new) and old != new
