"""Calendar-time forecasts: a journey's ``plan`` turned into month-by-month figures.

How it is computed (``docs/commands/forecast.md`` says it for strategists):

1. **One cohort, by age.** The plan's journey (its scenario, if it names one)
   is simulated once for ``customers`` customers with the discount off and the
   horizon stretched to the plan's length, tallying by day of age since entry:
   first goal entries, customers in an ``active`` stage at each whole day,
   revenue, cost and acquisition cost (:class:`journeydsl.engine.results.Tally`'s
   ``age_*`` arrays), per block, plus per month of age the sums of squares of
   each customer's money.
2. **Arrivals by calendar month**: ``arrivals × (1 + growth)^k`` times the
   month's seasonality, a one-off month replacing both; spread evenly over the
   days of the calendar month (real month lengths).
3. **Convolution.** A flow at age ``k + f`` days (``f`` the part of a day) of a
   customer who arrived during day ``d`` falls on calendar day ``d + k`` with
   chance ``1 - f`` and on ``d + k + 1`` with chance ``f``, since the arrival is
   spread evenly within its day (the engine books it so); customers active at
   the end of a month are, per arrival day, the time active in the day of age
   that ends at the month's end (the mean over the arrival's moment in its day). Summing over the
   days of each cohort month gives, per cohort month ``m`` and calendar month
   ``j``, what one arrival of ``m`` adds to ``j``; times the arrivals, summed
   over cohorts, the month's figure.
4. **Budget.** The cap is on acquisition spending (the cost spent on customers
   before they convert, non-converters' whole cost included: what arrivals
   drive). Month by month, if the month's acquisition spending would pass the
   cap, that month's arrivals are scaled down so it meets the cap (earlier
   cohorts' spending is already committed; if it alone passes the cap, the
   month gets no arrivals).
5. **Intervals** add two variances: the simulation's (the spread of the same
   sum computed from each block's tallies, over the number of blocks) and the
   arrivals' (Poisson arrivals: a sum over a Poisson number of customers has
   variance ``arrivals × E[X²]``; for counts of customers ``X`` is 0 or 1, for
   money the engine tallies ``E[X²]`` by calendar month after the arrival
   month, each simulated customer placed at a random moment of a month of
   365/12 days). CAC's interval is the delta method
   on acquisition cost over conversions without their covariance (wider than
   exact, since both rise with arrivals).

What the fast path covers: everything that depends on a customer's age only —
the whole journey, its segments, triggers, periodic and one-off money, and a
plan's scenario. Effects that depend on the calendar month a customer is in
(seasonal conversion shares, a March-only campaign price) are not modelled:
each calendar month's cohort behaves alike, only its size changes.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from journeydsl.engine.results import Z95, Tally
from journeydsl.language.checks import DEFAULT_MAX_WORK
from journeydsl.language.model import CalendarPlan, Journey

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.engine.montecarlo import WorkEstimate

__all__ = ["SCHEMA_ID", "Forecast", "Note", "calendar_months", "check_work", "forecast", "load_schema",
           "plan_arrivals"]

SCHEMA_ID = "journeydsl.forecast/1"
ROW_KEYS = ("arrivals", "conversions", "active_end", "revenue", "cost", "value", "cumulative_value", "cac")

ProgressFn = Callable[[float, int], None]


def calendar_months(start: str, months: int) -> list[tuple[str, int, int]]:
    """``(YYYY-MM, first day, days)`` of each month, days counted from the plan's start.

    >>> calendar_months("2028-01", 3)
    [('2028-01', 0, 31), ('2028-02', 31, 29), ('2028-03', 60, 31)]
    """
    y, m = (int(x) for x in start.split("-"))
    out: list[tuple[str, int, int]] = []
    day = 0
    for _ in range(months):
        length = calendar.monthrange(y, m)[1]
        out.append((f"{y:04d}-{m:02d}", day, length))
        day += length
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def plan_arrivals(plan: CalendarPlan) -> np.ndarray:
    """Planned arrivals per month (before any budget cap).

    >>> from journeydsl.language.model import CalendarPlan
    >>> p = CalendarPlan(name="p", start="2027-11", months=4, arrivals=100, growth=0.1,
    ...                  seasonality=((12, 1.5),), one_offs=(("2028-02", 7.0),))
    >>> [round(float(x), 2) for x in plan_arrivals(p)]
    [100.0, 165.0, 121.0, 7.0]
    """
    season = dict(plan.seasonality)
    one_off = dict(plan.one_offs)
    out = np.zeros(plan.months)
    for k, (label, _d, _n) in enumerate(calendar_months(plan.start, plan.months)):
        if label in one_off:
            out[k] = one_off[label]
        else:
            out[k] = plan.arrivals * (1.0 + plan.growth) ** k * season.get(int(label[5:]), 1.0)
    return out


# --- weights: what one arrival of cohort month m adds to calendar month j, by age --------
# The two ``_*_weights`` functions spell the rule out as matrices (one cohort at a time); the
# forecast uses :func:`flow_months` and :func:`occupancy_months`, the same sums by cumulative
# sums for all cohorts at once (the tests check they agree).


def _flow_weights(starts: np.ndarray, lengths: np.ndarray, ages: int, m: int) -> np.ndarray:
    """``W[k, j]``: share of a flow at day offset ``k`` of cohort ``m``'s arrivals falling in month ``j``.

    An arrival on day ``d`` (evenly over the cohort month's days) books a flow of
    day offset ``k`` (see ``engine._by_offset``) on calendar day ``d + k``.
    """
    k = np.arange(ages, dtype=float)[:, None]
    lo_j = starts[None, :].astype(float)
    hi_j = (starts + lengths)[None, :].astype(float)
    d0, d1 = float(starts[m]), float(starts[m] + lengths[m])
    w: np.ndarray = np.clip(np.minimum(d1 + k, hi_j) - np.maximum(d0 + k, lo_j), 0.0, None) / lengths[m]
    return w


def _occupancy_weights(starts: np.ndarray, lengths: np.ndarray, ages: int, m: int) -> np.ndarray:
    """``G[k, j]``: weight of the active time in age day ``k`` in cohort ``m``'s active customers at month ``j``'s end.

    An arrival at day ``d + u`` (``u`` even in [0, 1)) is ``E_j - d - u`` old at the month's
    end ``E_j``: averaged over ``u``, the time active in age day ``E_j - d - 1``.
    """
    nm = starts.size
    d = np.arange(starts[m], starts[m] + lengths[m])[:, None]
    ends = (starts + lengths)[None, :]
    cols = np.broadcast_to(np.arange(nm)[None, :], (d.size, nm))
    age = ends - d - 1
    ok = (age >= 0) & (age < ages)
    g = np.bincount(age[ok] * nm + cols[ok], minlength=ages * nm).astype(float)
    out: np.ndarray = g.reshape(ages, nm) / lengths[m]
    return out


def _cumulative(c: np.ndarray) -> np.ndarray:
    """``out[..., y] = sum(c[..., :y])`` for ``y = 0 .. len``."""
    out = np.zeros((*c.shape[:-1], c.shape[-1] + 1))
    np.cumsum(c, axis=-1, out=out[..., 1:])
    return out


def flow_months(curves: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``out[c, m, j]``: what one arrival of cohort month ``m`` books in calendar month ``j``.

    ``curves[c, k]`` is a per-arrival flow at day offset ``k`` (see ``engine._by_offset``).
    The same as ``curves @ _flow_weights(..., m)`` for every ``m``, by double cumulative
    sums: an arrival on day ``d`` (evenly over the cohort's days ``D_m .. D_m + L_m - 1``)
    books offset ``k`` on day ``d + k``, so calendar day ``t`` gets
    ``(F(t - D_m + 1) - F(t - D_m - L_m + 1)) / L_m`` with ``F`` the cumulative curve,
    and a month's days sum to differences of ``G``, the cumulative ``F``.
    """
    a = curves.shape[-1]
    F = _cumulative(curves)  # F[y] = sum of offsets below y; y = 0 .. a
    G = _cumulative(F)  # G[y] = sum of F[x] for x < y; y = 0 .. a + 1

    def g(y: np.ndarray) -> np.ndarray:
        yc = np.clip(y, 0, a + 1)
        out: np.ndarray = G[..., yc] + np.maximum(y - a - 1, 0) * F[..., a : a + 1][..., None]
        return out

    s0, e0 = starts[None, :], (starts + lengths)[None, :]  # calendar month j
    dm, lm = starts[:, None], lengths[:, None]  # cohort month m
    total = g(e0 - dm + 1) - g(s0 - dm + 1) - g(e0 - dm - lm + 1) + g(s0 - dm - lm + 1)
    out: np.ndarray = total / lm
    return out


def occupancy_months(curves: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``out[c, m, j]``: of one arrival of cohort month ``m``, the chance to be active at month ``j``'s end.

    ``curves[c, k]``: the mean time spent in an active stage between ages ``k`` and ``k + 1``.
    An arrival at day ``d + u`` is ``E_j - d - u`` old at the month's end ``E_j``; averaged
    over ``u`` (even in the day), that is the time active in age day ``E_j - d - 1``,
    averaged over the cohort's days: exact, even for fixed waits that end on a whole day.
    """
    cum = _cumulative(curves)
    a = curves.shape[-1]

    def o(y: np.ndarray) -> np.ndarray:
        out: np.ndarray = cum[..., np.clip(y, 0, a)]
        return out

    e0 = (starts + lengths)[None, :]
    dm, lm = starts[:, None], lengths[:, None]
    out: np.ndarray = np.where(e0 > dm, (o(e0 - dm) - o(e0 - dm - lm)) / lm, 0.0)
    return out


# --- the result ---------------------------------------------------------------------------


def _ci(mean: float, var: float, *, floor: float | None = 0.0) -> dict[str, Any]:
    half = Z95 * math.sqrt(max(var, 0.0))
    lo = mean - half if floor is None else max(floor, mean - half)
    return {"mean": float(mean), "ci95": [float(lo), float(mean + half)]}


@dataclass(frozen=True)
class Note:
    """A note for the reader: an English message with ``{placeholders}`` and their values.

    The JSON holds :meth:`text`; the tables and the report show the message in the reader's
    language (it is in the catalogues: ``note_`` marks it) with the values in its formats.
    Values are numbers, or a calendar month ``YYYY-MM`` under the name ``month``. A note with a
    ``plural`` (made by ``note_n_``) has words that follow the count ``n``: ``message`` is its
    singular.
    """

    message: str
    values: tuple[tuple[str, Any], ...] = ()
    plural: str = ""

    def text(self) -> str:
        """The note in English, numbers with thousands separators (as the JSON holds it).

        >>> [note_n_("over {n} draw", "over {n} draws", n=n).text() for n in (1, 1_200)]
        ['over 1 draw', 'over 1,200 draws']
        """
        shown = {k: f"{v:,.0f}" if isinstance(v, int | float) else v for k, v in self.values}
        message = self.plural if self.plural and shown["n"] != "1" else self.message
        return message.format(**shown)


def note_(message: str, **values: Any) -> Note:
    """A :class:`Note` (the name marks ``message`` for the catalogues)."""
    return Note(message, tuple(values.items()))


def note_n_(singular: str, plural: str, **values: Any) -> Note:
    """A :class:`Note` whose words follow the count ``n`` among ``values`` ('1 draw', '21 выборке')."""
    return Note(singular, tuple(values.items()), plural)


@dataclass
class Forecast:
    """A plan's month-by-month forecast: means, variances and the cohort layers."""

    journey: str
    plan: CalendarPlan
    currency: str | None
    customers: int
    seed: int
    months: list[str]
    planned: np.ndarray  # arrivals before the budget cap
    arrivals: np.ndarray  # arrivals after it
    mean: dict[str, np.ndarray]  # per row key but cac: per month
    var: dict[str, np.ndarray]
    cohort_active: np.ndarray  # [cohort month, calendar month] active customers at month end
    cohort_revenue: np.ndarray  # [cohort month, calendar month] revenue
    targets: list[dict[str, Any]] | None = None
    notes: list[Note] = field(default_factory=list)
    draws: int | None = None  # with --draws: parameter draws whose spread is in the intervals
    draw_var: dict[str, np.ndarray] = field(default_factory=dict)  # their variance, per row key
    scenario_label: str | None = None  # the label of the plan's scenario, for people (None: the baseline)
    referred: np.ndarray | None = None  # per month: the arrivals referrals brought (in `arrivals`)

    @property
    def capped(self) -> list[int]:
        """Months whose arrivals the budget scaled down."""
        own = self.arrivals if self.referred is None else self.arrivals - self.referred
        return [k for k in range(len(self.months)) if own[k] < self.planned[k] - 1e-9]

    def row(self, k: int) -> dict[str, Any]:
        """Month ``k`` in the JSON contract."""
        out: dict[str, Any] = {"month": self.months[k]}

        def extra(key: str) -> float:
            v = self.draw_var.get(key)
            return float(v[k]) if v is not None else 0.0

        out["arrivals"] = _ci(float(self.arrivals[k]), float(self.arrivals[k]) + extra("arrivals"))
        for key in ROW_KEYS[1:]:
            if key == "cac":
                conv = float(self.mean["conversions"][k])
                if conv <= 0:
                    out["cac"] = {"mean": None, "reason": "no conversions this month"}
                else:
                    out["cac"] = _ci(float(self.mean["cac"][k]), float(self.var["cac"][k]) + extra("cac"))
            else:
                floor = None if key in ("value", "cumulative_value") else 0.0
                out[key] = _ci(float(self.mean[key][k]), float(self.var[key][k]) + extra(key), floor=floor)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``journeydsl.forecast/1`` JSON document."""
        p = self.plan
        budget: dict[str, Any] | None = None
        if p.budget is not None:
            budget = {
                "per_month": p.budget,
                "capped": [
                    {"month": self.months[k], "planned": float(self.planned[k]), "arrivals": float(self.arrivals[k])}
                    for k in self.capped
                ],
            }
        return {
            "schema": SCHEMA_ID,
            "journey": self.journey,
            "plan": p.name,
            "label": p.title,
            "scenario": p.scenario or "baseline",
            "currency": self.currency,
            "customers": self.customers,
            "seed": self.seed,
            "budget": budget,
            "months": [self.row(k) for k in range(len(self.months))],
            "cohorts": {
                "active_end": [[float(x) for x in r] for r in self.cohort_active],
                "revenue": [[float(x) for x in r] for r in self.cohort_revenue],
            },
            "targets": self.targets,
            "draws": self.draws,
            "notes": [n.text() for n in self.notes],
            **({"referrals": {"per_month": [float(x) for x in self.referred], "total": float(self.referred.sum())}}
               if self.referred is not None and self.referred.any() else {}),
        }


def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``journeydsl forecast --format json``."""
    import json
    from importlib import resources

    text = resources.files("journeydsl").joinpath("schema/forecast.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- the run --------------------------------------------------------------------------------


def _cohort(journey: Journey, plan: str | None) -> tuple[CalendarPlan, Journey, int]:
    """The plan, the journey its one cohort follows and for how many days.

    The cohort is the plan's scenario (else the baseline) with money booked when it
    happens (no discount), followed to the plan's end.
    """
    p = journey.plan(plan)
    arm = journey.with_scenario(p.scenario or "baseline")
    nominal = arm.model_copy(update={"discount": 0.0, "horizon_days": month_days(p)})
    return p, nominal, int(month_days(p))


def check_work(journey: Journey, plan: str | None, customers: int | None, seed: int, draws: int = 0, *,
               max_work: float | None = DEFAULT_MAX_WORK,
               on_estimate: Callable[[WorkEstimate], None] | None = None) -> None:
    """Judge a forecast's work before it starts: its cohort followed to the plan's end, once and
    once per draw (see :func:`journeydsl.engine.montecarlo.check_job`); TooMuchWork over ``max_work``."""
    from journeydsl.engine.montecarlo import check_job

    _p, cohort, days = _cohort(journey, plan)
    n = journey.customers if customers is None else customers
    check_job([("baseline", cohort)], n, seed, 1 + draws, horizon_days=float(days), max_work=max_work,
              on_estimate=on_estimate)


def _cohort_blocks(
    cohorts: list[tuple[Journey, int]],
    customers: int,
    seed: int,
    finish: Callable[[int, list[Tally]], Any],
    *,
    progress: ProgressFn | None = None,
    workers: int = 1,
    executor: Executor | None = None,
) -> list[Any]:
    """``finish(k, blocks)`` for each cohort ``(journey, days)``: one tally per block (segments merged)
    of ``customers`` customers followed ``days`` days by age.

    All cohorts are one job of (cohort, block) units for the engine
    (:func:`~journeydsl.engine.montecarlo.run_units`), on the same block seeds; a
    cohort's blocks are let go once ``finish`` has them.
    """
    from journeydsl.engine.montecarlo import _arm_plan, _shape, block_sizes, run_units

    nb = len(block_sizes(customers))
    shapes = [replace(_shape([journey], float(days), nb), age_days=days + 1) for journey, days in cohorts]
    plans = [_arm_plan(journey, shape) for (journey, _d), shape in zip(cohorts, shapes, strict=True)]
    blocks: list[list[Tally]] = [[] for _ in cohorts]
    out: list[Any] = [None] * len(cohorts)

    def deliver(k: int, b: int, tallies: list[Tally]) -> None:
        total = Tally(shapes[k])
        for tal in tallies:
            total.merge(tal)
        blocks[k].append(total)
        if len(blocks[k]) == nb:
            out[k] = finish(k, blocks[k])
            blocks[k] = []

    # each cohort a run of its own: one process runs them cohort by cohort, so that only one
    # cohort's blocks wait for their last (all cohorts as one run went block by block across every
    # draw, and held every draw's unfinished blocks: 1.4 MB a draw, 24 GiB at 17,000 draws)
    run_units(plans, customers, seed, deliver, workers=workers, executor=executor, progress=progress,
              arms_per_run=[1] * len(plans))
    return out


def forecast(
    journey: Journey,
    plan: str | None = None,
    customers: int | None = None,
    seed: int = 0,
    *,
    progress: ProgressFn | None = None,
    workers: int = 1,
    executor: Executor | None = None,
) -> Forecast:
    """The month-by-month forecast of ``journey``'s plan ``plan`` (default: its first plan).

    ``customers`` is the size of the one cohort simulated (default: the journey's
    ``customers``); ``KeyError`` if there is no such plan. ``workers`` or ``executor``
    spread its blocks (the same numbers however they are spread).
    """
    p, nominal, days = _cohort(journey, plan)
    n = journey.customers if customers is None else customers
    return _cohort_blocks([(nominal, days)], n, seed, lambda _k, blocks: _from_blocks(journey, p, blocks, n, seed),
                          progress=progress, workers=workers, executor=executor)[0]


def _from_blocks(journey: Journey, p: CalendarPlan, blocks: list[Tally], n: int, seed: int) -> Forecast:
    """The forecast of plan ``p`` from its cohort's block tallies (see the module's docstring)."""
    cal = calendar_months(p.start, p.months)
    months = [c[0] for c in cal]
    starts = np.array([c[1] for c in cal], np.int64)
    lengths = np.array([c[2] for c in cal], np.int64)
    nb = len(blocks)
    sizes = np.array([t.n for t in blocks], float)
    total = Tally(blocks[0].shape)
    for t in blocks:
        total.merge(t)
    M = p.months

    # per-arrival curves by age day: all customers (index 0) and each block (1..nb)
    def curves(name: str) -> np.ndarray:
        return np.stack([getattr(total, name) / max(total.n, 1)] + [getattr(t, name) / max(t.n, 1) for t in blocks])

    flows = {"conversions": curves("age_conv"), "revenue": curves("age_rev"), "cost": curves("age_cost"),
             "acq": curves("age_acq"), "referrals": curves("age_ref")}  # fmt: skip
    occ = curves("age_active")
    # per cohort m, what one arrival adds to each calendar month: [curve set, m, j]
    per: dict[str, np.ndarray] = {key: flow_months(c, starts, lengths) for key, c in flows.items()}
    per["active_end"] = occupancy_months(occ, starts, lengths)
    per["value"] = per["revenue"] - per["cost"]

    planned = plan_arrivals(p)
    arrivals = planned.copy()
    notes: list[Note] = []
    if p.budget is not None:  # a cap on acquisition spending (what arrivals drive), not on serving customers
        c = per["acq"][0]
        for j in range(M):
            committed = float(arrivals[:j] @ c[:j, j])
            if committed + arrivals[j] * c[j, j] > p.budget + 1e-9:
                arrivals[j] = max(0.0, (p.budget - committed) / c[j, j]) if c[j, j] > 0 else 0.0
                if committed > p.budget + 1e-9:
                    notes.append(note_("{month}: the earlier months' prospects alone spend more than the budget; "
                                       "no new arrivals", month=months[j]))
        if not any(arrivals[k] < planned[k] - 1e-9 for k in range(M)):
            notes.append(note_("the budget was never reached: no month's arrivals were cut"))
        for k in range(M):
            if arrivals[k] < planned[k] - 1e-9:
                notes.append(note_("{month}: arrivals cut from {planned} to {arrivals} to keep acquisition spending "
                                   "within the budget", month=months[k], planned=float(planned[k]),
                                   arrivals=float(arrivals[k])))

    # referrals (`refers N per customer`): every arrival's referrals are arrivals too, in the
    # calendar month they are made: A[j] = arrivals[j] + sum over m <= j of A[m] R[m, j]
    referred = np.zeros(M)
    ref = per.pop("referrals")[0]
    if ref.any():
        total_arrivals = np.zeros(M)
        for j in range(M):
            own = 1.0 - ref[j, j]  # this month's arrivals refer some within the month
            if own <= 0:
                raise ValueError(f"{months[j]}: referrals of {ref[j, j]:.3g} per arrival within a month grow"
                                 " without end; lower 'refers'")
            total_arrivals[j] = (arrivals[j] + float(total_arrivals[:j] @ ref[:j, j])) / own
        referred = total_arrivals - arrivals
        arrivals = total_arrivals
        notes.append(note_n_("referrals ('refers') bring {n} arrival over the plan, on top of the {planned}"
                             " planned; they are not held to a budget",
                             "referrals ('refers') bring {n} arrivals over the plan, on top of the {planned}"
                             " planned; they are not held to a budget", n=float(referred.sum()),
                             planned=float(planned.sum())))

    mean: dict[str, np.ndarray] = {}
    var: dict[str, np.ndarray] = {}
    w_blocks = sizes / sizes.sum()

    def sim_var(block_values: np.ndarray) -> np.ndarray:
        """Variance of the all-customer estimate from the per-block estimates [block, month]."""
        if nb < 2:
            return np.zeros(block_values.shape[1])
        centre = w_blocks @ block_values
        s2 = (w_blocks[:, None] * (block_values - centre) ** 2).sum(0) * nb / (nb - 1)
        out: np.ndarray = s2 * float((w_blocks**2).sum())
        return out

    totals = {key: np.einsum("m,bmj->bj", arrivals, per[key]) for key in per}
    totals["cumulative_value"] = np.cumsum(totals["value"], axis=1)
    # second moments per customer by month of age (0 before entry), and the Poisson variance
    nm = total.shape.age_months
    second = {
        "revenue": total.age_m_rev2, "cost": total.age_m_cost2, "value": total.age_m_val2,
        "acq": total.age_m_acq2,
    }  # fmt: skip
    lag = np.arange(M)[None, :] - np.arange(M)[:, None]  # calendar month j less cohort month m

    def poisson(key: str) -> np.ndarray:
        """Sum over cohorts of arrivals x E[X^2], X one arrival's amount in calendar month j (or,
        for cumulative value, up to its end): the engine tallies E[X^2] by calendar months after
        the arrival month for an arrival at a random moment of its month (months of 365/12 days)."""
        s2 = (total.age_m_cum2 if key == "cumulative_value" else second[key]) / max(total.n, 1)
        e2 = np.where(lag >= 0, s2[np.clip(lag, 0, nm - 1)], 0.0)
        out: np.ndarray = arrivals @ e2
        return out

    for key in ("conversions", "active_end", "revenue", "cost", "value", "cumulative_value", "acq"):
        mean[key] = totals[key][0]
        # arrivals' noise: customers are counted once each (E[X^2] = E[X]); money as poisson() says
        counted = key in ("conversions", "active_end")
        var[key] = sim_var(totals[key][1:]) + (mean[key] if counted else poisson(key))
    conv, acq = mean["conversions"], mean["acq"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cac = np.where(conv > 0, acq / conv, 0.0)
        block_cac = np.where(totals["conversions"][1:] > 0, totals["acq"][1:] / totals["conversions"][1:], 0.0)
        p_var = np.where(
            conv > 0, (poisson("acq") + cac**2 * conv) / np.where(conv > 0, conv, 1.0) ** 2, 0.0
        )
    mean["cac"] = cac
    var["cac"] = sim_var(block_cac) + p_var
    cohort_active = arrivals[:, None] * per["active_end"][0]
    cohort_revenue = arrivals[:, None] * per["revenue"][0]
    return Forecast(
        journey=journey.name,
        plan=p,
        currency=journey.currency,
        customers=n,
        seed=seed,
        months=months,
        planned=planned,
        arrivals=arrivals,
        mean=mean,
        var=var,
        cohort_active=cohort_active,
        cohort_revenue=cohort_revenue,
        notes=notes,
        scenario_label=next((sc.title for sc in journey.scenarios if sc.name == p.scenario), None),
        referred=referred,
    )


def month_days(plan: CalendarPlan) -> float:
    """The plan's length in days (real calendar months).

    >>> from journeydsl.language.model import CalendarPlan
    >>> month_days(CalendarPlan(name="p", start="2028-01", months=12, arrivals=1))
    366.0
    """
    return float(sum(c[2] for c in calendar_months(plan.start, plan.months)))



def add_draws(
    fc: Forecast, journey: Journey, draws: int, customers: int | None = None, seed: int = 0,
    *, progress: ProgressFn | None = None, workers: int = 1, executor: Executor | None = None,
) -> Forecast:
    """Widen ``fc``'s intervals by the spread of its rows over ``draws`` draws of the uncertain parameters.

    Each draw compiles the journey with drawn values (:func:`journeydsl.analysis.uncertainty.draw_values`,
    the streams ``simulate --draws`` uses) and forecasts the same plan on the same seed (common
    random numbers, so draws differ only through the parameters). A row keeps its mean at the
    parameters' means; its variance gains the variance of the draws' means (the law of total
    variance, with the within-draw part taken at the means).
    """
    from journeydsl.analysis.uncertainty import draw_values
    from journeydsl.language.compile import recompile

    values = draw_values(journey, seed, draws)
    if not values:
        raise ValueError("the journey has no uncertain parameters to draw")
    n = journey.customers if customers is None else customers
    drawn = [recompile(journey, values={name: float(v[d]) for name, v in values.items()}) for d in range(draws)]
    cohorts = [_cohort(j, fc.plan.name) for j in drawn]

    def rows_of(k: int, blocks: list[Tally]) -> dict[str, np.ndarray]:
        one = _from_blocks(drawn[k], cohorts[k][0], blocks, n, seed)
        return {"arrivals": one.arrivals, **{key: one.mean[key] for key in ROW_KEYS[1:]}}

    per_draw = _cohort_blocks([(j, days) for _p, j, days in cohorts], n, seed, rows_of, progress=progress,
                              workers=workers, executor=executor)
    rows = {key: [d[key] for d in per_draw] for key in ROW_KEYS}
    if draws > 1:
        fc.draw_var = {key: np.var(np.stack(v), axis=0, ddof=1) for key, v in rows.items()}
    fc.draws = draws
    fc.notes.append(note_n_("intervals include the spread over {n} draw of the uncertain parameters (the rows stay "
                            "at the parameters' means)",
                            "intervals include the spread over {n} draws of the uncertain parameters (the rows stay "
                            "at the parameters' means)", n=draws))
    return fc
