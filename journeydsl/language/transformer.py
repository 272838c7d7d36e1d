"""Lark parse tree -> :mod:`journeydsl.language.syntax` nodes.

Reshapes only: every node gets its span from lark's positions, numbers are
read as written, labels are unquoted. Nothing is checked here.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Transformer, Tree, v_args

from journeydsl.language import syntax as sx
from journeydsl.language.source import Span

__all__ = ["ToSyntax", "number_value", "to_syntax", "unquote"]

#: A label's escapes: ``\"`` ``\\`` ``\t`` ``\n`` ``\r`` and ``\u`` with four hex digits
#: (the parser refuses any other backslash with E107 before this runs).
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)")
_SIMPLE = {'"': '"', "\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _unescape(m: re.Match[str]) -> str:
    seq = m.group(1)
    if len(seq) == 5:
        return chr(int(seq[1:], 16))
    return _SIMPLE.get(seq, seq)


def unquote(token: str) -> str:
    r"""The text of a double-quoted label, escapes replaced by what they stand for.

    >>> unquote('"say \\"hi\\""')
    'say "hi"'
    >>> unquote(r'"Free\ttrial \u00e9"')
    'Free\ttrial é'
    """
    return _ESCAPE.sub(_unescape, token[1:-1])


def number_value(text: str) -> float:
    """The value of a number as written (``1_000``, ``30%``, ``1.20``).

    >>> number_value("1_000")
    1000.0
    """
    return float(text.rstrip("%").replace("_", ""))


def _span(meta: Any) -> Span | None:
    return Span.from_meta(meta)


def _tok_span(tok: Token) -> Span | None:
    return Span.from_meta(tok)


def _tokens(children: list[Any], *types: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type in types]


def _first(children: list[Any], cls: type) -> Any:
    for c in children:
        if isinstance(c, cls):
            return c
    return None


def _nodes(children: list[Any]) -> list[Any]:
    """The value nodes among ``children`` (everything that is not a token), in order."""
    return [c for c in children if not isinstance(c, Token)]


def _name(tok: Token) -> sx.Name:
    return sx.Name(str(tok), _tok_span(tok))


def _label(children: list[Any]) -> str | None:
    strings = _tokens(children, "STRING")
    return unquote(str(strings[0])) if strings else None


def _unit(text: str) -> str:
    return text[:-1] if text.endswith("s") else text


@v_args(meta=True)
class _ValueRules(Transformer[Token, Any]):
    """Values as written: shares, money, durations, distributions, parameters."""

    # --- values -------------------------------------------------------------

    def share(self, meta: Any, children: list[Any]) -> sx.Share | sx.Valued:
        tok = children[0]
        if not isinstance(tok, Token):
            return _valued(tok)
        return sx.Share(number_value(str(tok)), tok.type == "PERCENT", _span(meta))

    def money(self, meta: Any, children: list[Any]) -> sx.Money | sx.Valued:
        if not isinstance(children[0], Token):
            return _valued(children[0])
        cur = _tokens(children, "CURRENCY")
        return sx.Money(
            number_value(str(children[0])), str(cur[0]) if cur else None, _span(meta)
        )

    def duration(self, meta: Any, children: list[Any]) -> sx.Duration | sx.Valued:
        if not isinstance(children[0], Token):
            return _valued(children[0])
        num = _tokens(children, "NUMBER")
        unit = _tokens(children, "UNIT")[0]
        return sx.Duration(
            number_value(str(num[0])) if num else None, _unit(str(unit)), _span(meta),
            business=bool(_tokens(children, "BUSINESS")),
        )

    def quantity(self, meta: Any, children: list[Any]) -> sx.Quantity:
        unit = _tokens(children, "UNIT")
        cur = _tokens(children, "CURRENCY")
        return sx.Quantity(
            number_value(str(children[0])),
            _unit(str(unit[0])) if unit else None,
            str(cur[0]) if cur else None,
            _span(meta),
        )

    def dist_arg(self, meta: Any, children: list[Any]) -> sx.DistArg:
        param = _tokens(children, "PARAM")
        return sx.DistArg(str(param[0]) if param else None, _valued(children[-1]), _span(meta))

    def dist(self, meta: Any, children: list[Any]) -> sx.DistNode:
        kind = _tokens(children, "DIST_KIND")
        if not kind:
            q: sx.Quantity | sx.Valued = _valued(children[0])
            return sx.DistNode("fixed", (sx.DistArg(None, q, q.span),), _span(meta))
        args = tuple(c for c in children if isinstance(c, sx.DistArg))
        return sx.DistNode(str(kind[0]), args, _span(meta))

    # --- parameters and uncertainty -------------------------------------------

    def amount(self, meta: Any, children: list[Any]) -> sx.Amount:
        tok = children[0]
        unit = _tokens(children, "UNIT")
        cur = _tokens(children, "CURRENCY")
        return sx.Amount(
            number_value(str(tok)),
            tok.type == "PERCENT",
            _unit(str(unit[0])) if unit else None,
            str(cur[0]) if cur else None,
            _span(meta),
        )

    def param_ref(self, meta: Any, children: list[Any]) -> sx.ParamRef:
        return sx.ParamRef(_name(children[0]), _span(meta))

    def plus_minus(self, meta: Any, children: list[Any]) -> sx.Uncertain:
        amounts = tuple(c for c in children if isinstance(c, sx.Amount))
        return sx.Uncertain("pm", amounts, span=_span(meta))

    def range_value(self, meta: Any, children: list[Any]) -> sx.Uncertain:
        amounts = [c for c in children if isinstance(c, sx.Amount)]
        if not _tokens(children, "RANGE_DASH") and amounts[2].value < 0:
            # `(18%-33%)`: the hyphen was read as the sign of the high end
            amounts[2] = sx.Amount(-amounts[2].value, amounts[2].percent, amounts[2].unit,
                                   amounts[2].currency, amounts[2].span)
        return sx.Uncertain("range", tuple(amounts), span=_span(meta))

    def k_of_n(self, meta: Any, children: list[Any]) -> sx.Uncertain:
        nums = _tokens(children, "NUMBER")
        amounts = tuple(sx.Amount(number_value(str(t)), span=_tok_span(t)) for t in nums)
        return sx.Uncertain("of", amounts, span=_span(meta))

    def pdist_arg(self, meta: Any, children: list[Any]) -> tuple[str | None, sx.Amount]:
        names = _tokens(children, "PARAM", "MODE")
        return (str(names[0]) if names else None, children[-1])

    def param_dist(self, meta: Any, children: list[Any]) -> sx.Uncertain:
        kind = str(_tokens(children, "DIST_KIND", "PDIST_KIND")[0])
        args = [c for c in children if isinstance(c, tuple)]
        return sx.Uncertain(
            "dist", tuple(a for _n, a in args), kind, tuple(n for n, _a in args), _span(meta)
        )

    def count(self, meta: Any, children: list[Any]) -> sx.Number | sx.Valued:
        tok = children[0]
        if not isinstance(tok, Token):
            return _valued(tok)
        return sx.Number(number_value(str(tok)), _tok_span(tok))

    def param_decl(self, meta: Any, children: list[Any]) -> sx.ParamDecl:
        value = children[-1]
        if isinstance(value, sx.Amount):
            value = sx.Uncertain("fixed", (value,), span=value.span)
        return sx.ParamDecl(_name(_tokens(children, "NAME")[0]), _label(children), value, _span(meta))


@v_args(meta=True)
class _StatementRules(Transformer[Token, Any]):
    """Settings, stages, transitions, segments and scenarios."""

    # --- settings -----------------------------------------------------------

    def currency_setting(self, meta: Any, children: list[Any]) -> sx.CurrencySetting:
        return sx.CurrencySetting(str(_tokens(children, "CURRENCY")[0]), _span(meta))

    def horizon_setting(self, meta: Any, children: list[Any]) -> sx.HorizonSetting:
        return sx.HorizonSetting(_nodes(children)[0], _span(meta))

    def discount_setting(self, meta: Any, children: list[Any]) -> sx.DiscountSetting:
        return sx.DiscountSetting(
            _nodes(children)[0], (_nodes(children)[1:] or [None])[0], _span(meta)
        )

    def ltv_window_setting(self, meta: Any, children: list[Any]) -> sx.LtvWindowSetting:
        return sx.LtvWindowSetting(_nodes(children)[0], _span(meta))

    def language_setting(self, meta: Any, children: list[Any]) -> sx.LanguageSetting:
        tok = _tokens(children, "NAME")[0]
        return sx.LanguageSetting(sx.Name(str(tok), _tok_span(tok)), _span(meta))

    def customers_setting(self, meta: Any, children: list[Any]) -> sx.CustomersSetting:
        tok = _tokens(children, "NUMBER")[0]
        return sx.CustomersSetting(sx.Number(number_value(str(tok)), _tok_span(tok)), _span(meta))

    def arrivals_setting(self, meta: Any, children: list[Any]) -> sx.ArrivalsSetting:
        tok = _tokens(children, "NUMBER")[0]
        return sx.ArrivalsSetting(
            sx.Number(number_value(str(tok)), _tok_span(tok)), _nodes(children)[0], _span(meta)
        )

    # --- stages -------------------------------------------------------------

    def phase(self, meta: Any, children: list[Any]) -> sx.PhaseNode:
        tok = _tokens(children, "STRING", "NAME")[0]
        label = unquote(str(tok)) if tok.type == "STRING" else str(tok)
        stages = tuple(c for c in children if isinstance(c, sx.StageNode))
        return sx.PhaseNode(label, stages, _span(meta))

    def stage(self, meta: Any, children: list[Any]) -> sx.StageNode:
        body = _first(children, tuple)
        return sx.StageNode(
            _name(_tokens(children, "NAME")[0]),
            _label(children),
            body if body is not None else (),
            has_body=body is not None,
            span=_span(meta),
        )

    def stage_patch(self, meta: Any, children: list[Any]) -> sx.StageNode:
        return sx.StageNode(
            _name(children[0]), None, children[1], has_body=True, short=True, span=_span(meta)
        )

    def stage_body(self, meta: Any, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def entry_prop(self, meta: Any, children: list[Any]) -> sx.EntryProp:
        return sx.EntryProp((_nodes(children) or [None])[0], _span(meta))

    def flag_prop(self, meta: Any, children: list[Any]) -> sx.FlagProp:
        return sx.FlagProp(str(children[0]), _span(meta))  # type: ignore[arg-type]

    def dwell_prop(self, meta: Any, children: list[Any]) -> sx.DwellProp:
        return sx.DwellProp(_first(children, sx.DistNode), _span(meta))

    def touch_prop(self, meta: Any, children: list[Any]) -> sx.TouchProp:
        return sx.TouchProp(tuple(_name(t) for t in _tokens(children, "NAME")), _span(meta))

    def on_enter(self, meta: Any, children: list[Any]) -> str:
        return "on enter"

    def every(self, meta: Any, children: list[Any]) -> sx.Duration | sx.Valued:
        d: sx.Duration | sx.Valued = _nodes(children)[0]
        return d

    def cash_prop(self, meta: Any, children: list[Any]) -> sx.CashProp:
        kind = str(_tokens(children, "REVENUE", "COST")[0])
        return sx.CashProp(
            kind,  # type: ignore[arg-type]
            children[1],
            children[2] if not isinstance(children[2], str) else None,
            _span(meta),
        )

    def purchases_prop(self, meta: Any, children: list[Any]) -> sx.PurchasesProp:
        rate, per = _nodes(children)[:2]
        return sx.PurchasesProp(
            rate,
            per,
            _first(children, sx.DistNode),
            _span(meta),
        )

    def refers_prop(self, meta: Any, children: list[Any]) -> sx.RefersProp:
        return sx.RefersProp(_nodes(children)[0], _name(_tokens(children, "NAME")[0]), _span(meta))

    # --- transitions ----------------------------------------------------------

    def transition(self, meta: Any, children: list[Any]) -> sx.TransitionNode:
        src, dst = _tokens(children, "NAME")
        spec: dict[str, Any] = children[-1]
        return sx.TransitionNode(
            _name(src),
            _name(dst),
            spec["share"],
            spec["otherwise"],
            spec["per"],
            spec["after"],
            spec["via"],
            _span(meta),
        )

    def edge_spec(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        after: list[sx.DistNode] = []
        via: list[sx.Name] = []
        for c in children:
            if isinstance(c, tuple) and c[0] == "after":
                after.append(c[1])
            elif isinstance(c, tuple) and c[0] == "via":
                via.append(c[1])
        values = [c for c in children if isinstance(c, sx.Share | sx.ParamRef | sx.Uncertain)]
        pers = [c for c in children if isinstance(c, sx.Duration)]
        otherwise = bool(_tokens(children, "OTHERWISE"))
        share = None if otherwise or not values else values[0]
        per: Any = pers[0] if pers else (values[-1] if len(values) > (0 if otherwise else 1) else None)
        return {
            "share": share,
            "otherwise": otherwise,
            "per": per,
            "after": tuple(after),
            "via": tuple(via),
        }

    def after_mod(self, meta: Any, children: list[Any]) -> tuple[str, sx.DistNode]:
        return ("after", _first(children, sx.DistNode))

    def via_mod(self, meta: Any, children: list[Any]) -> tuple[str, sx.Name]:
        return ("via", _name(_tokens(children, "NAME")[0]))

    # --- segments, scenarios ----------------------------------------------------

    def overrides(self, meta: Any, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def segment(self, meta: Any, children: list[Any]) -> sx.SegmentNode:
        return sx.SegmentNode(
            _name(_tokens(children, "NAME")[0]),
            _label(children),
            _nodes(children)[0],
            children[-1],
            _span(meta),
        )

    def scenario(self, meta: Any, children: list[Any]) -> sx.ScenarioNode:
        values = _nodes(children)[:-1]  # the rollout share, if written, then the overrides
        return sx.ScenarioNode(
            _name(_tokens(children, "NAME")[0]), _label(children), children[-1], _span(meta),
            rollout=values[0] if values else None,
        )


@v_args(meta=True)
class _AutomationRules(Transformer[Token, Any]):
    """Touchpoints, triggers, the calendar and the contact policy."""

    # --- touchpoints ----------------------------------------------------------

    def touchpoint(self, meta: Any, children: list[Any]) -> sx.TouchpointNode:
        body = _first(children, tuple)
        return sx.TouchpointNode(
            _name(_tokens(children, "NAME")[0]),
            _label(children),
            body if body is not None else (),
            has_body=body is not None,
            span=_span(meta),
            kind="task" if _tokens(children, "TASK") else "touchpoint",
        )

    def task(self, meta: Any, children: list[Any]) -> sx.TouchpointNode:
        return self.touchpoint(meta, children)

    def touchpoint_body(self, meta: Any, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def channel_prop(self, meta: Any, children: list[Any]) -> sx.ChannelProp:
        return sx.ChannelProp(_name(_tokens(children, "NAME")[0]), _span(meta))

    def tp_cost_prop(self, meta: Any, children: list[Any]) -> sx.TouchpointCostProp:
        nodes = _nodes(children)
        return sx.TouchpointCostProp(nodes[0], _span(meta), on_response=len(nodes) > 1)

    def on_response(self, meta: Any, children: list[Any]) -> str:
        return "on_response"

    def funnel_prop(self, meta: Any, children: list[Any]) -> sx.FunnelProp:
        return sx.FunnelProp(tuple(c for c in children if isinstance(c, sx.FunnelStep)), _span(meta))

    def funnel_step(self, meta: Any, children: list[Any]) -> sx.FunnelStep:
        return sx.FunnelStep(_name(_tokens(children, "NAME")[0]), _nodes(children)[0], _span(meta))

    def capacity_prop(self, meta: Any, children: list[Any]) -> sx.CapacityProp:
        nodes = _nodes(children)
        return sx.CapacityProp(nodes[0], nodes[1], _span(meta))

    def response_prop(self, meta: Any, children: list[Any]) -> sx.ResponseProp:
        return sx.ResponseProp(_nodes(children)[0], _span(meta))

    def transactional_prop(self, meta: Any, children: list[Any]) -> sx.TransactionalProp:
        return sx.TransactionalProp(_span(meta))

    # --- triggers -------------------------------------------------------------

    def trigger(self, meta: Any, children: list[Any]) -> sx.TriggerNode:
        return sx.TriggerNode(
            _name(_tokens(children, "NAME")[0]),
            _label(children),
            _first(children, tuple),
            _span(meta),
        )

    def trigger_body(self, meta: Any, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    def when_enter(self, meta: Any, children: list[Any]) -> sx.WhenEnter:
        return sx.WhenEnter(_name(_tokens(children, "NAME")[0]), _span(meta))

    def when_in(self, meta: Any, children: list[Any]) -> sx.WhenIn:
        return sx.WhenIn(
            _name(_tokens(children, "NAME")[0]), _nodes(children)[0], _span(meta)
        )

    def when_every(self, meta: Any, children: list[Any]) -> sx.WhenEvery:
        return sx.WhenEvery(
            _nodes(children)[0], _name(_tokens(children, "NAME")[0]), _span(meta)
        )

    def send_prop(self, meta: Any, children: list[Any]) -> sx.SendProp:
        return sx.SendProp(tuple(_name(t) for t in _tokens(children, "NAME")), _span(meta))

    def response_ref(self, meta: Any, children: list[Any]) -> sx.ResponseRef:
        names = _tokens(children, "NAME")
        return sx.ResponseRef(_name(names[0]), _name(names[1]) if len(names) > 1 else None, _span(meta))

    def when_response(self, meta: Any, children: list[Any]) -> sx.WhenResponse:
        return sx.WhenResponse(_first(children, sx.ResponseRef), _span(meta))

    def when_no_response(self, meta: Any, children: list[Any]) -> sx.WhenNoResponse:
        ref = _first(children, sx.ResponseRef)
        return sx.WhenNoResponse(ref, next(c for c in _nodes(children) if c is not ref), _span(meta))

    def unless_prop(self, meta: Any, children: list[Any]) -> sx.UnlessProp:
        return sx.UnlessProp(_first(children, sx.ResponseRef), _span(meta))

    def then_prop(self, meta: Any, children: list[Any]) -> sx.ThenProp:
        return sx.ThenProp(
            (_nodes(children) or [None])[0], _name(_tokens(children, "NAME")[0]), _span(meta)
        )

    def limit_prop(self, meta: Any, children: list[Any]) -> sx.LimitProp:
        tok = _tokens(children, "NUMBER")[0]
        return sx.LimitProp(sx.Number(number_value(str(tok)), _tok_span(tok)), _span(meta))

    # --- the calendar ----------------------------------------------------------------

    def calendar(self, meta: Any, children: list[Any]) -> sx.CalendarNode:
        return sx.CalendarNode(tuple(_nodes(children)), _span(meta))

    def weekends_prop(self, meta: Any, children: list[Any]) -> sx.WeekendsProp:
        return sx.WeekendsProp(tuple(_name(t) for t in _tokens(children, "NAME")), _span(meta))

    # --- the contact policy --------------------------------------------------------

    def policy(self, meta: Any, children: list[Any]) -> sx.PolicyNode:
        return sx.PolicyNode(tuple(_nodes(children)), _span(meta))

    def cap_prop(self, meta: Any, children: list[Any]) -> sx.CapProp:
        num = _tokens(children, "NUMBER")[0]
        return sx.CapProp(
            _name(_tokens(children, "NAME")[0]),
            sx.Number(number_value(str(num)), _tok_span(num)),
            _first(children, sx.Duration) or _nodes(children)[0],
            _span(meta),
        )

    def on_cap_prop(self, meta: Any, children: list[Any]) -> sx.OnCapProp:
        return sx.OnCapProp(_name(_tokens(children, "SKIP", "DELAY")[0]), _span(meta))

    def quiet_prop(self, meta: Any, children: list[Any]) -> sx.QuietProp:
        action = _tokens(children, "SKIP", "DELAY")
        return sx.QuietProp(
            _name(_tokens(children, "UNIT")[0]),
            _name(_tokens(children, "CLOCK_RANGE")[0]),
            _name(action[0]) if action else None,
            _span(meta),
        )

    def holdout_prop(self, meta: Any, children: list[Any]) -> sx.HoldoutProp:
        return sx.HoldoutProp(_nodes(children)[0], _span(meta))

    def without_trigger(self, meta: Any, children: list[Any]) -> sx.WithoutTrigger:
        return sx.WithoutTrigger(_name(_tokens(children, "NAME")[0]), _span(meta))

    def without_transition(self, meta: Any, children: list[Any]) -> sx.WithoutTransition:
        src, dst = _tokens(children, "NAME")
        return sx.WithoutTransition(_name(src), _name(dst), _span(meta))


@v_args(meta=True)
class _PlanRules(Transformer[Token, Any]):
    """Calendar plans and targets."""

    # --- plans, targets ------------------------------------------------------------

    @staticmethod
    def _year_month(tok: Token) -> sx.YearMonth:
        y, m = str(tok).split("-")
        return sx.YearMonth(int(y), int(m), _tok_span(tok))

    @staticmethod
    def _number(tok: Token) -> sx.Number:
        return sx.Number(number_value(str(tok)), _tok_span(tok))

    def plan(self, meta: Any, children: list[Any]) -> sx.PlanNode:
        props = tuple(c for c in children if not isinstance(c, Token))
        return sx.PlanNode(_name(_tokens(children, "NAME")[0]), _label(children), props, _span(meta))

    def plan_start(self, meta: Any, children: list[Any]) -> sx.PlanStart:
        return sx.PlanStart(self._year_month(_tokens(children, "MONTH_LIT")[0]), _span(meta))

    def plan_months(self, meta: Any, children: list[Any]) -> sx.PlanMonths:
        word = str(_tokens(children, "UNIT")[0])
        return sx.PlanMonths(self._number(_tokens(children, "NUMBER")[0]), _span(meta), word)

    def plan_arrivals(self, meta: Any, children: list[Any]) -> sx.PlanArrivals:
        durations = [c for c in children if isinstance(c, sx.Duration)]
        return sx.PlanArrivals(
            self._number(_tokens(children, "NUMBER")[0]),
            durations[0],
            _first(children, sx.Share),
            durations[1] if len(durations) > 1 else None,
            _span(meta),
        )

    def plan_arrivals_in(self, meta: Any, children: list[Any]) -> sx.PlanArrivalsIn:
        return sx.PlanArrivalsIn(
            self._number(_tokens(children, "NUMBER")[0]),
            self._year_month(_tokens(children, "MONTH_LIT")[0]),
            _span(meta),
        )

    def season_item(self, meta: Any, children: list[Any]) -> sx.SeasonItem:
        return sx.SeasonItem(_name(_tokens(children, "NAME")[0]), _first(children, sx.Share), _span(meta))

    def plan_seasonality(self, meta: Any, children: list[Any]) -> sx.PlanSeasonality:
        return sx.PlanSeasonality(tuple(c for c in children if isinstance(c, sx.SeasonItem)), _span(meta))

    def plan_budget(self, meta: Any, children: list[Any]) -> sx.PlanBudget:
        num = _tokens(children, "NUMBER")[0]
        cur = _tokens(children, "CURRENCY")
        first, last = _tok_span(num), _tok_span(cur[0] if cur else num)
        span = Span(first.line, first.col, last.end_line, last.end_col) if first and last else None
        money = sx.Money(number_value(str(num)), str(cur[0]) if cur else None, span)
        return sx.PlanBudget(money, _first(children, sx.Duration), _span(meta))

    def plan_scenario(self, meta: Any, children: list[Any]) -> sx.PlanScenario:
        return sx.PlanScenario(_name(_tokens(children, "NAME")[0]), _span(meta))

    def targets(self, meta: Any, children: list[Any]) -> sx.TargetsNode:
        return sx.TargetsNode(
            _label(children), tuple(c for c in children if isinstance(c, sx.TargetNode)), _span(meta)
        )

    def target(self, meta: Any, children: list[Any]) -> sx.TargetNode:
        bound = next((c for c in children if isinstance(c, str) and not isinstance(c, Token)), None)
        value = next(c for c in children if isinstance(c, sx.Share | sx.Money))
        return sx.TargetNode(
            _name(_tokens(children, "NAME")[0]),
            bound,  # type: ignore[arg-type]
            _first(children, sx.Duration),
            value,
            _span(meta),
        )

    def target_bound(self, meta: Any, children: list[Any]) -> str:
        return str(_tokens(children, "MOST", "LEAST")[0])

    def target_value(self, meta: Any, children: list[Any]) -> sx.Share | sx.Money:
        tok = children[0]
        if tok.type == "PERCENT":
            return sx.Share(number_value(str(tok)), True, _span(meta))
        cur = _tokens(children, "CURRENCY")
        return sx.Money(number_value(str(tok)), str(cur[0]) if cur else None, _span(meta))


@v_args(meta=True)
class ToSyntax(_ValueRules, _StatementRules, _AutomationRules, _PlanRules):
    """The transformer itself; use :func:`to_syntax`. One method per grammar rule, grouped by
    the part of the language they read. Each group is a transformer of its own because lark's
    ``v_args`` wraps only a class's own methods, not those it inherits."""

    # --- file ---------------------------------------------------------------

    def start(self, meta: Any, children: list[Any]) -> sx.JourneyNode:
        node: sx.JourneyNode = children[0]
        return node

    def journey(self, meta: Any, children: list[Any]) -> sx.JourneyNode:
        name: str | None = None
        label: str | None = None
        items: list[Any] = []
        for c in children:
            if isinstance(c, Token):
                if c.type == "STRING":
                    label = unquote(str(c))
            elif isinstance(c, tuple):
                name, label = c
            else:
                items.append(c)
        return sx.JourneyNode(name, label, tuple(items), _span(meta))

    def name_label(self, meta: Any, children: list[Any]) -> tuple[str, str | None]:
        return str(_tokens(children, "NAME")[0]), _label(children)


def _valued(node: Any) -> Any:
    """A value node as it is (a parameter reference or an uncertain value, or a plain quantity)."""
    return node


def to_syntax(tree: Tree[Token]) -> sx.JourneyNode:
    """The :class:`~journeydsl.language.syntax.JourneyNode` of a parse tree."""
    node: sx.JourneyNode = ToSyntax().transform(tree)
    return node
