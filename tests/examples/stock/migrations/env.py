"""Alembic environment of the stock example: the database is sqlalchemy.url, set by the
caller (rollbook sets it to the drill's database)."""
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database for the stock migrations. Hint: set sqlalchemy.url.")
engine = create_engine(url, poolclass=pool.NullPool)
try:
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
