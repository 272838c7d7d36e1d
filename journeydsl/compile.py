"""Syntax -> the validated :class:`~journeydsl.model.Journey`.

Names are resolved (with did-you-mean hints), units converted to the model's
canonical ones (days; shares and the discount as fractions; one currency),
overrides of segments and scenarios built and checked to name things that
exist, and every problem is reported at the span it was written at. After a
clean compile the checks of :mod:`journeydsl.checks` run on the journey and
on each scenario and segment journey.

Public entry points: :func:`compile_source`, :func:`compile_text`, :func:`load`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from journeydsl import syntax as sx
from journeydsl.checks import (
    MAX_CUSTOMERS,
    MAX_CV,
    MAX_DISCOUNT,
    MAX_DIST_DAYS,
    MAX_HORIZON_DAYS,
    MAX_MONEY,
    MIN_DAYS,
    SHAPE_RANGE,
    check_all,
)
from journeydsl.compile_plan import compile_plans, compile_targets
from journeydsl.errors import (
    Diagnostic,
    DiagnosticBag,
    JourneyError,
    JourneyValidationError,
    did_you_mean,
)
from journeydsl.model import (
    DAYS,
    DIST_PARAMS,
    CashFlow,
    Dist,
    Journey,
    Overrides,
    Param,
    Purchases,
    Removal,
    Scenario,
    Segment,
    Stage,
    StagePatch,
    Touchpoint,
    TouchpointPatch,
    Transition,
    Trigger,
    TriggerPatch,
    apply_overrides,
)
from journeydsl.params import Distribution, ParamError, from_written
from journeydsl.parser import parse, too_large
from journeydsl.source import FileTooLarge, Source, Span, read_bounded

__all__ = ["compile_source", "compile_syntax", "compile_text", "load", "read_source", "recompile"]

#: Names the language gives a meaning of its own.
RESERVED_SCENARIO = "baseline"
RESERVED_SEGMENT = "default"


def _pydantic_message(exc: ValidationError) -> str:
    """The first problem pydantic found, in our style (no 'Value error,' prefix)."""
    for err in exc.errors():
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err.get("loc", ()))
        if err.get("type") == "missing":
            return f"'{loc}' is missing"
        if loc and err.get("type") != "value_error":
            return f"'{loc}': {msg[0].lower() + msg[1:]}"
        return msg[0].lower() + msg[1:] if msg else "invalid value"
    return "invalid value"  # pragma: no cover


def _fmt_num(v: float) -> str:
    return f"{v:g}"


class _Compiler:
    """Turns one :class:`~journeydsl.syntax.JourneyNode` into a model, collecting diagnostics."""

    def __init__(
        self,
        bag: DiagnosticBag,
        quantiles: dict[str, float] | None = None,
        values: dict[str, float] | None = None,
    ) -> None:
        self.bag = bag
        # parameters: declared ones, the variant's own, inline ones; where a value
        # is drawn (``quantiles``: name -> u) or set (``values``: name -> value)
        self.quantiles = quantiles or {}
        self.values = values or {}
        self.params: dict[str, tuple[Param, Distribution]] = {}
        self.param_spans: dict[str, Span | None] = {}
        self.scope: dict[str, tuple[Param, Distribution]] = {}
        self.scope_owner: str | None = None
        self.inline: list[Param] = []
        self.inline_spans: dict[Span, Param] = {}
        self.items: tuple[sx.BodyItem, ...] = ()
        self.used: set[str] = set()
        self.broken: set[str] = set()  # declared, but with a value that was reported
        self.context: str = "value"
        self.currency: str | None = None
        self.currency_span: Span | None = None
        self.stage_names: dict[str, Span | None] = {}
        self.touchpoint_names: dict[str, Span | None] = {}
        self.trigger_names: dict[str, Span | None] = {}
        self.transition_keys: set[tuple[str, str]] = set()
        # what the segments add to the base: a scenario may change or remove these too
        self.segment_tps: dict[str, Span | None] = {}
        self.segment_triggers: dict[str, Span | None] = {}
        self.segment_keys: set[tuple[str, str]] = set()

    # --- values -------------------------------------------------------------

    def share(self, share: sx.Share | sx.Valued, what: str = "share") -> float:
        """A share as a fraction; a bare number above 1 is an error (it wants a '%')."""
        if isinstance(share, sx.ParamRef | sx.Uncertain):
            return self.valued(share, "share", what)
        if share.percent:
            return share.value / 100.0
        if share.value > 1 or share.value < 0:
            self.bag.error(
                share.span, "E303",
                f"the {what} {_fmt_num(share.value)} is not a percentage or a fraction",
                f"write '{_fmt_num(share.value)}%' (or a fraction from 0 to 1)",
            )
        return share.value

    def days(self, d: sx.Duration | sx.Valued, *, positive: bool = True, what: str = "duration") -> float:
        if isinstance(d, sx.ParamRef | sx.Uncertain):
            return self.valued(d, "duration", what)
        count = 1.0 if d.count is None else d.count
        days = count * DAYS[d.unit]
        if not math.isfinite(days):
            self.bag.error(d.span, "E307", f"the {what} is too long to count", None)
            return 1.0
        if (positive and days <= 0) or days < 0 or not math.isfinite(days):
            need = "more than 0" if positive else "at least 0"
            self.bag.error(
                d.span, "E307",
                f"the {what} must be {need}, got {_fmt_num(count)} {d.unit}"
                f"{'' if count == 1 else 's'}", None,
            )
        elif 0 < days < MIN_DAYS:
            self.bag.error(
                d.span, "E315",
                f"the {what} is {_fmt_num(days)} days, shorter than the {MIN_DAYS:g} days"
                " (about 9 seconds) the engine resolves", "use 0 for no time at all, or a longer time",
            )
        return days

    def check_currency(self, code: str | None, span: Span | None) -> None:
        if code is None:
            return
        if self.currency is None:
            self.currency, self.currency_span = code, span
        elif code != self.currency:
            where = f" (line {self.currency_span.line})" if self.currency_span else ""
            self.bag.error(
                span, "E304",
                f"currency mismatch: '{code}' here, but the journey uses '{self.currency}'",
                f"one journey has one currency{where}; write amounts in '{self.currency}'",
            )

    def money(self, m: sx.Money | sx.Valued, what: str = "amount") -> float:
        if isinstance(m, sx.ParamRef | sx.Uncertain):
            return self.valued(m, "money", what)
        self.check_currency(m.currency, m.span)
        if not math.isfinite(m.amount):
            self.bag.error(m.span, "E300", f"the {what} is too large to count", None)
            return 0.0
        if m.amount < 0:
            self.bag.error(
                m.span, "E308", f"the {what} must be at least 0, got {_fmt_num(m.amount)}", None
            )
        self.money_limit(m.amount, m.span, f"the {what}")
        return m.amount

    def money_limit(self, amount: float, span: Span | None, what: str) -> None:
        if abs(amount) > MAX_MONEY:
            self.bag.error(
                span, "E315", f"{what} is {_fmt_num(amount)}, more than the {MAX_MONEY:g} an amount"
                " can be", "amounts up to a trillion are summed exactly over every customer",
            )

    def dist(self, node: sx.DistNode, measure: str) -> Dist | None:
        """A duration (``measure='time'``, in days) or money distribution."""
        kind = node.kind
        order = DIST_PARAMS[kind]
        params: dict[str, float] = {}
        ok = True
        positional = 0
        for arg in node.args:
            if arg.param is None:
                if positional >= len(order) or params.keys() - set(order[:positional]):
                    self.bag.error(
                        arg.span, "E305",
                        f"{kind} takes {_plist(order)}; name the parameters, like"
                        f" '{order[0]} ...'", None,
                    )
                    ok = False
                    continue
                name = order[positional]
                positional += 1
            else:
                name = arg.param
            if name not in order:
                self.bag.error(
                    arg.span, "E305", f"{kind} takes {_plist(order)}, not '{name}'",
                    did_you_mean(name, order),
                )
                ok = False
                continue
            if name in params:
                self.bag.error(arg.span, "E305", f"'{name}' is given twice", None)
                ok = False
                continue
            value = self.quantity(arg.quantity, name, measure)
            if value is None:
                ok = False
                continue
            params[name] = value
        if not ok:
            return None
        missing = [p for p in order if p not in params]
        if missing:
            self.bag.error(
                node.span, "E305",
                f"{kind} needs {_plist(order)}; '{missing[0]}' is missing",
                f"for example: {_example(kind, measure)}",
            )
            return None
        if kind == "uniform" and (self.values or self.quantiles) and params["low"] > params["high"]:
            params["low"], params["high"] = params["high"], params["low"]  # two drawn ends crossed
        units = [u for a in node.args if (u := _written_unit(a.quantity))] if measure == "time" else []
        try:
            dist = Dist(kind=kind, span=node.span, unit=units[0] if units else None, **params)
        except ValidationError as exc:
            self.bag.error(node.span, "E305", _pydantic_message(exc), _example_hint(kind, measure))
            return None
        self.dist_limits(dist, measure)
        return dist

    def dist_limits(self, dist: Dist, measure: str) -> None:
        """E315 for a distribution the engine cannot draw from exactly (docs/language.md, *Limits*)."""
        p = dist.params()
        span = dist.span
        if dist.kind in SHAPE_RANGE:
            lo, hi = SHAPE_RANGE[dist.kind]
            if not lo <= p["shape"] <= hi:
                self.bag.error(
                    span, "E315", f"a {dist.kind} shape of {_fmt_num(p['shape'])} is outside"
                    f" {_fmt_num(lo)} to {_fmt_num(hi)}, where its draws are exact",
                    "a shape below 1 already gives a long tail; an exponential is shape 1",
                )
                return
        if dist.kind == "lognormal" and p["sd"] > MAX_CV * p["mean"]:
            self.bag.error(
                span, "E315", f"a lognormal sd of {_fmt_num(p['sd'])} is more than {MAX_CV:,.0f} times"
                f" its mean of {_fmt_num(p['mean'])}", "no sample could show such a spread; use a smaller sd",
            )
            return
        if measure == "money":
            for name, v in p.items():
                if name != "shape":
                    self.money_limit(v, span, f"the {name}")
            return
        for name, v in p.items():
            if name != "shape" and v > MAX_DIST_DAYS:
                self.bag.error(
                    span, "E315", f"the {name} is {_fmt_num(v)} days, more than the"
                    f" {MAX_DIST_DAYS:g} days a duration can be", None,
                )
                return
        mean = dist.expected()
        if 0 < mean < MIN_DAYS:
            self.bag.error(
                span, "E315", f"this {dist.kind} lasts {_fmt_num(mean)} days on average, shorter than"
                f" the {MIN_DAYS:g} days (about 9 seconds) the engine resolves",
                "use no 'dwell' (or 'fixed(0 days)') for no time at all, or a longer time",
            )

    def quantity(self, q: sx.Quantity | sx.Valued, param: str, measure: str) -> float | None:
        if isinstance(q, sx.ParamRef | sx.Uncertain):
            kind = "number" if param == "shape" else "duration" if measure == "time" else "money"
            outer, self.context = self.context, f"{self.context} {param}"  # `customer purchases mean`
            try:
                return self.valued(q, kind, param)
            finally:
                self.context = outer
        if param == "shape":
            if q.unit or q.currency:
                self.bag.error(
                    q.span, "E306",
                    f"a shape is a plain number, got '{_quantity_text(q)}'",
                    f"write 'shape {_fmt_num(q.value)}'",
                )
                return None
            return q.value
        if measure == "time":
            if q.currency:
                self.bag.error(
                    q.span, "E306", f"expected a duration, found money '{_fmt_num(q.value)}"
                    f" {q.currency}'", "durations are written like '3 days'",
                )
                return None
            if q.unit is None:
                self.bag.error(
                    q.span, "E306", f"'{_fmt_num(q.value)}' needs a time unit",
                    f"write '{_fmt_num(q.value)} days' (or weeks, months, quarters, years)",
                )
                return None
            return q.value * DAYS[q.unit]
        if q.unit:
            self.bag.error(
                q.span, "E306",
                f"expected money, found a duration '{_quantity_text(q)}'",
                "money is written like '49 EUR'",
            )
            return None
        self.check_currency(q.currency, q.span)
        return q.value


    # --- parameters and uncertain values ------------------------------------------

    def written(self, node: sx.Uncertain, want: str | None) -> tuple[str, Distribution] | None:
        """The kind and distribution of a written value (``want``: the kind its place needs)."""
        amounts = node.amounts
        names = node.arg_names or (None,) * len(amounts)
        kinds: list[str] = []
        for a, n in zip(amounts, names, strict=True):
            if n == "shape":
                continue
            k = ("share" if a.percent else "money" if a.currency else "duration" if a.unit else "number")
            if a.currency:
                self.check_currency(a.currency, a.span)
            kinds.append(k)
        if node.form == "of" or (node.form == "dist" and node.kind == "beta"):
            kind = "share"
            if any(a.percent or a.unit or a.currency for a in amounts):
                self.bag.error(node.span, "E602", "'k of n' and beta take plain numbers",
                               "write '30 of 120' or 'beta(30, 70)'")
                return None
        else:
            typed = [k for k in kinds if k != "number"]
            kind = typed[0] if typed else "number"
            if kind == "number" and want == "share" and node.form in ("pm", "range"):
                kind = "share"  # `0.25 ± 0.05` where a share goes: fractions
            for a, n in zip(amounts, names, strict=True):
                k = ("share" if a.percent else "money" if a.currency else "duration" if a.unit else "number")
                if n == "shape" or k == kind or (k == "number" and kind in ("money", "number")):
                    continue
                if k == "number" and kind == "share" and not any(x.percent for x in amounts):
                    continue
                self.bag.error(
                    a.span, "E602",
                    f"'{_amount_text(a)}' is {_KIND_WORDS[k]}, but this value is {_KIND_WORDS[kind]}",
                    "write every part of one value in the same unit, like '25% ± 5%' or '95 EUR ± 20 EUR'",
                )
                return None
        vals = tuple(_canonical(a, kind) if n != "shape" else a.value for a, n in zip(amounts, names, strict=True))
        try:
            dist = from_written(node.form, kind if kind != "number" else "count", vals,  # type: ignore[arg-type]
                                node.kind, tuple(names))
        except ParamError as exc:
            self.bag.error(node.span, "E603", str(exc), exc.hint)
            return None
        return kind, dist

    def declare_param(self, node: sx.ParamDecl, table: dict[str, tuple[Param, Distribution]],
                      prefix: str = "") -> None:
        """``param NAME ["Label"] = VALUE``: into ``table`` (the journey's, or a variant's own)."""
        name = node.name.text
        if name in table:
            first = self.param_spans.get(prefix + name)
            where = f" (first at line {first.line})" if first else ""
            self.bag.error(node.name.span, "E210", f"duplicate parameter '{name}'",
                           f"each parameter has its own name{where}")
            return
        if name in self.stage_names or name in self.touchpoint_names or name in self.trigger_names:
            pass  # names live in their own places; a stage may share a parameter's name
        got = self.written(node.value, None)
        if got is None:
            self.broken.add(name)
            return
        kind, dist = got
        base = self.params.get(name) if prefix else None
        if prefix and base is None:
            hint = did_you_mean(name, self.params) or (
                "declare it at journey level first: 'param " + name + " = ...'")
            self.bag.error(node.name.span, "E601", f"unknown parameter '{name}'", hint)
            return
        if base is not None and base[0].kind != kind:
            self.bag.error(
                node.value.span, "E602",
                f"'{name}' is {_KIND_WORDS[base[0].kind]}, but this value is {_KIND_WORDS[kind]}",
                f"give '{name}' a value of the same kind, like '{base[0].text}'",
            )
            return
        label = node.label if node.label is not None else (base[0].label if base else None)
        param = Param(name=name, label=label, kind=kind, family=dist.family, args=dist.args,
                      lower=dist.lower, upper=dist.upper, center=dist.center, text=_uncertain_text(node.value),
                      span=node.span)
        table[name] = (param, dist)
        self.param_spans[prefix + name] = node.name.span

    def pick(self, name: str, dist: Distribution) -> float:
        """The value a parameter takes in this compile: set, drawn at a quantile, or its mean."""
        if name in self.values:
            return float(min(max(self.values[name], dist.lower), dist.upper))
        if name in self.quantiles:
            return float(dist.quantile([self.quantiles[name]])[0])
        return dist.mean()

    def valued(self, node: sx.Valued, want: str, what: str) -> float:
        """The value of a parameter used by name, or of an uncertain value written in place."""
        if isinstance(node, sx.ParamRef):
            name = node.name.text
            entry = self.scope.get(name) or self.params.get(name)
            if entry is None and name in self.broken:
                return 0.0 if want != "duration" else 1.0  # its declaration was reported
            if entry is None:
                # where a duration goes, a bare word is as likely a misspelt unit ('per mnth')
                units = [u + s for u in DAYS for s in ("", "s")] if want == "duration" else []
                hint = did_you_mean(name, [*self.params, *units])
                if hint is None:
                    hint = (f"declare it with 'param {name} = ...'" if not self.params else
                            "the parameters are " + ", ".join(f"'{n}'" for n in sorted(self.params)[:8]))
                what_word = "unit or parameter" if units else "parameter"
                self.bag.error(node.span, "E601", f"unknown {what_word} '{name}'", hint)
                return 0.0 if want != "duration" else 1.0
            param, dist = entry
            self.used.add(name)
            if not _fits(param.kind, want):
                self.bag.error(
                    node.span, "E602",
                    f"'{name}' is {_KIND_WORDS[param.kind]} ({param.text}), but {_KIND_WORDS[want]}"
                    f" goes here", _KIND_HINTS[want],
                )
                return 0.0 if want != "duration" else 1.0
            key = f"{self.scope_owner}: {name}" if name in self.scope and self.scope_owner else name
            if key not in self.values and key not in self.quantiles:
                key = name
            value = self.pick(key, dist)
            return value if want != "duration" or value > 0 else 1e-9
        got = self.written(node, want)
        if got is None:
            return 0.0 if want != "duration" else 1.0
        kind, dist = got
        if not _fits(kind, want):
            self.bag.error(node.span, "E602",
                           f"this value is {_KIND_WORDS[kind]}, but {_KIND_WORDS[want]} goes here",
                           _KIND_HINTS[want])
            return 0.0 if want != "duration" else 1.0
        if node.form == "fixed":
            return dist.mean()
        known = self.inline_spans.get(node.span) if node.span is not None else None
        if known is not None and self.scope_owner is not None:
            return self.pick(known.name, dist)  # a base statement compiled again for a variant
        name = self.context if self.scope_owner is None else f"{self.scope_owner}: {self.context}"
        taken = {p.name for p in self.inline} | set(self.params)
        if name in taken:
            k = 2
            while f"{name} ({k})" in taken:
                k += 1
            name = f"{name} ({k})"
        param = Param(
            name=name, kind=kind, family=dist.family, args=dist.args,
            lower=dist.lower, upper=dist.upper, center=dist.center, text=_uncertain_text(node), inline=True,
            span=node.span,
        )
        self.inline.append(param)
        if self.scope_owner is None and node.span is not None:
            self.inline_spans[node.span] = param
        value = self.pick(name, dist)
        return value if want != "duration" or value > 0 else 1e-9

    def written_text(self, node: sx.Valued) -> str | None:
        """How an uncertain share reads on a map: ``25% ± 5%``, or ``close 25% ± 5%`` for a parameter."""
        if isinstance(node, sx.Uncertain):
            return None if node.form == "fixed" else _uncertain_text(node)
        entry = self.scope.get(node.name.text) or self.params.get(node.name.text)
        if entry is None:
            return None
        param, dist = entry
        if not dist.uncertain:
            return node.name.text
        return f"{node.name.text} {param.text}"

    def no_params_in_settings(self, it: sx.Setting) -> None:
        for v in (getattr(it, "duration", None), getattr(it, "rate", None), getattr(it, "per", None)):
            if isinstance(v, sx.ParamRef):
                self.used.add(v.name.text)
            if isinstance(v, sx.ParamRef | sx.Uncertain):
                self.bag.error(v.span, "E604", "a setting takes a plain value, not a parameter or a range",
                               "settings such as the horizon and the discount are fixed; write the value itself")

    # --- names --------------------------------------------------------------

    def ref(self, name: sx.Name, table: dict[str, Span | None], kind: str, code: str) -> bool:
        if name.text in table:
            return True
        hint = did_you_mean(name.text, table)
        if hint is None and not table:
            hint = f"there is no {kind} in this journey yet; define one with '{kind} {name.text}'"
        elif hint is None:
            shown = ", ".join(f"'{n}'" for n in sorted(table)[:8])
            hint = f"the {kind}s are {shown}" + (", ..." if len(table) > 8 else "")
        self.bag.error(name.span, code, f"unknown {kind} '{name.text}'", hint)
        return False

    def declare(self, name: sx.Name, table: dict[str, Span | None], kind: str) -> bool:
        if name.text in table:
            first = table[name.text]
            where = f" (first at line {first.line})" if first else ""
            self.bag.error(
                name.span, "E210", f"duplicate {kind} '{name.text}'",
                f"each {kind} has its own name{where}",
            )
            return False
        table[name.text] = name.span
        return True

    # --- the journey --------------------------------------------------------------

    def journey(self, node: sx.JourneyNode) -> Journey | None:
        items = node.items
        for it in items:
            if isinstance(it, sx.CurrencySetting) and self.currency is None:
                self.currency, self.currency_span = it.code, it.span
        settings: dict[str, Any] = {}
        seen_settings: dict[str, Span | None] = {}
        stages: list[tuple[sx.StageNode, str | None]] = []
        phases: list[str] = []
        for it in items:
            if isinstance(it, sx.PhaseNode):
                if it.label not in phases:
                    phases.append(it.label)
                stages.extend((s, it.label) for s in it.stages)
            elif isinstance(it, sx.StageNode):
                stages.append((it, None))
            elif isinstance(
                it,
                sx.CurrencySetting | sx.HorizonSetting | sx.DiscountSetting | sx.CustomersSetting
                | sx.LtvWindowSetting | sx.LanguageSetting,
            ):
                self.setting(it, settings, seen_settings)

        self.items = items
        for it in items:
            if isinstance(it, sx.ParamDecl):
                self.declare_param(it, self.params)

        # declare names first: references may point forward
        for s, _ in stages:
            self.declare(s.name, self.stage_names, "stage")
        touchpoints = [it for it in items if isinstance(it, sx.TouchpointNode)]
        triggers = [it for it in items if isinstance(it, sx.TriggerNode)]
        for t in touchpoints:
            self.declare(t.name, self.touchpoint_names, "touchpoint")
        for g in triggers:
            self.declare(g.name, self.trigger_names, "trigger")

        model_stages = [self.stage(s, phase) for s, phase in stages]
        self.fill_entries(model_stages, [s for s, _ in stages])
        transitions: list[Transition] = []
        for it in items:
            if isinstance(it, sx.TransitionNode):
                tr = self.transition(it, self.transition_keys)
                if tr is not None:
                    transitions.append(tr)
        model_tps = [self.touchpoint(t) for t in touchpoints]
        model_trs = [self.trigger(g) for g in triggers]

        segments: list[Segment] = []
        scenarios: list[Scenario] = []
        seg_names: dict[str, Span | None] = {}
        sc_names: dict[str, Span | None] = {}
        # segments first: a scenario applies on top of every segment, and may change or
        # remove what a segment adds
        for it in items:
            if isinstance(it, sx.SegmentNode):
                seg = self.segment(it, seg_names)
                if seg is not None:
                    segments.append(seg)
                    self.note_segment_additions(seg.overrides)
        for it in items:
            if isinstance(it, sx.ScenarioNode):
                sc = self.scenario(it, sc_names)
                if sc is not None:
                    scenarios.append(sc)

        # calendar plans and KPI targets (journeydsl.compile_plan)
        plans = compile_plans(self, [it for it in items if isinstance(it, sx.PlanNode)], sc_names)
        targets = compile_targets(self, [it for it in items if isinstance(it, sx.TargetsNode)])

        for name, (_param, _d) in self.params.items():
            if name not in self.used:
                self.bag.warning(
                    self.param_spans.get(name), "W601", f"parameter '{name}' is never used",
                    f"use it where a number of its kind goes, like 'lead -> won {name}', or remove it",
                )
        if self.bag.has_errors:
            return None
        try:
            journey = Journey(
                params=tuple(p for p, _d in self.params.values()) + tuple(self.inline),
                name=node.label or node.name or "journey",
                currency=self.currency,
                phases=tuple(phases),
                stages=tuple(s for s in model_stages if s is not None),
                transitions=tuple(transitions),
                touchpoints=tuple(t for t in model_tps if t is not None),
                triggers=tuple(t for t in model_trs if t is not None),
                segments=tuple(segments),
                scenarios=tuple(scenarios),
                plans=tuple(plans),
                targets=targets,
                span=node.span,
                **settings,
            )
        except ValidationError as exc:
            self.bag.error(node.span, "E300", _pydantic_message(exc), None)
            return None
        self.try_variants(journey)
        return None if self.bag.has_errors else journey

    def setting(
        self, it: sx.Setting, out: dict[str, Any], seen: dict[str, Span | None]
    ) -> None:
        key = type(it).__name__.removesuffix("Setting").lower()
        if key in seen:
            first = seen[key]
            self.bag.error(
                it.span, "E211", f"'{key}' is set twice",
                f"first set at line {first.line}" if first else None,
            )
            return
        seen[key] = it.span
        self.no_params_in_settings(it)
        if any(isinstance(getattr(it, f, None), sx.ParamRef | sx.Uncertain) for f in ("duration", "rate", "per")):
            return
        if isinstance(it, sx.HorizonSetting):
            out["horizon_days"] = self.limited_days(it.duration, "horizon")
        elif isinstance(it, sx.LtvWindowSetting):
            out["ltv_window_days"] = self.limited_days(it.duration, "LTV window")
        elif isinstance(it, sx.DiscountSetting):
            self.discount(it, out)
        elif isinstance(it, sx.CustomersSetting):
            n = it.count.value
            if not math.isfinite(n) or n < 1 or n != int(n):
                self.bag.error(
                    it.count.span, "E309",
                    f"'customers' is a whole number of at least 1, got {_fmt_num(n)}", None,
                )
                return
            if n > MAX_CUSTOMERS:
                self.bag.error(
                    it.count.span, "E315",
                    f"'customers' is {n:,.0f}, more than the {MAX_CUSTOMERS:,} one run can simulate",
                    "a million customers already gives intervals of a fraction of a percent",
                )
                return
            out["customers"] = int(n)
        elif isinstance(it, sx.LanguageSetting):
            from journeydsl.i18n import LANGUAGES

            code = it.code.text
            if code not in LANGUAGES:
                self.bag.error(
                    it.code.span, "E300",
                    f"unknown language '{code}' (expected one of {', '.join(LANGUAGES)})",
                    did_you_mean(code, LANGUAGES) or "reports and maps are written in en, ru or bg",
                )
                return
            out["language"] = code
        # currency was read up front

    def limited_days(self, d: sx.Duration | sx.Valued, what: str) -> float:
        """A horizon or LTV window: a duration of at most 100 years (E315 beyond)."""
        days = self.days(d, what=what)
        if days > MAX_HORIZON_DAYS:
            self.bag.error(
                d.span, "E315",
                f"the {what} is {_fmt_num(days)} days, longer than the {MAX_HORIZON_DAYS:,.0f}"
                " days (100 years) a journey can follow", f"write at most '{what.lower()} 100 years'",
            )
        return days

    def discount(self, it: sx.DiscountSetting, out: dict[str, Any]) -> None:
        """``discount R% [per DURATION]`` as an annual rate from 0% to 100% (E301 outside it)."""
        rate = self.share(it.rate, "discount")
        period = 365.0 if it.per is None else self.days(it.per, what="discount period")
        per = " a year" if it.per is None else f" per {_fmt_num(period)} days"
        hint = "a discount is an annual rate like 'discount 10% per year'"
        if not math.isfinite(rate):
            self.bag.error(it.rate.span, "E301", "the discount is too large to count", hint)
            return
        if rate < 0:
            self.bag.error(it.rate.span, "E301", f"the discount is {_pct(rate)}{per}, below 0%", hint)
            return
        if not period >= MIN_DAYS:
            return  # the period is reported by days()
        # the annual rate (1 + r)^(365 / period) - 1, compared in logs so that it cannot overflow
        log_annual = math.log1p(rate) * (365.0 / period)
        if log_annual > math.log1p(MAX_DISCOUNT) + 1e-12:
            annual = math.expm1(log_annual) if log_annual < 700 else math.inf
            shown = f", that is {_pct(annual)} a year" if it.per is not None and math.isfinite(annual) else ""
            self.bag.error(
                it.rate.span, "E301",
                f"the discount is {_pct(rate)}{per}{shown}, more than 100% a year", hint,
            )
            return
        out["discount"] = rate if period == 365.0 else (1.0 + rate) ** (365.0 / period) - 1.0

    # --- stages ---------------------------------------------------------------

    def stage_fields(self, node: sx.StageNode) -> dict[str, Any]:
        """The fields a stage's properties set (only those written)."""
        f: dict[str, Any] = {}
        seen: dict[str, Span | None] = {}
        revenue: list[CashFlow] = []
        costs: list[CashFlow] = []
        purchases: list[Purchases] = []
        touches: list[str] = []
        for p in node.props:
            key = {
                sx.EntryProp: "entry", sx.DwellProp: "dwell",
            }.get(type(p))
            if isinstance(p, sx.FlagProp):
                key = p.flag
            if key is not None:
                if key in seen:
                    self.bag.error(
                        p.span, "E211",
                        f"'{key}' is given twice for stage '{node.name.text}'", None,
                    )
                    continue
                seen[key] = p.span
            self.context = f"{node.name.text} {key or getattr(p, 'kind', 'purchases')}"
            if isinstance(p, sx.EntryProp):
                f["entry"] = None if p.share is None else self.share(p.share, "entry share")
                f["_entry_bare"] = p.share is None
            elif isinstance(p, sx.FlagProp):
                f[p.flag] = True
            elif isinstance(p, sx.DwellProp):
                f["dwell"] = self.dist(p.dist, "time")
            elif isinstance(p, sx.TouchProp):
                for t in p.touchpoints:
                    if self.ref(t, self.touchpoint_names, "touchpoint", "E202"):
                        touches.append(t.text)
            elif isinstance(p, sx.CashProp):
                amount = self.money(p.money, p.kind)
                period = None if p.every is None else self.days(p.every, what="period")
                try:
                    flow = CashFlow(amount=amount, period_days=period, span=p.span,
                                    unit=_written_unit(p.every))
                except ValidationError:
                    continue  # the period was reported above
                (revenue if p.kind == "revenue" else costs).append(flow)
            elif isinstance(p, sx.PurchasesProp):
                per = self.days(p.per, what="period")
                worth = self.dist(p.worth, "money")
                if isinstance(p.rate, sx.ParamRef | sx.Uncertain):
                    rate = self.valued(p.rate, "number", "purchase rate")
                else:
                    rate = p.rate.value
                    if not math.isfinite(rate) or rate < 0:
                        self.bag.error(
                            p.rate.span, "E309",
                            f"a purchase rate must be at least 0, got {_fmt_num(rate)}", None,
                        )
                        continue
                if worth is None or per <= 0:
                    continue
                purchases.append(
                    Purchases(rate=rate, per_days=per, worth=worth, span=p.span, unit=_written_unit(p.per))
                )
        if touches:
            f["touches"] = tuple(touches)
        if revenue:
            f["revenue"] = tuple(revenue)
        if costs:
            f["costs"] = tuple(costs)
        if purchases:
            f["purchases"] = tuple(purchases)
        return f

    def stage(self, node: sx.StageNode, phase: str | None) -> Stage | None:
        f = self.stage_fields(node)
        f.pop("_entry_bare", None)
        if f.get("dwell", 0) is None:
            f.pop("dwell")
        try:
            return Stage(name=node.name.text, label=node.label, phase=phase, span=node.span, **f)
        except ValidationError as exc:  # pragma: no cover - every field is checked above
            self.bag.error(node.span, "E300", _pydantic_message(exc), None)
            return None

    def fill_entries(self, stages: list[Stage | None], nodes: list[sx.StageNode]) -> None:
        """A lone bare ``entry`` gets 100%, or the remainder of the other entries' shares."""
        bare = [
            (i, n) for i, n in enumerate(nodes)
            if any(isinstance(p, sx.EntryProp) and p.share is None for p in n.props)
        ]
        if not bare:
            return
        given = sum(
            s.entry for s in stages
            if s is not None and s.entry is not None
        )
        if len(bare) > 1:
            _first_i, first = bare[0]
            for _, n in bare[1:]:
                self.bag.error(
                    n.name.span, "E313",
                    f"stages '{first.name.text}' and '{n.name.text}' are both entries"
                    " without a share",
                    "give each entry stage its share of entering customers, like 'entry 60%'",
                )
            return
        i, _ = bare[0]
        st = stages[i]
        if st is not None:
            stages[i] = st.model_copy(update={"entry": max(0.0, 1.0 - given)})

    # --- transitions ------------------------------------------------------------

    def transition(
        self, node: sx.TransitionNode, keys: set[tuple[str, str]]
    ) -> Transition | None:
        ok = self.ref(node.source, self.stage_names, "stage", "E201")
        ok = self.ref(node.target, self.stage_names, "stage", "E201") and ok
        key = (node.source.text, node.target.text)
        self.context = f"{key[0]} -> {key[1]}"
        if ok and key in keys:
            self.bag.error(
                node.span, "E210",
                f"duplicate transition '{key[0]} -> {key[1]}'",
                "there is one transition per pair of stages; merge the two lines",
            )
            ok = False
        keys.add(key)
        if len(node.after) > 1:
            self.bag.error(node.after[1].span, "E211", "'after' is given twice", None)
            ok = False
        if len(node.via) > 1:
            self.bag.error(
                node.via[1].span, "E211", "'via' is given twice",
                "a transition contacts at most one touchpoint",
            )
            ok = False
        via = None
        if node.via:
            if self.ref(node.via[0], self.touchpoint_names, "touchpoint", "E202"):
                via = node.via[0].text
            else:
                ok = False
        fields: dict[str, Any] = {"source": key[0], "target": key[1], "via": via}
        if node.per is not None:
            if node.otherwise:
                self.bag.error(
                    node.span, "E311", "'otherwise' cannot be a rate",
                    "write a rate like '5% per month', or 'otherwise' alone",
                )
                return None
            assert node.share is not None
            fields["rate"] = self.share(node.share, "rate")
            fields["period_days"] = self.days(node.per, what="period")
            fields["unit"] = _written_unit(node.per)
            if node.after:
                self.bag.error(
                    node.after[0].span, "E311", "a rate transition cannot have 'after'",
                    "the time to leave by a rate follows from the rate itself",
                )
                ok = False
        elif node.otherwise:
            fields["otherwise"] = True
        else:
            assert node.share is not None
            fields["share"] = self.share(node.share)
        if node.after:
            self.context = f"{key[0]} -> {key[1]} delay"
            after = self.dist(node.after[0], "time")
            if after is None:
                ok = False
            fields["after"] = after
        if not ok or fields.get("period_days", 1) <= 0:
            return None
        if isinstance(node.share, sx.ParamRef | sx.Uncertain):
            fields["uncertainty"] = self.written_text(node.share)
        try:
            return Transition(span=node.span, **fields)
        except ValidationError as exc:  # pragma: no cover - the forms are checked above
            self.bag.error(node.span, "E300", _pydantic_message(exc), None)
            return None

    # --- touchpoints, triggers ----------------------------------------------------

    def touchpoint_fields(self, node: sx.TouchpointNode) -> dict[str, Any]:
        f: dict[str, Any] = {}
        for p in node.props:
            key = {
                sx.ChannelProp: "channel", sx.TouchpointCostProp: "cost",
                sx.ResponseProp: "response",
            }[type(p)]
            if key in f:
                self.bag.error(
                    p.span, "E211", f"'{key}' is given twice for touchpoint '{node.name.text}'",
                    None,
                )
                continue
            self.context = f"{node.name.text} {key}"
            if isinstance(p, sx.ChannelProp):
                f["channel"] = p.channel.text
            elif isinstance(p, sx.TouchpointCostProp):
                f["cost"] = self.money(p.money, "cost")
            elif isinstance(p, sx.ResponseProp):
                f["response"] = self.share(p.share, "response")
        return f

    def touchpoint(self, node: sx.TouchpointNode) -> Touchpoint | None:
        f = self.touchpoint_fields(node)
        if "channel" not in f:
            self.bag.error(
                node.name.span, "E310", f"touchpoint '{node.name.text}' has no channel",
                "add 'channel email' (or sms, phone, chatbot, paid_social, ...)",
            )
            return None
        return Touchpoint(name=node.name.text, label=node.label, span=node.span, **f)

    def trigger_fields(self, node: sx.TriggerNode, stage_names: dict[str, Span | None]
                       ) -> dict[str, Any]:
        f: dict[str, Any] = {}
        seen: dict[str, Span | None] = {}
        for p in node.props:
            key = {
                sx.WhenEnter: "when", sx.WhenIn: "when", sx.WhenEvery: "when",
                sx.SendProp: "send", sx.ResponseProp: "response", sx.ThenProp: "then",
                sx.LimitProp: "limit",
            }[type(p)]
            if key in seen:
                self.bag.error(
                    p.span, "E211",
                    f"'{key}' is given twice for trigger '{node.name.text}'",
                    "a trigger has one 'when' (or 'every'); write another trigger for another"
                    " moment" if key == "when" else None,
                )
                continue
            seen[key] = p.span
            self.context = f"{node.name.text} {'wait' if key == 'when' else key}"
            if isinstance(p, sx.WhenEnter):
                f["when"] = "enter"
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenIn):
                f["when"] = "in"
                f["days"] = self.days(p.duration, positive=False, what="waiting time")
                f["unit"] = _written_unit(p.duration)
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenEvery):
                f["when"] = "every"
                f["days"] = self.days(p.duration, what="period")
                f["unit"] = _written_unit(p.duration)
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.SendProp):
                if self.ref(p.touchpoint, self.touchpoint_names, "touchpoint", "E202"):
                    f["send"] = p.touchpoint.text
            elif isinstance(p, sx.ResponseProp):
                f["response"] = self.share(p.share, "response")
            elif isinstance(p, sx.ThenProp):
                f["then_share"] = 1.0 if p.share is None else self.share(p.share)
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["then_stage"] = p.stage.text
            elif isinstance(p, sx.LimitProp):
                n = p.count.value
                if not math.isfinite(n) or n < 1 or n != int(n):
                    self.bag.error(
                        p.count.span, "E309",
                        f"'limit' is a whole number of at least 1, got {_fmt_num(n)}", None,
                    )
                else:
                    f["limit"] = int(n)
        return f

    def trigger(self, node: sx.TriggerNode) -> Trigger | None:
        f = self.trigger_fields(node, self.stage_names)
        if "when" not in f:
            self.bag.error(
                node.name.span, "E310", f"trigger '{node.name.text}' has no 'when'",
                "add 'when enter STAGE', 'when in STAGE for 7 days' or 'every 30 days in STAGE'",
            )
            return None
        if "stage" not in f:
            return None  # the unknown stage was reported
        return Trigger(name=node.name.text, label=node.label, span=node.span, **f)

    # --- segments, scenarios ------------------------------------------------------

    def note_segment_additions(self, ov: Overrides) -> None:
        """Remember the touchpoints, triggers and transitions a segment adds to the base."""
        for tp in ov.touchpoints:
            if tp.name not in self.touchpoint_names:
                self.segment_tps.setdefault(tp.name, tp.span)
        for tg in ov.triggers:
            if tg.name not in self.trigger_names:
                self.segment_triggers.setdefault(tg.name, tg.span)
        self.segment_keys |= {t.key for t in ov.transitions} - self.transition_keys

    def overrides(
        self, items: Sequence[sx.Override], owner: str, *, scenario: bool = False
    ) -> Overrides:
        """The overrides of one segment or scenario; touchpoints it adds can be used inside it.

        A segment's changes are written against the base; a scenario's also
        against what the segments add (it applies on top of each segment).
        """
        base_tps = self.touchpoint_names
        self.touchpoint_names = dict(base_tps)
        for it in items:
            if isinstance(it, sx.TouchpointNode) and it.name.text not in base_tps:
                self.touchpoint_names[it.name.text] = it.name.span
        known_tps = base_tps
        if scenario:
            known_tps = base_tps | self.segment_tps
            triggers = self.trigger_names | self.segment_triggers
            keys = self.transition_keys | self.segment_keys
        else:
            triggers, keys = self.trigger_names, self.transition_keys
        base_inline, self.inline = self.inline, []
        self.scope, self.scope_owner = {}, owner.split("'")[1] if "'" in owner else owner
        try:
            for it in items:
                if isinstance(it, sx.ParamDecl):
                    self.declare_param(it, self.scope, prefix=f"{self.scope_owner}: ")
            ov = self._overrides(items, owner, known_tps, triggers, keys)
            if self.scope:
                ov = self.restate(ov, items)
            own = tuple(p.model_copy(update={"name": f"{self.scope_owner}: {p.name}",
                                             "label": f"{p.title} ({self.scope_owner})"})
                        for p, _d in self.scope.values())
            return ov.model_copy(update={"params": own + tuple(self.inline)})
        finally:
            self.touchpoint_names = base_tps
            self.inline = base_inline
            self.scope, self.scope_owner = {}, None

    def restate(self, ov: Overrides, items: Sequence[sx.Override]) -> Overrides:
        """Base statements that use a parameter this variant gives its own value, compiled with it.

        They join the variant's overrides (its own changes of the same statement win),
        so the merged journey uses the variant's value everywhere.
        """
        names = set(self.scope)
        own_keys = {(t.source.text, t.target.text) for t in items if isinstance(t, sx.TransitionNode)}
        removed = {(t.source.text, t.target.text) for t in items if isinstance(t, sx.WithoutTransition)}
        stages = {p.name: p for p in ov.stages}
        tps = {p.name: p for p in ov.touchpoints}
        tgs = {p.name: p for p in ov.triggers}
        transitions = list(ov.transitions)
        base_stages = [st for it in self.items for st in (it.stages if isinstance(it, sx.PhaseNode) else [it])
                       if isinstance(st, sx.StageNode)]
        for st in base_stages:
            if _param_refs(st.props) & names:
                f = self.stage_fields(st)
                f.pop("_entry_bare", None)
                f.pop("entry", None)
                if f.get("dwell", 0) is None:
                    f.pop("dwell")
                mine = stages.get(st.name.text)
                if mine is not None:
                    f.update({k: v for k, v in mine if v is not None and k not in ("name", "span")})
                stages[st.name.text] = StagePatch(name=st.name.text, span=st.span, **f)
        for it in self.items:
            if isinstance(it, sx.TransitionNode) and _param_refs(it) & names:
                key = (it.source.text, it.target.text)
                if key in own_keys or key in removed:
                    continue
                tr = self.transition(it, set())
                if tr is not None:
                    transitions.append(tr)
            elif isinstance(it, sx.TouchpointNode) and _param_refs(it.props) & names:
                f = self.touchpoint_fields(it)
                mine_tp = tps.get(it.name.text)
                if mine_tp is not None:
                    f.update({k: v for k, v in mine_tp if v is not None and k not in ("name", "span")})
                tps[it.name.text] = TouchpointPatch(name=it.name.text, span=it.span, **f)
            elif isinstance(it, sx.TriggerNode) and _param_refs(it.props) & names:
                f = self.trigger_fields(it, self.stage_names)
                mine_tg = tgs.get(it.name.text)
                if mine_tg is not None:
                    f.update({k: v for k, v in mine_tg if v is not None and k not in ("name", "span")})
                tgs[it.name.text] = TriggerPatch(name=it.name.text, span=it.span, **f)
        return ov.model_copy(update={
            "stages": tuple(stages.values()), "transitions": tuple(transitions),
            "touchpoints": tuple(tps.values()), "triggers": tuple(tgs.values()),
        })

    def _overrides(
        self, items: Sequence[sx.Override], owner: str, base_tps: dict[str, Span | None],
        trigger_names: dict[str, Span | None], transition_keys: set[tuple[str, str]],
    ) -> Overrides:
        stages: list[StagePatch] = []
        transitions: list[Transition] = []
        tps: list[TouchpointPatch] = []
        tgs: list[TriggerPatch] = []
        removals: list[Removal] = []
        keys: set[tuple[str, str]] = set()
        changed = {
            (t.source.text, t.target.text) for t in items if isinstance(t, sx.TransitionNode)
        }
        changed_triggers = {t.name.text for t in items if isinstance(t, sx.TriggerNode)}
        patched: dict[tuple[str, str], Span | None] = {}

        def once(kind: str, name: sx.Name) -> bool:
            if (kind, name.text) in patched:
                self.bag.error(
                    name.span, "E210", f"{kind} '{name.text}' is changed twice in {owner}",
                    "merge the two blocks into one",
                )
                return False
            patched[(kind, name.text)] = name.span
            return True

        for it in items:
            if isinstance(it, sx.StageNode):
                if not self.ref(it.name, self.stage_names, "stage", "E201"):
                    continue
                if not once("stage", it.name):
                    continue
                f = self.stage_fields(it)
                bare = f.pop("_entry_bare", False)
                if bare:
                    f["entry"] = 1.0
                if f.get("dwell", 0) is None:
                    f.pop("dwell")
                stages.append(StagePatch(name=it.name.text, label=it.label, span=it.span, **f))
            elif isinstance(it, sx.TransitionNode):
                tr = self.transition(it, keys)
                if tr is not None:
                    transitions.append(tr)
            elif isinstance(it, sx.TouchpointNode):
                if not once("touchpoint", it.name):
                    continue
                f = self.touchpoint_fields(it)
                if it.name.text not in base_tps and "channel" not in f:
                    self.bag.error(
                        it.name.span, "E310",
                        f"new touchpoint '{it.name.text}' in {owner} has no channel",
                        did_you_mean(it.name.text, base_tps)
                        or "a new touchpoint needs 'channel ...'; to change one, use its name",
                    )
                    continue
                tps.append(TouchpointPatch(name=it.name.text, label=it.label, span=it.span, **f))
            elif isinstance(it, sx.TriggerNode):
                if not once("trigger", it.name):
                    continue
                f = self.trigger_fields(it, self.stage_names)
                if it.name.text not in trigger_names and "when" not in f:
                    self.bag.error(
                        it.name.span, "E310",
                        f"new trigger '{it.name.text}' in {owner} has no 'when'",
                        did_you_mean(it.name.text, trigger_names)
                        or "a new trigger needs 'when ...'; to change one, use its name",
                    )
                    continue
                if "when" in f and "stage" not in f:
                    continue
                tgs.append(TriggerPatch(name=it.name.text, label=it.label, span=it.span, **f))
            elif isinstance(it, sx.WithoutTrigger):
                if not self.ref(it.name, trigger_names, "trigger", "E203"):
                    continue
                if it.name.text in changed_triggers:
                    self.bag.error(
                        it.span, "E311",
                        f"{owner} both changes and removes trigger '{it.name.text}'",
                        "keep the change or the 'without', not both",
                    )
                    continue
                removals.append(Removal(kind="trigger", names=(it.name.text,), span=it.span))
            elif isinstance(it, sx.WithoutTransition):
                ok = self.ref(it.source, self.stage_names, "stage", "E201")
                ok = self.ref(it.target, self.stage_names, "stage", "E201") and ok
                key = (it.source.text, it.target.text)
                if ok and key not in transition_keys:
                    outs = sorted(t for s, t in transition_keys if s == key[0])
                    self.bag.error(
                        it.span, "E204", f"there is no transition '{key[0]} -> {key[1]}'",
                        (f"'{key[0]}' leads to " + ", ".join(f"'{t}'" for t in outs))
                        if outs else f"no transition leaves '{key[0]}'",
                    )
                elif ok and key in changed:
                    self.bag.error(
                        it.span, "E311",
                        f"{owner} both changes and removes '{key[0]} -> {key[1]}'",
                        "keep the change or the 'without', not both",
                    )
                elif ok:
                    removals.append(Removal(kind="transition", names=key, span=it.span))
        return Overrides(
            stages=tuple(stages),
            transitions=tuple(transitions),
            touchpoints=tuple(tps),
            triggers=tuple(tgs),
            removals=tuple(removals),
        )

    def segment(self, node: sx.SegmentNode, names: dict[str, Span | None]) -> Segment | None:
        ok = self.declare(node.name, names, "segment")
        if node.name.text == RESERVED_SEGMENT:
            self.bag.error(
                node.name.span, "E212",
                f"'{RESERVED_SEGMENT}' names the customers in no segment; choose another name",
                None,
            )
            ok = False
        share = self.share(node.share, "segment share")
        ov = self.overrides(node.overrides, f"segment '{node.name.text}'")
        if not ok:
            return None
        return Segment(
            name=node.name.text, label=node.label, share=share, overrides=ov, span=node.span
        )

    def scenario(self, node: sx.ScenarioNode, names: dict[str, Span | None]) -> Scenario | None:
        ok = self.declare(node.name, names, "scenario")
        if node.name.text == RESERVED_SCENARIO:
            self.bag.error(
                node.name.span, "E212",
                f"'{RESERVED_SCENARIO}' names the journey without scenarios;"
                " choose another name", None,
            )
            ok = False
        ov = self.overrides(node.overrides, f"scenario '{node.name.text}'", scenario=True)
        if not ok:
            return None
        return Scenario(name=node.name.text, label=node.label, overrides=ov, span=node.span)

    def try_variants(self, journey: Journey) -> None:
        """Merge every segment, scenario and segment in a scenario once, so that a bad
        merge is reported here, not raised later by ``simulate``."""
        for seg in journey.segments:
            try:
                apply_overrides(journey, seg.overrides)
            except ValidationError as exc:
                self.bag.error(seg.span, "E300", f"in segment '{seg.name}': "
                               + _pydantic_message(exc), None)
        for sc in journey.scenarios:
            try:
                journey.with_scenario(sc.name).segment_journeys()
            except ValidationError as exc:
                self.bag.error(sc.span, "E300", f"in scenario '{sc.name}': "
                               + _pydantic_message(exc), None)
            except ValueError as exc:
                self.bag.error(sc.span, "E300", f"in scenario '{sc.name}': {exc}", None)


def _quantity_text(q: sx.Quantity) -> str:
    """A quantity as written: ``2 days``, ``1 day``, ``49 EUR``."""
    if q.unit:
        return f"{_fmt_num(q.value)} {q.unit}{'' if q.value == 1 else 's'}"
    return f"{_fmt_num(q.value)} {q.currency}" if q.currency else _fmt_num(q.value)


_KIND_WORDS = {"share": "a share", "money": "money", "duration": "a duration", "number": "a plain number"}
_KIND_HINTS = {
    "share": "a share is written like '25%' or '25% ± 5%'",
    "money": "money is written like '49 EUR' or '95 EUR ± 20 EUR'",
    "duration": "a duration is written like '14 days' or '14 days ± 4 days'",
    "number": "a plain number is written like '0.5' or '2 ± 0.5'",
}


def _fits(kind: str, want: str) -> bool:
    """Whether a parameter of ``kind`` may stand where a ``want`` goes."""
    return kind == want or (want == "money" and kind == "number")


def _canonical(a: sx.Amount, kind: str) -> float:
    if a.percent:
        return a.value / 100.0
    if a.unit:
        return a.value * DAYS[a.unit]
    return a.value


def _amount_text(a: sx.Amount) -> str:
    if a.percent:
        return f"{_fmt_num(a.value)}%"
    if a.unit:
        return f"{_fmt_num(a.value)} {a.unit}{'' if a.value == 1 else 's'}"
    return f"{_fmt_num(a.value)} {a.currency}" if a.currency else _fmt_num(a.value)


def _uncertain_text(u: sx.Uncertain) -> str:
    """A value as a strategist wrote it (canonical spelling): ``25% ± 5%``, ``30 of 120``."""
    t = [_amount_text(a) for a in u.amounts]
    if u.form == "fixed":
        return t[0]
    if u.form == "pm":
        return f"{t[0]} ± {t[1]}"
    if u.form == "range":
        return f"{t[0]} ({t[1]}–{t[2]})"
    if u.form == "of":
        return f"{t[0]} of {t[1]}"
    args = ", ".join(f"{n} {v}" if n else v for n, v in zip(u.arg_names or (None,) * len(t), t, strict=True))
    return f"{u.kind}({args})"


def _param_refs(node: object) -> set[str]:
    """The names of the parameters a syntax node uses (anywhere inside it)."""
    found: set[str] = set()
    stack: list[object] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, sx.ParamRef):
            found.add(cur.name.text)
        elif isinstance(cur, tuple | list):
            stack.extend(cur)
        elif hasattr(cur, "__dataclass_fields__"):
            stack.extend(getattr(cur, f) for f in cur.__dataclass_fields__ if f != "span")
    return found


def _plist(names: Iterable[str]) -> str:
    items = [f"'{n}'" for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pct(v: float) -> str:
    return f"{v * 100:.4g}%"


_EXAMPLES = {
    "fixed": ("3 days", "49 EUR"),
    "exponential": ("exponential(mean 2 days)", "exponential(mean 50 EUR)"),
    "gamma": ("gamma(shape 2, mean 5 days)", "gamma(shape 2, mean 50 EUR)"),
    "lognormal": ("lognormal(mean 5 days, sd 2 days)", "lognormal(mean 120 EUR, sd 40 EUR)"),
    "uniform": ("uniform(7 days, 14 days)", "uniform(10 EUR, 20 EUR)"),
    "weibull": ("weibull(shape 1.5, scale 30 days)", "weibull(shape 1.5, scale 100 EUR)"),
    "normal": ("normal(mean 10 days, sd 3 days)", "normal(mean 100 EUR, sd 20 EUR)"),
}


def _example(kind: str, measure: str) -> str:
    return _EXAMPLES[kind][0 if measure == "time" else 1]


def _example_hint(kind: str, measure: str) -> str:
    return f"for example: {_example(kind, measure)}"


# --- entry points -------------------------------------------------------------------


def compile_syntax(node: sx.JourneyNode, path: str = "<journey>") -> tuple[Journey | None, list[Diagnostic]]:
    """Compile parsed syntax; returns the journey (``None`` on errors) and every diagnostic.

    The checks of :mod:`journeydsl.checks` run when the compile itself is clean.
    """
    bag = DiagnosticBag(path)
    journey = _Compiler(bag).journey(node)
    diags = list(bag.items)
    if journey is not None:
        journey = journey.model_copy(update={"source": path, "syntax": node})
        diags.extend(
            Diagnostic(d.span, d.severity, d.code, d.message, d.hint, path)
            for d in check_all(journey)
        )
    diags.sort(key=lambda d: d.sort_key)
    return journey, diags


def recompile(
    journey: Journey,
    *,
    quantiles: dict[str, float] | None = None,
    values: dict[str, float] | None = None,
) -> Journey:
    """``journey`` compiled again with some parameters drawn or set (no checks run).

    ``quantiles`` maps a parameter's name to the point of its distribution to
    take (``0.025`` for its low end; a uniform random number for a draw);
    ``values`` sets a parameter to a value outright. Parameters not named take
    their mean, as in the plain compile. A journey with no parameters (or one
    built in Python, with no syntax) is returned as it is.
    """
    if journey.syntax is None or not (quantiles or values):
        return journey
    bag = DiagnosticBag(journey.source or "<journey>")
    out = _Compiler(bag, quantiles=quantiles, values=values).journey(journey.syntax)
    if out is None:  # pragma: no cover - the same text compiled cleanly before
        raise ValueError("the journey no longer compiles with these parameter values: "
                         + "; ".join(d.message for d in bag.items if d.severity == "error"))
    return out.model_copy(update={"source": journey.source, "syntax": journey.syntax})


def compile_source(source: Source) -> tuple[Journey, list[Diagnostic]]:
    """Parse, compile and check ``source``; the journey and its warnings.

    Raises :class:`~journeydsl.errors.JourneyError` holding every error and
    warning (sorted by position) when there is any error.

    >>> j, warnings = compile_source(Source("x.journey",
    ...     'journey "J" { stage a { entry }; stage b { goal; terminal }; a -> b 100% }'))
    >>> (j.stage("a").entry, j.transitions[0].share, warnings)
    (1.0, 1.0, [])
    """
    node = parse(source)
    journey, diags = compile_syntax(node, source.path)
    if journey is None or any(d.severity == "error" for d in diags):
        raise JourneyValidationError(diags, source)
    return journey, diags


def compile_text(text: str, path: str = "<journey>") -> tuple[Journey, list[Diagnostic]]:
    """:func:`compile_source` for a string."""
    return compile_source(Source(path, text))


def read_source(path: str | Path) -> Source:
    """Read a journey file; unreadable, binary or non-UTF-8 files raise :class:`JourneyError`."""
    shown = str(path)
    try:
        return Source.read(path)
    except FileTooLarge as exc:
        raise too_large(shown, exc.size) from None
    except UnicodeDecodeError as exc:
        data = read_bounded(path)
        pos = exc.start
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        kind = "binary data" if b"\x00" in data[:8192] else "text that is not UTF-8"
        diag = Diagnostic(
            Span.point(line, col), "error", "E106",
            f"the file holds {kind} (byte 0x{data[pos]:02x} at line {line})",
            "save the journey as UTF-8 text", shown,
        )
        raise JourneyError([diag]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        diag = Diagnostic(
            None, "error", "E106", f"cannot read '{shown}': {reason.lower()}", None, shown
        )
        raise JourneyError([diag]) from None


def load(path: str | Path) -> Journey:
    """Read, parse, compile and check a ``.journey`` file (raises :class:`JourneyError`)."""
    journey, _ = compile_source(read_source(path))
    return journey


def _written_unit(node: object) -> str | None:
    """The unit a duration was written in (``month`` in ``6 months``); None for a parameter or a range."""
    unit = getattr(node, "unit", None) if isinstance(node, (sx.Duration, sx.Quantity)) else None
    return unit if isinstance(unit, str) else None
