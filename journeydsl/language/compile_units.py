"""Reading quantities in their units: shares, durations, money, distributions, discounting.

Every quantity becomes the model's canonical unit (days, fractions, the one
currency) and is held to the limits of :mod:`journeydsl.language.checks`.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from journeydsl.language import syntax as sx
from journeydsl.language.checks import (
    MAX_CV,
    MAX_DISCOUNT,
    MAX_DIST_DAYS,
    MAX_HORIZON_DAYS,
    MIN_DAYS,
    SHAPE_RANGE,
)
from journeydsl.language.compile_values import (
    ValueReader,
    _example,
    _example_hint,
    _fmt_num,
    _pct,
    _plist,
    _pydantic_message,
    _quantity_text,
    _written_unit,
)
from journeydsl.language.errors import did_you_mean
from journeydsl.language.model import (
    DAYS,
    DIST_PARAMS,
    Dist,
)


class UnitReader(ValueReader):
    """Quantities in their units."""

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
        if d.business:
            return self.business_days(d, what)
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

    def business_days(self, d: sx.Duration, what: str) -> float:
        """``N business days``: a whole number of working days, in a trigger's wait only, with a
        calendar set (the days returned are the count; the engine turns them into calendar days)."""
        n = d.count or 0.0
        if what != "waiting time":
            self.bag.error(d.span, "E332", f"business days count only in a trigger's wait, not in a {what}",
                           "write 'when in STAGE for 2 business days', or calendar days here")
        elif d.unit != "day":
            self.bag.error(d.span, "E332", f"business time is counted in days, not {d.unit}s",
                           "write '5 business days' for a working week")
        elif not self.has_calendar:
            self.bag.error(d.span, "E332", "business days need a calendar",
                           "add 'calendar { weekends sat, sun }' to the journey")
        elif not math.isfinite(n) or n < 0 or n != int(n):
            self.bag.error(d.span, "E309", f"business days are a whole number of at least 0, got {_fmt_num(n)}",
                           None)
        return n

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
