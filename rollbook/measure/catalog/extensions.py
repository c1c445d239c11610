"""Extensions and their versions. The objects an extension creates are not compared one by
one: its version says what they are."""
from __future__ import annotations

from dataclasses import dataclass

from rollbook.measure.catalog.base import Kind

# Extensions installed in pg_catalog (plpgsql) belong to every schema selection.
EXTENSIONS_SQL = """\
SELECT e.extname, e.extversion, n.nspname
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE n.nspname = ANY(%(schemas)s) OR n.nspname = 'pg_catalog'
ORDER BY 1"""


@dataclass(frozen=True)
class Extension:
    version: str
    schema: str


EXTENSIONS = Kind(
    "extension", "extensions", EXTENSIONS_SQL,
    lambda rows: {name: Extension(version, schema) for name, version, schema in rows},
    Extension, ("version", "schema"), brief=lambda e: f"version {e.version} in {e.schema}")
