"""A baseline from an older rollbook, which lacks the kinds and attributes added since, still
compares what it recorded and says what it did not record; and the schema verdict never needs
pg_dump (the oracle of tests/test_schema_oracle.py is a test of rollbook, not a dependency)."""
from __future__ import annotations

import pytest
from examples.checkrun import copied, shop_template
from psycopg.conninfo import make_conninfo

from rollbook.measure import catalog
from rollbook.pg.connect import connect
from rollbook.pg.install import Installation
from rollbook.verdicts import schema

# What rollbook added for issue 20: kinds, and attributes of kinds it already had.
NEW_KINDS = ("database", "column_order", "collations", "operators", "operator_families",
             "operator_classes", "casts", "text_search_templates", "text_search_parsers",
             "text_search_dictionaries", "text_search_configurations", "foreign_data_wrappers",
             "foreign_servers", "user_mappings", "foreign_tables", "publications",
             "publication_tables", "subscriptions", "conversions", "access_methods")
NEW_ATTRIBUTES = {"tables": ("statistics_target", "storage", "compression", "options"),
                  "table_options": ("toast_options",), "indexes": ("clustered",
                                                               "statistics_targets"),
                  "views": ("populated", "defaults", "statistics_targets"),
                  "statistics": ("statistics_target",), "sequences": ("unlogged",),
                  "grants": ("granted_by",)}


def older(expected: catalog.Schema) -> catalog.Schema:
    """`expected` as an older rollbook wrote it: without the new kinds and attributes."""
    data = expected.to_dict()
    for key in NEW_KINDS:
        del data[key]
    for key, attributes in NEW_ATTRIBUTES.items():
        records = data[key].values()
        if key == "tables":
            records = [column for columns in records for column in columns.values()]
        for record in records:
            for attribute in attributes:
                del record[attribute]
    return catalog.Schema.from_dict(data)


@pytest.fixture(scope="module")
def shop(pg_server):
    template = shop_template(pg_server)
    with connect(pg_server.dsn(template), read_only=True) as conn:
        return pg_server, template, catalog.snapshot(conn)


def verdict_after(shop, statement: str, expected: catalog.Schema):
    pg_server, template, _ = shop
    with copied(pg_server, template) as dsn:
        with connect(dsn) as conn:
            conn.execute(statement)
        with connect(dsn, read_only=True) as conn:
            return schema.schema_matches(conn, expected)


def test_an_older_baseline_compares_what_it_recorded_and_names_what_it_did_not(shop):
    baseline = older(shop[2])
    assert set(NEW_KINDS) <= set(baseline.not_recorded())

    untouched = verdict_after(shop, "SELECT 1", baseline)
    assert untouched.ok, untouched.observed["diff"]
    assert set(NEW_KINDS) <= set(untouched.observed["not recorded in the baseline"])
    assert {"columns.storage", "views.populated", "grants.granted_by"} <= set(
        untouched.observed["not recorded in the baseline"])
    assert "retake the baseline" in untouched.observed["hint"]

    dropped_index = verdict_after(shop, "DROP INDEX orders_customer_id_placed_at_idx", baseline)
    assert dropped_index.observed["diff"] == (
        "index orders_customer_id_placed_at_idx: missing (expected CREATE INDEX"
        " orders_customer_id_placed_at_idx ON public.orders USING btree (customer_id,"
        " placed_at))")


def test_what_an_older_baseline_did_not_record_is_not_a_difference(shop):
    """New kinds, new attributes, and the owners and comments of newly covered objects."""
    statement = ("DROP PUBLICATION shop_orders; ALTER TABLE events ALTER COLUMN kind SET STORAGE"
                 " EXTENDED; ALTER TABLE orders SET WITHOUT CLUSTER; COMMENT ON TEXT SEARCH"
                 " CONFIGURATION shop_search IS 'changed'; COMMENT ON EVENT TRIGGER shop_ddl_noted"
                 " IS 'new'")
    assert verdict_after(shop, statement, older(shop[2])).ok
    current = verdict_after(shop, statement, shop[2])
    assert [line.split(" (expected")[0] for line in current.observed["diff"].splitlines()] == [
        "column events.kind: storage main -> none",
        "index orders_customer_id_placed_at_idx: clustered true -> false",
        "publication shop_orders: missing",
        "comment on event trigger shop_ddl_noted: extra (not expected; 'new')",
        "comment on text search configuration shop_search: text product search -> changed"]


def test_the_schema_verdict_needs_no_pg_dump(shop, monkeypatch):
    """A managed server whose version has no matching client, or a role that cannot dump:
    the schema verdict is rollbook's own comparison and still names the difference."""
    def no_client_tools(installation, name):
        raise AssertionError(f"the schema verdict asked for {name}")

    monkeypatch.setattr(Installation, "tool", no_client_tools)
    monkeypatch.setenv("PATH", "/nonexistent")
    verdict = verdict_after(shop, "DROP PUBLICATION shop_orders", shop[2])

    assert not verdict.ok
    assert verdict.observed["diff"].startswith("publication shop_orders: missing")


def test_a_superusers_baseline_matches_what_a_plain_role_sees(shop):
    """The checks often run as a role that cannot read everything a superuser took the baseline
    with (user mappings' options, subscriptions' connection): what it cannot see is not a
    difference, and what it can see is the same."""
    pg_server, template, expected = shop
    with connect(pg_server.dsn("postgres")) as conn:
        conn.execute("DO $$ BEGIN CREATE ROLE rb_schema_reader LOGIN; EXCEPTION WHEN"
                     " duplicate_object OR unique_violation THEN NULL; END $$")
    with copied(pg_server, template) as dsn:
        reader = make_conninfo(dsn, user="rb_schema_reader")
        with connect(reader, read_only=True) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("rb_schema_reader",)
            seen = catalog.snapshot(conn)
            verdict = schema.schema_matches(conn, expected)

    assert seen.objects["user_mappings"]["shop_app on server shop_archive"].definition == (
        catalog.UNRECORDED)
    assert verdict.ok, verdict.observed["diff"]
