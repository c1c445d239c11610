"""The checks run unchanged against a schema that is not Vibes, given only a baseline made by
`rollbook snapshot` (tests/examples/shop: identity, bigint, composite and uuid keys, a soft
foreign key, no Alembic; a second schema and one object of every kind the schema checks
compare). A change planted in any kind of object fails `pytest checks/test_schema.py` with a
line naming it."""
from __future__ import annotations

import pytest
from examples.checkrun import EXAMPLES, copied, failed, run_checks, shop_template, snapshot

from rollbook.pg.connect import connect
from rollbook.verdicts.schema import KINDS_OUTSIDE_TABLES

SHOP = EXAMPLES / "shop"
PROFILE = str(SHOP / "shop.toml")
OUTSIDE = "test_schema::test_objects_outside_tables_match_the_baseline[{}]"
TABLE = "test_schema::test_table_matches_the_baseline[{}]"


@pytest.fixture
def shop(pg_server, tmp_path):
    """A copy of the shop database and its baseline."""
    with copied(pg_server, shop_template(pg_server)) as dsn:
        yield dsn, snapshot(dsn, tmp_path / "shop-baseline.json", env=PROFILE)


def test_clean_shop_passes_every_check(pytester, monkeypatch, shop):
    dsn, baseline = shop

    result, found = run_checks(pytester, monkeypatch, "--env", PROFILE, "--dsn", dsn,
                               "--baseline", str(baseline))

    assert result.ret == 0, result.stdout.str()[-3000:]
    assert found["test_orphans::test_no_orphans[events.customer_ref->customers.id]"] == "passed"
    assert found["test_types::test_key_column_type[order_items.line_no]"] == "passed"
    assert found["test_performance::test_plan_uses_the_expected_index"
                 "[primary-key lookup on events]"] == "passed"
    assert found["test_content::test_baseline_rows_unchanged[events]"] == "passed"
    skipped = {t for t, outcome in found.items() if outcome == "skipped"}
    not_measurable = {f"test_triggers::test_trigger_family_is_quiet[{family}]"  # no Alembic,
                      for family in ("migration", "corruption", "api",  # amcheck, API, or
                                     "performance")}  # profile queries with baseline times
    # no API, no pg_stat_statements or logs: those families skip what they cannot reach
    assert {t for t in skipped if not t.startswith(("test_api::", "test_monitoring::"))} == {
        "test_preflight::test_alembic_scripts_have_a_single_head",
        "test_preflight::test_alembic_history_knows_the_revision",
        # the runbook's integer-id query is Vibes' expectation; the shop profile declares none
        "test_types::test_information_schema_id_columns", *not_measurable}
    assert found["test_triggers::test_decision_matrix_calls_for_no_rollback"] == "passed"
    schema_tests = {t: o for t, o in found.items() if t.startswith("test_schema::")}
    assert set(schema_tests.values()) == {"passed"}
    # 8 tables (3 in reporting), the kinds outside tables, every recorded kind compared
    assert len(schema_tests) == 8 + len(KINDS_OUTSIDE_TABLES) + 1
    assert schema_tests["test_schema::test_every_kind_the_baseline_recorded_is_compared"] == \
        "passed"
    assert found[TABLE.format("reporting.daily_sales_2024h1")] == "passed"


def test_defects_in_the_shop_fail_exactly_their_checks(pytester, monkeypatch, shop):
    dsn, baseline = shop
    with connect(dsn) as conn:
        conn.execute("UPDATE products SET price = price + 1 WHERE id = 3;"
                     " INSERT INTO events (customer_ref, kind) VALUES (424242, 'ghost');"
                     " ALTER TABLE orders ALTER COLUMN customer_id TYPE integer")

    result, found = run_checks(pytester, monkeypatch, "--env", PROFILE, "--dsn", dsn,
                               "--baseline", str(baseline))

    assert failed(found) == {
        "test_content::test_baseline_rows_unchanged[products]",
        "test_content::test_baseline_rows_unchanged[events]",  # uuid key: the whole table
        "test_orphans::test_no_orphans[events.customer_ref->customers.id]",
        "test_types::test_key_column_type[orders.customer_id]",
        "test_schema::test_table_matches_the_baseline[orders]",
        "test_triggers::test_trigger_family_is_quiet[data integrity]",
        "test_triggers::test_decision_matrix_calls_for_no_rollback"}
    for named in ("*products: baseline rows (id <= 40) changed*rows by key (id): changed 1: 3 *",
                  "*1 orphan row in events: events.customer_ref -> customers.id has no parent*",
                  "*column orders.customer_id: type bigint -> integer*",
                  "*orders.customer_id (foreign key -> customers.id) is integer, expected bigint*"):
        result.stdout.fnmatch_lines([named])  # in whichever order the checks ran

# kind of object -> (the planted change, the test it fails, the line that names it)
PLANTED = {
    "view": ("DROP VIEW reporting.order_totals", OUTSIDE.format("view"),
             "view reporting.order_totals: missing"),
    "materialized view": (
        "DROP MATERIALIZED VIEW reporting.product_sales", OUTSIDE.format("view"),
        "view reporting.product_sales: missing"),
    "trigger": ("ALTER TABLE order_items DISABLE TRIGGER order_items_check_quantity",
                TABLE.format("order_items"),
                "trigger order_items.order_items_check_quantity: enabled enabled -> disabled"),
    "function": ("CREATE OR REPLACE FUNCTION order_items_check_quantity() RETURNS trigger"
                 " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
                 OUTSIDE.format("function"), "function order_items_check_quantity(): definition"),
    "procedure": ("DROP PROCEDURE reporting.refresh_product_sales()",
                  OUTSIDE.format("procedure"),
                  "procedure reporting.refresh_product_sales(): missing"),
    "table grant": ("REVOKE INSERT ON orders FROM shop_app", TABLE.format("orders"),
                    "grant on table orders to shop_app: privileges"),
    "column grant": ("REVOKE SELECT (email) ON customers FROM shop_reporting",
                     TABLE.format("customers"),
                     "grant on table column customers.email to shop_reporting: missing"),
    "sequence grant": ("REVOKE USAGE ON SEQUENCE orders_id_seq FROM shop_app",
                       TABLE.format("orders"),
                       "grant on sequence orders_id_seq to shop_app: missing"),
    "schema grant": ("REVOKE USAGE ON SCHEMA reporting FROM shop_reporting",
                     OUTSIDE.format("grant"),
                     "grant on schema reporting to (owner): privileges [CREATE, USAGE] ->"
                     " [CREATE]"),
    "owner": ("ALTER VIEW reporting.order_totals OWNER TO shop_app", OUTSIDE.format("owner"),
              "owner of view reporting.order_totals: role postgres -> shop_app"),
    "row-level security": ("ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
                           TABLE.format("orders"), "table orders: row_security true -> false"),
    "policy": ("DROP POLICY orders_app_open ON orders", TABLE.format("orders"),
               "policy orders.orders_app_open: missing"),
    "comment": ("COMMENT ON COLUMN customers.email IS 'any case'", TABLE.format("customers"),
                "comment on table column customers.email: text lower-case login address ->"
                " any case"),
    "extension": ("ALTER EXTENSION citext UPDATE TO '1.6'", OUTSIDE.format("extension"),
                  "extension citext: version 1.5 -> 1.6"),
    "enum": ("ALTER TYPE order_status ADD VALUE 'refunded'", OUTSIDE.format("type"),
             "type order_status: definition ENUM ('new', 'paid', 'shipped') -> ENUM ('new',"
             " 'paid', 'shipped', 'refunded')"),
    "domain": ("ALTER DOMAIN money_amount DROP CONSTRAINT money_amount_not_negative",
               OUTSIDE.format("type"), "type money_amount: definition"),
    "partition": ("ALTER TABLE reporting.daily_sales DETACH PARTITION"
                  " reporting.daily_sales_2024h2", TABLE.format("reporting.daily_sales_2024h2"),
                  "table reporting.daily_sales_2024h2: partition_of reporting.daily_sales ->"
                  " none"),
    "collation": ('ALTER TABLE products ALTER COLUMN sku TYPE text COLLATE "POSIX"',
                  TABLE.format("products"), 'column products.sku: collation "C" -> "POSIX"'),
    "foreign-key action": (
        "ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey, ADD CONSTRAINT"
        " order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id)",
        TABLE.format("order_items"),
        "constraint order_items.order_items_order_id_fkey: definition FOREIGN KEY (order_id)"
        " REFERENCES public.orders(id) ON DELETE CASCADE -> FOREIGN KEY (order_id) REFERENCES"
        " public.orders(id)"),
    "deferrability": ("ALTER TABLE orders ALTER CONSTRAINT orders_customer_id_fkey DEFERRABLE",
                      TABLE.format("orders"),
                      "constraint orders.orders_customer_id_fkey: definition"),
    "schema": ("CREATE SCHEMA staging", OUTSIDE.format("schema"), "schema staging: extra"),
    "default privileges": (
        "ALTER DEFAULT PRIVILEGES IN SCHEMA reporting REVOKE SELECT ON TABLES FROM"
        " shop_reporting", OUTSIDE.format("default privileges"),
        "default privileges of postgres on tables in schema reporting to shop_reporting:"
        " missing"),
    "event trigger": ("ALTER EVENT TRIGGER shop_ddl_noted DISABLE",
                      OUTSIDE.format("event trigger"),
                      "event trigger shop_ddl_noted: enabled enabled -> disabled"),
    "extended statistics": ("DROP STATISTICS orders_customer_status", TABLE.format("orders"),
                            "statistics orders_customer_status: missing"),
}


@pytest.mark.parametrize("kind", PLANTED)
def test_a_planted_change_of_any_kind_fails_the_schema_check_naming_it(
        pytester, monkeypatch, shop, kind):
    dsn, baseline = shop
    change, test, line = PLANTED[kind]
    with connect(dsn) as conn:
        conn.execute(change)

    result, found = run_checks(pytester, monkeypatch, "--env", PROFILE, "--dsn", dsn,
                               "--baseline", str(baseline), modules=("test_schema.py",))

    assert failed(found) == {test}, result.stdout.str()[-3000:]
    assert line in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    assert "Error" not in result.stdout.str().replace("ERROR:", "")
