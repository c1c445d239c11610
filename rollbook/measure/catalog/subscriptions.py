"""Subscriptions (logical replication into this database): enabled, the publications they
subscribe to, slot name and synchronous_commit. Their connection string is left out (only a
superuser may read it, and it may hold a password), and so are the options later server
versions added (binary, streaming, two_phase, origin, ...): one statement reads every version."""
from __future__ import annotations

from rollbook.measure.catalog.definitions import defined

SUBSCRIPTIONS_SQL = """\
SELECT s.subname,
       format('%%s PUBLICATION %%s SLOT %%s SYNCHRONOUS_COMMIT %%s',
              CASE WHEN s.subenabled THEN 'ENABLED' ELSE 'DISABLED' END,
              array_to_string(ARRAY(SELECT unnest(s.subpublications) ORDER BY 1), ', '),
              coalesce(s.subslotname::text, 'NONE'), s.subsynccommit)
FROM pg_subscription s
WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1"""

SUBSCRIPTIONS = defined("subscription", "subscriptions", SUBSCRIPTIONS_SQL)
