"""Functional and application performance checks of the API: the runbook's "API Endpoint
Testing" (login, create journal, get user) and "Check response times", plus the API rollback
triggers (share of failing endpoints, error rate).

Writes run only where the profile allows them; elsewhere they are reported as not run.
"""
from __future__ import annotations

import pytest

from rollbook.measure.api_smoke import ENDPOINTS, NOT_RUN
from rollbook.pytest_plugin.evidence import attach_result
from rollbook.verdicts.api import trigger_results

pytestmark = pytest.mark.check


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoint_answers_within_budget(api_smoke, checks_api, endpoint, check):
    """Every call answers as it should, and p95 latency is within the profile's budget."""
    result = api_smoke.endpoint(endpoint)
    if result.status == NOT_RUN:
        attach_result(result)
        pytest.skip(f"{result.summary}" + (f"; {checks_api.why_not}" if checks_api.why_not
                                           else ""))
    check(result)


def test_api_rollback_triggers_are_quiet(api_smoke, checks_profile, check):
    """Failing endpoints within the share and errors within the rate the profile allows."""
    check(*trigger_results(api_smoke, checks_profile))
