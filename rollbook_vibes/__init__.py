"""The reference "Vibes" journaling service: data model, Alembic migrations and seeder.

Revision 0001 is the integer-key baseline, 0002 moves every key to uuid. rollbook drills
migrate, seed and roll back databases of this service; see ``rollbook_vibes.schema`` for the table
list and the key columns of each table.
"""
