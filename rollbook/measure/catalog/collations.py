"""Collations (CREATE COLLATION): provider, locales, whether deterministic, ICU rules. The
collation's version is left out: it is the library's, not the schema's."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import defined, in_schemas

# Every column of pg_collation but its identity and version, on any server version.
COLLATIONS_SQL = in_schemas("pg_collation", "c", "collnamespace", """\
(SELECT string_agg(format('%%s=%%s', key, value), ' ' ORDER BY key)
 FROM jsonb_each_text(to_jsonb(c) - 'oid' - 'collname' - 'collnamespace' - 'collowner'
                      - 'collversion'))""")

COLLATIONS = defined("collation", "collations", COLLATIONS_SQL)
