"""KPI targets against simulated figures: forecast, interval and status.

A target's status compares the target with the figure's 95% interval:

- **on track**: the whole interval is on the good side of the target
  (for ``at least``: the target is below the interval; for ``at most``: above it);
- **at risk**: the target lies inside the interval (the run cannot tell);
- **off track**: the whole interval is on the bad side.

A figure the run could not measure (nobody converted, no active stage) has
the status ``unknown`` and its reason.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from journeydsl.engine.results import Z95, retention_estimate

if TYPE_CHECKING:
    from journeydsl.engine.results import ArmResult
    from journeydsl.language.model import Target, Targets

__all__ = ["STATUSES", "evaluate", "status", "target_name"]

STATUSES = ("on track", "at risk", "off track", "unknown")

_FIGURE = {
    "conversion_rate": "conversion_rate",
    "ltv": "ltv",
    "cac": "cac",
    "churn": "churn_rate",
    "value_per_customer": "value_per_customer",
}
_SHARES = ("conversion_rate", "retention", "churn")


def status(target: float, bound: str, low: float, high: float) -> str:
    """``on track``, ``at risk`` or ``off track`` for a target and a 95% interval.

    >>> status(0.03, "least", 0.035, 0.040), status(0.038, "least", 0.035, 0.040), status(0.05, "least", 0.035, 0.04)
    ('on track', 'at risk', 'off track')
    >>> status(90, "most", 70, 80), status(75, "most", 70, 80), status(60, "most", 70, 80)
    ('on track', 'at risk', 'off track')
    """
    if bound == "least":
        return "on track" if target < low else "off track" if target > high else "at risk"
    return "on track" if target > high else "off track" if target < low else "at risk"


def target_name(t: Target) -> str:
    """How a target reads in tables: ``retention 90 days``, ``cac``."""
    return f"retention {t.days:g} days" if t.kpi == "retention" and t.days is not None else t.kpi


def _retention(arm: ArmResult, days: float) -> dict[str, Any]:
    tal = arm.tally
    if not arm.has_active:
        return {"mean": None, "reason": "no stage is marked active"}
    if tal.sum("conv") <= 0:
        return {"mean": None, "reason": "no customer converted"}
    p, v = retention_estimate(tal.km_obs, tal.km_act, tal.km_out, tal.km_back)
    edges = tal.shape.km_edges
    k = int(np.searchsorted(edges, days - 1e-9))
    if k >= edges.size or tal.km_obs[k] <= 0 or not math.isfinite(float(p[k])):
        return {"mean": None, "reason": f"no converter was followed {days:g} days"}
    mean, se = float(p[k]), math.sqrt(max(float(v[k]), 0.0))
    return {"mean": mean, "ci95": [max(0.0, mean - Z95 * se), min(1.0, mean + Z95 * se)]}


def _figure(arm: ArmResult, t: Target) -> dict[str, Any]:
    if t.kpi == "retention":
        assert t.days is not None
        fig: dict[str, Any] = arm.metrics["retention"].get(f"{t.days:g}")
        return fig if fig is not None else _retention(arm, t.days)
    out: dict[str, Any] = arm.metrics[_FIGURE[t.kpi]]
    return out


def evaluate(targets: Targets, arm: ArmResult) -> list[dict[str, Any]]:
    """Each target of ``targets`` against the figures of ``arm`` (JSON-ready rows)."""
    rows: list[dict[str, Any]] = []
    for t in targets.targets:
        fig = _figure(arm, t)
        row: dict[str, Any] = {
            "kpi": target_name(t),
            "unit": "share" if t.kpi in _SHARES else "money",
            "bound": f"at {t.bound}",
            "target": t.value,
            "forecast": fig.get("mean"),
            "ci95": fig.get("ci95"),
        }
        ci = fig.get("ci95")
        if fig.get("mean") is None or not ci or ci[0] is None or ci[1] is None:
            row["status"] = "unknown"
            row["reason"] = fig.get("reason", "the interval could not be computed")
        else:
            row["status"] = status(t.value, t.bound, float(ci[0]), float(ci[1]))
        rows.append(row)
    return rows
