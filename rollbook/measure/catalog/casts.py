"""Casts (CREATE CAST) made in this database: how (a function, INOUT, binary coercion) and
when (explicit, assignment, implicit). Casts belong to no schema: all are listed, as pg_dump
lists them, but PostgreSQL's own and an extension's."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import IDENTITY, NOT_FROM_EXTENSION, defined

# 16384 is FirstNormalObjectId: below it, the casts initdb made.
CASTS_SQL = f"""\
SELECT {IDENTITY.format(classid="pg_cast", objid="c.oid")},
       concat_ws(' ', CASE c.castmethod WHEN 'f' THEN 'WITH FUNCTION '
                                             || c.castfunc::regprocedure::text
                                        WHEN 'i' THEN 'WITH INOUT'
                                        ELSE 'WITHOUT FUNCTION' END,
                 CASE c.castcontext WHEN 'a' THEN 'AS ASSIGNMENT'
                                    WHEN 'i' THEN 'AS IMPLICIT' END)
FROM pg_cast c
WHERE c.oid >= 16384 AND {NOT_FROM_EXTENSION.format(classid="pg_cast", objid="c.oid")}
ORDER BY 1"""

CASTS = defined("cast", "casts", CASTS_SQL)
