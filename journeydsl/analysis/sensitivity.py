"""Which guess decides it: the tornado of uncertain parameters, and break-even values.

:func:`tornado` sets each uncertain parameter (named or inline) to its 2.5%
and then its 97.5% quantile, the others held at their means, and simulates
every such journey as one arm of a single run: all of them see the same
customers (common random numbers), so most of the noise cancels between a
swing's two ends; what is left is measured
(:func:`~journeydsl.engine.results.noise_of`) and shown beside
each swing. With a scenario, the figure is the scenario's difference from the
baseline (what decides whether the scenario pays off).

:func:`breakeven` finds, by bisection on common random numbers, the value of
one parameter at which a scenario's difference from the baseline crosses
zero, with an interval from the difference's 95% interval around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from journeydsl.analysis.uncertainty import uncertain_params
from journeydsl.engine.results import BETTER, Results, noise_of
from journeydsl.language.checks import DEFAULT_MAX_WORK
from journeydsl.language.compile import recompile
from journeydsl.language.model import Journey, Param

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.engine.montecarlo import WorkEstimate

__all__ = [
    "FIGURES",
    "Breakeven",
    "Tornado",
    "breakeven",
    "figure_of",
    "tornado",
]

SCHEMA_ID = "journeydsl.sensitivity/1"

#: Figures the tornado can show (a metric of the results; ``retention.90`` style for retention).
FIGURES: tuple[str, ...] = (
    "value_per_customer", "conversion_rate", "revenue_per_customer", "cost_per_customer", "ltv", "cac",
    "ltv_to_cac", "time_to_convert_days", "churn_rate", "retention.30", "retention.90", "retention.180",
    "retention.365",
)


def _metric(metrics: dict[str, Any], figure: str) -> float | None:
    node: Any = metrics
    for part in figure.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    v = node.get("mean") if isinstance(node, dict) else None
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def figure_of(results: Results, figure: str, arm: int = 0, versus: int | None = None) -> float | None:
    """``figure`` of arm ``arm``; with ``versus``, its difference from arm ``versus`` (same customers)."""
    value = _metric(results.arms[arm].to_dict()["metrics"], figure)
    if versus is None or value is None:
        return value
    other = _metric(results.arms[versus].to_dict()["metrics"], figure)
    return None if other is None else value - other


@dataclass
class Tornado:
    """The tornado of one figure: the base value and each parameter's low and high ends."""

    figure: str
    scenario: str
    base: float | None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    currency: str | None = None
    versus_baseline: bool = False
    # the simulation's noise: half the 95% interval of each parameter's figure_high - figure_low
    # (by name) and of the base; None where the figure has no batch pairs (see noise_of). The JSON
    # contract (to_dict) is the design's and leaves them out; the table and the chart show them.
    swing_noise: dict[str, float | None] = field(default_factory=dict)
    base_noise: float | None = None

    @property
    def noise_known(self) -> bool:
        """Whether any swing has its noise (the figure has batch pairs): then the ± needs its note."""
        return any(x is not None for x in self.swing_noise.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract ``journeydsl.sensitivity/1``."""
        return {
            "schema": SCHEMA_ID,
            "figure": self.figure,
            "scenario": self.scenario,
            "base": self.base,
            "parameters": self.parameters,
        }


def _arms_for(journey: Journey, scenario: str | None, **kw: Any) -> list[tuple[str, Journey]]:
    drawn = recompile(journey, **kw) if kw.get("quantiles") or kw.get("values") else journey
    arms = [("baseline", drawn.with_scenario("baseline"))]
    if scenario is not None:
        arms.append((scenario, drawn.with_scenario(scenario)))
    return arms


def _check_scenario(journey: Journey, scenario: str | None) -> None:
    if scenario is not None and scenario not in {s.name for s in journey.scenarios}:
        from journeydsl.language.errors import did_you_mean

        hint = did_you_mean(scenario, [s.name for s in journey.scenarios])
        raise KeyError(f"no scenario '{scenario}' in '{journey.name}'" + (f"; {hint}" if hint else ""))


def tornado(
    journey: Journey,
    figure: str = "value_per_customer",
    scenario: str | None = None,
    customers: int | None = None,
    seed: int = 0,
    *,
    workers: int = 1,
    progress: Callable[[float, int], None] | None = None,
    executor: Executor | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
) -> Tornado:
    """Each uncertain parameter at its 2.5% and 97.5% quantiles, the others at their means.

    Every variant is an arm of one run on common random numbers. ``scenario``:
    the figure is that scenario's difference from the baseline. ``workers`` and
    ``executor`` spread its (variant, block) units as :func:`~journeydsl.engine.montecarlo.run`
    does (the same numbers however they are spread); ``max_work`` and
    ``on_estimate`` are its too, for the whole run.
    """
    from journeydsl.engine.montecarlo import run

    if figure not in FIGURES:
        raise ValueError(f"unknown figure '{figure}'; choose one of {', '.join(FIGURES)}")
    _check_scenario(journey, scenario)
    params = uncertain_params(journey)
    arms: list[tuple[str, Journey]] = []
    per = 1 if scenario is None else 2
    arms += [(f"base/{n}", j) for n, j in _arms_for(journey, scenario)]
    ends: list[tuple[Param, float, float]] = []
    for p in params:
        lo, hi = p.distribution().interval95()
        ends.append((p, lo, hi))
        for tag, q in (("low", 0.025), ("high", 0.975)):
            arms += [(f"{p.name}/{tag}/{n}", j) for n, j in _arms_for(journey, scenario, quantiles={p.name: q})]
    n = journey.customers if customers is None else customers
    res = run(arms, n, seed, workers=workers, progress=progress, executor=executor, max_work=max_work,
              on_estimate=on_estimate)

    def value(k: int) -> float | None:
        return figure_of(res, figure, k * per + 1, k * per) if scenario else figure_of(res, figure, k)

    def noise(high: int, low: int | None) -> float | None:
        """Half the 95% interval of variant ``high``'s figure minus variant ``low``'s (None: the figure alone)."""
        pairs = [(high, 1.0)] if low is None else [(high, 1.0), (low, -1.0)]
        if scenario:  # each variant's figure is its scenario arm minus its baseline arm
            pairs = [(k * per + s, w * (1.0 if s else -1.0)) for k, w in pairs for s in (1, 0)]
        return noise_of(res, figure, pairs)

    base = value(0)
    rows: list[dict[str, Any]] = []
    swing_noise: dict[str, float | None] = {}
    for i, (p, lo, hi) in enumerate(ends):
        f_lo, f_hi = value(1 + 2 * i), value(2 + 2 * i)
        swing = abs(f_hi - f_lo) if f_lo is not None and f_hi is not None else None
        rows.append({"name": p.name, "label": p.title, "low": lo, "high": hi,
                     "figure_low": f_lo, "figure_high": f_hi, "swing": swing})
        swing_noise[p.name] = noise(2 + 2 * i, 1 + 2 * i)
    rows.sort(key=lambda r: -(float(r["swing"]) if r["swing"] is not None else -1.0))
    return Tornado(figure, scenario or "baseline", base, rows, journey.currency, scenario is not None,
                   swing_noise, noise(0, None) if scenario else None)


# --- break-even ---------------------------------------------------------------------


@dataclass
class Breakeven:
    """Where a scenario's difference from the baseline crosses zero as one parameter moves."""

    param: str
    label: str
    scenario: str
    figure: str
    low: float  # the range searched (the parameter's 0.5% to 99.5% quantiles)
    high: float
    value: float | None  # None: no crossing within the range
    interval: tuple[float, float] | None
    difference_low: float | None  # None: the figure is undefined in an arm there (a CAC with no converters)
    difference_high: float | None
    kind: str

    @property
    def crosses(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "journeydsl.breakeven/1", "param": self.param, "label": self.label,
            "scenario": self.scenario, "figure": self.figure, "range": [self.low, self.high],
            "value": self.value, "interval95": list(self.interval) if self.interval else None,
            "difference_at_low": self.difference_low, "difference_at_high": self.difference_high,
        }


def _find(journey: Journey, name: str) -> Param:
    for p in journey.params:
        if p.name == name:
            return p
    from journeydsl.language.errors import did_you_mean

    hint = did_you_mean(name, [p.name for p in journey.params])
    raise KeyError(f"no parameter '{name}' in '{journey.name}'" + (f"; {hint}" if hint else ""))


def breakeven(
    journey: Journey,
    param: str,
    scenario: str,
    figure: str = "value_per_customer",
    customers: int | None = None,
    seed: int = 0,
    *,
    steps: int = 24,
    workers: int = 1,
    executor: Executor | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> Breakeven:
    """The value of ``param`` where ``scenario`` stops (or starts) beating the baseline on ``figure``.

    Bisection on common random numbers between the parameter's 0.5% and 99.5%
    quantiles; the interval is where the difference's 95% interval still
    holds zero, read through the local slope of the difference. Each step is a
    run of its own, spread over ``workers`` or ``executor``; ``progress(step, steps)``
    hears each one (at most ``steps + 2``).
    """
    from journeydsl.engine.montecarlo import run

    if figure not in BETTER:
        raise ValueError(f"break-even compares one of {', '.join(BETTER)}, not '{figure}'")
    _check_scenario(journey, scenario)
    p = _find(journey, param)
    dist = p.distribution()
    lo, hi = (float(x) for x in dist.quantile([0.005, 0.995]))
    if not hi > lo:
        raise ValueError(f"parameter '{param}' has no range to search; give it one, like '{param} = 25% ± 5%'")
    n = journey.customers if customers is None else customers

    done = [0]

    def diff(v: float) -> tuple[float | None, float]:
        """The scenario's difference at ``v`` and its interval's half-width; None where the figure is undefined."""
        res = run(_arms_for(journey, scenario, values={param: v}), n, seed, workers=workers, executor=executor)
        done[0] += 1
        if progress is not None:
            progress(done[0], steps + 2)
        cmp = (res.arms[1].versus_baseline or {}).get(figure) or {}
        delta = cmp.get("delta")
        ci = cmp.get("ci95") or [delta, delta]
        if delta is None or not math.isfinite(float(delta)):
            return None, math.nan
        half = (float(ci[1]) - float(ci[0])) / 2 if None not in ci else 0.0
        return float(delta), half

    d_lo, _ = diff(lo)
    d_hi, _ = diff(hi)
    out = Breakeven(p.name, p.title, scenario, figure, lo, hi, None, None, d_lo, d_hi, p.kind)
    if d_lo is None or d_hi is None or d_lo * d_hi > 0 or (d_lo == 0 and d_hi == 0):
        return out
    a, b, fa = lo, hi, d_lo
    slope = (d_hi - d_lo) / (hi - lo)
    half = 0.0
    for step in range(steps):
        mid = (a + b) / 2
        got, half = diff(mid)
        if got is None:
            raise ValueError(f"{figure} is undefined at {param} = {mid:g} (an arm has nothing to divide by, such as"
                             " no converters); give the run more customers with --customers")
        fm = got
        if step == 3:
            slope = (fm - fa) / (mid - a) if mid != a and fm != fa else slope
        if fm == 0:
            a = b = mid
            break
        if (fm > 0) == (fa > 0):
            a, fa = mid, fm
        else:
            b = mid
        if b - a <= 1e-6 * max(1.0, abs(hi - lo)):
            break
    value = (a + b) / 2
    width = half / abs(slope) if slope else math.inf
    out.value = value
    out.interval = (max(lo, value - width), min(hi, value + width))
    return out
