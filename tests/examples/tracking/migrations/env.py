"""Alembic environment of the tracking example: everything, the version table too, in the
schema `tracking`; the database is sqlalchemy.url, set by the caller."""
from alembic import context
from sqlalchemy import create_engine, pool

SCHEMA = "tracking"
url = context.config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database for the tracking migrations. Hint: set sqlalchemy.url.")
engine = create_engine(url, poolclass=pool.NullPool)
try:
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        connection.commit()
        context.configure(connection=connection, version_table_schema=SCHEMA)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
