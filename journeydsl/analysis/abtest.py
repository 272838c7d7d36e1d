"""How many customers, and how long, a real A/B test needs to see a scenario's forecast difference.

The forecast says what a scenario changes on average; a live test sees that
change through the noise of real customers, who vary. For a figure with
per-customer standard deviation ``sd_a`` (baseline) and ``sd_b`` (scenario),
a difference ``d`` and a share ``r`` of the test's customers given the
scenario, a two-sided test at significance ``alpha`` detects ``d`` with
chance ``power`` once the test has

    N = (z(1 - alpha/2) + z(power))^2 * (sd_a^2 / (1 - r) + sd_b^2 / r) / d^2

customers in all (``(1 - r) N`` in the baseline arm, ``r N`` in the
scenario's), the usual normal-approximation sample size for a difference of
two means (for a conversion rate, ``sd^2 = p (1 - p)``). The standard
deviations and the difference come from the simulated run itself: the
baseline and the scenario on common random numbers. Customers must then be
followed for the figure's window (the horizon the run used) before it can be
read, so the test lasts the time to enrol ``N`` customers plus that window.

>>> round(customers_for(0.20, 0.25, math.sqrt(0.16), math.sqrt(0.1875), 0.05, 0.8, 0.5))
2182
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from journeydsl.language.model import CalendarPlan

__all__ = ["METRICS", "TestPlan", "customers_for", "enrolment_days", "plan_test"]

#: The figures a test can be sized for: JSON key -> (sum, sum of squares) in the tally, or None
#: for a conversion rate (a share: its variance is p (1 - p)).
METRICS: dict[str, tuple[str, str] | None] = {
    "conversion_rate": None,
    "value_per_customer": ("value", "value2"),
    "revenue_per_customer": ("rev", "rev2"),
    "cost_per_customer": ("cost", "cost2"),
}


def customers_for(mean_a: float, mean_b: float, sd_a: float, sd_b: float, alpha: float, power: float,
                  split: float) -> float:
    """Customers in all (both arms) a two-sided test needs; ``inf`` when the means are equal."""
    d = mean_b - mean_a
    if d == 0 or not math.isfinite(d):
        return math.inf
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0) + NormalDist().inv_cdf(power)
    return z * z * (sd_a * sd_a / (1.0 - split) + sd_b * sd_b / split) / (d * d)


def enrolment_days(plan: CalendarPlan, customers: float, arrivals: np.ndarray, days: list[int]) -> float | None:
    """Days from the plan's start until ``customers`` have arrived (arrivals even within a month);
    None when the plan's months do not bring that many."""
    done = 0.0
    start = 0
    for a, d in zip(arrivals.tolist(), days, strict=True):
        if a > 0 and done + a >= customers:
            return start + d * (customers - done) / a
        done += a
        start += d
    return None


@dataclass(frozen=True)
class TestPlan:
    """The size and length of a live A/B test of one scenario against the baseline."""

    scenario: str
    label: str
    metric: str
    baseline: float
    variant: float
    difference_ci95: tuple[float | None, float | None]  # the simulation's interval for the difference
    sd_baseline: float
    sd_variant: float
    alpha: float
    power: float
    split: float  # share of the test's customers given the scenario
    window_days: float  # how long each customer is followed before the figure is read
    control: int | None  # customers in the baseline arm (None: no difference to detect)
    treated: int | None
    arrivals_from: str | None  # "plan NAME", "--arrivals", or None (unknown)
    arrivals_per_day: float | None
    enrol_days: float | None
    total_days: float | None
    reason: str | None = None  # why a size or a duration is missing (English, as in the JSON)
    # the same reason for reports in other languages: "no_variation" (with customers in reason_args),
    # "no_difference", "no_arrivals" or "plan_too_small" (with plan, arrivals, months and needed)
    reason_key: str | None = None
    reason_args: dict[str, Any] = field(default_factory=dict)
    # conversion tests read after the whole horizon by default: the whole days within which 99%
    # of the run's conversions came, when that is under half the window (None otherwise)
    window_hint_days: float | None = None

    @property
    def total(self) -> int | None:
        return None if self.control is None or self.treated is None else self.control + self.treated

    def to_dict(self) -> dict[str, Any]:
        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else float(x)

        return {
            "schema": "journeydsl.plan-test/1",
            "scenario": self.scenario,
            "label": self.label,
            "metric": self.metric,
            "baseline": num(self.baseline),
            "scenario_value": num(self.variant),
            "difference": num(self.variant - self.baseline),
            "difference_ci95": [num(self.difference_ci95[0]), num(self.difference_ci95[1])],
            "sd_per_customer": {"baseline": num(self.sd_baseline), "scenario": num(self.sd_variant)},
            "significance": self.alpha,
            "power": self.power,
            "split": self.split,
            "customers": {"baseline": self.control, "scenario": self.treated, "total": self.total},
            "arrivals": {"from": self.arrivals_from, "per_day": num(self.arrivals_per_day)},
            "window_days": num(self.window_days),
            "enrol_days": num(self.enrol_days),
            "duration_days": num(self.total_days),
            "reason": self.reason,
            "window_hint_days": num(self.window_hint_days),
        }


#: Share of the run's conversions a suggested conversion window holds.
HINT_SHARE = 0.99


def _window_hint(tallies: list[Any], window: float) -> float | None:
    """Whole days within which :data:`HINT_SHARE` of the converters of ``tallies`` converted,
    when that is under half of ``window`` (a conversion test could be read that much sooner)."""
    times = [t.all_conv_times() for t in tallies]
    if sum(x.size for x in times) < 100:  # too few converters to say where 99% of them are
        return None
    weights = [t.weights() for t in tallies]
    values = np.concatenate(times).astype(np.float64)
    w = np.concatenate([np.ones(x.size) if wt is None else wt for x, wt in zip(times, weights, strict=True)])
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(w[order])
    at = values[order][int(np.searchsorted(cum, HINT_SHARE * cum[-1]))]
    days = float(math.ceil(at + 1e-9))
    return days if days <= window / 2 else None


def _mean_sd(tally: Any, metric: str) -> tuple[float, float]:
    """The per-customer mean and standard deviation of ``metric`` in a tally."""
    n = max(tally.n, 1)
    keys = METRICS[metric]
    if keys is None:
        p = tally.sum("conv") / n
        return p, math.sqrt(max(p * (1.0 - p), 0.0))
    from journeydsl.engine.results import sample_variance

    s, s2 = tally.sum(keys[0]), tally.sum(keys[1])
    return s / n, math.sqrt(sample_variance(s, s2, n))


def plan_test(
    journey: Any,
    scenario: str,
    *,
    metric: str = "conversion_rate",
    alpha: float = 0.05,
    power: float = 0.8,
    split: float | None = None,
    arrivals_per_day: float | None = None,
    plan: str | None = None,
    customers: int | None = None,
    seed: int = 0,
    window_days: float | None = None,
    **run_kw: Any,
) -> TestPlan:
    """Size a live A/B test of ``scenario`` against the baseline of ``journey`` (see the module).

    ``split``: the share of the test's customers given the scenario (default: the scenario's
    own rollout share, else 50%). Arrivals come from ``arrivals_per_day``, else from the
    calendar ``plan`` (default: the journey's first), else they are unknown and the duration
    is None (``reason`` says what is needed). ``window_days`` (default: the horizon) is how
    long each customer is followed before the figure is read; the run uses it as its horizon.
    """
    from journeydsl.analysis.forecast import calendar_months, plan_arrivals
    from journeydsl.engine.montecarlo import run

    if metric not in METRICS:
        raise ValueError(f"unknown figure '{metric}'; one of {', '.join(METRICS)}")
    sc = journey.scenario(scenario)  # KeyError: unknown scenario
    if split is None:
        split = sc.rollout if getattr(sc, "rollout", None) else 0.5
    assert split is not None
    if not 0.0 < split < 1.0:
        raise ValueError(f"the split must be between 0% and 100% (both arms need customers), got {split:.0%}")
    window = float(window_days if window_days is not None else journey.horizon_days)
    n = journey.customers if customers is None else customers
    arms = [("baseline", journey.with_scenario("baseline")), (scenario, journey.with_scenario(scenario, rollout=False))]
    res = run(arms, n, seed, horizon_days=window, **run_kw)
    base, other = res.arms[0], res.arms[1]
    mean_a, sd_a = _mean_sd(base.tally, metric)
    mean_b, sd_b = _mean_sd(other.tally, metric)
    versus = (other.versus_baseline or {}).get(metric) or {}
    ci = versus.get("ci95") or [None, None]
    total = customers_for(mean_a, mean_b, sd_a, sd_b, alpha, power, split)
    reason: str | None = None
    reason_key: str | None = None
    reason_args: dict[str, Any] = {}
    control = treated = None
    if not math.isfinite(total) and sd_a == 0.0 and sd_b == 0.0:
        # every simulated customer has the same figure in both arms (nobody converted, or everybody did):
        # either the scenario changes nothing, or what it changes is too rare for this many customers
        reason_key = "no_variation"
        reason_args = {"customers": n}
        reason = (f"all {n:,} simulated customers have the same figure in both arms, so the forecast shows no"
                  f" difference to detect; if the scenario changes something rarer than one customer in {n:,},"
                  " run more customers with --customers")
    elif not math.isfinite(total):
        reason_key = "no_difference"
        reason = "the scenario does not change this figure in the forecast: there is no difference to detect"
    else:
        treated = max(1, math.ceil(total * split))
        control = max(1, math.ceil(total * (1.0 - split)))
    source: str | None = None
    per_day: float | None = None
    enrol: float | None = None
    if arrivals_per_day is not None:
        source, per_day = "--arrivals", arrivals_per_day
        if control is not None and treated is not None and per_day > 0:
            enrol = (control + treated) / per_day
    elif journey.plans:
        cp = journey.plan(plan)
        source = f"plan {cp.name}"
        arr = plan_arrivals(cp)
        months = calendar_months(cp.start, cp.months)
        days = [d for _l, _s, d in months]
        per_day = float(arr.sum()) / max(sum(days), 1)
        if control is not None and treated is not None:
            enrol = enrolment_days(cp, control + treated, arr, days)
            if enrol is None:
                reason_key = "plan_too_small"
                reason_args = {"plan": cp.name, "arrivals": float(arr.sum()), "months": cp.months,
                               "needed": control + treated}
                reason = (f"plan '{cp.name}' brings {arr.sum():,.0f} customers in {cp.months} months,"
                          f" fewer than the {control + treated:,} the test needs")
    elif reason is None:
        reason_key = "no_arrivals"
        reason = ("the duration needs the arrivals: add a 'plan' to the journey, or give"
                  " --arrivals N per day|week|month")
    hint = _window_hint([base.tally, other.tally], window) if metric == "conversion_rate" and \
        window_days is None else None
    return TestPlan(
        window_hint_days=hint,
        scenario=scenario,
        label=sc.title,
        metric=metric,
        baseline=mean_a,
        variant=mean_b,
        difference_ci95=(ci[0], ci[1]),
        sd_baseline=sd_a,
        sd_variant=sd_b,
        alpha=alpha,
        power=power,
        split=split,
        window_days=window,
        control=control,
        treated=treated,
        arrivals_from=source,
        arrivals_per_day=per_day,
        enrol_days=enrol,
        total_days=None if enrol is None else enrol + window,
        reason=reason,
        reason_key=reason_key,
        reason_args=reason_args,
    )
