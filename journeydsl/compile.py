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
from journeydsl.parser import parse, too_large
from journeydsl.source import FileTooLarge, Source, Span, read_bounded

__all__ = ["compile_source", "compile_syntax", "compile_text", "load", "read_source"]

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

    def __init__(self, bag: DiagnosticBag) -> None:
        self.bag = bag
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

    def share(self, share: sx.Share, what: str = "share") -> float:
        """A share as a fraction; a bare number above 1 is an error (it wants a '%')."""
        if share.percent:
            return share.value / 100.0
        if share.value > 1 or share.value < 0:
            self.bag.error(
                share.span, "E303",
                f"the {what} {_fmt_num(share.value)} is not a percentage or a fraction",
                f"write '{_fmt_num(share.value)}%' (or a fraction from 0 to 1)",
            )
        return share.value

    def days(self, d: sx.Duration, *, positive: bool = True, what: str = "duration") -> float:
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

    def money(self, m: sx.Money, what: str = "amount") -> float:
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
        units = [a.quantity.unit for a in node.args if a.quantity.unit] if measure == "time" else []
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

    def quantity(self, q: sx.Quantity, param: str, measure: str) -> float | None:
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

        if self.bag.has_errors:
            return None
        try:
            journey = Journey(
                name=node.label or node.name or "journey",
                currency=self.currency,
                phases=tuple(phases),
                stages=tuple(s for s in model_stages if s is not None),
                transitions=tuple(transitions),
                touchpoints=tuple(t for t in model_tps if t is not None),
                triggers=tuple(t for t in model_trs if t is not None),
                segments=tuple(segments),
                scenarios=tuple(scenarios),
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

    def limited_days(self, d: sx.Duration, what: str) -> float:
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
                                    unit=None if p.every is None else p.every.unit)
                except ValidationError:
                    continue  # the period was reported above
                (revenue if p.kind == "revenue" else costs).append(flow)
            elif isinstance(p, sx.PurchasesProp):
                per = self.days(p.per, what="period")
                worth = self.dist(p.worth, "money")
                if not math.isfinite(p.rate.value) or p.rate.value < 0:
                    self.bag.error(
                        p.rate.span, "E309",
                        f"a purchase rate must be at least 0, got {_fmt_num(p.rate.value)}", None,
                    )
                    continue
                if worth is None or per <= 0:
                    continue
                purchases.append(
                    Purchases(rate=p.rate.value, per_days=per, worth=worth, span=p.span, unit=p.per.unit)
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
            fields["unit"] = node.per.unit
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
            after = self.dist(node.after[0], "time")
            if after is None:
                ok = False
            fields["after"] = after
        if not ok or fields.get("period_days", 1) <= 0:
            return None
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
            if isinstance(p, sx.WhenEnter):
                f["when"] = "enter"
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenIn):
                f["when"] = "in"
                f["days"] = self.days(p.duration, positive=False, what="waiting time")
                f["unit"] = p.duration.unit
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenEvery):
                f["when"] = "every"
                f["days"] = self.days(p.duration, what="period")
                f["unit"] = p.duration.unit
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
        try:
            return self._overrides(items, owner, known_tps, triggers, keys)
        finally:
            self.touchpoint_names = base_tps

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
        journey = journey.model_copy(update={"source": path})
        diags.extend(
            Diagnostic(d.span, d.severity, d.code, d.message, d.hint, path)
            for d in check_all(journey)
        )
    diags.sort(key=lambda d: d.sort_key)
    return journey, diags


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
