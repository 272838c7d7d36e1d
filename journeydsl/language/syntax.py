"""Syntax nodes: the parsed `.journey` text, reshaped, with no meaning yet.

One small frozen class per grammar form, each with the :class:`Span` it was
written at. Numbers are kept as written (``30%`` is ``Share(30, percent=True)``,
``2 days`` is ``Duration(2, 'day')``); converting to canonical units, resolving
names and checking anything is the job of :mod:`journeydsl.language.compile`.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Literal, TypeAlias, cast

from journeydsl.language.source import Span

__all__ = [
    "Amount",
    "ArrivalsSetting",
    "CalendarNode",
    "CapProp",
    "CapacityProp",
    "CashProp",
    "ChannelProp",
    "CurrencySetting",
    "CustomersSetting",
    "DiscountSetting",
    "DistArg",
    "DistNode",
    "Duration",
    "DwellProp",
    "EntryProp",
    "FlagProp",
    "FunnelProp",
    "FunnelStep",
    "HoldoutProp",
    "HorizonSetting",
    "JourneyNode",
    "LanguageSetting",
    "LimitProp",
    "LtvWindowSetting",
    "Money",
    "Name",
    "Number",
    "OnCapProp",
    "ParamDecl",
    "ParamRef",
    "PhaseNode",
    "PlanArrivals",
    "PlanArrivalsIn",
    "PlanBudget",
    "PlanMonths",
    "PlanNode",
    "PlanScenario",
    "PlanSeasonality",
    "PlanStart",
    "PolicyNode",
    "PurchasesProp",
    "Quantity",
    "QuietProp",
    "RefersProp",
    "ResponseProp",
    "ResponseRef",
    "ScenarioNode",
    "SeasonItem",
    "SegmentNode",
    "SendProp",
    "Share",
    "StageNode",
    "TargetNode",
    "TargetsNode",
    "ThenProp",
    "TouchProp",
    "TouchpointCostProp",
    "TouchpointNode",
    "TransactionalProp",
    "TransitionNode",
    "TriggerNode",
    "Uncertain",
    "UnlessProp",
    "Valued",
    "WeekendsProp",
    "WhenEnter",
    "WhenEvery",
    "WhenIn",
    "WhenNoResponse",
    "WhenResponse",
    "WithoutTransition",
    "WithoutTrigger",
    "YearMonth",
]


class _Node:
    """Equality, hash and repr over a node's fields: what ``@dataclass(frozen=True)`` would add.

    ``@dataclass`` compiles each method it adds from source, for every class, at import; written
    once here, the 72 node classes' ``__eq__``, ``__hash__`` and ``__repr__`` no longer cost every
    command about 15 ms of start-up (Python 3.11). The same answers: nodes are equal when they are
    of the same class with equal fields, hash as the tuple of their fields, and show as
    ``Name(text='a', span=None)``; ``tests/test_syntax_nodes.py`` holds them to the dataclass ones.
    """

    __slots__ = ()
    __match_args__: tuple[str, ...] = ()

    def _fields(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self.__match_args__])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == cast(_Node, other)._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{self.__class__.__qualname__}({shown})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Name(_Node):
    """An identifier as written."""

    text: str
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Number(_Node):
    """A plain number (``1_000``, ``0.5``)."""

    value: float
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Share(_Node):
    """``30%`` (``percent=True``, ``value=30``) or a fraction ``0.3`` (``value=0.3``)."""

    value: float
    percent: bool
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Duration(_Node):
    """``N unit``; ``count`` is ``None`` when the number is left out (``every month``)."""

    count: float | None
    unit: str  # singular: day, week, month, quarter, year
    span: Span | None = None
    business: bool = False  # `2 business days`: counted on the calendar's working days


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Money(_Node):
    """``49 EUR``, or ``49`` with the journey's currency."""

    amount: float
    currency: str | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Quantity(_Node):
    """A distribution argument: a number with a time unit, a currency, or neither."""

    value: float
    unit: str | None = None
    currency: str | None = None
    span: Span | None = None


# --- parameters and uncertainty -------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Amount(_Node):
    """A number inside a parameter's value: ``25%``, ``95 EUR``, ``14 days`` or a plain ``30``."""

    value: float
    percent: bool = False
    unit: str | None = None  # singular time unit
    currency: str | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ParamRef(_Node):
    """A parameter used by name where a number goes (``lead -> won close``)."""

    name: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Uncertain(_Node):
    """An uncertain (or plain named) value, as written.

    ``form`` is ``'pm'`` (``A ± B``), ``'range'`` (``A (L–H)``), ``'of'``
    (``k of n``), ``'dist'`` (``beta(30, 70)``; ``kind`` names it and
    ``arg_names`` the arguments' names, ``None`` when positional) or
    ``'fixed'`` (a plain constant, only in ``param`` declarations).
    """

    form: Literal["pm", "range", "of", "dist", "fixed"]
    amounts: tuple[Amount, ...]
    kind: str | None = None
    arg_names: tuple[str | None, ...] = ()
    span: Span | None = None


#: A value given by a parameter or with its uncertainty, where a plain number could go.
Valued: TypeAlias = ParamRef | Uncertain


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ParamDecl(_Node):
    """``param NAME ["Label"] = VALUE`` (at journey level, or overriding one in a segment or scenario)."""

    name: Name
    label: str | None
    value: Uncertain
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DistArg(_Node):
    """``mean 2 days``; ``param`` is ``None`` for positional arguments (``uniform(7 days, 14 days)``)."""

    param: str | None
    quantity: Quantity | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DistNode(_Node):
    """``KIND(args)``, or a single quantity (``kind='fixed'``)."""

    kind: str
    args: tuple[DistArg, ...]
    span: Span | None = None


# --- settings --------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CurrencySetting(_Node):
    code: str
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class HorizonSetting(_Node):
    duration: Duration | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DiscountSetting(_Node):
    rate: Share | Valued
    per: Duration | Valued | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CustomersSetting(_Node):
    count: Number
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LanguageSetting(_Node):
    """``language ru``: the language reports and maps are written in."""

    code: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LtvWindowSetting(_Node):
    duration: Duration | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ArrivalsSetting(_Node):
    """``arrivals 60 per day``: the steady stream of new customers that loads task queues."""

    count: Number
    per: Duration | Valued
    span: Span | None = None


# --- stage properties -------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class EntryProp(_Node):
    share: Share | Valued | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FlagProp(_Node):
    flag: Literal["terminal", "goal", "active"]
    span: Span | None = None



@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DwellProp(_Node):
    dist: DistNode
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TouchProp(_Node):
    touchpoints: tuple[Name, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CashProp(_Node):
    """``revenue|cost MONEY on enter`` (``every=None``) or ``... every DURATION``."""

    kind: Literal["revenue", "cost"]
    money: Money | Valued
    every: Duration | Valued | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PurchasesProp(_Node):
    rate: Number | Valued
    per: Duration | Valued
    worth: DistNode
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class RefersProp(_Node):
    """``refers N per customer``: new arrivals each entry into the stage brings; ``per`` is the word
    written after ``per`` (checked to be ``customer``)."""

    count: Number | Valued
    per: Name
    span: Span | None = None


StageProp: TypeAlias = EntryProp | FlagProp | DwellProp | TouchProp | CashProp | PurchasesProp | RefersProp


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class StageNode(_Node):
    """``stage NAME ["Label"] [{ props }]``; ``short`` for ``NAME { props }`` in overrides."""

    name: Name
    label: str | None
    props: tuple[StageProp, ...]
    has_body: bool = False
    short: bool = False
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PhaseNode(_Node):
    label: str
    stages: tuple[StageNode, ...]
    span: Span | None = None


# --- transitions ----------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TransitionNode(_Node):
    """``A -> B SHARE|otherwise [per DURATION] [after DIST] [via T]`` (modifiers in any order)."""

    source: Name
    target: Name
    share: Share | Valued | None
    otherwise: bool
    per: Duration | Valued | None
    after: tuple[DistNode, ...]
    via: tuple[Name, ...]
    span: Span | None = None


# --- touchpoints, triggers ---------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ChannelProp(_Node):
    channel: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TouchpointCostProp(_Node):
    """``cost MONEY`` per contact, or ``cost MONEY on response`` per responder."""

    money: Money | Valued
    span: Span | None = None
    on_response: bool = False


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ResponseProp(_Node):
    share: Share | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TransactionalProp(_Node):
    """``transactional``: a contact the policy never caps, delays or holds out."""

    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FunnelStep(_Node):
    """``opens 40%``: one step of a response funnel."""

    name: Name
    share: Share | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FunnelProp(_Node):
    """``response opens 40%, clicks 25%``: the steps of a response, each a share of those contacted."""

    steps: tuple[FunnelStep, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CapacityProp(_Node):
    """``capacity 40 per day``: how many tasks the team completes (tasks only)."""

    count: Number | Valued
    per: Duration | Valued
    span: Span | None = None


TouchpointProp: TypeAlias = (ChannelProp | TouchpointCostProp | ResponseProp | FunnelProp | CapacityProp
                              | TransactionalProp)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TouchpointNode(_Node):
    """``touchpoint NAME ...`` (``kind`` 'touchpoint') or ``task NAME ...`` (``kind`` 'task')."""

    name: Name
    label: str | None
    props: tuple[TouchpointProp, ...]
    has_body: bool = False
    span: Span | None = None
    kind: str = "touchpoint"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WhenEnter(_Node):
    stage: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WhenIn(_Node):
    stage: Name
    duration: Duration | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WhenEvery(_Node):
    duration: Duration | Valued
    stage: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ResponseRef(_Node):
    """``email`` (its response) or ``email.clicks`` (one step of its funnel)."""

    touchpoint: Name
    step: Name | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WhenResponse(_Node):
    """``when response to REF``: at the moment of the response."""

    ref: ResponseRef
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WhenNoResponse(_Node):
    """``when no response to REF within DURATION``."""

    ref: ResponseRef
    duration: Duration | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class UnlessProp(_Node):
    """``unless responded to REF``: not for customers who already responded."""

    ref: ResponseRef
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SendProp(_Node):
    """``send a, b``: one contact of each touchpoint."""

    touchpoints: tuple[Name, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ThenProp(_Node):
    """``then [SHARE] -> STAGE`` (no share: every responder)."""

    share: Share | Valued | None
    stage: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class LimitProp(_Node):
    count: Number
    span: Span | None = None


TriggerProp: TypeAlias = (
    WhenEnter | WhenIn | WhenEvery | WhenResponse | WhenNoResponse
    | SendProp | ResponseProp | ThenProp | LimitProp | UnlessProp
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TriggerNode(_Node):
    name: Name
    label: str | None
    props: tuple[TriggerProp, ...]
    span: Span | None = None


# --- segments, scenarios -------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WithoutTrigger(_Node):
    name: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WithoutTransition(_Node):
    source: Name
    target: Name
    span: Span | None = None


# --- the contact policy ------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CapProp(_Node):
    """``cap CHANNEL N per DURATION`` (``any`` for every channel)."""

    channel: Name
    count: Number
    window: Duration | Valued
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OnCapProp(_Node):
    """``on cap skip|delay``."""

    action: Name
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class QuietProp(_Node):
    """``quiet hours HH:MM-HH:MM [skip|delay]``; ``word`` is the word written after ``quiet``."""

    word: Name
    clock: Name  # the range as written, e.g. '21:00-08:00'
    action: Name | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class HoldoutProp(_Node):
    share: Share | Valued
    span: Span | None = None


PolicyProp: TypeAlias = CapProp | OnCapProp | QuietProp | HoldoutProp


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class WeekendsProp(_Node):
    days: tuple[Name, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CalendarNode(_Node):
    """``calendar { weekends sat, sun }``: the days business days skip."""

    props: tuple[WeekendsProp, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PolicyNode(_Node):
    """``policy { ... }``: the journey's (or a scenario's) contact policy."""

    props: tuple[PolicyProp, ...]
    span: Span | None = None


Override: TypeAlias = (
    StageNode | TransitionNode | TouchpointNode | TriggerNode | WithoutTrigger | WithoutTransition | ParamDecl
    | PolicyNode
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SegmentNode(_Node):
    name: Name
    label: str | None
    share: Share | Valued
    overrides: tuple[Override, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ScenarioNode(_Node):
    name: Name
    label: str | None
    overrides: tuple[Override, ...]
    span: Span | None = None
    rollout: Share | Valued | None = None  # `scenario NAME 50% { ... }`: the share it is rolled out to


# --- plans, targets -------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class YearMonth(_Node):
    """``2027-03`` as written (not yet checked to be a month)."""

    year: int
    month: int
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanStart(_Node):
    month: YearMonth
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanMonths(_Node):
    """``months N`` (``word`` is the unit word written: only ``months`` or ``month`` is right)."""

    count: Number
    span: Span | None = None
    word: str = "months"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanArrivals(_Node):
    """``arrivals X per DURATION [growing G per DURATION]``."""

    count: Number
    per: Duration
    growth: Share | None
    growth_per: Duration | None
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanArrivalsIn(_Node):
    """``arrivals Y in YYYY-MM``: a one-off month."""

    count: Number
    month: YearMonth
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SeasonItem(_Node):
    month: Name
    share: Share
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanSeasonality(_Node):
    items: tuple[SeasonItem, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanBudget(_Node):
    money: Money
    per: Duration
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanScenario(_Node):
    name: Name
    span: Span | None = None


PlanProp: TypeAlias = (
    PlanStart | PlanMonths | PlanArrivals | PlanArrivalsIn | PlanSeasonality | PlanBudget | PlanScenario
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PlanNode(_Node):
    """``plan NAME ["Label"] { props }``."""

    name: Name
    label: str | None
    props: tuple[PlanProp, ...]
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TargetNode(_Node):
    """``KPI [at most|at least] [DURATION] VALUE`` in a ``targets`` block.

    ``value`` is a :class:`Share` for a percentage, else :class:`Money` (currency optional).
    """

    kpi: Name
    bound: Literal["most", "least"] | None
    duration: Duration | None
    value: Share | Money
    span: Span | None = None


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TargetsNode(_Node):
    label: str | None
    targets: tuple[TargetNode, ...]
    span: Span | None = None


Setting: TypeAlias = (
    CurrencySetting | HorizonSetting | DiscountSetting | CustomersSetting | LtvWindowSetting | LanguageSetting
    | ArrivalsSetting
)
BodyItem: TypeAlias = (
    Setting
    | PhaseNode
    | StageNode
    | TransitionNode
    | TouchpointNode
    | TriggerNode
    | SegmentNode
    | ScenarioNode
    | PlanNode
    | TargetsNode
    | ParamDecl
    | PolicyNode
    | CalendarNode
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class JourneyNode(_Node):
    """``journey "Label" { ... }`` (or ``journey NAME ["Label"] { ... }``)."""

    name: str | None
    label: str | None
    items: tuple[BodyItem, ...]
    span: Span | None = None
