"""Any single change to the schema surface is one clean failure of the schema verdict that names
the changed object; the untouched database passes.

The database is the example shop (tests/examples/shop: a second schema, an extension, an enum,
a domain, a partitioned table, views, a trigger, roles with grants, RLS, comments), prepared
once and cloned per case with CREATE DATABASE ... TEMPLATE. Each mutation of the menu runs once
(parametrized); hypothesis then draws more, from the menu and from per-object mutations of
whatever the baseline holds.
"""
from __future__ import annotations

import re
from typing import NamedTuple

import pytest
from examples.checkrun import copied, shop_template
from examples.schema_grammar import DROP_SUBSCRIPTIONS
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from rollbook.measure import catalog
from rollbook.measure.catalog import relation
from rollbook.pg.connect import connect
from rollbook.verdicts import schema


class Mutation(NamedTuple):
    name: str
    sql: str | sql.Composed
    names: str  # what the failure line must name: the start of a difference line


MENU = [Mutation(*m) for m in (
    ("drop a view", "DROP VIEW reporting.order_totals", "view reporting.order_totals: missing"),
    ("change a view's query", "CREATE OR REPLACE VIEW reporting.order_totals AS SELECT o.id AS"
     " order_id, sum(i.quantity * p.price) AS total FROM orders o JOIN order_items i ON"
     " i.order_id = o.id JOIN products p ON p.id = i.product_id WHERE o.status <> 'new'"
     " GROUP BY o.id",
     "view reporting.order_totals: definition"),
    ("drop a materialized view", "DROP MATERIALIZED VIEW reporting.product_sales",
     "view reporting.product_sales: missing"),
    ("disable a trigger", "ALTER TABLE order_items DISABLE TRIGGER order_items_check_quantity",
     "trigger order_items.order_items_check_quantity: enabled enabled -> disabled"),
    ("drop a trigger", "DROP TRIGGER order_items_check_quantity ON order_items",
     "trigger order_items.order_items_check_quantity: missing"),
    ("replace a function body", "CREATE OR REPLACE FUNCTION order_items_check_quantity()"
     " RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
     "function order_items_check_quantity(): definition"),
    ("drop a procedure", "DROP PROCEDURE reporting.refresh_product_sales()",
     "procedure reporting.refresh_product_sales(): missing"),
    ("revoke a table grant", "REVOKE INSERT ON orders FROM shop_app",
     "grant on table orders to shop_app: privileges"),
    ("revoke a column grant", "REVOKE SELECT (email) ON customers FROM shop_reporting",
     "grant on table column customers.email to shop_reporting: missing"),
    ("revoke a schema grant", "REVOKE USAGE ON SCHEMA public FROM PUBLIC",
     "grant on schema public to PUBLIC: missing"),
    ("revoke a sequence grant", "REVOKE USAGE ON SEQUENCE orders_id_seq FROM shop_app",
     "grant on sequence orders_id_seq to shop_app: missing"),
    ("revoke a routine's default grant",
     "REVOKE EXECUTE ON FUNCTION order_items_check_quantity() FROM PUBLIC",
     "grant on function order_items_check_quantity() to PUBLIC: missing"),
    ("change a table's owner", "ALTER TABLE events OWNER TO shop_app",
     "owner of table events: role postgres -> shop_app"),
    ("change a view's owner", "ALTER VIEW reporting.order_totals OWNER TO shop_app",
     "owner of view reporting.order_totals: role postgres -> shop_app"),
    ("change a type's owner", "ALTER TYPE order_status OWNER TO shop_app",
     "owner of type order_status: role postgres -> shop_app"),
    ("disable row-level security", "ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
     "table orders: row_security true -> false"),
    ("force row-level security", "ALTER TABLE orders FORCE ROW LEVEL SECURITY",
     "table orders: force_row_security false -> true"),
    ("drop a policy", "DROP POLICY orders_app_open ON orders",
     "policy orders.orders_app_open: missing"),
    ("change a policy", "ALTER POLICY orders_app_open ON orders USING (true)",
     "policy orders.orders_app_open: using"),
    ("change a table comment", "COMMENT ON TABLE orders IS 'one row per order'",
     "comment on table orders: text one row per checkout -> one row per order"),
    ("drop a column comment", "COMMENT ON COLUMN customers.email IS NULL",
     "comment on table column customers.email: missing"),
    ("change a schema comment", "COMMENT ON SCHEMA reporting IS 'read models'",
     "comment on schema reporting: text"),
    ("update an extension", "ALTER EXTENSION citext UPDATE TO '1.6'",
     "extension citext: version 1.5 -> 1.6"),
    ("drop an extension", "DROP EXTENSION citext", "extension citext: missing"),
    ("add an enum label", "ALTER TYPE order_status ADD VALUE 'refunded'",
     "type order_status: definition ENUM ('new', 'paid', 'shipped') -> ENUM ('new', 'paid',"
     " 'shipped', 'refunded')"),
    ("rename an enum label", "ALTER TYPE order_status RENAME VALUE 'paid' TO 'settled'",
     "type order_status: definition"),
    ("change a domain constraint", "ALTER DOMAIN money_amount DROP CONSTRAINT"
     " money_amount_not_negative; ALTER DOMAIN money_amount ADD CONSTRAINT"
     " money_amount_not_negative CHECK (VALUE > -1)", "type money_amount: definition"),
    ("change a column collation", "ALTER TABLE products ALTER COLUMN sku TYPE text"
     ' COLLATE "POSIX"', 'column products.sku: collation "C" -> "POSIX"'),
    ("change a foreign-key action", "ALTER TABLE order_items DROP CONSTRAINT"
     " order_items_order_id_fkey, ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY"
     " (order_id) REFERENCES orders (id) ON DELETE RESTRICT",
     "constraint order_items.order_items_order_id_fkey: definition"),
    ("make a constraint deferrable",
     "ALTER TABLE orders ALTER CONSTRAINT orders_customer_id_fkey DEFERRABLE",
     "constraint orders.orders_customer_id_fkey: definition"),
    ("change a check constraint", "ALTER TABLE customers DROP CONSTRAINT customers_email_lower,"
     " ADD CONSTRAINT customers_email_lower CHECK (email = lower(btrim(email)))",
     "constraint customers.customers_email_lower: definition"),
    ("leave a constraint not valid", "ALTER TABLE customers DROP CONSTRAINT"
     " customers_email_lower, ADD CONSTRAINT customers_email_lower CHECK (email = lower(email))"
     " NOT VALID", "constraint customers.customers_email_lower: validated true -> false"),
    ("detach a partition",
     "ALTER TABLE reporting.daily_sales DETACH PARTITION reporting.daily_sales_2024h2",
     "table reporting.daily_sales_2024h2: partition_of reporting.daily_sales -> none"),
    ("drop an index", "DROP INDEX orders_customer_id_placed_at_idx",
     "index orders_customer_id_placed_at_idx: missing"),
    ("change a default", "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'paid'",
     "column orders.status: default"),
    ("drop a NOT NULL", "ALTER TABLE events ALTER COLUMN kind DROP NOT NULL",
     "column events.kind: not_null true -> false"),
    ("change a column type", "ALTER TABLE events ALTER COLUMN kind TYPE varchar(40)",
     "column events.kind: type text -> character varying(40)"),
    ("change a sequence", "ALTER SEQUENCE orders_id_seq INCREMENT BY 2",
     "sequence orders_id_seq: increment 1 -> 2"),
    ("make a table unlogged", "ALTER TABLE events SET UNLOGGED",
     "table events: persistence permanent -> unlogged"),
    ("set a storage parameter", "ALTER TABLE orders SET (fillfactor = 70)",
     "table orders: options [] -> [fillfactor=70]"),
    ("add a rule", "CREATE RULE events_keep AS ON DELETE TO events DO INSTEAD NOTHING",
     "rule events.events_keep: extra"),
    ("leave a schema behind", "CREATE SCHEMA staging", "schema staging: extra"),
    ("drop extended statistics", "DROP STATISTICS orders_customer_status",
     "statistics orders_customer_status: missing"),
    ("change a replica identity", "ALTER TABLE events REPLICA IDENTITY DEFAULT",
     "table events: replica_identity full -> default"),
    ("revoke default privileges", "ALTER DEFAULT PRIVILEGES IN SCHEMA reporting REVOKE SELECT"
     " ON TABLES FROM shop_reporting",
     "default privileges of postgres on tables in schema reporting to shop_reporting: missing"),
    ("disable an event trigger", "ALTER EVENT TRIGGER shop_ddl_noted DISABLE",
     "event trigger shop_ddl_noted: enabled enabled -> disabled"),
    ("leave a table behind", "CREATE TABLE reporting.leftover (id integer)",
     "table reporting.leftover: extra"),
    ("set a database setting", "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem ="
     " ''64MB''', current_database()); END $$",
     "database current: settings [] -> [work_mem=64MB]"),
    ("set a role's setting in the database", "DO $$ BEGIN EXECUTE format('ALTER ROLE shop_app"
     " IN DATABASE %I SET work_mem = ''1MB''', current_database()); END $$",
     "database current: role_settings [] -> [shop_app: work_mem=1MB]"),
    ("change a column's storage", "ALTER TABLE events ALTER COLUMN kind SET STORAGE EXTENDED",
     "column events.kind: storage main -> none"),
    ("set a column's compression", "ALTER TABLE customers ALTER COLUMN email SET COMPRESSION"
     " pglz", "column customers.email: compression none -> pglz"),
    ("uncluster a table", "ALTER TABLE orders SET WITHOUT CLUSTER",
     "index orders_customer_id_placed_at_idx: clustered true -> false"),
    ("grant by another grantor", "SET ROLE shop_app; REVOKE SELECT ON products FROM"
     " shop_reporting; RESET ROLE; GRANT SELECT ON products TO shop_reporting",
     "grant on table products to shop_reporting: granted_by [SELECT by shop_app] -> []"),
    ("drop a collation", "DROP COLLATION shop_bytes", "collation shop_bytes: missing"),
    ("drop an operator", "DROP OPERATOR =~= (money_amount, money_amount)",
     "operator =~=(money_amount,money_amount): missing"),
    ("leave an operator family behind", "CREATE OPERATOR FAMILY planted USING hash",
     "operator family planted USING hash: extra"),
    ("leave an operator class behind", "CREATE OPERATOR CLASS planted FOR TYPE order_status"
     " USING hash AS OPERATOR 1 = (anyenum, anyenum), FUNCTION 1 hashenum(anyenum)",
     "operator class planted USING hash: extra"),
    ("drop a cast", "DROP CAST (order_status AS text)",
     "cast (order_status AS pg_catalog.text): missing"),
    ("change a text search mapping", "ALTER TEXT SEARCH CONFIGURATION shop_search DROP"
     " MAPPING FOR asciiword", "text search configuration shop_search: definition"),
    ("drop a text search dictionary", "DROP TEXT SEARCH DICTIONARY shop_simple CASCADE",
     "text search dictionary shop_simple: missing"),
    ("leave a text search parser behind", "CREATE TEXT SEARCH PARSER planted (START ="
     " prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype)",
     "text search parser planted: extra"),
    ("leave a text search template behind", "CREATE TEXT SEARCH TEMPLATE planted (INIT ="
     " dsimple_init, LEXIZE = dsimple_lexize)", "text search template planted: extra"),
    ("change a foreign-data wrapper's options", "ALTER FOREIGN DATA WRAPPER"
     " shop_archive_wrapper OPTIONS (ADD debug 'true')",
     "foreign-data wrapper shop_archive_wrapper: definition"),
    ("change a server's options", "ALTER SERVER shop_archive OPTIONS (SET path '/elsewhere')",
     "server shop_archive: definition"),
    ("drop a user mapping", "DROP USER MAPPING FOR shop_app SERVER shop_archive",
     "user mapping shop_app on server shop_archive: missing"),
    ("add a foreign table column", "ALTER FOREIGN TABLE reporting.archived_orders ADD COLUMN"
     " total numeric", "foreign table reporting.archived_orders: columns"),
    ("change a publication's operations", "ALTER PUBLICATION shop_orders SET (publish ="
     " 'insert')", "publication shop_orders: options"),
    ("leave a conversion behind", "CREATE CONVERSION planted FOR 'LATIN1' TO 'UTF8' FROM"
     " iso8859_1_to_utf8", "conversion planted: extra"),
    ("leave an access method behind", "CREATE ACCESS METHOD planted TYPE TABLE HANDLER"
     " heap_tableam_handler", "access method planted: extra"),
    ("leave a subscription behind", "CREATE SUBSCRIPTION planted CONNECTION 'dbname=nowhere'"
     " PUBLICATION shop_orders WITH (connect = false, slot_name = NONE)",
     "subscription planted: extra"),
    ("filter a publication's rows", "ALTER PUBLICATION shop_orders SET TABLE orders WHERE"
     " (customer_id > 0), order_items", "publication table orders in shop_orders: row_filter"),
)]
LINE = re.compile(rf"^({'|'.join(catalog.DIFFERENCE_KINDS)}) \S.*: (missing \(expected|extra "
                  r"\(not expected;|[a-z_]+ .* -> )")


@pytest.fixture(scope="module")
def shop(pg_server):
    """(server, template database name, its schema snapshot): the shop, prepared once."""
    template = shop_template(pg_server)
    with connect(pg_server.dsn(template), read_only=True) as conn:
        expected = catalog.snapshot(conn)
    return pg_server, template, expected


def judge(dsn: str, expected: catalog.Schema):
    """The schema verdict as checks/test_schema.py gives it: per table, then per kind."""
    with connect(dsn, read_only=True) as conn:
        comparison = schema.compare(conn, expected)
        results = [schema.table_matches(conn, expected, table, comparison)
                   for table in sorted(comparison.tables)]
        results += [schema.kind_matches(comparison, kind) for kind in schema.KINDS_OUTSIDE_TABLES]
    return comparison, results


def assert_reported(shop, mutation: Mutation) -> None:
    pg_server, template, expected = shop
    with copied(pg_server, template) as dsn:
        with connect(dsn) as conn:
            conn.execute(mutation.sql)
        comparison, results = judge(dsn, expected)
        with connect(dsn) as conn:
            conn.execute(DROP_SUBSCRIPTIONS)

    failed = [r for r in results if not r.ok]
    lines = [line for r in failed for line in r.observed["diff"].splitlines()]
    assert any(line.startswith(mutation.names) for line in lines), (mutation.name, lines)
    assert all(LINE.match(line) for line in lines), lines
    assert all(r.summary.split(": ", 1)[1].split("; first: ")[0].endswith("from the baseline")
               for r in failed)
    # every difference is judged by exactly one test: none falls between tables and kinds
    assert sorted(lines) == sorted(str(d) for d in comparison.differences)


def test_untouched_database_passes_every_schema_verdict(shop):
    pg_server, template, expected = shop
    with copied(pg_server, template) as dsn:
        comparison, results = judge(dsn, expected)

    assert comparison.differences == []
    assert [r.summary for r in results if not r.ok] == []
    assert len(results) == len(expected.tables) + len(schema.KINDS_OUTSIDE_TABLES)


def test_the_menu_covers_every_kind_of_object():
    named = {kind for kind in catalog.DIFFERENCE_KINDS
             if any(m.names.startswith(f"{kind} ") for m in MENU)}
    assert named == set(catalog.DIFFERENCE_KINDS)
    assert len(MENU) >= 25


@pytest.mark.parametrize("mutation", MENU, ids=[m.name for m in MENU])
def test_each_mutation_is_one_clean_failure_naming_the_object(shop, mutation):
    assert_reported(shop, mutation)


# The six misses of a held-out ledger schema (issue 20), each a named test.

def test_a_table_dropped_from_a_publication_is_named(shop):
    assert_reported(shop, Mutation(
        "table dropped from a publication", "ALTER PUBLICATION shop_orders DROP TABLE order_items",
        "publication table order_items in shop_orders: missing"))


def test_a_dropped_publication_is_named(shop):
    assert_reported(shop, Mutation("publication dropped", "DROP PUBLICATION shop_orders",
                                   "publication shop_orders: missing"))


def test_a_reset_statistics_target_is_named(shop):
    assert_reported(shop, Mutation(
        "statistics target reset", "ALTER TABLE orders ALTER COLUMN placed_at SET STATISTICS -1",
        "column orders.placed_at: statistics_target 500 -> none"))


def test_a_materialized_view_recreated_with_no_data_is_named(shop):
    assert_reported(shop, Mutation(
        "materialized view recreated WITH NO DATA",
        "DROP MATERIALIZED VIEW reporting.product_sales; CREATE MATERIALIZED VIEW"
        " reporting.product_sales AS SELECT product_id, sum(quantity) AS quantity FROM"
        " order_items GROUP BY product_id WITH NO DATA; CREATE UNIQUE INDEX"
        " product_sales_product_id_key ON reporting.product_sales (product_id);"
        " GRANT SELECT ON reporting.product_sales TO shop_reporting",
        "view reporting.product_sales: populated true -> false"))


def test_a_dropped_text_search_configuration_is_named(shop):
    assert_reported(shop, Mutation(
        "text search configuration dropped", "DROP TEXT SEARCH CONFIGURATION shop_search",
        "text search configuration shop_search: missing"))


def test_column_order_changed_by_a_downgrade_that_re_adds_a_column_is_named(shop):
    assert_reported(shop, Mutation(
        "column re-added at the end", "ALTER TABLE events DROP COLUMN kind;"
        " ALTER TABLE events ADD COLUMN kind text NOT NULL DEFAULT 'login';"
        " ALTER TABLE events ALTER COLUMN kind DROP DEFAULT;"
        " ALTER TABLE events ALTER COLUMN kind SET STORAGE MAIN",
        "table events: column_order [id, customer_ref, kind, created_at] -> [id, customer_ref,"
        " created_at, kind]"))


def per_object_mutations(expected: catalog.Schema) -> st.SearchStrategy[Mutation]:
    """Mutations of any object the baseline holds, beyond the menu's fixed ones."""
    tables = [t for t, o in expected.objects["table_options"].items() if not o.partition_of]
    plain = [i for i in expected.indexes.values() if not i.primary and not i.unique]

    return st.one_of(
        st.sampled_from(tables).map(lambda t: Mutation(
            f"add a column to {t}", sql.SQL("ALTER TABLE {} ADD COLUMN planted integer").format(relation(t)),
            f"column {t}.planted: extra")),
        st.sampled_from(sorted(expected.tables)).map(lambda t: Mutation(
            f"comment on {t}", sql.SQL("COMMENT ON TABLE {} IS 'planted'").format(relation(t)),
            f"comment on table {t}: ")),
        st.sampled_from(sorted(expected.tables)).map(lambda t: Mutation(
            f"grant on {t}", sql.SQL("GRANT TRUNCATE ON {} TO shop_app").format(relation(t)),
            f"grant on table {t} to shop_app: ")),
        st.sampled_from(plain).map(lambda i: Mutation(
            f"drop {i.name}", sql.SQL("DROP INDEX {}").format(relation(i.name)), f"index {i.name}: missing")),
    )


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_random_single_mutations_are_reported(shop, data):
    mutation = data.draw(st.one_of(st.sampled_from(MENU), per_object_mutations(shop[2])))
    assert_reported(shop, mutation)
