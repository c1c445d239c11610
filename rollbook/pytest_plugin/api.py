"""The API the operator checks call: the profile's running API, or (disposable profiles) the
reference service started by the suite against the checks' database."""
from __future__ import annotations

import pytest

from rollbook.errors import RollbookError
from rollbook.measure.api_smoke import SmokeReport
from rollbook.pytest_plugin.profile import settings_for
from rollbook.settings.profile_files import load_ref
from rollbook.verdicts.api import ApiPlan, plan_for, smoke

SERVICE = pytest.StashKey[object]()  # the service a disposable profile started, for monitoring


@pytest.fixture(scope="session")
def checks_api(pytestconfig, checks_target, checks_profile) -> ApiPlan:
    """Where the API checks go and what they may do: base URL (--api-url, ROLLBOOK_API_URL,
    the profile's [api] base_url, or the service a disposable profile names), smoke account,
    whether writes run (disposable profile or a dedicated smoke account), latency budgets."""
    api = checks_profile.api
    settings = settings_for(pytestconfig)  # --api-url and ROLLBOOK_API_URL, already checked
    if settings.api_url and not settings.api_url_source.startswith("profile"):
        yield plan_for(checks_profile, settings.api_url)
    elif api.service:
        service = load_ref(api.service)(checks_target.dsn)
        pytestconfig.stash[SERVICE] = service
        try:
            service.start()
        except RollbookError as exc:
            pytest.fail(f"cannot start the service {api.service}: {exc.one_line()}",
                        pytrace=False)
        yield plan_for(checks_profile, service.base_url)
        service.stop()
    elif api.base_url:
        yield plan_for(checks_profile, api.base_url)
    else:
        pytest.skip("the profile names no API: set [api] base_url to check it")


@pytest.fixture(scope="session")
def api_smoke(checks_api: ApiPlan, run_memo) -> SmokeReport:
    """One smoke run per run (whichever xdist worker asks first): every endpoint called [api]
    requests times."""
    return run_memo.get(("api smoke",), lambda: smoke(checks_api))
