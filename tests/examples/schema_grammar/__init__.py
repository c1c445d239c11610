"""A grammar of schema mutations of the example shop (tests/examples/shop), for the oracle test
(tests/test_schema_oracle.py): every kind of object and option `pg_dump --schema-only` prints.

A Mutation is SQL run on a fresh copy of the shop and the name its difference lines must carry
when pg_dump's output changes. `{db}` in the SQL stands for the copy's database name. No-op
mutations (created and dropped again, renamed and renamed back, data and statistics touched)
are in the same grammar: pg_dump says whether anything changed, never the grammar.

One module per family of kinds: tables, objects (beside tables), database (schemas and
database-wide objects); base holds what they share.
"""
from __future__ import annotations

from hypothesis import strategies as st

from . import database, objects, tables
from .base import DROP_SUBSCRIPTIONS, INDEPENDENT, Mutation

__all__ = ["DROP_SUBSCRIPTIONS", "INDEPENDENT", "RULES", "Mutation", "mutations"]

RULES = (tables.columns(), tables.storage(), tables.table_options(),
         tables.constraints_and_indexes(), tables.sequences_and_views(),
         objects.routines_and_types(), objects.triggers_and_policies(), objects.privileges(),
         objects.comments(), database.schemas_and_extensions(), database.database_level(),
         database.publications(), database.text_search(), database.operators_casts_collations(),
         database.foreign_data(), objects.grantors(), tables.more_tables(), objects.more_objects())


def mutations() -> st.SearchStrategy[Mutation]:
    return st.one_of(*RULES)
