"""Mood as an enum: journals.mood becomes the type journal_mood (the moods the app offers).

Changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock; the downgrade
turns it back into varchar(20) and drops the type. The trigger that watches mood
(``journals_touch_updated_at``, UPDATE OF title, content, mood) must let go of the column
while its type changes, both ways, and is created again exactly as 0001 made it.

Revision ID: 0005
Revises: 0004
Create Date: 2024-05-06
"""
from alembic import op

from rollbook_vibes.dependents import CREATE_TRIGGER
from rollbook_vibes.moods import MOODS

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DROP_TRIGGER = "DROP TRIGGER journals_touch_updated_at ON journals"


def upgrade() -> None:
    labels = ", ".join(f"'{mood}'" for mood in MOODS)
    op.execute(f"CREATE TYPE journal_mood AS ENUM ({labels})")
    op.execute(DROP_TRIGGER)
    op.execute("ALTER TABLE journals ALTER COLUMN mood TYPE journal_mood"
               " USING mood::journal_mood")
    op.execute(CREATE_TRIGGER)


def downgrade() -> None:
    op.execute(DROP_TRIGGER)
    op.execute("ALTER TABLE journals ALTER COLUMN mood TYPE varchar(20) USING mood::text")
    op.execute(CREATE_TRIGGER)
    op.execute("DROP TYPE journal_mood")
