"""Values of the record as people read them: labels for keys, units, no Python reprs."""
from __future__ import annotations

from typing import Any

LABELS = {
    "run_id": "run id", "git_sha": "git commit", "rollbook": "rollbook version",
    "api_p95_ms": "API p95 latency", "revision_before": "revision before",
    "revision_after": "revision after", "rows_discarded_by_restore": "rows a restore discards",
    "started_utc": "started (UTC)", "ended_utc": "ended (UTC)", "ci_job_url": "CI job URL",
    "ci_job": "CI job", "ci_pipeline": "CI pipeline", "server_version": "server version",
    "client_tools": "client tools",
}
# A key ending in one of these carries the unit in its name; the value shows it instead.
UNIT_SUFFIXES = {"_ms": "ms", "_s": "s", "_bytes": "bytes"}


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    for suffix in UNIT_SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ")


def unit_of(key: str) -> str:
    return next((unit for suffix, unit in UNIT_SUFFIXES.items() if key.endswith(suffix)), "")


def number(value: float | int, unit: str = "") -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = f"{value:,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}" if unit else text


def revision(raw: str) -> str:
    """An Alembic revision for people: Alembic's `<base>` is the schema before any revision."""
    return "base (no revision applied)" if raw == "<base>" else raw


def value(key: str, raw: Any) -> str:
    """One fact as a sentence fragment: dicts as `name value unit` lists, numbers grouped."""
    unit = unit_of(key)
    if key.startswith("revision_") and isinstance(raw, str):
        return revision(raw)
    if raw is None:
        return "—"
    if isinstance(raw, (int, float)):
        return number(raw, unit)
    if isinstance(raw, dict):
        return ", ".join(f"{name} {value(key, item) if not isinstance(item, str) else item}"
                         for name, item in raw.items()) or "none"
    if isinstance(raw, (list, tuple)):
        return ", ".join(value(key, item) for item in raw) or "none"
    return str(raw)


def severity(raw: str, impact: str) -> str:
    """The decision's severity in words: the trigger engine says "None" when nothing fired."""
    if raw == "None":
        return "could not verify" if impact == "Unknown" else "no trigger fired"
    return raw


def impact(severity: str, impact: str, response_time: str) -> str:
    """" (impact High, respond Immediate)", or nothing when no trigger fired."""
    return "" if severity == "None" else f" (impact {impact}, respond {response_time})"
