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
    given = given_api_url(pytestconfig)
    if given is not None:
        yield plan_for(checks_profile, given)
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
    else:
        pytest.skip("the profile names no API: set [api] base_url to check it")


def given_api_url(config) -> str | None:
    """The API's base URL when it is given (--api-url, ROLLBOOK_API_URL, then the profile's
    [api] base_url unless the profile names a service to start), else None."""
    settings = settings_for(config)  # --api-url and ROLLBOOK_API_URL, already checked
    if settings.api_url and not settings.api_url_source.startswith("profile"):
        return settings.api_url
    api = settings.profile.api
    return api.base_url if api.base_url and not api.service else None


@pytest.fixture(scope="session")
def api_smoke(checks_api: ApiPlan, run_memo) -> SmokeReport:
    """One smoke run per run (whichever xdist worker asks first): every endpoint called [api]
    requests times."""
    return run_memo.get(("api smoke",), lambda: smoke(checks_api))
