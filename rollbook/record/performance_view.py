"""The performance evidence as the record's table: per key query, its plan then and now, the
median and spread of its runs then and now, the ratio, and the rule that decided (which limit
applied and why), from the plan and time verdicts' results (rollbook/verdicts/performance.py)."""
from __future__ import annotations

from typing import Any

from rollbook.record.evidence import CheckResult

TITLE = "Query performance"
NO_BASELINE = "not recorded (the baseline holds no time for this query)"
NOT_COMPARED = "not compared: nothing was measured now (see the rule)"
RULES = {"same": "same plan and buffers: only beyond {ratio:g}x counts (below, a slowdown is "
                 "the machine's load)",
         "changed": "the plan or its work changed: the runbook's {ratio:g}x limit applies",
         "unknown": "buffers not compared: the runbook's {ratio:g}x limit applies"}


def _plan(body: dict[str, Any] | None) -> str:
    if not body:
        return "not recorded (the check measured no plan)"
    parts = [f"index {name}" for name in body.get("indexes") or ()]
    parts += [f"Seq Scan on {name}" for name in body.get("seq_scans") or ()]
    buffers = body.get("buffers")
    return (", ".join(parts) or "no index, no Seq Scan") + (
        f"; {buffers} buffers" if buffers is not None else "")


def _time(body: dict[str, Any] | None) -> str:
    if not body or body.get("median_ms") is None:
        return "not recorded (the check measured no time)"
    runs = len(body.get("all_runs_ms") or body.get("runs_ms") or ())
    return (f"{body['median_ms']:.3f} ms ± {body.get('spread_ms') or 0:.3f}"
            + (f" ({runs} runs)" if runs else ""))


def performance_rows(results: list[CheckResult]) -> list[dict[str, str]]:
    """One row per key query, from its "plan: Q" and "time: Q" results."""
    plans = {r.name.removeprefix("plan: "): r for r in results if r.name.startswith("plan: ")}
    rows = []
    for result in results:
        if not result.name.startswith("time: "):
            continue
        query = result.name.removeprefix("time: ")
        observed = result.observed if isinstance(result.observed, dict) else {}
        found = observed.get("slowdown")
        plan = plans.get(query)
        verdict = "passed" if result.ok and (plan is None or plan.ok) else "failed"
        if found is None:
            then = NO_BASELINE if observed.get("median_ms") is not None else NOT_COMPARED
            rows.append({"Query": query, "Plan then": then,
                         "Plan now": _plan(plan.observed if plan else observed),
                         "Median ± spread then": then,
                         "Median ± spread now": _time(observed),
                         "Ratio": "none: nothing to compare with",
                         "Rule that decided": (f"within its budget of "
                                               f"{observed.get('budget_ms', 0):g} ms; no "
                                               "baseline time to compare with"
                                               if observed else result.summary),
                         "Verdict": verdict})
            continue
        rule = RULES.get(found["work"], RULES["unknown"]).format(ratio=found["limit_ratio"])
        rows.append({
            "Query": query, "Plan then": _plan(found["baseline"]), "Plan now": _plan(found["now"]),
            "Median ± spread then": _time(found["baseline"]),
            "Median ± spread now": _time(found["now"]), "Ratio": f"{found['ratio']:.2f}x",
            "Rule that decided": (f"{rule}; limit {found['limit_ms']:.3f} ms "
                                  f"({'over' if found['slow'] else 'under'} it)"
                                  + ("" if found["work"] == "same"
                                     else f"; {found['work_detail']}")),
            "Verdict": verdict})
    return rows
