"""Schema snapshots and their diff, on a real database: clean schema, then planted defects."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollbook.measure import baseline
from rollbook.measure.catalog import (
    KINDS,
    Difference,
    KeyColumn,
    Schema,
    diff,
    format_diff,
    key_columns,
    snapshot,
)
from rollbook.pg.connect import connect
from rollbook.settings.profile import ProfileError
from rollbook.settings.profile_files import parse_profile
from rollbook.verdicts.schema import compare, schema_matches, table_matches

JOURNAL_APP = Path(__file__).parent / "schemas" / "journal_app.sql"


@pytest.fixture
def conn(scratch_dsn):
    """A connection to a scratch database holding the clean journal_app schema."""
    with connect(scratch_dsn) as conn:
        conn.execute(JOURNAL_APP.read_text())
        yield conn


def test_snapshot_describes_tables_columns_constraints_indexes_and_sequences(conn):
    schema = snapshot(conn)

    assert sorted(schema.tables) == ["journal_tags", "journals", "tag_notes", "tags", "users"]
    user_id = schema.tables["journals"]["user_id"]
    assert (user_id.type, user_id.not_null, user_id.default) == ("integer", True, None)
    assert schema.tables["users"]["id"].default == "nextval('public.users_id_seq'::regclass)"
    assert schema.tables["tags"]["id"].identity == "by default"

    fk = schema.constraints["tag_notes.tag_notes_journal_tag_fkey"]
    assert (fk.type, fk.columns, fk.ref_table, fk.ref_columns, fk.validated) == (
        "foreign key", ("journal_id", "tag_id"), "journal_tags", ("journal_id", "tag_id"), True)
    assert fk.definition == ("FOREIGN KEY (journal_id, tag_id) REFERENCES"
                             " public.journal_tags(journal_id, tag_id)")

    unique = schema.indexes["users_email_lower_key"]
    assert (unique.table, unique.unique, unique.primary, unique.valid) == (
        "users", True, False, True)
    assert unique.definition == ("CREATE UNIQUE INDEX users_email_lower_key ON public.users"
                                 " USING btree (lower(email))")
    assert schema.indexes["users_pkey"].primary

    assert {name: s.owned_by for name, s in schema.sequences.items()} == {
        "users_id_seq": "users.id", "journals_id_seq": "journals.id",
        "tags_id_seq": "tags.id", "tag_notes_id_seq": "tag_notes.id"}
    assert schema.describe().startswith(
        "5 tables, 15 columns, 1 schemas, 1 extensions, 10 constraints, 8 indexes, 4 sequences")


def test_snapshot_round_trips_through_json(conn):
    schema = snapshot(conn)
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_clean_schema_matches_itself_and_sequence_values_are_not_compared(conn):
    before = snapshot(conn)
    conn.execute("SELECT nextval('users_id_seq'); INSERT INTO tags (name) VALUES ('new')")

    result = schema_matches(conn, before)

    assert result.ok, result.summary
    assert result.summary.startswith("schema matches baseline: 5 tables, 15 columns, 1 schemas,"
                                     " 1 extensions, 10 constraints, 8 indexes, 4 sequences")
    assert result.observed["differences"] == []
    assert any("pg_constraint" in statement for statement in result.sql)


def test_column_order_is_compared_but_a_dropped_column_leaves_the_rest_in_order(conn):
    conn.execute("CREATE TABLE notes (a integer NOT NULL, b text DEFAULT 'x', c date)")
    before = snapshot(conn)
    conn.execute("ALTER TABLE notes DROP COLUMN c")
    assert format_diff(diff(before, snapshot(conn))) == (
        "column notes.c: missing (expected date)")

    conn.execute("DROP TABLE notes; CREATE TABLE notes (b text DEFAULT 'x', a integer NOT NULL,"
                 " c date)")
    assert format_diff(diff(before, snapshot(conn))) == (
        "table notes: column_order [a, b, c] -> [b, a, c]")


def test_key_column_left_as_uuid_is_reported_as_a_type_change(conn):
    before = snapshot(conn)
    conn.execute("""
        ALTER TABLE journals DROP CONSTRAINT journals_user_id_fkey;
        ALTER TABLE journals ALTER COLUMN user_id TYPE uuid
            USING lpad(to_hex(user_id), 32, '0')::uuid""")

    result = schema_matches(conn, before)

    assert not result.ok
    assert format_diff(diff(before, snapshot(conn))).splitlines() == [
        "column journals.user_id: type integer -> uuid",
        ("constraint journals.journals_user_id_fkey: missing (expected FOREIGN KEY (user_id)"
        " REFERENCES public.users(id))"),
    ]
    assert result.summary == ("schema differs from baseline: 2 differences; first:"
                              " column journals.user_id: type integer -> uuid")
    first = result.observed["differences"][0]
    assert (first["kind"], first["name"], first["change"], first["before"], first["after"]) == (
        "column", "journals.user_id", "changed", "integer", "uuid")


def test_dropped_index_is_missing(conn):
    before = snapshot(conn)
    conn.execute("DROP INDEX journals_user_id_idx")

    result = schema_matches(conn, before)

    assert not result.ok
    assert result.summary == (
        "schema differs from baseline: 1 difference; first: index journals_user_id_idx: missing"
        " (expected CREATE INDEX journals_user_id_idx ON public.journals USING btree (user_id))")


def test_constraint_re_added_not_valid_and_leftover_table_are_reported(conn):
    before = snapshot(conn)
    conn.execute("""
        ALTER TABLE journals DROP CONSTRAINT journals_user_id_fkey;
        ALTER TABLE journals ADD CONSTRAINT journals_user_id_fkey
            FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
        CREATE TABLE users_uuid (id uuid PRIMARY KEY, email text)""")

    lines = format_diff(diff(before, snapshot(conn))).splitlines()

    assert lines == [
        "table users_uuid: extra (not expected; 2 columns: email, id)",
        ("constraint journals.journals_user_id_fkey: definition FOREIGN KEY (user_id) REFERENCES"
        " public.users(id) -> FOREIGN KEY (user_id) REFERENCES public.users(id) NOT VALID"),
        "constraint journals.journals_user_id_fkey: validated true -> false",
    ]


def test_missing_table_is_one_line_not_one_per_column(conn):
    before = snapshot(conn)
    conn.execute("DROP TABLE tag_notes")

    diffs = diff(before, snapshot(conn))

    assert [str(d) for d in diffs] == [  # its sequence, owner and grants go with it
        "table tag_notes: missing (expected 4 columns: id, journal_id, note, tag_id)"]


def test_key_columns_lists_primary_and_foreign_keys_with_their_types(conn):
    keys = key_columns(snapshot(conn))

    assert KeyColumn("users", "id", "integer", "primary key") in keys
    assert KeyColumn("journal_tags", "tag_id", "integer", "primary key") in keys
    assert KeyColumn("journal_tags", "tag_id", "integer", "foreign key -> tags.id") in keys
    assert KeyColumn("tag_notes", "tag_id", "integer",
                     "foreign key -> journal_tags.tag_id") in keys
    assert {k.type for k in keys} == {"integer"}


def test_key_columns_show_uuid_keys_left_behind(conn):
    conn.execute("""
        CREATE TABLE users_uuid (id uuid PRIMARY KEY);
        CREATE TABLE journals_uuid (id serial PRIMARY KEY,
                                    user_id uuid REFERENCES users_uuid (id))""")

    uuid_keys = [k for k in key_columns(snapshot(conn)) if k.type != "integer"]

    assert uuid_keys == [
        ("journals_uuid", "user_id", "uuid", "foreign key -> users_uuid.id"),
        ("users_uuid", "id", "uuid", "primary key"),
    ]


SHOP = Path(__file__).parent / "examples" / "shop" / "schema.sql"


@pytest.fixture
def shop(scratch_dsn):
    """A connection to a scratch database holding the example shop: every kind of object."""
    with connect(scratch_dsn) as conn:
        conn.execute(SHOP.read_text())
        yield conn


def test_snapshot_holds_every_kind_of_object_in_every_user_schema(shop):
    schema = snapshot(shop)

    assert schema.schemas == ("public", "reporting") and schema.selection is None
    assert set(schema.kinds) == {kind.key for kind in KINDS}
    assert schema.objects["extensions"]["citext"].version == "1.5"
    # what CREATE EXTENSION made (citext's type, functions, operators) is not listed one by one
    assert sorted(schema.objects["functions"]) == [
        "money_amount_close(money_amount,money_amount)", "order_items_check_quantity()",
        "shop_ddl_noted()"]
    assert sorted(schema.objects["types"]) == ["money_amount", "order_status"]
    assert schema.objects["types"]["order_status"].definition == (
        "ENUM ('new', 'paid', 'shipped')")
    assert schema.objects["views"]["reporting.product_sales"].kind == "materialized view"
    assert schema.tables["products"]["sku"].collation == '"C"'
    assert schema.objects["table_options"]["reporting.daily_sales"].partition_key == "RANGE (day)"
    assert schema.objects["table_options"]["orders"].row_security
    assert schema.objects["grants"]["on table column customers.email to shop_reporting"] \
        .privileges == ("SELECT",)
    assert schema.objects["owners"]["of schema reporting"].role == "shop_reporting"
    assert "ON DELETE CASCADE" in schema.constraints[
        "order_items.order_items_order_id_fkey"].definition
    assert "DEFERRABLE INITIALLY DEFERRED" in schema.constraints[
        "orders.orders_customer_placed_key"].definition
    assert Schema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_a_selection_of_schemas_leaves_the_others_out(shop):
    schema = snapshot(shop, ("public",))

    assert schema.schemas == schema.selection == ("public",)
    assert not [name for records in schema.objects.values() for name in records
                if "reporting." in name]


def test_a_changed_constraint_is_a_verdict_not_a_traceback(shop):
    before = snapshot(shop)
    shop.execute("ALTER TABLE customers DROP CONSTRAINT customers_email_lower,"
                 " ADD CONSTRAINT customers_email_lower CHECK (email = upper(email)) NOT VALID")

    result = table_matches(shop, before, "customers")

    assert not result.ok
    assert result.summary == (
        "customers: 2 differences from the baseline; first: constraint"
        " customers.customers_email_lower: definition CHECK ((email = lower(email))) -> CHECK"
        " ((email = upper(email))) NOT VALID")


def test_a_long_multi_line_definition_is_one_line_cut_where_it_differs():
    body = "CREATE FUNCTION f()\n RETURNS int\nAS $$\n" + "SELECT 1 + \n" * 40 + "{} $$"
    d = Difference("function", "f()", "changed", body.format(1), body.format(2), "definition")

    line = str(d)

    assert "\n" not in line and len(line) < 300
    assert line.startswith("function f(): definition …") and "1 $$ -> …" in line
    assert line.endswith("2 $$")


@given(st.text(), st.text(), st.sampled_from(["changed", "missing", "extra"]))
def test_any_difference_is_one_bounded_line(old, new, change):
    d = Difference("view", "v", change, old, new, "definition" if change == "changed" else None,
                   brief=old + new)

    line = str(d)

    assert len(line.splitlines()) == 1 and len(line) <= 300
    assert line.startswith(f"view v: {'definition ' if change == 'changed' else change}")


def test_a_baseline_from_before_the_new_kinds_compares_what_it_recorded(shop):
    old = snapshot(shop).to_dict()
    old = {key: old[key] for key in ("schemas", "tables", "constraints", "indexes", "sequences")}
    for columns in old["tables"].values():
        for column in columns.values():
            del column["collation"]
    for sequence in old["sequences"].values():
        for attr in ("start", "minimum", "maximum", "cache", "cycle"):
            del sequence[attr]
    expected = Schema.from_dict(old)
    shop.execute("""ALTER TABLE products ALTER COLUMN sku TYPE text COLLATE "POSIX";
                    DROP VIEW reporting.order_totals;
                    ALTER TABLE events ALTER COLUMN kind DROP NOT NULL""")

    comparison = compare(shop, expected)
    result = table_matches(shop, expected, "events", comparison)

    assert [str(d) for d in comparison.differences] == [
        "column events.kind: not_null true -> false"]
    assert expected.selection == ("public", "reporting")
    assert {"views", "grants", "columns.collation", "sequences.cycle"} <= set(
        expected.not_recorded())
    assert result.observed["not recorded in the baseline"] == expected.not_recorded()
    assert "rollbook snapshot" in result.observed["hint"]
    assert table_matches(shop, expected, "products", comparison).ok


def test_a_profile_narrows_the_schemas_the_baseline_records(shop, tmp_path):
    data = {"database": {"dsn_env": "SHOP_DSN"}, "schema": {"schemas": ["public"]}}
    profile = parse_profile(data, tmp_path / "narrow.toml")

    taken = baseline.capture(shop, [], profile.schemas)

    assert profile.schemas == ("public",) and parse_profile(
        {"database": {"dsn_env": "SHOP_DSN"}}, tmp_path / "all.toml").schemas is None
    assert taken.schema_snapshot().selection == ("public",)
    assert "reporting.daily_sales" not in taken.tables and "orders" in taken.tables
    assert set(taken.sequences) == {"customers_id_seq", "orders_id_seq", "products_id_seq"}


def test_a_schemas_key_that_is_not_a_list_is_one_line_with_the_fix(tmp_path):
    data = {"database": {"dsn_env": "SHOP_DSN"}, "schema": {"schemas": "public", "schema": 1}}

    with pytest.raises(ProfileError) as caught:
        parse_profile(data, tmp_path / "bad.toml")

    assert caught.value.mistakes == [
        f"{tmp_path / 'bad.toml'}: [schema] schemas: must be a non-empty list of strings, e.g."
        " [\"id\"], got 'public'",
        f"{tmp_path / 'bad.toml'}: [schema] schema: unknown key (did you mean schemas?)"]


def test_inheritance_is_a_table_option(conn):
    conn.execute("CREATE TABLE notes (a integer); CREATE TABLE dated_notes (d date)"
                 " INHERITS (notes)")
    before = snapshot(conn)
    conn.execute("ALTER TABLE dated_notes NO INHERIT notes")

    assert [str(d) for d in diff(before, snapshot(conn))] == [
        "table dated_notes: inherits [notes] -> []"]
