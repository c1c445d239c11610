"""Access methods made in this database (CREATE ACCESS METHOD): table or index, and handler.
They belong to no schema: all but PostgreSQL's own and an extension's are listed."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import IDENTITY, NOT_FROM_EXTENSION, defined

# 16384 is FirstNormalObjectId: below it, the access methods initdb made.
ACCESS_METHODS_SQL = f"""\
SELECT {IDENTITY.format(classid="pg_am", objid="a.oid")},
       format('TYPE %%s HANDLER %%s', CASE a.amtype WHEN 't' THEN 'TABLE' ELSE 'INDEX' END,
              a.amhandler::regprocedure)
FROM pg_am a
WHERE a.oid >= 16384 AND {NOT_FROM_EXTENSION.format(classid="pg_am", objid="a.oid")}
ORDER BY 1"""

ACCESS_METHODS = defined("access method", "access_methods", ACCESS_METHODS_SQL)
