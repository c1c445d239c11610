"""What every family of the schema grammar shares: the Mutation, the shop's names it
draws from, quoting, and what cleans up after a mutation."""
from __future__ import annotations

from typing import NamedTuple

from hypothesis import strategies as st


class Mutation(NamedTuple):
    sql: str
    names: str  # a name some difference line must contain when pg_dump's output changed
    # what rollbook compares beyond pg_dump: an extension's version (pg_dump restores the
    # default one); the verdict must fail although the dump is the same
    beyond_dump: bool = False


TABLES = ("customers", "products", "orders", "order_items", "events",
          "reporting.daily_sales", "reporting.daily_sales_2024h1")
# (table, column, type) of columns nothing else depends on
FREE_COLUMNS = (("events", "kind", "text NOT NULL"), ("events", "customer_ref", "bigint"),
                ("events", "created_at", "timestamptz"), ("customers", "created_at",
                                                          "timestamptz NOT NULL"))
TEXT_COLUMNS = (("events", "kind"), ("customers", "email"), ("products", "sku"))
ROLES = ("shop_app", "shop_reporting")
INDEXES = ("orders_customer_id_placed_at_idx", "customers_email_key", "products_sku_key")
NAME = st.sampled_from(("planted", "extra_one", "Mixed Case"))
ROUTINES = ("FUNCTION order_items_check_quantity()", "PROCEDURE reporting.refresh_product_sales()",
            "FUNCTION shop_ddl_noted()")


# A database with a subscription cannot be dropped: what cleans up after a mutation runs this
# in it first. (The grammar's subscriptions have no slot, so dropping one connects nowhere.)
DROP_SUBSCRIPTIONS = """\
DO $$ DECLARE s name; BEGIN
    FOR s IN SELECT subname FROM pg_subscription
             WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    LOOP EXECUTE format('DROP SUBSCRIPTION %I', s); END LOOP;
END $$"""


def q(name: str) -> str:
    """A possibly schema-qualified name, each part quoted."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def m(sql: str, names: str) -> Mutation:
    """A mutation whose difference lines must name `names`."""
    return Mutation(sql, names)


# Statements that do not depend on each other, for running in either order: pg_dump orders
# what they make itself, but for a table's columns. (Two grants on one object are left out:
# pg_dump prints them in the order of the object's ACL, which means nothing.)
INDEPENDENT = (
    "CREATE TABLE r_table (id integer)", "CREATE VIEW r_view AS SELECT 1 AS one",
    "CREATE FUNCTION r_function() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
    "CREATE INDEX r_index ON events (kind)", "GRANT SELECT ON events TO shop_app",
    "GRANT USAGE ON SCHEMA reporting TO shop_app", "COMMENT ON TABLE events IS 'r'",
    "CREATE PUBLICATION r_publication FOR TABLE events", "CREATE SEQUENCE r_sequence",
    "CREATE TYPE r_type AS ENUM ('x')", "ALTER TABLE orders ADD COLUMN r_one integer",
    "ALTER TABLE orders ADD COLUMN r_two text", "CREATE SCHEMA r_schema",
    "ALTER PUBLICATION shop_orders ADD TABLE events",
)
