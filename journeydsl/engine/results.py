"""Simulation results as values: sufficient statistics, figures, comparisons, JSON.

The engine (:mod:`journeydsl.engine.montecarlo`) fills a :class:`Tally` per block and
segment: counts, sums and sums of squares, plus the converters' times and
LTVs as float32 arrays (for quantiles). Tallies add up exactly, so results do
not depend on how blocks were shared between workers. This module turns
tallies into the figures of ``docs/metrics.md``: means with normal
intervals, shares with Wilson intervals, ratios with delta-method intervals,
and scenario-versus-baseline differences as t-intervals of paired batch
differences (common random numbers: batch b of every arm uses the same seed).

A figure that cannot be computed is ``{"mean": None, "reason": "..."}``;
:meth:`Results.to_dict` never holds NaN or infinity.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import numpy as np

__all__ = [
    "BETTER",
    "HEADLINE",
    "SCHEMA_ID",
    "ArmResult",
    "Results",
    "Tally",
    "TallyShape",
    "chi2_quantile",
    "compare",
    "figures",
    "headline_pairs",
    "load_schema",
    "phase_figures",
    "retention_batch",
    "retention_estimate",
    "t_cdf",
    "t_quantile",
    "wilson",
]

SCHEMA_ID = "journeydsl.results/1"
Z95 = 1.959963984540054

#: The headline figures compared between arms, and the direction each prefers.
#: ``higher``: a positive delta is an improvement; ``lower``: a negative one is.
BETTER: dict[str, Literal["higher", "lower"]] = {
    "conversion_rate": "higher",
    "value_per_customer": "higher",
    "revenue_per_customer": "higher",
    "cost_per_customer": "lower",
    "ltv": "higher",
    "cac": "lower",
    "retention_90": "higher",
}
HEADLINE: tuple[str, ...] = tuple(BETTER)

#: Per-customer sums kept in :attr:`Tally.sums`, by position.
SUM_KEYS: tuple[str, ...] = (
    "conv",  # converters
    "rev",  # discounted revenue
    "rev2",
    "cost",  # discounted cost
    "cost2",
    "value2",  # (rev - cost)^2
    "ltv",  # converters' LTV (0 for others), over the LTV window after conversion
    "ltv2",
    "pre",  # acquisition cost: cost before conversion plus `via` on the converting move (all cost for others)
    "pre2",
    "pre_conv",  # acquisition cost of converters only
    "ltv_pre",  # ltv * pre
    "ttc",  # days to first conversion
    "ttc2",
    "churned",  # converters not in an active stage at the horizon
    "value",  # revenue minus cost, per customer, summed (never a difference of the two sums)
)
K = {k: i for i, k in enumerate(SUM_KEYS)}

Number = float | int


def _num(x: float | None) -> float | None:
    """A finite float or ``None`` (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _null(reason: str, **extra: Any) -> dict[str, Any]:
    return {"mean": None, "reason": reason, **extra}


@dataclass(frozen=True)
class TallyShape:
    """What a tally counts: stage, touchpoint and trigger names, retention points.

    ``retention_days`` are the headline retention points; ``curve_step`` the
    spacing of the retention curve (points 0, step, 2*step, ... up to the horizon).
    """

    stages: tuple[str, ...]
    touchpoints: tuple[str, ...]
    triggers: tuple[str, ...]
    retention_days: tuple[float, ...]
    horizon_days: float
    curve_step: float = 7.0
    sample_cap: int = 0  # converters' values kept per block for quantiles (0: all)
    phases: tuple[str, ...] = ()  # phase labels (the union over arms, first seen first)
    # the moves a customer can make, as (source, target) stage indices sorted: one exit counter
    # each (transitions and trigger reroutes; not stages x stages, which grows with its square)
    edges: tuple[tuple[int, int], ...] = ()
    # calendar forecasts only (0: off): days of age since entry tallied one by one (see Tally.age_*)
    age_days: int = 0
    # per touchpoint, the names of the steps of its response funnel (empty: a plain response)
    steps: tuple[tuple[str, ...], ...] = ()

    def step_offsets(self) -> list[int]:
        """Per touchpoint, where its steps' counters start in :attr:`Tally.tp_steps`."""
        out, k = [], 0
        for i in range(len(self.touchpoints)):
            out.append(k)
            k += len(self.steps[i]) if i < len(self.steps) else 0
        return out

    @property
    def age_months(self) -> int:
        """Calendar months after arrival the per-customer second moments are kept for."""
        return math.ceil(self.age_days / (365.0 / 12.0)) + 1 if self.age_days else 0

    @property
    def curve_points(self) -> int:
        return math.floor(self.horizon_days / self.curve_step + 1e-9) + 1

    def edge_index(self) -> dict[tuple[int, int], int]:
        """``(source, target)`` -> the position of its counter in :attr:`Tally.exits`."""
        return {e: k for k, e in enumerate(self.edges)}

    def edges_by_source(self) -> dict[int, list[tuple[int, int]]]:
        """Per source stage index, its ``(target, counter position)`` pairs by target index."""
        out: dict[int, list[tuple[int, int]]] = {}
        for k, (i, j) in enumerate(self.edges):
            out.setdefault(i, []).append((j, k))
        return out

    @functools.cached_property
    def km_edges(self) -> np.ndarray:
        """Days since conversion at which retention is estimated (product-limit over these bins).

        Every day up to ten years (then 3,650 equal steps), every retention point,
        every chart point and the horizon itself.
        """
        h = self.horizon_days
        step = 1.0 if h <= 3650 else h / 3650
        pts = np.concatenate(
            [np.arange(0.0, h, step), np.arange(0.0, h, self.curve_step), self.retention_days, [h]]
        )
        return np.unique(pts)


def retention_points(horizon_days: float) -> tuple[float, ...]:
    """30, 90, 180, 365 days where they fit in the horizon, and the horizon itself.

    >>> retention_points(365)
    (30.0, 90.0, 180.0, 365.0)
    >>> retention_points(100)
    (30.0, 90.0, 100.0)
    """
    pts = [float(d) for d in (30, 90, 180, 365) if d <= horizon_days]
    if float(horizon_days) not in pts:
        pts.append(float(horizon_days))
    return tuple(pts)


def _day_key(d: float) -> str:
    return f"{d:g}"


def _empty() -> np.ndarray:
    return np.zeros(0)


@dataclass
class Tally:
    """Sufficient statistics of some customers of one arm (a block, a segment, or all).

    Add two tallies with :meth:`merge`; the float32 arrays are concatenated in order.
    """

    shape: TallyShape
    n: int = 0
    sums: np.ndarray = field(default_factory=_empty)
    # retention (product-limit over days since conversion, at shape.km_edges): converters still
    # followed at each edge, of them in an active stage, and moves out of / back into the active
    # stages in the bin ending at each edge
    km_obs: np.ndarray = field(default_factory=_empty)
    km_act: np.ndarray = field(default_factory=_empty)
    km_out: np.ndarray = field(default_factory=_empty)
    km_back: np.ndarray = field(default_factory=_empty)
    visits: np.ndarray = field(default_factory=_empty)
    reached: np.ndarray = field(default_factory=_empty)
    completed: np.ndarray = field(default_factory=_empty)
    dwell_sum: np.ndarray = field(default_factory=_empty)
    at_horizon: np.ndarray = field(default_factory=_empty)
    exits: np.ndarray = field(default_factory=_empty)  # moves along each of ``shape.edges``
    tp_contacts: np.ndarray = field(default_factory=_empty)
    tp_responses: np.ndarray = field(default_factory=_empty)
    tp_cost: np.ndarray = field(default_factory=_empty)
    # the contact policy: trigger contacts not sent because of a cap or quiet hours (or delayed
    # past the horizon), sent later than due, and not sent to held-out customers
    tp_capped: np.ndarray = field(default_factory=_empty)
    tp_delayed: np.ndarray = field(default_factory=_empty)
    tp_held: np.ndarray = field(default_factory=_empty)
    trig_fired: np.ndarray = field(default_factory=_empty)
    trig_rerouted: np.ndarray = field(default_factory=_empty)
    stage_rev: np.ndarray = field(default_factory=_empty)  # discounted revenue booked in each stage
    stage_cost: np.ndarray = field(default_factory=_empty)  # discounted cost booked in each stage
    stage_days: np.ndarray = field(default_factory=_empty)  # days spent in each stage, up to the horizon
    phase_reached: np.ndarray = field(default_factory=_empty)  # customers who entered each phase
    # --- by age since entry, for calendar forecasts only (size 0 unless shape.age_days) ----------
    # per day of age k (money not discounted): first goal entries, days spent in an active stage
    # between ages k and k + 1, revenue, cost and the part of the cost spent before conversion;
    # flows and conversions are booked by day offset from the arrival day (see engine._by_offset)
    age_conv: np.ndarray = field(default_factory=_empty)
    age_active: np.ndarray = field(default_factory=_empty)
    age_rev: np.ndarray = field(default_factory=_empty)
    age_cost: np.ndarray = field(default_factory=_empty)
    age_acq: np.ndarray = field(default_factory=_empty)
    age_ref: np.ndarray = field(default_factory=_empty)  # new arrivals referred (`refers`), by day of age
    # per calendar month k after the arrival month (an arrival at a random moment of its month):
    # sums over customers of the square of each customer's revenue, cost, value, value to the
    # end of month k, and acquisition cost in that month
    age_m_rev2: np.ndarray = field(default_factory=_empty)
    age_m_cost2: np.ndarray = field(default_factory=_empty)
    age_m_val2: np.ndarray = field(default_factory=_empty)
    age_m_cum2: np.ndarray = field(default_factory=_empty)
    age_m_acq2: np.ndarray = field(default_factory=_empty)
    # with Plan.touch_paths: converters credited to each touchpoint by first, last and linear touch
    # (3 x touchpoints), then the same for their value (revenue minus cost, discounted)
    touch_credit: np.ndarray = field(default_factory=_empty)
    tp_steps: np.ndarray = field(default_factory=_empty)  # contacts reaching each funnel step (shape.steps)
    tp_resp_cost: np.ndarray = field(default_factory=_empty)  # discounted cost on response, per touchpoint
    # task requests for the queues (tasks with a capacity): touchpoint, customer (numbered
    # within its block's tally, plus its offset in task_base: customers in merge order), and
    # the customer's age at the request, in days
    task_tp: list[np.ndarray] = field(default_factory=list)
    task_who: list[np.ndarray] = field(default_factory=list)
    task_base: list[int] = field(default_factory=list)
    task_age: list[np.ndarray] = field(default_factory=list)
    task_customers: int = 0  # the customers whose requests are kept (the first ones, in merge order)

    #: Customers whose task requests a run keeps for its queues: the first blocks' up to here
    #: (memory stays bounded in N; the queue is simulated on them, see montecarlo.queues).
    TASK_LOG_CUSTOMERS = 1_000_000
    conv_times: list[np.ndarray] = field(default_factory=list)
    ltv_values: list[np.ndarray] = field(default_factory=list)
    sample_weights: list[float] = field(default_factory=list)  # converters each kept value stands for

    def __post_init__(self) -> None:
        s = self.shape
        ns, nt, ng = len(s.stages), len(s.touchpoints), len(s.triggers)
        ne, nph = s.km_edges.size, len(s.phases)
        defaults = {
            "sums": len(SUM_KEYS),
            "km_obs": ne,
            "km_act": ne,
            "km_out": ne,
            "km_back": ne,
            "visits": ns,
            "reached": ns,
            "completed": ns,
            "dwell_sum": ns,
            "at_horizon": ns,
            "exits": len(s.edges),
            "tp_contacts": nt,
            "tp_responses": nt,
            "tp_cost": nt,
            "tp_capped": nt,
            "tp_delayed": nt,
            "tp_held": nt,
            "trig_fired": ng,
            "trig_rerouted": ng,
            "stage_rev": ns,
            "stage_cost": ns,
            "stage_days": ns,
            "phase_reached": nph,
            "touch_credit": 6 * nt,
            "tp_steps": sum(len(x) for x in s.steps),
            "tp_resp_cost": nt,
        }
        na, nm = s.age_days, s.age_months
        defaults.update(dict.fromkeys(("age_conv", "age_active", "age_rev", "age_cost", "age_acq", "age_ref"), na))
        defaults.update(
            dict.fromkeys(("age_m_rev2", "age_m_cost2", "age_m_val2", "age_m_cum2", "age_m_acq2"), nm)
        )
        for name, size in defaults.items():
            if getattr(self, name).size != size:
                setattr(self, name, np.zeros(size))

    _ARRAYS = (
        "sums", "km_obs", "km_act", "km_out", "km_back", "visits", "reached",
        "completed", "dwell_sum", "at_horizon", "exits", "tp_contacts", "tp_responses",
        "tp_cost", "tp_capped", "tp_delayed", "tp_held", "trig_fired", "trig_rerouted", "stage_rev",
        "stage_cost", "stage_days", "phase_reached",
        "age_conv", "age_active", "age_rev", "age_cost", "age_acq", "age_ref",
        "age_m_rev2", "age_m_cost2", "age_m_val2", "age_m_cum2", "age_m_acq2",
        "touch_credit", "tp_steps", "tp_resp_cost",
    )  # fmt: skip

    def merge(self, other: Tally) -> Tally:
        """Add ``other`` into this tally (in place) and return it."""
        if self.task_customers < self.TASK_LOG_CUSTOMERS:  # so far every customer's requests were kept
            self.task_tp.extend(other.task_tp)
            self.task_who.extend(other.task_who)
            self.task_base.extend(b + self.n for b in other.task_base)
            self.task_age.extend(other.task_age)
            self.task_customers += other.n
        self.n += other.n
        for name in self._ARRAYS:
            getattr(self, name).__iadd__(getattr(other, name))
        self.conv_times.extend(other.conv_times)
        self.ltv_values.extend(other.ltv_values)
        self.sample_weights.extend(other.sample_weights)
        return self

    def sum(self, key: str) -> float:
        """One of the per-customer sums by name (see ``SUM_KEYS``)."""
        return float(self.sums[K[key]])

    def all_conv_times(self) -> np.ndarray:
        """The kept converters' days to convert (all of them unless the run was sampled)."""
        return np.concatenate(self.conv_times) if self.conv_times else np.zeros(0, np.float32)

    def all_ltv(self) -> np.ndarray:
        """The kept converters' LTVs, in the same order as :meth:`all_conv_times`."""
        return np.concatenate(self.ltv_values) if self.ltv_values else np.zeros(0, np.float32)

    def weights(self) -> np.ndarray | None:
        """How many converters each kept value stands for (``None``: every value is one converter)."""
        if all(w == 1.0 for w in self.sample_weights):
            return None
        return np.repeat(np.array(self.sample_weights), [a.size for a in self.conv_times])


def load_schema() -> dict[str, Any]:
    """The JSON Schema of :meth:`Results.to_dict` (shipped as ``journeydsl/schema/results.schema.json``)."""
    text = resources.files("journeydsl").joinpath("schema/results.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- interval arithmetic --------------------------------------------------


def wilson(k: float, n: float) -> tuple[float, float]:
    """The 95% Wilson score interval of a share ``k / n``.

    >>> [round(x, 4) for x in wilson(0, 10)]
    [0.0, 0.2775]
    """
    p = k / n
    z2 = Z95 * Z95
    den = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / den
    half = Z95 * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def t_cdf(x: float, df: int) -> float:
    """Student-t distribution function for a whole number of degrees of freedom (exact series,
    Abramowitz & Stegun 26.7.3-4).

    >>> round(t_cdf(2.093, 19), 4)
    0.975
    >>> t_cdf(0.0, 7)
    0.5
    """
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    theta = math.atan(abs(x) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    s = math.sin(theta)
    if df % 2 == 1:  # odd: (2/pi)(theta + sin cos (1 + 2/3 c2 + 2*4/(3*5) c2^2 + ...))
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        a = 2 / math.pi * (theta + s * math.cos(theta) * total)
    else:  # even: sin (1 + 1/2 c2 + 1*3/(2*4) c2^2 + ...)
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        a = s * total
    a = min(max(a, 0.0), 1.0)
    return 0.5 + 0.5 * a if x > 0 else 0.5 - 0.5 * a


def t_quantile(p: float, df: float) -> float:
    """Student-t quantile: the Cornish-Fisher expansion, refined by Newton steps on :func:`t_cdf`
    when ``df`` is whole.

    >>> round(t_quantile(0.975, 19), 4)
    2.093
    >>> round(t_quantile(0.8, 19), 4)
    0.861
    """
    z = _norm_ppf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    x = z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
    if df == int(df) and df >= 1:
        n = int(df)
        for _ in range(3):
            pdf = math.exp(
                math.lgamma((n + 1) / 2) - math.lgamma(n / 2) - 0.5 * math.log(n * math.pi)
                - (n + 1) / 2 * math.log1p(x * x / n)
            )
            x -= (t_cdf(x, n) - p) / pdf
    return x


def chi2_quantile(p: float, df: float) -> float:
    """Chi-square quantile: twice the gamma quantile of shape ``df / 2`` (language.special's, the one
    the parameters' intervals use; it agrees with scipy to 1e-12 relative at df 1 to 400).

    The Wilson-Hilferty cube it replaces was 0.2% low at df 19 (the customers-needed range's)
    and below zero at df 1.

    >>> round(chi2_quantile(0.975, 19), 4), round(chi2_quantile(0.025, 19), 4)
    (32.8523, 8.9065)
    """
    from journeydsl.language.special import gamma_ppf

    return 2.0 * float(gamma_ppf(np.array([p]), df / 2.0)[0])


def _norm_ppf(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's algorithm, refined by one Newton step)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    lo = 0.02425
    if p < lo:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p > 1 - lo:
        return -_norm_ppf(1 - p)
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - p
    u = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
    return x - u / (1 + x * u / 2)


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


#: Below this share of the sum of squares, ``s2 - s^2 / n`` is the subtraction's rounding, not a spread.
RESOLUTION = 1e-12


def sample_variance(s: float, s2: float, n: float) -> float:
    """The sample variance of ``n`` values from their sum ``s`` and sum of squares ``s2``.

    The tallies keep raw sums, so the variance is a difference of two large numbers; what
    is left under :data:`RESOLUTION` of ``s2`` (a spread under a millionth of the mean) is
    rounding, and is zero: every customer paying the same fee has no spread, not 2e-6 EUR.

    >>> sample_variance(3 * 37.13, 3 * 37.13 ** 2, 3)
    0.0
    >>> sample_variance(6.0, 14.0, 3)
    1.0
    """
    if n < 2:
        return 0.0
    diff = s2 - s * s / n
    return 0.0 if diff <= RESOLUTION * abs(s2) else diff / (n - 1)


def _mean_ci(s: float, s2: float, n: float) -> dict[str, Any]:
    mean = s / n
    if n < 2:
        return {"mean": _num(mean), "ci95": None}
    var = sample_variance(s, s2, n)
    half = Z95 * math.sqrt(var / n)
    return {"mean": _num(mean), "ci95": [_num(mean - half), _num(mean + half)]}


def _share(k: float, n: float, reason: str) -> dict[str, Any]:
    if n <= 0:
        return _null(reason, n=0)
    lo, hi = wilson(k, n)
    return {"mean": _num(k / n), "ci95": [_num(lo), _num(hi)], "n": int(n)}


def _ratio_ci(
    sx: float, sy: float, sxx: float, syy: float, sxy: float, n: float
) -> tuple[float, list[float | None] | None]:
    """``R = sum x / sum y`` over ``n`` customers with Fieller's 95% interval.

    The interval is the set of ``R`` for which ``sum(x - R y)`` is within 1.96
    of its standard error of zero: it is skewed where the ratio is (a small
    denominator stretches the upper side), unlike the symmetric delta-method
    interval, which it matches for large samples. When the denominator is not
    clearly above zero the set is unbounded and the interval is ``None``.
    """
    r = sx / sy
    z2 = Z95 * Z95
    g = 1.0 + z2 / n
    qa = g * sy * sy - z2 * syy
    qb = -2.0 * (g * sx * sy - z2 * sxy)
    qc = g * sx * sx - z2 * sxx
    disc = qb * qb - 4.0 * qa * qc
    if qa <= 0 or disc < 0:
        return r, None
    root = math.sqrt(disc)
    lo = (-qb - root) / (2.0 * qa)
    hi = (-qb + root) / (2.0 * qa)
    return r, [_num(min(lo, r)), _num(max(hi, r))]


def retention_estimate(
    obs: np.ndarray, act: np.ndarray, out: np.ndarray, back: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Share of converters in an active stage at each edge, and its variance (product-limit).

    ``obs[k]``/``act[k]``: converters followed to edge ``k`` / of them active there;
    ``out[k]``/``back[k]``: moves out of / back into the active stages in the bin
    ``(edge[k-1], edge[k]]`` before the end of the horizon. Each bin moves the
    share by ``p' = p (1 - a) + (1 - p) b`` with ``a = out / active`` and
    ``b = back / inactive`` among the converters still followed at its start
    (the Aalen-Johansen estimator of a two-state process; without returns it is
    Kaplan-Meier). The variance follows the same recursion,
    ``v' = (1 - a - b)^2 v + p^2 a (1 - a) / Y_A + (1 - p)^2 b (1 - b) / Y_I``,
    which without returns is exactly Greenwood's formula. NaN where nobody is followed.

    >>> p, v = retention_estimate(np.array([10., 6.]), np.array([10., 3.]), np.array([0., 5.]), np.zeros(2))
    >>> [round(float(x), 3) for x in p], [round(float(x), 4) for x in v]
    ([1.0, 0.5], [0.0, 0.025])
    """
    ne = obs.size
    p = np.full(ne, np.nan)
    v = np.full(ne, np.nan)
    if ne == 0 or obs[0] <= 0:
        return p, v
    pk = float(act[0] / obs[0])
    vk = pk * (1.0 - pk) / float(obs[0])
    p[0], v[0] = pk, vk
    for k in range(1, ne):
        if obs[k] <= 0:
            break
        ya = float(act[k - 1])
        yi = float(obs[k - 1] - act[k - 1])
        a = min(float(out[k]) / ya, 1.0) if ya > 0 else 0.0
        b = min(float(back[k]) / yi, 1.0) if yi > 0 else 0.0
        if a or b:
            vk = (1.0 - a - b) ** 2 * vk
            if ya > 0:
                vk += pk * pk * a * (1.0 - a) / ya
            if yi > 0:
                vk += (1.0 - pk) ** 2 * b * (1.0 - b) / yi
            pk = pk * (1.0 - a) + (1.0 - pk) * b
        p[k], v[k] = pk, vk
    return p, v


def _retention_share(p: float, var: float, followed: float) -> dict[str, Any]:
    """A product-limit share with a Wilson interval on its effective sample size.

    The effective size ``p (1 - p) / var`` is the number of converters followed
    when nobody is censored (then this is exactly the Wilson interval of the
    plain share), and fewer where censoring thins the evidence.
    """
    n_eff = p * (1.0 - p) / var if var > 0 and 0 < p < 1 else followed
    lo, hi = wilson(p * n_eff, n_eff) if n_eff > 0 else (p, p)
    return {"mean": _num(p), "ci95": [_num(lo), _num(hi)], "n": int(followed)}


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` of a 1-d array, several times faster on big arrays.

    The fast (unstable) sort, then each run of equal values put back in index
    order: the (run, index) pairs are unique integers, which the fast sort orders
    exactly. NaNs count as equal to each other, as the stable sort keeps them.

    >>> x = np.array([3.0, 1.0, 3.0, np.nan, 1.0, np.nan, 2.0])
    >>> stable_argsort(x).tolist() == np.argsort(x, kind="stable").tolist()
    True
    >>> y = np.array([3.0, -0.0, 1.0, np.nan, 0.0, -np.inf, -1.0, 1.0], dtype=np.float32)
    >>> stable_argsort(y).tolist() == np.argsort(y, kind="stable").tolist()
    True
    """
    n = values.size
    if values.dtype == np.float32 and n < 2**32:
        return _stable_argsort_f32(values)
    order = np.argsort(values)
    s = values[order]
    same = s[1:] == s[:-1]
    if s.dtype.kind == "f":
        same |= np.isnan(s[1:]) & np.isnan(s[:-1])
    if n < 2 or not same.any():
        return order  # no ties: the order is the only one
    run = np.zeros(n, dtype=np.int64)
    np.cumsum(~same, out=run[1:])
    out: np.ndarray = np.sort(run * n + order) % n
    return out


def _stable_argsort_f32(values: np.ndarray) -> np.ndarray:
    """:func:`stable_argsort` of float32 values (the converters' times and LTVs): one sort of
    unique 64-bit keys, the value's bits made to sort as the value does above its index.

    -0.0 is made +0.0 (they are equal, so they tie) and every NaN one NaN above +inf
    (NumPy sorts NaNs last); four times faster than the sort and tie repair for 2^21 values.
    """
    x = values + np.float32(0.0)  # a copy, with -0.0 turned into +0.0
    nan = np.isnan(x)
    bits = x.view(np.uint32)
    if nan.any():
        bits[nan] = np.uint32(0x7FC00000)
    key = bits.astype(np.uint64)
    # negative values: all bits flipped (more negative, smaller); others: the sign bit set
    key ^= np.where(bits >= np.uint32(0x80000000), np.uint64(0xFFFFFFFF), np.uint64(0x80000000))
    key <<= np.uint64(32)
    key |= np.arange(values.size, dtype=np.uint64)
    key.sort()
    key &= np.uint64(0xFFFFFFFF)
    return key.astype(np.intp)


def _quantiles(values: np.ndarray, qs: Sequence[float], weights: np.ndarray | None = None) -> list[float | None]:
    """Quantiles (linear interpolation); with weights, the weighted inverse of the empirical CDF."""
    if weights is None:
        out = np.quantile(values.astype(np.float64), qs)
        return [_num(float(x)) for x in out]
    order = stable_argsort(values)
    cum = np.cumsum(weights[order])
    at = np.searchsorted(cum, np.asarray(qs) * cum[-1], side="left")
    return [_num(float(values[order[min(i, order.size - 1)]])) for i in at]


# --- figures ---------------------------------------------------------------


def figures(t: Tally, *, has_active: bool = True) -> dict[str, Any]:
    """The headline figures of ``docs/metrics.md`` from one tally, as JSON-ready dicts."""
    n = t.n
    conv = t.sum("conv")
    out: dict[str, Any] = {}
    if n == 0:
        nothing = _null("no customers")
        for key in (
            "conversion_rate", "time_to_convert_days", "churn_rate", "revenue_per_customer",
            "cost_per_customer", "value_per_customer", "ltv", "cac", "ltv_to_cac",
        ):  # fmt: skip
            out[key] = dict(nothing)
        out["retention"] = {_day_key(d): _null("no customers", n=0) for d in t.shape.retention_days}
        return out
    out["conversion_rate"] = _share(conv, n, "no customers")
    no_conv = "no customer converted"
    if conv > 0:
        ttc = _mean_ci(t.sum("ttc"), t.sum("ttc2"), conv)
        p50, p90 = _quantiles(t.all_conv_times(), (0.5, 0.9), t.weights())
        out["time_to_convert_days"] = {**ttc, "p50": p50, "p90": p90, "n": int(conv)}
    else:
        out["time_to_convert_days"] = _null(no_conv, n=0)
    ret: dict[str, Any] = {}
    p_ret, v_ret = retention_estimate(t.km_obs, t.km_act, t.km_out, t.km_back) if conv > 0 else (None, None)
    edges = t.shape.km_edges
    for d in t.shape.retention_days:
        if not has_active:
            ret[_day_key(d)] = _null("no stage is marked active", n=0)
        elif p_ret is None or v_ret is None:
            ret[_day_key(d)] = _null(no_conv, n=0)
        else:
            k = int(np.searchsorted(edges, d))
            if t.km_obs[k] <= 0 or not math.isfinite(p_ret[k]):
                ret[_day_key(d)] = _null(f"no converter was followed {d:g} days", n=0)
            else:
                ret[_day_key(d)] = _retention_share(float(p_ret[k]), float(v_ret[k]), float(t.km_obs[k]))
    out["retention"] = ret
    if not has_active:
        out["churn_rate"] = _null("no stage is marked active", n=0)
    else:
        out["churn_rate"] = _share(t.sum("churned"), conv, no_conv)
    out["revenue_per_customer"] = _mean_ci(t.sum("rev"), t.sum("rev2"), n)
    out["cost_per_customer"] = _mean_ci(t.sum("cost"), t.sum("cost2"), n)
    out["value_per_customer"] = _mean_ci(t.sum("value"), t.sum("value2"), n)
    if conv > 0:
        ltv = _mean_ci(t.sum("ltv"), t.sum("ltv2"), conv)
        p10, p50, p90 = _quantiles(t.all_ltv(), (0.1, 0.5, 0.9), t.weights())
        out["ltv"] = {**ltv, "p10": p10, "p50": p50, "p90": p90, "n": int(conv)}
        cac, cac_ci = _ratio_ci(t.sum("pre"), conv, t.sum("pre2"), conv, t.sum("pre_conv"), n)
        out["cac"] = {"mean": _num(cac), "ci95": cac_ci}
        if t.sum("pre") > 0:
            r, r_ci = _ratio_ci(t.sum("ltv"), t.sum("pre"), t.sum("ltv2"), t.sum("pre2"), t.sum("ltv_pre"), n)
            out["ltv_to_cac"] = {"mean": _num(r), "ci95": r_ci}
        else:
            out["ltv_to_cac"] = _null("acquisition cost is zero")
    else:
        out["ltv"] = _null(no_conv, n=0)
        out["cac"] = _null(no_conv)
        out["ltv_to_cac"] = _null(no_conv)
    return out


def phase_figures(
    t: Tally, order: Sequence[str], stage_info: dict[str, tuple[str, str | None, bool]]
) -> dict[str, Any]:
    """Per phase label in ``order``: its stages, the share of customers who entered any of
    them (``reached``), and the sums over its stages of days, revenue, cost and value per customer.

    ``stage_info`` maps a stage name to ``(label, phase, goal)``; phases the
    tally does not know (``t.shape.phases``) have no stage and reach nobody.
    """
    n = max(t.n, 1)
    idx = {name: i for i, name in enumerate(t.shape.stages)}
    by_phase: dict[str | None, list[int]] = {}  # each phase's stages, in the order of stage_info
    for s, info in stage_info.items():
        if s in idx:
            by_phase.setdefault(info[1], []).append(idx[s])
    pos = {label: p for p, label in reversed(list(enumerate(t.shape.phases)))}
    out: dict[str, Any] = {}
    for label in order:
        members = by_phase.get(label, [])
        p = pos.get(label, -1)
        rev = float(t.stage_rev[members].sum())
        cost = float(t.stage_cost[members].sum())
        out[label] = {
            "stages": [t.shape.stages[i] for i in sorted(members)],
            "reached": _num(t.phase_reached[p] / n) if p >= 0 else 0.0,
            "days_per_customer": _num(float(t.stage_days[members].sum()) / n),
            "revenue_per_customer": _num(rev / n),
            "cost_per_customer": _num(cost / n),
            "value_per_customer": _num((rev - cost) / n),
        }
    return out


def headline_pairs(t: Tally) -> np.ndarray:
    """(numerator, denominator) of each :data:`HEADLINE` figure, shape (len(HEADLINE), 2).

    Every headline figure but retention is a ratio of sums over customers, so a
    batch's pair is additive and the whole run's figure is ``sum(num) / sum(den)``.
    Retention is a product-limit estimate, compared from :func:`retention_batch`
    instead; its row here is ``(0, 0)``.
    """
    conv = t.sum("conv")
    rows = {
        "conversion_rate": (conv, t.n),
        "value_per_customer": (t.sum("value"), t.n),
        "revenue_per_customer": (t.sum("rev"), t.n),
        "cost_per_customer": (t.sum("cost"), t.n),
        "ltv": (t.sum("ltv"), conv),
        "cac": (t.sum("pre"), conv),
        "retention_90": (0.0, 0.0),
    }
    return np.array([rows[k] for k in HEADLINE], dtype=np.float64)


def retention_batch(t: Tally, days: float = 90.0) -> np.ndarray | None:
    """The retention counts of ``t`` up to ``days`` (shape (4, edges)), or None if ``days``
    is past the horizon: what a comparison of retention at ``days`` needs of one batch."""
    if days not in t.shape.retention_days:
        return None
    k = int(np.searchsorted(t.shape.km_edges, days)) + 1
    return np.stack([t.km_obs[:k], t.km_act[:k], t.km_out[:k], t.km_back[:k]])


#: Power asked of the customers-needed guidance: a two-sided 95% interval excluding zero 80% of the time.
POWER = 0.8


def customers_needed(delta: float, se: float, customers: int, df: int = 19) -> tuple[int, int, int] | None:
    """Customers per arm for a difference of ``delta`` to show, from its observed standard error.

    The standard error shrinks as ``1/sqrt(N)``, so ``N * ((t95 + t80) * se / |delta|)^2``
    customers give a 95% interval that excludes zero with 80% chance, with the
    same t distribution (``df`` degrees of freedom) as the interval itself. The
    standard error is itself estimated from ``df + 1`` batches, so the answer is
    uncertain: the range is where the true need lies with 95% confidence (chi-square
    on ``df``). Rounded up to hundreds; None when there is no difference to detect.

    >>> customers_needed(1.0, 1.0, 10_000)
    (87300, 50500, 186200)
    """
    if delta == 0 or not math.isfinite(se) or not math.isfinite(delta) or se <= 0:
        return None
    need = customers * ((t_quantile(0.975, df) + t_quantile(POWER, df)) * se / abs(delta)) ** 2

    def hundreds(x: float) -> int:
        return max(100, int(math.ceil(x / 100.0) * 100)) if math.isfinite(x) else 2**62

    lo = need * df / chi2_quantile(0.975, df)
    hi = need * df / chi2_quantile(0.025, df)
    return hundreds(need), hundreds(lo), hundreds(hi)


def _difference(
    key: str, delta: float, se: float, rb: float, identical: bool, nb: int, customers: int
) -> dict[str, Any]:
    """One figure's difference, its t-interval and P(better) from the same t distribution."""
    df = max(nb - 1, 1)
    if identical:
        return {
            "delta": 0.0, "ci95": [0.0, 0.0], "relative": 0.0 if rb != 0 else None, "p_better": 0.5,
            "better": BETTER[key], "identical": True, "customers_needed": None, "customers_needed_range": None,
        }  # fmt: skip
    half = t_quantile(0.975, df) * se if nb > 1 else math.inf
    p_up = t_cdf(delta / se, df) if se > 0 and nb > 1 else 1.0 if delta > 0 else 0.0 if delta < 0 else 0.5
    p_better = p_up if BETTER[key] == "higher" else 1.0 - p_up
    need = customers_needed(delta, se, customers, df)
    return {
        "delta": _num(delta),
        "ci95": [_num(delta - half), _num(delta + half)],
        "relative": _num(delta / rb) if rb != 0 else None,
        "p_better": _num(p_better),
        "better": BETTER[key],
        "identical": False,
        "customers_needed": need[0] if need else None,
        "customers_needed_range": [need[1], need[2]] if need else None,
    }


def _retention_at(batches: np.ndarray) -> float:
    p, _v = retention_estimate(*batches)
    return float(p[-1])


def compare(
    base: np.ndarray,
    other: np.ndarray,
    customers: int,
    base_ret: np.ndarray | None = None,
    other_ret: np.ndarray | None = None,
) -> dict[str, Any]:
    """Scenario minus baseline for each headline figure, from per-batch pairs.

    ``base`` and ``other`` have shape (batches, len(HEADLINE), 2). Each figure
    is a ratio R = sum(num) / sum(den); its batch residuals
    ``u_b = B * (num_b - R * den_b) / sum(den)`` (delta method) have mean 0
    and ``var(R) ~ var(u) / B``. The paired differences ``u_b(other) - u_b(base)``
    give the standard error of the difference, and a t-interval with B - 1
    degrees of freedom; P(better) is read off the same t distribution, so it is
    above 97.5% exactly when the interval lies above zero. For figures that are
    plain means over equal batches this is exactly the t-interval of paired batch means.

    Retention at 90 days is a product-limit estimate: ``base_ret``/``other_ret``
    (shape (batches, 4, edges), see :func:`retention_batch`) give its
    leave-one-batch-out jackknife standard error of the paired difference.
    Arms whose batches are identical bit for bit differ by exactly zero
    (``identical``), never by rounding.
    """
    nb = base.shape[0]
    out: dict[str, Any] = {}
    for j, key in enumerate(HEADLINE):
        if key == "retention_90":
            out[key] = _compare_retention(base_ret, other_ret, customers)
            continue
        got = contrast([base, other], [-1.0, 1.0], key)
        if got is None:
            reason = "no customer converted" if key in ("ltv", "cac") else "not measured"
            out[key] = {"delta": None, "reason": reason}
            continue
        identical = bool(np.array_equal(base[:, j], other[:, j]))
        rb = float(base[:, j, 0].sum() / base[:, j, 1].sum())
        out[key] = _difference(key, got[0], got[1], rb, identical, nb, customers)
    return out


def contrast(arms: Sequence[np.ndarray], weights: Sequence[float], key: str) -> tuple[float, float] | None:
    """``sum(w_a * R_a)`` over arms of one run for a headline ratio figure, and its standard error.

    Each arm's batches (shape (batches, len(HEADLINE), 2), the same customers in
    each arm's batch b) give its ratio R = sum(num) / sum(den) and the delta
    method's batch residuals ``u_b = B * (num_b - R * den_b) / sum(den)``; the
    combination's residuals ``sum(w_a * u_b(a))``, paired by batch, give its
    standard error (inf with one batch). :func:`compare` is the contrast
    (-1, +1) of two arms; the tornado's swings are contrasts of two or four.
    None when an arm has no denominator (an LTV with no converters).
    """
    j = HEADLINE.index(key)
    nb = arms[0].shape[0]
    value = 0.0
    resid = np.zeros(nb)
    for batches, w in zip(arms, weights, strict=True):
        num, den = batches[:, j, 0], batches[:, j, 1]
        total = den.sum()
        if total <= 0:
            return None
        r = num.sum() / total
        value += w * r
        resid += w * nb * (num - r * den) / total
    se = float(np.std(resid, ddof=1) / math.sqrt(nb)) if nb > 1 else math.inf
    return float(value), se


def noise_of(results: Results, figure: str, arms: Sequence[tuple[int, float]]) -> float | None:
    """Half the 95% interval of ``sum(w * figure of arm k)`` over ``arms`` [(k, w)] of one run.

    The arms of one run see the same customers, so most of the noise cancels, but not all:
    once a variant sends a customer elsewhere, the random numbers that follow fall
    to other draws. The interval is the one the comparisons use (the t-interval
    on the run's paired batches, :func:`contrast`): the tornado's swings and the
    attribution's removal effects and Shapley values are such sums.
    Retention at 90 days (``retention.90``) is a product-limit estimate: its
    noise is the leave-one-batch-out jackknife :func:`compare` uses for it. None
    for the figures that have no batch pairs (LTV : CAC, days to convert, churn,
    retention at other days) or are undefined in an arm.
    """
    nb = results.arms[0].batches.shape[0]
    if figure in ("retention.90", "retention_90"):
        return _retention_noise([results.arms[k].retention_batches for k, _w in arms], [w for _k, w in arms], nb)
    if figure not in HEADLINE:
        return None
    got = contrast([results.arms[k].batches for k, _w in arms], [w for _k, w in arms], figure)
    if got is None or nb < 2:
        return None
    return t_quantile(0.975, nb - 1) * got[1]


def _retention_noise(batches: Sequence[np.ndarray | None], weights: Sequence[float], nb: int) -> float | None:
    """Half the 95% interval of ``sum(w * retention at 90 days)``: a jackknife over the paired batches."""
    if nb < 2 or any(b is None for b in batches):
        return None
    arms = [b for b in batches if b is not None]
    if not all(math.isfinite(_retention_at(b.sum(axis=0))) for b in arms):
        return None
    se = _retention_jackknife(arms, weights)
    return t_quantile(0.975, nb - 1) * se if math.isfinite(se) else None


def _retention_jackknife(arms: Sequence[np.ndarray], weights: Sequence[float]) -> float:
    """The leave-one-batch-out jackknife standard error of ``sum(w * retention at 90 days)`` over
    arms of one run (each (batches, 4, edges), see :func:`retention_batch`); inf when it cannot be had."""
    nb = arms[0].shape[0]
    totals = [b.sum(axis=0) for b in arms]
    loo = np.array([sum(w * _retention_at(t - b[k]) for t, b, w in zip(totals, arms, weights, strict=True))
                    for k in range(nb)])
    if not np.isfinite(loo).all() or nb < 2:
        return math.inf
    return math.sqrt((nb - 1) / nb * float(np.sum((loo - loo.mean()) ** 2)))


def _compare_retention(base: np.ndarray | None, other: np.ndarray | None, customers: int) -> dict[str, Any]:
    """Retention at 90 days, other minus base, with a jackknife over the paired batches."""
    reason = {"delta": None, "reason": "no converter was followed 90 days"}
    if base is None or other is None:
        return reason
    tb, to = base.sum(axis=0), other.sum(axis=0)
    rb, ro = _retention_at(tb), _retention_at(to)
    if not (math.isfinite(rb) and math.isfinite(ro)):
        return reason
    nb = base.shape[0]
    identical = bool(np.array_equal(base, other))
    se = _retention_jackknife([base, other], [-1.0, 1.0])
    return _difference("retention_90", ro - rb, se, rb, identical, nb, customers)


# --- result values ---------------------------------------------------------


@dataclass
class ArmResult:
    """One arm (the baseline or a scenario): its figures and the tallies behind them.

    ``metrics``, ``stages``, ``touchpoints``, ``triggers``, ``segments`` are the
    JSON-ready dicts of the contract; ``batches`` the per-batch headline pairs
    (shape (B, 7, 2)) used for comparisons; ``tally`` the merged statistics.
    """

    name: str
    label: str
    tally: Tally
    segment_tallies: dict[str, Tally]
    segment_info: dict[str, tuple[str, float]]
    batches: np.ndarray
    stage_info: dict[str, tuple[str, str | None, bool]]
    touchpoint_info: dict[str, tuple[str, str]]
    trigger_info: dict[str, str]
    has_active: bool
    versus_baseline: dict[str, Any] | None = None
    retention_batches: np.ndarray | None = None  # per batch, what comparing retention at 90 days needs
    phase_order: tuple[str, ...] = ()  # the journey's phase labels, in the order it lists them
    # with a policy holdout: its share and the arm against the same arm with everyone held out
    holdout: dict[str, Any] | None = None
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)  # per task with a capacity: its queue
    metrics: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = figures(self.tally, has_active=self.has_active)

    # --- stage and edge figures ---------------------------------------------

    @property
    def stages(self) -> dict[str, Any]:
        """Per stage: reached, mean_visits, mean_dwell_days, exits (share of completed stays),
        and the money and days booked in the stage per customer."""
        t = self.tally
        names = t.shape.stages
        n = max(t.n, 1)
        exits = t.exits
        by_source = t.shape.edges_by_source()
        out: dict[str, Any] = {}
        for i, name in enumerate(names):
            label, phase, _goal = self.stage_info[name]
            done = float(t.completed[i])
            row = [(j, exits[k]) for j, k in by_source.get(i, ()) if exits[k] > 0]
            out[name] = {
                "label": label,
                "phase": phase,
                "reached": _num(t.reached[i] / n),
                "mean_visits": _num(t.visits[i] / n),
                "mean_dwell_days": _num(t.dwell_sum[i] / done) if done > 0 else None,
                "in_stage_at_horizon": _num(t.at_horizon[i] / n),
                "exits": {names[j]: _num(c / done) for j, c in row},
                "traversals_per_customer": {names[j]: _num(c / n) for j, c in row},
                "revenue_per_customer": _num(t.stage_rev[i] / n),
                "cost_per_customer": _num(t.stage_cost[i] / n),
                "days_per_customer": _num(t.stage_days[i] / n),
                "days_per_entrant": _num(t.stage_days[i] / t.reached[i]) if t.reached[i] > 0 else None,
            }
        return out

    @property
    def phases(self) -> dict[str, Any]:
        """Per phase (in the journey's order): reached, and days, revenue, cost, value per customer."""
        return phase_figures(self.tally, self.phase_order, self.stage_info)

    def edge_flows(self) -> dict[tuple[str, str], dict[str, float]]:
        """``(source, target)`` -> ``share_of_stays``, ``per_customer``, ``per_1000``."""
        t = self.tally
        names = t.shape.stages
        n = max(t.n, 1)
        out: dict[tuple[str, str], dict[str, float]] = {}
        for (i, j), c in zip(t.shape.edges, t.exits, strict=True):
            if c > 0:
                out[(names[i], names[j])] = {
                    "share_of_stays": float(c / float(t.completed[i])),
                    "per_customer": float(c / n),
                    "per_1000": float(1000 * c / n),
                }
        return out

    @property
    def touchpoints(self) -> dict[str, Any]:
        """Per touchpoint: contacts (sent), responses and discounted cost per customer; the trigger
        contacts the policy capped, delayed or held out; the contacts reaching each step of its
        response funnel, the cost on response, and a task's queue."""
        t = self.tally
        n = max(t.n, 1)
        out: dict[str, Any] = {}
        offsets = t.shape.step_offsets()
        for i, name in enumerate(t.shape.touchpoints):
            label, channel = self.touchpoint_info[name]
            steps = t.shape.steps[i] if i < len(t.shape.steps) else ()
            out[name] = {
                "label": label,
                "channel": channel,
                "contacts_per_customer": _num(t.tp_contacts[i] / n),
                "responses_per_customer": _num(t.tp_responses[i] / n),
                "cost_per_customer": _num(t.tp_cost[i] / n),
                "capped_per_customer": _num(t.tp_capped[i] / n),
                "delayed_per_customer": _num(t.tp_delayed[i] / n),
                "held_out_per_customer": _num(t.tp_held[i] / n),
                "steps_per_customer": {s: _num(t.tp_steps[offsets[i] + k] / n) for k, s in enumerate(steps)},
                "response_cost_per_customer": _num(t.tp_resp_cost[i] / n),
                "queue": self.queues.get(name),
            }
        return out

    @property
    def triggers(self) -> dict[str, Any]:
        """Per trigger: firings and reroutes per customer."""
        t = self.tally
        n = max(t.n, 1)
        return {
            name: {
                "label": self.trigger_info[name],
                "fired_per_customer": _num(t.trig_fired[i] / n),
                "rerouted_per_customer": _num(t.trig_rerouted[i] / n),
            }
            for i, name in enumerate(t.shape.triggers)
        }

    @property
    def segments(self) -> dict[str, Any]:
        """Per segment: label, share (as written), customers drawn, and the headline figures."""
        if len(self.segment_tallies) <= 1:
            return {}
        return {
            name: {
                "label": self.segment_info[name][0],
                "share": _num(self.segment_info[name][1]),
                "customers": int(tal.n),
                "metrics": figures(tal, has_active=self.has_active),
                "phases": phase_figures(tal, self.phase_order, self.stage_info),
            }
            for name, tal in self.segment_tallies.items()
        }

    def retention_curve(self) -> list[tuple[float, float | None, int]]:
        """``(days since conversion, share active, converters followed that long)`` every 7 days
        (the product-limit estimate of the retention figures)."""
        t = self.tally
        edges = t.shape.km_edges
        p, _v = retention_estimate(t.km_obs, t.km_act, t.km_out, t.km_back)
        out: list[tuple[float, float | None, int]] = []
        for k in range(t.shape.curve_points):
            d = k * t.shape.curve_step
            i = min(int(np.searchsorted(edges, d - 1e-9)), edges.size - 1)
            out.append((d, _num(float(p[i])) if t.km_obs[i] > 0 else None, int(t.km_obs[i])))
        return out

    def ltv_histogram(self, bins: int = 30) -> tuple[list[float], list[int]]:
        """Bin edges and counts of the converters' LTV (empty lists when nobody converted).

        ``bins`` equal bins from the least to the largest LTV; but when the LTVs take at most
        ``2 * bins`` distinct values (a monthly fee: one value per number of months paid), one
        bar per value, its edges halfway to its neighbours. Equal bins would alias such a
        lattice: some bins catch two values, some none, and the chart shows a comb of gaps
        that is not in the data.
        """
        v = self.tally.all_ltv()
        if v.size == 0:
            return [], []
        lo, hi = float(v.min()), float(v.max())
        # bins must be wider than the float32 values' rounding: LTVs that agree to 6 digits (all
        # converters earning the same large amount) are one bar of a wider range, not an error
        least = float(np.spacing(np.float32(max(abs(lo), abs(hi))))) * bins * 4
        edges: np.ndarray | int = bins
        if hi - lo <= least:
            hi = lo + max(1.0, least)
        else:
            values = np.unique(v).astype(np.float64)
            if values.size <= 2 * bins:
                mids = (values[1:] + values[:-1]) / 2
                edges = np.concatenate(([values[0] - (mids[0] - values[0])], mids,
                                        [values[-1] + (values[-1] - mids[-1])]))
        counts, out = np.histogram(v, bins=edges, range=(lo, hi), weights=self.tally.weights())
        return [float(e) for e in out], [round(float(c)) for c in counts]

    def to_dict(self) -> dict[str, Any]:
        """This arm in the JSON contract."""
        days, share, n = zip(*self.retention_curve(), strict=True)
        edges, counts = self.ltv_histogram()
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "metrics": self.metrics,
            "stages": self.stages,
            "touchpoints": self.touchpoints,
            "triggers": self.triggers,
            "phases": self.phases,
            "segments": self.segments,
            "charts": {
                "retention_curve": {"days": list(days), "share": list(share), "n": list(n)},
                "ltv_histogram": {"edges": edges, "counts": counts},
            },
        }
        if self.versus_baseline is not None:
            out["versus_baseline"] = self.versus_baseline
        if self.holdout is not None:
            out["holdout"] = self.holdout
        return out


@dataclass
class Results:
    """Everything a run measured: one :class:`ArmResult` per arm, baseline first."""

    journey: str
    source: str | None
    customers: int
    seed: int
    horizon_days: float
    currency: str | None
    batches: int
    arms: list[ArmResult]
    # per arm, the journey's KPI targets against its figures (journeydsl.analysis.targets); None: no targets block
    targets: dict[str, list[dict[str, Any]]] | None = None
    # with --draws: the spread of every figure over parameter draws (see journeydsl.analysis.uncertainty)
    uncertainty: dict[str, Any] | None = None

    def arm(self, name: str) -> ArmResult:
        """The arm called ``name`` (``KeyError`` if none)."""
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def baseline(self) -> ArmResult:
        return self.arms[0]

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``docs/metrics.md`` (no NaN, no infinity)."""
        out = self._plain_dict()
        if self.uncertainty is not None:
            _inject_uncertainty(out, self.uncertainty)
        return out

    def _plain_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "journey": self.journey,
            "source": self.source,
            "customers": self.customers,
            "seed": self.seed,
            "horizon_days": _num(self.horizon_days),
            "currency": self.currency,
            "batches": self.batches,
            "scenarios": [a.to_dict() for a in self.arms],
            **({"targets": self.targets} if self.targets is not None else {}),
        }


def _inject_uncertainty(out: dict[str, Any], summary: dict[str, Any]) -> None:
    """Put the draws' spreads beside each figure's ``ci95`` (``uncertainty``), ``p_best`` per scenario."""
    for path, entry in summary["figures"].items():
        node: Any = out
        for k in path:
            node = node[k]
        node["uncertainty"] = {k: (_num(v) if isinstance(v, float) else [_num(x) for x in v]
                                   if isinstance(v, list) else v) for k, v in entry.items()}
    for arm in out["scenarios"]:
        arm["p_best"] = _num(summary["p_best"].get(arm["name"], 0.0))
    out["draws"] = summary["draws"]
    out["parameters"] = [
        {**p, "mean": _num(p["mean"]), "interval95": [_num(x) for x in p["interval95"]]}
        for p in summary["parameters"]
    ]
