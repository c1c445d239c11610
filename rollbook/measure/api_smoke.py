"""API smoke calls over httpx: the runbook's functional tests, with latency and error figures.

    report = run_smoke("http://127.0.0.1:8000", requests=20, allow_writes=True,
                       account=SmokeAccount("smoke@example.com", password), user_id=1,
                       budgets=LatencyBudget(p95_ms=250))
    for result in report.results(): ...

Each endpoint is called N times in turn (health, login, create journal, list journals, get
user) and becomes one EndpointResult: passed, failed, or "not run" — calls that write (login,
create journal) run only when the caller allows writes, and are otherwise reported as not run,
never as passed. Two more results carry the signals for the rollback triggers: the error rate
over all requests, and the share of endpoints that failed. No token or password is ever kept in
the evidence.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rollbook.record.evidence import CheckResult

if TYPE_CHECKING:
    import httpx

# httpx (and httpcore, anyio, rich under it) is imported when a call is made: most pytest
# processes load this module through the plugin and never call the API

PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"
HEALTH, LOGIN, CREATE, LIST, GET_USER = ("health", "login", "create journal", "list journals",
                                         "get user")
ENDPOINTS = (HEALTH, LOGIN, CREATE, LIST, GET_USER)
MASK = "***"
_SECRET_FIELDS = {"password", "access_token", "token"}
_SECRET_HEADERS = {"authorization", "x-admin-token", "cookie"}


# -- one HTTP exchange, kept as evidence ----------------------------------------------------
@dataclass
class Call:
    request: dict[str, Any]
    status: int | None
    elapsed_ms: float
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def outcome(self) -> str:
        return self.error or f"HTTP {self.status}"

    def evidence(self) -> dict[str, Any]:
        response = None if self.status is None else {
            "status": self.status, "headers": self.headers, "body": _masked(self.body)}
        return {"request": self.request, "response": response, "error": self.error,
                "elapsed_ms": round(self.elapsed_ms, 2)}


def call(client: httpx.Client, method: str, url: str, *, json: Any = None,
         headers: Mapping[str, str] | None = None) -> Call:
    """One request; transport failures (refused, timed out) become a Call with an error."""
    headers = dict(headers or {})
    sent = {k: v for k, v in client.headers.items() if k.lower() in _SECRET_HEADERS} | headers
    request = {"method": method, "url": str(client.base_url.join(url)),
               "headers": {k: (_mask_header(v) if k.lower() in _SECRET_HEADERS else v)
                           for k, v in sent.items()}}
    if json is not None:
        request["json"] = _masked(json)
    import httpx

    started = time.perf_counter()
    try:
        response = client.request(method, url, json=json, headers=headers)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}".strip()
        if isinstance(exc, httpx.TimeoutException):
            error += f" (no answer within {client.timeout.read:g} s: [api] timeout_s)"
        return Call(request, None, (time.perf_counter() - started) * 1000, error=error)
    elapsed = (time.perf_counter() - started) * 1000
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    kept = {k: v for k, v in response.headers.items() if k.lower() in ("retry-after",
                                                                         "content-type")}
    return Call(request, response.status_code, elapsed, body, kept)


def client_for(base_url: str, timeout_s: float = 5.0) -> httpx.Client:
    """An httpx client that ignores proxy settings of the environment (the API is local)."""
    import httpcore  # noqa: F401  httpx imports it lazily; loaded here, before any thread does
    import httpx

    return httpx.Client(base_url=base_url, timeout=timeout_s, trust_env=False)


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmokeAccount:
    """The account smoke logins use; its password never appears in repr or evidence."""

    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class LatencyBudget:
    """Latency ceilings of one endpoint, in milliseconds (None: no ceiling)."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    def over(self, figures: Mapping[str, float]) -> list[str]:
        return [f"{q} {figures[q]:.1f} ms over its budget of {limit:g} ms"
                for q, limit in (("p50", self.p50_ms), ("p95", self.p95_ms),
                                 ("p99", self.p99_ms)) if limit is not None and figures[q] > limit]


@dataclass
class EndpointResult(CheckResult):
    """A CheckResult with a third state: ``status`` is passed, failed or not run."""

    status: str = PASSED

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"status": self.status}


@dataclass
class SmokeReport:
    endpoints: list[EndpointResult]
    error_rate: CheckResult
    failing_endpoints: CheckResult

    def results(self) -> list[CheckResult]:
        return [*self.endpoints, self.error_rate, self.failing_endpoints]

    def endpoint(self, name: str) -> EndpointResult:
        for result in self.endpoints:
            if result.name == name:
                return result
        raise KeyError(f"no smoke endpoint {name!r}; known: {', '.join(ENDPOINTS)}")

    def latencies(self) -> dict[str, dict[str, float]]:
        """p50/p95/p99 in ms of every endpoint that ran: the figures for a closing note."""
        return {r.name: r.observed["latency_ms"] for r in self.endpoints
                if r.observed.get("latency_ms")}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# -- the run --------------------------------------------------------------------------------
def run_smoke(base_url: str, *, requests: int = 10, allow_writes: bool = False,
              account: SmokeAccount | None = None, token: str | None = None,
              user_id: int | str | None = None,
              budgets: LatencyBudget | Mapping[str, LatencyBudget] | None = None,
              max_error_rate: float = 0.0, max_failing_share: float = 0.0,
              timeout_s: float = 5.0, admin_token: str | None = None,
              why_no_writes: str = "writes are not allowed here (read-only)") -> SmokeReport:
    """Call each endpoint ``requests`` times; see the module docstring. With ``admin_token``
    every call carries it (X-Admin-Token), so the smoke passes a maintenance gate."""
    if requests < 1:
        raise ValueError(f"requests={requests}: call each endpoint at least once")
    results: list[EndpointResult] = []

    def budget(name: str) -> LatencyBudget | None:
        return budgets.get(name) if isinstance(budgets, Mapping) else budgets

    with client_for(base_url, timeout_s) as client:
        if admin_token:
            client.headers["X-Admin-Token"] = admin_token

        def measure(name, method, path, expected, **kwargs):
            made = [call(client, method, path, **{k: (v(i) if callable(v) else v)
                                                  for k, v in kwargs.items()})
                    for i in range(requests)]
            results.append(_judge(name, f"{method} {path}", expected, budget(name), made))
            return [c.body for c in made if c.status == expected and isinstance(c.body, dict)]

        measure(HEALTH, "GET", "/health", 200)
        login_failed = False
        if not allow_writes:
            results.append(_not_run(LOGIN, why_no_writes))
        elif account is None:
            results.append(_not_run(LOGIN, "no smoke account was given"))
        else:
            grants = measure(LOGIN, "POST", "/api/v1/auth/login", 200,
                             json={"email": account.email, "password": account.password})
            login_failed = results[-1].status == FAILED
            grant = grants[-1] if grants else {}
            token = grant.get("access_token") or token
            user_id = user_id if user_id is not None else grant.get("user_id")
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        blocked = "blocked: login failed, so there is no token" if login_failed else None
        if not allow_writes:
            results.append(_not_run(CREATE, why_no_writes))
        elif not token:
            results.append(_blocked(CREATE, blocked) if blocked else
                           _not_run(CREATE, "no token: give a smoke account or a token"))
        else:
            measure(CREATE, "POST", "/api/v1/journals", 201, headers=auth, json=lambda i: {
                "title": f"rollbook smoke {i + 1}", "content": "written by rollbook smoke"})
        if not token:
            results.append(_blocked(LIST, blocked) if blocked else
                           _not_run(LIST, "no token: give a smoke account or a token"))
        else:
            measure(LIST, "GET", "/api/v1/journals?limit=10", 200, headers=auth)
        if user_id is None:
            results.append(_blocked(GET_USER, "blocked: login failed, so there is no user id")
                           if login_failed else _not_run(GET_USER, "no user id was given"))
        else:
            measure(GET_USER, "GET", f"/api/v1/users/{user_id}", 200)
    return SmokeReport(results, _error_rate(results, max_error_rate),
                       _failing_share(results, max_failing_share))


def _judge(name: str, endpoint: str, expected: int, budget: LatencyBudget | None,
           made: list[Call]) -> EndpointResult:
    failures = [c for c in made if c.status != expected]
    samples = [c.elapsed_ms for c in made]
    figures = {q: round(percentile(samples, n), 2) for q, n in (("p50", 50), ("p95", 95),
                                                                ("p99", 99))}
    figures |= {"min": round(min(samples), 2), "max": round(max(samples), 2),
                "mean": round(sum(samples) / len(samples), 2)}
    outcomes = Counter(c.outcome() for c in made)
    problems = []
    if failures:
        seen = ", ".join(f"{k} ×{v}" for k, v in outcomes.items() if k != f"HTTP {expected}")
        problems.append(f"{len(failures)}/{len(made)} did not answer {expected} ({seen})")
    problems += budget.over(figures) if budget else []
    latency = (f"p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, "
               f"p99 {figures['p99']:.1f} ms")
    if problems:
        summary = (f"{name}: {'; '.join(problems)}; {latency}. Hint: {endpoint} — read the "
                   "service log and its health.")
    else:
        summary = f"{name}: {len(made)}/{len(made)} answered {expected}; {latency}"
    status = FAILED if problems else PASSED
    observed = {
        "status": status, "endpoint": endpoint, "expected": expected,
        "requests": len(made), "errors": len(failures),
        "error_rate": round(len(failures) / len(made), 4), "outcomes": dict(outcomes),
        "latency_ms": figures, "samples_ms": [round(s, 2) for s in samples],
        "budget_ms": None if budget is None else {"p50": budget.p50_ms, "p95": budget.p95_ms,
                                                  "p99": budget.p99_ms},
        "first_call": made[0].evidence(),
        "first_failure": failures[0].evidence() if failures else None}
    return EndpointResult(name, not problems, summary, observed=observed, status=status)


def _not_run(name: str, reason: str) -> EndpointResult:
    return EndpointResult(name, False, f"{name}: not run — {reason}",
                          observed={"status": NOT_RUN, "reason": reason, "requests": 0},
                          status=NOT_RUN)


def _blocked(name: str, reason: str) -> EndpointResult:
    return EndpointResult(name, False, f"{name}: failed — {reason}",
                          observed={"status": FAILED, "reason": reason, "requests": 0},
                          status=FAILED)


def _error_rate(results: list[EndpointResult], threshold: float) -> CheckResult:
    requests = sum(r.observed["requests"] for r in results)
    errors = sum(r.observed.get("errors", 0) for r in results)
    rate = errors / requests if requests else 1.0
    ok = requests > 0 and rate <= threshold
    summary = (f"API error rate {rate:.1%} ({errors} of {requests} requests)"
               f"{'' if ok else f' is above {threshold:.1%}'}")
    return CheckResult("API error rate", ok, summary, observed={
        "error_rate": round(rate, 4), "errors": errors, "requests": requests,
        "threshold": threshold})


def _failing_share(results: list[EndpointResult], threshold: float) -> CheckResult:
    checked = [r for r in results if r.status != NOT_RUN]
    failing = [r.name for r in checked if r.status == FAILED]
    share = len(failing) / len(checked) if checked else 1.0
    ok = bool(checked) and share <= threshold
    summary = (f"{len(failing)} of {len(checked)} API endpoints failing ({share:.0%})"
               + (f": {', '.join(failing)}" if failing else ""))
    return CheckResult("share of failing API endpoints", ok, summary, observed={
        "share": round(share, 4), "failing": failing, "checked": [r.name for r in checked],
        "not_run": [r.name for r in results if r.status == NOT_RUN], "threshold": threshold})


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if k in _SECRET_FIELDS and v else _masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _mask_header(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {MASK}" if rest else MASK
