"""Drill: full database restore — drop the database, create it, `pg_restore -j` the backup."""
from __future__ import annotations

import allure
import pytest

from rollbook.pytest_plugin.phases import (
    back_up_current_state,
    count_rows_a_restore_discards,
    full_restore,
    prepare_uuid_rollback,
    validate_after_rollback,
)

pytestmark = pytest.mark.drill
RESTORE_JOBS = 2


@allure.epic("Data Recovery and Restoration")
@allure.story("1. Backup Restoration")
def test_full_restore_drop_create_parallel_restore(drill, pg_server, drill_database,
                                                   seed_scale):
    """Full restore: DROP DATABASE, CREATE DATABASE, pg_restore -j from the pre-migration backup."""
    prepared = prepare_uuid_rollback(drill, pg_server, drill_database, seed_scale)

    back_up_current_state(drill, prepared)
    count_rows_a_restore_discards(drill, prepared, prepared.added)

    full_restore(drill, prepared, jobs=RESTORE_JOBS)

    validate_after_rollback(drill, prepared, kept={})
    drill.assert_within_objectives()
