"""The validated journey model: what a `.journey` file means.

Every quantity is in canonical units: times in days, money in the journey's
one currency, shares as fractions (0.3 for 30%). Models are frozen pydantic
models; ``span`` fields point back into the source for diagnostics and are
left out of ``model_dump()`` (so two journeys that mean the same dump the
same, wherever their text was).

Segments and scenarios hold :class:`Overrides`; :func:`apply_overrides`
merges them into a base journey and gives a journey that is itself a valid
model. The layers apply in one order: the base, then the customer's segment,
then the scenario (see :meth:`Journey.with_scenario`). The compile step checks
that overrides name things that exist in some layer; the merge here trusts it
and never builds an item from a partial change.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from journeydsl.language.params import Distribution
from journeydsl.language.source import Span

__all__ = [
    "DAYS",
    "LANGUAGES",
    "TARGET_KPIS",
    "UNIT_WORDS",
    "Calendar",
    "CalendarPlan",
    "Cap",
    "CashFlow",
    "Dist",
    "Journey",
    "Overrides",
    "Param",
    "Policy",
    "Purchases",
    "Removal",
    "Scenario",
    "Segment",
    "Stage",
    "StagePatch",
    "Target",
    "Targets",
    "Touchpoint",
    "TouchpointPatch",
    "Transition",
    "Trigger",
    "TriggerPatch",
    "apply_overrides",
    "overrides_between",
]

#: Days in each duration unit of the language (singular names).
DAYS: dict[str, float] = {
    "minute": 1.0 / 1440.0,
    "hour": 1.0 / 24.0,
    "day": 1.0,
    "week": 7.0,
    "month": 365.0 / 12.0,
    "quarter": 365.0 / 4.0,
    "year": 365.0,
}

#: Every word a duration's unit may be written as ('day', 'days', ...): what a misspelt unit is
#: matched against for a did-you-mean.
UNIT_WORDS: tuple[str, ...] = tuple(f"{unit}{plural}" for unit in DAYS for plural in ("", "s"))


def _span_field() -> Any:
    return Field(default=None, exclude=True, repr=False)


def _unit_field() -> Any:
    """The unit a duration was written in ('month' in 'every 6 months'), so that maps say it the
    author's way; for display only (not dumped: the days are what count)."""
    return Field(default=None, exclude=True, repr=False)


#: The languages a journey may declare (``language ru``) and reports, maps and tables speak.
LANGUAGES: tuple[str, ...] = ("en", "ru", "bg")


class _Model(BaseModel):
    # defer_build: a model's validator is built when the model is first used, not at import, so a
    # command pays only for the models its journey uses (policy, plans, patches... often none)
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True)


DistKind = Literal["fixed", "exponential", "gamma", "lognormal", "uniform", "weibull", "normal"]

#: The parameters each distribution takes, in the order the language writes them.
DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "gamma": ("shape", "mean"),
    "lognormal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "weibull": ("shape", "scale"),
    "normal": ("mean", "sd"),
}


class Dist(_Model):
    """A distribution of a non-negative quantity: days, or money.

    >>> Dist(kind="gamma", shape=2, mean=5).expected()
    5.0
    >>> Dist(kind="uniform", low=7, high=14).expected()
    10.5
    """

    kind: DistKind
    value: float | None = None
    mean: float | None = None
    sd: float | None = None
    shape: float | None = None
    scale: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = _unit_field()
    span: Span | None = _span_field()

    @model_validator(mode="after")
    def _check(self) -> Dist:
        problem = self.problem()
        if problem:
            raise ValueError(problem)
        return self

    def params(self) -> dict[str, float]:
        """The parameters this kind takes, by name."""
        return {p: float(getattr(self, p)) for p in DIST_PARAMS[self.kind]}

    def problem(self) -> str | None:
        """Why the parameters are invalid, or ``None`` when they are fine."""
        needed = DIST_PARAMS[self.kind]
        for name in ("value", "mean", "sd", "shape", "scale", "low", "high"):
            v = getattr(self, name)
            if name in needed and v is None:
                return f"{self.kind} needs '{name}'"
            if name not in needed and v is not None:
                return f"{self.kind} takes no '{name}'"
            if v is not None and not math.isfinite(v):
                return f"'{name}' must be a finite number, got {v}"
        p = self.params()
        if self.kind == "fixed" and p["value"] < 0:
            return f"a fixed value must be at least 0, got {p['value']:g}"
        if "mean" in p and p["mean"] <= 0:
            return f"the mean must be positive, got {p['mean']:g}"
        if "sd" in p and p["sd"] < 0:
            return f"the sd must be at least 0, got {p['sd']:g}"
        if "shape" in p and p["shape"] <= 0:
            return f"the shape must be positive, got {p['shape']:g}"
        if "scale" in p and p["scale"] <= 0:
            return f"the scale must be positive, got {p['scale']:g}"
        if self.kind == "uniform":
            if p["low"] < 0:
                return f"the low end must be at least 0, got {p['low']:g}"
            if p["low"] > p["high"]:
                return f"the low end {p['low']:g} is above the high end {p['high']:g}"
        return None

    def expected(self) -> float:
        """The mean of the distribution (for ``normal``, of the part above zero)."""
        p = self.params()
        if self.kind == "fixed":
            return p["value"]
        if self.kind in ("exponential", "gamma", "lognormal"):
            return p["mean"]
        if self.kind == "uniform":
            return (p["low"] + p["high"]) / 2
        if self.kind == "weibull":
            return p["scale"] * math.gamma(1 + 1 / p["shape"])
        # normal truncated at zero: mu + sigma * phi(a) / (1 - Phi(a)), a = -mu/sigma
        mu, sigma = p["mean"], p["sd"]
        if sigma == 0:
            return mu
        a = -mu / sigma
        pdf = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(a / math.sqrt(2))
        return mu + sigma * pdf / tail

    def can_be_zero(self) -> bool:
        """True when a draw can be exactly zero (a fixed 0 days, or a uniform from 0 to 0)."""
        p = self.params()
        if self.kind == "fixed":
            return p["value"] == 0
        if self.kind == "uniform":
            return p["high"] == 0
        return False


class CashFlow(_Model):
    """Money at a stage: once on enter (``period_days`` is None) or every period of the stay."""

    amount: float
    period_days: float | None = Field(default=None, gt=0)
    unit: str | None = _unit_field()
    span: Span | None = _span_field()


class Purchases(_Model):
    """Purchases made while in a stage: a Poisson process of ``rate`` per ``per_days``."""

    rate: float = Field(ge=0)
    per_days: float = Field(gt=0)
    worth: Dist
    unit: str | None = _unit_field()
    span: Span | None = _span_field()

    @property
    def rate_per_day(self) -> float:
        return self.rate / self.per_days


class Stage(_Model):
    """A lifecycle stage: a place a customer is in for a while.

    ``entry`` is the share of entering customers who start here (None: not
    an entry stage). ``touches`` are touchpoints contacted on every enter.
    """

    name: str
    label: str | None = None
    phase: str | None = None
    entry: float | None = None
    terminal: bool = False
    goal: bool = False
    active: bool = False
    dwell: Dist | None = None
    touches: tuple[str, ...] = ()
    revenue: tuple[CashFlow, ...] = ()
    costs: tuple[CashFlow, ...] = ()
    purchases: tuple[Purchases, ...] = ()
    refers: float | None = Field(default=None, ge=0)  # new arrivals each entry brings (calendar forecasts)
    span: Span | None = _span_field()

    @property
    def title(self) -> str:
        """The label, else the name."""
        return self.label or self.name


class Transition(_Model):
    """An edge from ``source`` to ``target``.

    Branch form: ``share`` (a fraction) or ``otherwise``; optional ``after``
    delay. Rate form: ``rate`` is the chance of leaving by this edge within
    ``period_days`` were it the only exit. ``via`` names a touchpoint charged
    when the transition happens.
    """

    source: str
    target: str
    share: float | None = None
    otherwise: bool = False
    rate: float | None = None
    period_days: float | None = None
    after: Dist | None = None
    via: str | None = None
    unit: str | None = _unit_field()
    span: Span | None = _span_field()
    # the share or rate as written when it is uncertain (``25% ± 5%``, ``close = 25% ± 5%``), for maps
    uncertainty: str | None = Field(default=None, exclude=True, repr=False)

    @model_validator(mode="after")
    def _one_form(self) -> Transition:
        forms = (self.share is not None) + self.otherwise + (self.rate is not None)
        if forms != 1:
            raise ValueError("a transition has exactly one of a share, 'otherwise' or a rate")
        if self.rate is not None and self.period_days is None:
            raise ValueError("a rate transition needs a period")
        return self

    @property
    def kind(self) -> Literal["branch", "rate"]:
        return "rate" if self.rate is not None else "branch"

    @property
    def hazard(self) -> float:
        """Exits per day of a rate edge: ``-ln(1 - P) / period`` (``inf`` for P = 100%)."""
        if self.rate is None or self.period_days is None:
            raise ValueError("only rate transitions have a hazard")
        if self.rate >= 1:
            return math.inf
        return -math.log1p(-self.rate) / self.period_days

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.target)


class Touchpoint(_Model):
    """A contact with the customer on a channel, with its cost and response share.

    ``kind='task'``: manager work (``task NAME { ... }``), done by a team with
    ``capacity_per_day`` (None: unlimited). ``steps``: a response funnel
    ``((name, share of those contacted), ...)``, shares not growing; its last
    step is the response (``response`` is then that share). ``response_cost`` is
    charged to each responder (``cost M on response``).
    """

    name: str
    label: str | None = None
    channel: str
    kind: Literal["touchpoint", "task"] = "touchpoint"
    cost: float = 0.0
    response_cost: float = 0.0
    response: float | None = None
    transactional: bool = False  # exempt from the policy: never capped, delayed or held out
    steps: tuple[tuple[str, float], ...] = ()
    capacity_per_day: float | None = None
    span: Span | None = _span_field()

    @property
    def title(self) -> str:
        return self.label or self.name

    @property
    def step_names(self) -> tuple[str, ...]:
        """The names a behaviour condition may use after a dot (``email.clicks``)."""
        return tuple(s for s, _v in self.steps)

    def step_share(self, step: str | None) -> float:
        """The share of those contacted who reach ``step`` (None: who respond)."""
        if step is None or not self.steps:
            return 1.0 if self.response is None else float(self.response)
        return dict(self.steps)[step]


WhenKind = Literal["enter", "in", "every", "response", "no_response"]


def _send_tuple(v: Any) -> Any:
    """``send`` as written by older callers: one name, or None for none."""
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return v


class Trigger(_Model):
    """Automation: when ``when`` happens in ``stage``, send, and perhaps reroute.

    ``when='enter'``: on entering; ``'in'``: after ``days`` in the stage;
    ``'every'``: every ``days`` in the stage, at most ``limit`` times a stay.
    Behaviour conditions, in the stage where ``on_touch`` is sent by a trigger:
    ``'response'``: at the response to ``on_touch`` (its step ``on_step``, None:
    the response); ``'no_response'``: ``days`` after the contact, for those who
    did not respond. ``unless``: ``(touchpoint, step)`` pairs; customers who
    responded to one of them before the firing are left out. ``send``: the
    touchpoints contacted, one contact each.
    """

    name: str
    label: str | None = None
    when: WhenKind
    stage: str
    days: float | None = None
    send: tuple[str, ...] = ()
    response: float | None = None
    then_share: float | None = None
    then_stage: str | None = None
    limit: int | None = None
    business: bool = False  # `when in S for N business days`: ``days`` is N working days on the calendar
    on_touch: str | None = None
    on_step: str | None = None
    unless: tuple[tuple[str, str | None], ...] = ()
    unit: str | None = _unit_field()
    span: Span | None = _span_field()

    @field_validator("send", mode="before")
    @classmethod
    def _send(cls, v: Any) -> Any:
        return _send_tuple(v)

    @property
    def title(self) -> str:
        return self.label or self.name

    @property
    def behaviour(self) -> bool:
        """Whether it fires on a response (or its absence) rather than on time in a stage."""
        return self.when in ("response", "no_response")


# --- parameters ----------------------------------------------------------


class Param(_Model):
    """A named (or inline) uncertain number: its kind, distribution and how it was written.

    ``kind`` is ``share``, ``money``, ``duration`` (days) or ``number``;
    ``family``/``args``/``lower``/``upper`` are a :class:`journeydsl.language.params.Distribution`.
    ``inline`` parameters were written in place (``trial -> customer 25% ± 5%``);
    their name says where (``trial -> customer``). ``text`` is the value as written.
    """

    name: str
    label: str | None = None
    kind: Literal["share", "money", "duration", "number"]
    family: str
    args: tuple[float, ...]
    lower: float = 0.0
    upper: float = math.inf
    center: float | None = None
    text: str = ""
    inline: bool = False
    span: Span | None = _span_field()

    @property
    def title(self) -> str:
        return self.label or self.name

    def distribution(self) -> Distribution:
        """The distribution its values are drawn from."""
        return Distribution(self.family, self.args, self.lower, self.upper, self.center)

    @property
    def mean(self) -> float:
        return self.distribution().mean()

    @property
    def uncertain(self) -> bool:
        return self.distribution().uncertain


# --- overrides ----------------------------------------------------------


class StagePatch(_Model):
    """``stage NAME { ... }`` inside a segment or scenario: the properties it names replace the base ones.

    A field left ``None`` keeps the base value; flags that are ``True`` are set.
    """

    name: str
    label: str | None = None
    entry: float | None = None
    terminal: bool | None = None
    goal: bool | None = None
    active: bool | None = None
    dwell: Dist | None = None
    touches: tuple[str, ...] | None = None
    revenue: tuple[CashFlow, ...] | None = None
    costs: tuple[CashFlow, ...] | None = None
    purchases: tuple[Purchases, ...] | None = None
    refers: float | None = None
    span: Span | None = _span_field()


class TouchpointPatch(_Model):
    """``touchpoint NAME { ... }`` in overrides: replaces the properties it names (or adds a whole touchpoint)."""

    name: str
    label: str | None = None
    channel: str | None = None
    kind: Literal["touchpoint", "task"] | None = None
    cost: float | None = None
    response_cost: float | None = None
    response: float | None = None
    transactional: bool | None = None
    steps: tuple[tuple[str, float], ...] | None = None
    capacity_per_day: float | None = None
    span: Span | None = _span_field()


class TriggerPatch(_Model):
    """``trigger NAME { ... }`` in overrides: replaces the properties it names (or adds a whole trigger)."""

    name: str
    label: str | None = None
    when: WhenKind | None = None
    stage: str | None = None
    days: float | None = None
    send: tuple[str, ...] | None = None
    response: float | None = None
    then_share: float | None = None
    then_stage: str | None = None
    limit: int | None = None
    business: bool | None = None
    on_touch: str | None = None
    on_step: str | None = None
    unless: tuple[tuple[str, str | None], ...] | None = None
    unit: str | None = _unit_field()
    span: Span | None = _span_field()

    @field_validator("send", mode="before")
    @classmethod
    def _send(cls, v: Any) -> Any:
        return None if v is None else _send_tuple(v)


class Removal(_Model):
    """``without trigger NAME`` (``kind='trigger'``) or ``without A -> B`` (``kind='transition'``)."""

    kind: Literal["trigger", "transition"]
    names: tuple[str, ...]
    span: Span | None = _span_field()


#: Days of the week by their names (Monday = 0); three-letter and full names.
WEEKDAYS: dict[str, int] = {
    **{d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}


class Calendar(_Model):
    """The working week: the weekdays (Monday = 0) that business days skip."""

    weekends: tuple[int, ...] = (5, 6)
    span: Span | None = _span_field()

    def business_wait(self, days: int, weekday: int) -> int:
        """Calendar days from a moment on ``weekday`` to the same time of day ``days`` business
        days later: the ``days``-th working day after that day (0: no wait).

        >>> Calendar().business_wait(1, 4), Calendar().business_wait(1, 5), Calendar().business_wait(2, 0)
        (3, 2, 2)
        """
        if days <= 0:
            return 0
        off, found = 0, 0
        while found < days:
            off += 1
            if (weekday + off) % 7 not in self.weekends:
                found += 1
        return off


class Cap(_Model):
    """``cap CHANNEL N per W``: at most ``count`` contacts in any ``window_days`` (a rolling
    window); ``channel`` None counts every channel (``cap any``)."""

    channel: str | None = None
    count: int = Field(ge=1)
    window_days: float = Field(gt=0)
    unit: str | None = _unit_field()
    span: Span | None = _span_field()


class Policy(_Model):
    """The contact policy: caps, quiet hours and the holdout (see docs/language.md#contact-policy).

    ``quiet`` is (start, end) in minutes after midnight on the customer's clock; start > end
    runs over midnight.
    """

    caps: tuple[Cap, ...] = ()
    on_cap: Literal["skip", "delay"] = "skip"
    quiet: tuple[int, int] | None = None
    quiet_action: Literal["skip", "delay"] = "delay"
    holdout: float = Field(default=0.0, ge=0.0, le=1.0)
    span: Span | None = _span_field()

    @property
    def shapes_contacts(self) -> bool:
        """Whether caps or quiet hours can drop or move a contact (the holdout aside)."""
        return bool(self.caps) or self.quiet is not None


class Overrides(_Model):
    """What a segment or scenario changes in the base journey."""

    stages: tuple[StagePatch, ...] = ()
    transitions: tuple[Transition, ...] = ()
    touchpoints: tuple[TouchpointPatch, ...] = ()
    triggers: tuple[TriggerPatch, ...] = ()
    removals: tuple[Removal, ...] = ()
    params: tuple[Param, ...] = ()  # parameters this variant gives its own value (and its inline ones)
    policy: Policy | None = None  # a scenario's own policy: replaces the base one whole


class Segment(_Model):
    """A share of entering customers for whom the journey differs by ``overrides``."""

    name: str
    label: str | None = None
    share: float
    overrides: Overrides = Field(default_factory=Overrides)
    span: Span | None = _span_field()

    @property
    def title(self) -> str:
        return self.label or self.name


class Scenario(_Model):
    """An alternative journey: the base with ``overrides`` applied."""

    name: str
    label: str | None = None
    overrides: Overrides = Field(default_factory=Overrides)
    rollout: float | None = Field(default=None, gt=0.0, le=1.0)  # `scenario s 50% {...}`; None: everyone
    span: Span | None = _span_field()

    @property
    def title(self) -> str:
        return self.label or self.name


#: The KPIs a ``targets`` block may name, and the direction each prefers by default.
TARGET_KPIS: dict[str, Literal["least", "most"]] = {
    "conversion_rate": "least",
    "retention": "least",
    "ltv": "least",
    "cac": "most",
    "churn": "most",
    "value_per_customer": "least",
}


class CalendarPlan(_Model):
    """A ``plan`` block: arrivals by calendar month over ``months`` months from ``start``.

    Arrivals in month ``k`` (0-based) are ``arrivals * (1 + growth) ** k`` times the
    seasonality of its calendar month, unless ``one_offs`` names the month.
    """

    name: str
    label: str | None = None
    start: str  # YYYY-MM
    months: int = Field(ge=1)
    arrivals: float = Field(ge=0)  # per month, in the first month
    growth: float = 0.0  # per month, compounded
    one_offs: tuple[tuple[str, float], ...] = ()  # (YYYY-MM, arrivals in that month)
    seasonality: tuple[tuple[int, float], ...] = ()  # (calendar month 1-12, multiplier)
    budget: float | None = None  # spending cap per month
    scenario: str | None = None
    span: Span | None = _span_field()

    @property
    def title(self) -> str:
        return self.label or self.name


class Target(_Model):
    """One KPI of a ``targets`` block: ``value`` (a fraction or an amount), ``at least`` or ``at most``."""

    kpi: Literal["conversion_rate", "retention", "ltv", "cac", "churn", "value_per_customer"]
    bound: Literal["least", "most"]
    value: float
    days: float | None = None  # retention only: days after conversion
    span: Span | None = _span_field()


class Targets(_Model):
    """A ``targets`` block: the KPI table a journey is held to."""

    label: str | None = None
    targets: tuple[Target, ...] = ()
    span: Span | None = _span_field()


#: Defaults when a journey does not say.
DEFAULT_HORIZON_DAYS = 365.0
DEFAULT_CUSTOMERS = 10_000


class Journey(_Model):
    """A whole journey: settings, stages, transitions, touchpoints, triggers, segments, scenarios."""

    name: str
    currency: str | None = None
    horizon_days: float = DEFAULT_HORIZON_DAYS
    ltv_window_days: float | None = None  # how long LTV follows each converter (None: the horizon)
    language: str | None = None  # the language of reports and maps ('en', 'ru', 'bg'; None: English)
    discount: float = 0.0
    customers: int = DEFAULT_CUSTOMERS
    arrivals_per_day: float | None = None  # a steady stream of new customers: loads task queues
    phases: tuple[str, ...] = ()
    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...] = ()
    touchpoints: tuple[Touchpoint, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    segments: tuple[Segment, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    plans: tuple[CalendarPlan, ...] = ()  # calendar plans for `journeydsl forecast`
    targets: Targets | None = None  # the KPI table `simulate`, `forecast` and the report compare with
    params: tuple[Param, ...] = ()  # named parameters, then inline uncertain values, in file order
    policy: Policy | None = None  # caps, quiet hours, holdout: what triggers may send, and when
    calendar: Calendar | None = None  # the working week `business days` count on
    # a scenario rolled out to a share of the customers (`scenario s 50% {...}`): that share, and
    # the journey the other customers stay on (the base, set by with_scenario)
    rollout: float | None = None
    rollout_base: Any = Field(default=None, exclude=True, repr=False)
    source: str | None = Field(default=None, exclude=True, repr=False)
    syntax: Any = Field(default=None, exclude=True, repr=False)  # the parsed file, to compile again with drawn values
    span: Span | None = _span_field()

    # --- lookups ---------------------------------------------------------

    def stage(self, name: str) -> Stage:
        """The stage called ``name`` (``KeyError`` if there is none)."""
        return _named(self.stages, name)

    def touchpoint(self, name: str) -> Touchpoint:
        """The touchpoint called ``name`` (``KeyError`` if there is none)."""
        return _named(self.touchpoints, name)

    def trigger(self, name: str) -> Trigger:
        """The trigger called ``name`` (``KeyError`` if there is none)."""
        return _named(self.triggers, name)

    def plan(self, name: str | None = None) -> CalendarPlan:
        """The plan called ``name``, or the first plan (``KeyError`` if there is none)."""
        if name is None:
            if not self.plans:
                raise KeyError("no plan")
            return self.plans[0]
        return _named(self.plans, name)

    def scenario(self, name: str) -> Scenario:
        """The scenario called ``name`` (``KeyError`` if there is none)."""
        return _named(self.scenarios, name)

    def out_edges(self, name: str) -> tuple[Transition, ...]:
        """Transitions out of stage ``name``, in file order."""
        return tuple(t for t in self.transitions if t.source == name)

    @property
    def entries(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.entry is not None)

    @property
    def goals(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.goal)

    # --- variants --------------------------------------------------------

    def with_scenario(self, name: str, *, rollout: bool = True) -> Journey:
        """The journey that scenario ``name`` describes (no scenarios of its own).

        A scenario rolled out to a share of the customers (``scenario s 50% {...}``) gives a
        journey with ``rollout`` set to that share and ``rollout_base`` the journey the other
        customers stay on; ``rollout=False`` gives the scenario for everyone.

        ``"baseline"`` gives the base journey without its scenarios. The
        changes apply in one order: the base, then the segment, then the
        scenario. So each segment of the result holds what that segment still
        changes once the scenario is applied on top of it: a trigger or
        transition the scenario removes is gone from every segment, and where
        both change one property the scenario's value wins.
        """
        base = self.model_copy(update={"scenarios": ()})
        if name == "baseline":
            return base
        ov = self.scenario(name).overrides
        plain = base.model_copy(update={"segments": ()})
        merged = apply_overrides(plain, ov)
        segments = tuple(
            seg.model_copy(update={"overrides": overrides_between(
                merged, apply_overrides(apply_overrides(plain, seg.overrides), ov, baseline=plain)
            )})
            for seg in self.segments
        )
        out = merged.model_copy(update={"segments": segments})
        share = self.scenario(name).rollout
        if rollout and share is not None and share < 1.0:
            out = out.model_copy(update={"rollout": share, "rollout_base": base})
        return out

    def segment_journeys(self) -> list[tuple[str, float, Journey]]:
        """Each segment as ``(name, share, journey)``; the remainder is ``"default"``.

        The journeys have no segments or scenarios of their own. ``default``
        is listed first and left out when the segments take 100%.
        """
        plain = self.model_copy(update={"segments": (), "scenarios": ()})
        rest = 1.0 - sum(s.share for s in self.segments)
        out: list[tuple[str, float, Journey]] = []
        if rest > 1e-12 or not self.segments:
            out.append(("default", max(rest, 0.0) if self.segments else 1.0, plain))
        for seg in self.segments:
            out.append((seg.name, seg.share, apply_overrides(plain, seg.overrides)))
        return out

    def iter_variants(self) -> Iterator[tuple[str, Journey]]:
        """``("baseline", base)`` then each scenario's journey, in file order."""
        yield "baseline", self.with_scenario("baseline")
        for sc in self.scenarios:
            yield sc.name, self.with_scenario(sc.name)


_N = TypeVar("_N", Stage, Touchpoint, Trigger, Scenario, CalendarPlan)


def _named(items: tuple[_N, ...], name: str) -> _N:
    """The item called ``name`` (``KeyError`` if none is)."""
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)


def _patched(obj: BaseModel, patch: BaseModel) -> dict[str, Any]:
    """The fields of ``patch`` that are set (not None), except its name; the span of the
    change, so that a problem with the changed item is pointed at the change made last."""
    out = {
        k: v
        for k, v in patch
        if k not in ("name", "span") and v is not None and k in type(obj).model_fields
    }
    span = getattr(patch, "span", None)
    return out | {"span": span} if span is not None else out


def _complete(patch: TouchpointPatch | TriggerPatch) -> bool:
    """Whether a block gives everything a new item needs (a channel; a WHEN and its stage)."""
    if isinstance(patch, TouchpointPatch):
        return patch.channel is not None
    return patch.when is not None and patch.stage is not None


def _follow_contacts(triggers: dict[str, Trigger]) -> None:
    """Behaviour triggers move to the stage whose triggers now send what they answer (when
    one stage does): a change that sends the welcome email in another stage takes the
    answers to it along."""
    for _round in range(len(triggers)):
        moved = False
        for name, g in triggers.items():
            if not g.behaviour or g.on_touch is None:
                continue
            stages = {t.stage for t in triggers.values() if t is not g and g.on_touch in t.send}
            if len(stages) == 1 and g.stage not in stages:
                triggers[name] = g.model_copy(update={"stage": next(iter(stages))})
                moved = True
        if not moved:
            return


def apply_overrides(base: Journey, ov: Overrides, *, baseline: Journey | None = None) -> Journey:
    """Merge ``ov`` into ``base``; the result is a journey in its own right.

    - ``stage NAME { ... }`` replaces the properties it names;
    - a transition with the endpoints of one in ``base`` replaces it;
    - ``touchpoint`` / ``trigger`` blocks replace the properties they name;
    - ``without trigger NAME`` and ``without A -> B`` remove (when it is there).

    A transition, touchpoint or trigger that ``base`` lacks is added when
    ``baseline`` (the journey the file's blocks are written against; default
    ``base``) lacks it too and the block is complete (a touchpoint with a
    channel, a trigger with a WHEN). A block naming an item of ``baseline``
    that an earlier layer removed changes nothing: a change never brings back
    what was removed. A partial block for an item ``base`` lacks (one that
    only another segment adds) changes nothing either.
    """
    known = base if baseline is None else baseline
    known_tgs = {t.name for t in known.triggers}

    stages: dict[str, Stage] | tuple[Stage, ...] = base.stages  # the same tuple when nothing changes
    if ov.stages:
        stages = {s.name: s for s in base.stages}
        for sp in ov.stages:
            if sp.name in stages:
                stages[sp.name] = stages[sp.name].model_copy(update=_patched(stages[sp.name], sp))

    transitions = list(base.transitions)
    known_keys: set[tuple[str, str]] | None = None  # made when first needed
    for tr in ov.transitions:
        src, dst = tr.source, tr.target
        i = next((i for i, old in enumerate(transitions) if old.source == src and old.target == dst), -1)
        if i >= 0:
            transitions[i] = tr
            continue
        if known_keys is None:
            known_keys = {t.key for t in known.transitions}
        if tr.key not in known_keys:
            transitions.append(tr)

    touchpoints = {t.name: t for t in base.touchpoints}
    for tp in ov.touchpoints:
        if tp.name in touchpoints:
            touchpoints[tp.name] = touchpoints[tp.name].model_copy(
                update=_patched(touchpoints[tp.name], tp)
            )
        elif _complete(tp):
            touchpoints[tp.name] = Touchpoint.model_validate(
                {k: v for k, v in tp if v is not None} | {"span": tp.span}
            )

    triggers = {t.name: t for t in base.triggers}
    for tg in ov.triggers:
        if tg.name in triggers:
            triggers[tg.name] = triggers[tg.name].model_copy(update=_patched(triggers[tg.name], tg))
        elif tg.name not in known_tgs and _complete(tg):
            triggers[tg.name] = Trigger.model_validate(
                {k: v for k, v in tg if v is not None} | {"span": tg.span}
            )

    for rm in ov.removals:
        if rm.kind == "trigger":
            triggers.pop(rm.names[0], None)
        else:
            transitions = [t for t in transitions if t.key != tuple(rm.names)]
    _follow_contacts(triggers)

    return base.model_copy(
        update={
            "stages": stages if isinstance(stages, tuple) else tuple(stages.values()),
            "transitions": tuple(transitions),
            "touchpoints": tuple(touchpoints.values()),
            "triggers": tuple(triggers.values()),
            "policy": ov.policy if ov.policy is not None else base.policy,
        }
    )


def _value(v: Any) -> Any:
    """A field's value for comparison, spans left out."""
    if isinstance(v, BaseModel):
        return v.model_dump()
    if isinstance(v, tuple):
        return tuple(_value(x) for x in v)
    return v


def _changes(old: BaseModel, new: BaseModel) -> dict[str, Any]:
    """The fields of ``new`` whose values differ from ``old``'s (name and span aside)."""
    if old is new:  # an item no layer changed is the same object in both journeys
        return {}
    return {
        k: v for k, v in new if k not in ("name", "span") and _value(v) != _value(getattr(old, k))
    }


def _same_items(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two tuples hold the very same objects in the same order (so nothing differs)."""
    return a is b or (len(a) == len(b) and all(map(operator.is_, a, b)))


def overrides_between(before: Journey, after: Journey) -> Overrides:
    """The overrides that turn ``before`` into ``after`` (stages, transitions, touchpoints, triggers).

    ``apply_overrides(before, overrides_between(before, after))`` has the
    stages, transitions, touchpoints and triggers of ``after``; items that
    ``after`` adds come last. Properties ``after`` leaves unset where
    ``before`` sets them cannot be written as overrides: ``ValueError``.

    >>> a = Journey(name="j", stages=(Stage(name="s", entry=1.0),))
    >>> b = a.model_copy(update={"stages": (Stage(name="s", entry=1.0, active=True),)})
    >>> overrides_between(a, b).stages[0].active
    True
    """
    def unset(changes: dict[str, Any], what: str) -> dict[str, Any]:
        if any(v is None for v in changes.values()):
            raise ValueError(f"{what} unsets a property; overrides can only set")
        return changes

    stages: list[StagePatch] = []
    if not _same_items(before.stages, after.stages):
        olds = {s.name: s for s in before.stages}
        if set(olds) != {s.name for s in after.stages}:
            raise ValueError("overrides cannot add or remove stages")
        for st in after.stages:
            ch = unset(_changes(olds[st.name], st), f"stage '{st.name}'")
            if ch:
                stages.append(StagePatch(name=st.name, span=st.span, **ch))

    transitions: tuple[Transition, ...] = ()
    removals: list[Removal] = []
    changed = [(a, b) for a, b in zip(before.transitions, after.transitions, strict=False) if a is not b]
    if len(before.transitions) == len(after.transitions) and all(a.key == b.key for a, b in changed):
        # the same edges in the same order (the usual case): only the changed ones are compared
        transitions = tuple(b for a, b in changed if _value(a) != _value(b))
    else:
        old_tr = {t.key: t for t in before.transitions}
        new_keys = {t.key for t in after.transitions}
        transitions = tuple(
            t for t in after.transitions
            if t.key not in old_tr or (t is not old_tr[t.key] and _value(t) != _value(old_tr[t.key]))
        )
        removals = [
            Removal(kind="transition", names=t.key, span=t.span)
            for t in before.transitions if t.key not in new_keys
        ]

    old_tp = {t.name: t for t in before.touchpoints}
    touchpoints: list[TouchpointPatch] = []
    for tp in after.touchpoints:
        if tp.name in old_tp:
            ch = unset(_changes(old_tp[tp.name], tp), f"touchpoint '{tp.name}'")
            if ch:
                touchpoints.append(TouchpointPatch(name=tp.name, span=tp.span, **ch))
        else:
            touchpoints.append(TouchpointPatch.model_validate(tp.model_dump() | {"span": tp.span}))
    if set(old_tp) - {t.name for t in after.touchpoints}:
        raise ValueError("overrides cannot remove touchpoints")

    old_tg = {t.name: t for t in before.triggers}
    triggers: list[TriggerPatch] = []
    for tg in after.triggers:
        if tg.name in old_tg:
            ch = unset(_changes(old_tg[tg.name], tg), f"trigger '{tg.name}'")
            if ch:
                triggers.append(TriggerPatch(name=tg.name, span=tg.span, **ch))
        else:
            triggers.append(TriggerPatch.model_validate(tg.model_dump() | {"span": tg.span}))
    new_tgs = {t.name for t in after.triggers}
    removals.extend(
        Removal(kind="trigger", names=(t.name,), span=t.span)
        for t in before.triggers if t.name not in new_tgs
    )
    if before.policy is not None and after.policy is None:
        raise ValueError("overrides cannot remove the policy")
    return Overrides(
        stages=tuple(stages),
        transitions=transitions,
        touchpoints=tuple(touchpoints),
        triggers=tuple(triggers),
        removals=tuple(removals),
        policy=after.policy if _value(after.policy) != _value(before.policy) else None,
    )
