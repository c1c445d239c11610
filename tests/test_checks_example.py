"""The checks run unchanged against a schema that is not Vibes, given only a baseline made by
`rollbook snapshot` (tests/examples/shop: identity, bigint, composite and uuid keys, a soft
foreign key, no Alembic)."""
from __future__ import annotations

import pytest
from examples.checkrun import EXAMPLES, failed, run_checks, snapshot

from rollbook.pg.connect import connect

SHOP = EXAMPLES / "shop"
PROFILE = str(SHOP / "shop.toml")


@pytest.fixture
def shop(scratch_dsn, tmp_path):
    """The shop database and its baseline."""
    with connect(scratch_dsn) as conn:
        conn.execute((SHOP / "schema.sql").read_text())
        conn.execute("VACUUM ANALYZE")
    return scratch_dsn, snapshot(scratch_dsn, tmp_path / "shop-baseline.json", env=PROFILE)


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
    no_api = {f"test_api::test_endpoint_answers_within_budget[{name}]" for name in
              ("health", "login", "create journal", "list journals", "get user")}
    no_api.add("test_api::test_api_rollback_triggers_are_quiet")
    not_measurable = {f"test_triggers::test_trigger_family_is_quiet[{family}]"  # no Alembic,
                      for family in ("migration", "corruption", "api",  # amcheck, API, or
                                     "performance")}  # profile queries with baseline times
    assert skipped == {"test_preflight::test_alembic_scripts_have_a_single_head",
                       "test_preflight::test_alembic_history_knows_the_revision",
                       "test_monitoring::test_top_statements",  # no pg_stat_statements here
                       *no_api, *not_measurable}
    assert found["test_triggers::test_decision_matrix_calls_for_no_rollback"] == "passed"
    assert len(found) == 67


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
    result.stdout.fnmatch_lines([
        "*products: baseline rows (id <= 40) changed*Differs in 1 key range(s): id 3..3*",
        "*1 orphan row in events: events.customer_ref -> customers.id has no parent*",
        "*column orders.customer_id: type bigint -> integer*",
        "*orders.customer_id (foreign key -> customers.id) is integer, expected bigint*"])
