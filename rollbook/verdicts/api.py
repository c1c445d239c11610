"""The API checks of a profile: which API, which account, what may be written, what budgets.

Writes (login, create journal) run only on a disposable profile or with a dedicated smoke
account the profile names; otherwise they are reported as not run, never as passed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from rollbook.measure.api_smoke import (
    ENDPOINTS,
    LatencyBudget,
    SmokeAccount,
    SmokeReport,
    run_smoke,
)
from rollbook.record.evidence import CheckResult
from rollbook.settings.profile import Profile
from rollbook.settings.profile_files import load_ref
from rollbook.verdicts import triggers


@dataclass(frozen=True)
class ApiPlan:
    base_url: str
    allow_writes: bool
    account: SmokeAccount | None
    why_not: str  # why writes do not run, when they do not
    user_id: int | None
    budgets: dict[str, LatencyBudget]
    requests: int
    timeout_s: float


def plan_for(profile: Profile, base_url: str, environ: Mapping[str, str] = os.environ
             ) -> ApiPlan:
    api = profile.api
    account, why_not = None, ""
    if api.smoke_account:
        account = SmokeAccount(*load_ref(api.smoke_account)())
    elif api.smoke_email:
        password = environ.get(api.smoke_password_env or "")
        if password:
            account = SmokeAccount(api.smoke_email, password)
        else:
            why_not = (f"the smoke account's password variable {api.smoke_password_env} is "
                       "not set")
    allow_writes = account is not None
    if account is None and not why_not:
        why_not = ("a read-only profile with no smoke account: writes are not run "
                   "(name one with [api] smoke_email and smoke_password_env)")
    budgets = {name: LatencyBudget(p95_ms=api.p95_budget_ms.get(name, api.default_p95_ms))
               for name in ENDPOINTS}
    return ApiPlan(base_url=base_url, allow_writes=allow_writes, account=account,
                   why_not=why_not, user_id=api.user_id, budgets=budgets,
                   requests=api.requests, timeout_s=api.timeout_s)


def smoke(plan: ApiPlan) -> SmokeReport:
    return run_smoke(plan.base_url, requests=plan.requests, allow_writes=plan.allow_writes,
                     account=plan.account, user_id=plan.user_id, budgets=plan.budgets,
                     timeout_s=plan.timeout_s, why_no_writes=plan.why_not)


def trigger_results(report: SmokeReport, profile: Profile,
                    baseline_error_pct: float = 0.0) -> list[CheckResult]:
    """The API rollback triggers as checks: ok while the trigger stays quiet."""
    signals = triggers.api_signals(report, baseline_error_pct,
                                   max_failing_pct=profile.triggers.failing_endpoints_pct,
                                   max_error_points=profile.triggers.error_rate_points)
    return [CheckResult(f"trigger: {s.name}", not s.fired,
                        f"{s.name}: {s.measured} (threshold {s.threshold})"
                        + (f" — {s.detail}" if s.detail else ""),
                        observed=s.to_dict()) for s in signals]
