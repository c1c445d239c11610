"""The runbook's remaining rollback triggers, measured from the post-rollback Observation and
the API smoke, plus the ones only people can raise.

    Error Rate Increase         one signal per source: the service's /metrics, each error log
    Database Lock Issues        deadlocks counted during the watch; sessions waiting on locks
    Memory/CPU Spikes           process_cpu_seconds_total and process_resident_memory_bytes
    Application Crashes         health calls unanswered, or a new process start time
    User Authentication Issues  the smoke account's login
    Critical Feature Breakdown  journal creation by the smoke account
    Data Access Problems        listing journals and looking a user up
    reported by people          support tickets, data-loss reports, integration failures,
                                security findings: `rollbook assess --reported TRIGGER`
"""
from __future__ import annotations

import argparse

from rollbook.measure import metrics
from rollbook.measure.observation import Observation
from rollbook.settings.profile import Profile
from rollbook.verdicts import monitoring
from rollbook.verdicts.triggers import CRITICAL, HIGH, Signal

# The runbook's triggers that no measurement raises, with the severity it gives them.
REPORTED_BY_PEOPLE = {
    "Security Vulnerabilities": CRITICAL,
    "User Complaints": HIGH,
    "Data Loss Reports": HIGH,
    "Integration Failures": HIGH,
    "Performance Issues": HIGH,
}


def reported_name(given: str) -> str | None:
    """The runbook's name of a trigger people report, matched without regard to case."""
    return next((n for n in REPORTED_BY_PEOPLE if n.lower() == given.strip().lower()), None)


def reported_argument(given: str) -> str:
    """argparse type of `rollbook assess --reported`: a runbook trigger people report."""
    name = reported_name(given)
    if name is None:
        raise argparse.ArgumentTypeError(
            f"{given!r} is not a trigger people report. Hint: one of "
            + ", ".join(f"'{n}'" for n in REPORTED_BY_PEOPLE))
    return name


def reported(names: tuple[str, ...] = ()) -> list[Signal]:
    """Every people-reported trigger: fired when passed in, otherwise listed as not measured."""
    given = {reported_name(n) for n in names}
    return [Signal(f"{name} (reported by people)", name, severity,
                   "reported" if name in given else "not reported", "reported by people",
                   name in given, evaluated=name in given,
                   detail="" if name in given else f"raise it with: rollbook assess "
                   f"--reported '{name}'")
            for name, severity in REPORTED_BY_PEOPLE.items()]


def error_rates(observed: Observation, profile: Profile, baseline_pct: float | None = None,
                recorded_logs: dict[str, float] | None = None) -> list[Signal]:
    """Error Rate Increase per source: the service's counters and each error log."""
    signals = []
    if observed.watch is not None and observed.watch.metrics_url:
        result = monitoring.service_error_rate(observed.watch, baseline_pct,
                                               profile.triggers.error_rate_points)
        traffic = result.observed.get("traffic")
        signals.append(Signal("error rate above baseline (service /metrics)",
                              "Error Rate Increase", HIGH,
                              f"{traffic['error_pct']:.1f} % of {traffic['requests']:g}"
                              if traffic else "not read",
                              f"> +{profile.triggers.error_rate_points:g} points", not result.ok,
                              detail=result.summary, evaluated=traffic is not None,
                              evidence=result.observed))
    for kind, reading in observed.logs.items():
        result = monitoring.log_errors(reading, allowance_per_min=profile.monitoring
                                       .log_errors_per_min,
                                       points=profile.triggers.error_rate_points,
                                       recorded_per_min=(recorded_logs or {}).get(kind))
        after = reading.after
        signals.append(Signal(f"error rate above baseline ({reading.text.source})",
                              "Error Rate Increase", HIGH,
                              f"{after.errors_per_min:.2f} errors/min" if after else "not read",
                              f"> {result.observed.get('limit_per_min', 0):g}/min",
                              not result.ok, detail=result.summary,
                              evaluated=after is not None, evidence=result.observed))
    return signals


def database_locks(observed: Observation, baseline_deadlocks: int | None = None) -> Signal:
    """Database Lock Issues: deadlocks during the watch, or sessions waiting on locks in more
    than half of its samples; the deadlocks since the baseline are shown beside them (the
    migration and the rollback in between may have had their own)."""
    found = observed.watch.database_samples() if observed.watch else []
    if len(found) < 2:
        return Signal("deadlocks and lock waits", "Database Lock Issues", HIGH, "not sampled",
                      "any deadlock, or lock waits in > half the samples", False,
                      evaluated=False)
    deadlocks = found[-1]["deadlocks"] - found[0]["deadlocks"]
    waiting = sum(1 for d in found if d["lock_waits"])
    fired = deadlocks > 0 or waiting > len(found) / 2
    return Signal("deadlocks and lock waits", "Database Lock Issues", HIGH,
                  f"{deadlocks} deadlocks, lock waits in {waiting}/{len(found)} samples"
                  + (f" ({found[-1]['deadlocks'] - baseline_deadlocks} deadlocks since the "
                     "baseline)" if baseline_deadlocks is not None else ""),
                  "any deadlock, or lock waits in > half the samples", fired,
                  evidence={"deadlocks_first": found[0]["deadlocks"],
                            "deadlocks_last": found[-1]["deadlocks"], "waiting": waiting})


def resources(observed: Observation, profile: Profile,
              baseline_rss_mb: float | None = None) -> Signal:
    """Memory/CPU Spikes: the service's CPU over the watch and its largest resident memory,
    against the profile's ceilings and the baseline's memory."""
    limits = profile.monitoring
    scrapes = observed.watch.scrapes() if observed.watch else []
    threshold = (f"CPU > {limits.max_cpu_pct:g} %, memory > {limits.max_memory_mb:g} MB"
                 + (f" or > {limits.memory_growth_ratio:g}x baseline" if baseline_rss_mb else ""))
    if len(scrapes) < 2:
        return Signal("service CPU and memory", "Memory/CPU Spikes", HIGH, "not scraped",
                      threshold, False, evaluated=False)
    cpu = metrics.cpu_pct(scrapes[0], scrapes[-1])
    rss = max((s.rss_bytes or 0) for s in scrapes) / 1024 / 1024
    over = [f"CPU {cpu:.0f} %"] if cpu is not None and cpu > limits.max_cpu_pct else []
    if rss > limits.max_memory_mb or (baseline_rss_mb and
                                      rss > baseline_rss_mb * limits.memory_growth_ratio):
        over.append(f"memory {rss:.0f} MB")
    return Signal("service CPU and memory", "Memory/CPU Spikes", HIGH,
                  f"CPU {'?' if cpu is None else f'{cpu:.0f}'} %, memory {rss:.0f} MB"
                  + (f" (baseline {baseline_rss_mb:.0f} MB)" if baseline_rss_mb else ""),
                  threshold, bool(over), detail=", ".join(over),
                  evidence={"cpu_pct": cpu, "rss_mb": rss, "baseline_rss_mb": baseline_rss_mb})


def crashes(observed: Observation) -> Signal:
    """Application Crashes: a health call nobody answered, or the process started anew."""
    samples = observed.watch.samples if observed.watch else []
    if not any(s.health is not None for s in samples):
        return Signal("service crashes and restarts", "Application Crashes", CRITICAL,
                      "not watched", "any", False, evaluated=False)
    unanswered = [f"+{s.elapsed_s:.1f} s" for s in samples
                  if s.health is not None and s.health["status"] is None]
    starts = sorted({s.started_at for s in observed.watch.scrapes() if s.started_at})
    problems = ([f"no answer at {', '.join(unanswered)}"] if unanswered else []) + (
        [f"{len(starts) - 1} restart(s)"] if len(starts) > 1 else [])
    return Signal("service crashes and restarts", "Application Crashes", CRITICAL,
                  "; ".join(problems) or f"answered all {len(samples)} samples, one process",
                  "any", bool(problems), evidence={"unanswered": unanswered,
                                                   "process_starts": starts})


# the runbook's functional triggers and the smoke endpoints that show them
SMOKE_TRIGGERS = (
    ("smoke login", "User Authentication Issues", ("login",)),
    ("smoke journal creation", "Critical Feature Breakdown", ("create journal",)),
    ("smoke journal listing and user lookup", "Data Access Problems",
     ("list journals", "get user")),
)


def smoke_signals(report) -> list[Signal]:
    """User Authentication Issues, Critical Feature Breakdown and Data Access Problems from
    the API smoke: fired when an endpoint that shows them failed."""
    found = []
    for name, trigger, endpoints in SMOKE_TRIGGERS:
        ran = [r for r in (report.endpoint(e) for e in endpoints) if r.status != "not run"] \
            if report is not None else []
        failing = [r for r in ran if not r.ok]
        found.append(Signal(name, trigger, CRITICAL,
                            "; ".join(r.summary for r in failing or ran) or "not run",
                            "any failure", bool(failing), evaluated=bool(ran),
                            detail="" if ran else not_run_because(report, endpoints)))
    return found


def not_run_because(report, endpoints: tuple[str, ...]) -> str:
    """What kept the smoke from these endpoints: no API at all, or what the smoke itself says
    (no smoke account, its password not set, login failed), each with its fix."""
    if report is None:
        return "no API was called. Hint: pass --api-url or set [api] base_url in the profile"
    return "; ".join(sorted({r.observed.get("reason", "not run")
                             for r in map(report.endpoint, endpoints) if r.status == "not run"}))


def measure(observed: Observation | None, profile: Profile, report=None, *,
            reported_names: tuple[str, ...] = (), baseline_facts: dict | None = None
            ) -> list[Signal]:
    """Every signal of this module; `baseline_facts` is the baseline's "monitoring" facts."""
    facts = baseline_facts or {}
    signals = smoke_signals(report)
    if observed is not None:
        signals += [*error_rates(observed, profile, facts.get("error_pct"),
                                 facts.get("logs_errors_per_min")),
                    database_locks(observed, facts.get("deadlocks")),
                    resources(observed, profile, facts.get("rss_mb")), crashes(observed)]
    return signals + reported(reported_names)
