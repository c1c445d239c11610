"""Encoding conversions (CREATE CONVERSION): from and to which encoding, by which function,
and whether it is the default."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import defined, in_schemas

CONVERSIONS_SQL = in_schemas("pg_conversion", "c", "connamespace", """\
format('FOR %%L TO %%L FROM %%s%%s', pg_encoding_to_char(c.conforencoding),
       pg_encoding_to_char(c.contoencoding), c.conproc::regprocedure,
       CASE WHEN c.condefault THEN ' DEFAULT' END)""")

CONVERSIONS = defined("conversion", "conversions", CONVERSIONS_SQL)
