"""Teardown steps in Allure named for what they tear down. allure-pytest names each fixture
finalizer after its function: a yield fixture's teardown is a nameless partial ("drill::1"), and
pytest's own bookkeeping lambdas ("drill::<lambda>") never report a status. The first get the
fixture's name, the second are left out of the report."""
from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outside allure-pytest's wrapper: runs after it
def pytest_fixture_setup(fixturedef, request):
    yield
    finalizers = getattr(fixturedef, "_finalizers", None)
    if not finalizers:
        return
    for index, finalizer in enumerate(finalizers):
        wrapped = getattr(finalizer, "_fixture_function", None)  # allure_commons.fixture
        if wrapped is None:
            continue
        if getattr(wrapped, "__name__", None) == "<lambda>":
            finalizers[index] = wrapped
        else:
            finalizer._name = f"tear down {fixturedef.argname}"
