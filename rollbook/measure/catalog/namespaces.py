"""Schemas (namespaces) themselves: one created or dropped is a difference. Their owners,
grants and comments are compared with every other object's."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind

NAMESPACES_SQL = """\
SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s) ORDER BY 1"""


@dataclass(frozen=True)
class Namespace:
    name: str


NAMESPACES = Kind("schema", "namespaces", NAMESPACES_SQL,
                  lambda rows: {name: Namespace(name) for (name,) in rows}, Namespace, (),
                  brief=lambda n: "a schema")
