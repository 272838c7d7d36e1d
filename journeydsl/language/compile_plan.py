"""Syntax -> model for ``plan`` and ``targets`` blocks (part of the compile step).

Kept apart from :mod:`journeydsl.language.compile` so the calendar-planning statements
read in one place; :class:`journeydsl.language.compile._Compiler` calls
:func:`compile_plans` and :func:`compile_targets` with itself, for its
diagnostics bag, currency and unit conversions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from journeydsl.language import syntax as sx
from journeydsl.language.errors import did_you_mean
from journeydsl.language.model import DAYS, TARGET_KPIS, CalendarPlan, Target, Targets
from journeydsl.language.source import Span

if TYPE_CHECKING:
    from journeydsl.language.compile import _Compiler

__all__ = ["MONTH_NAMES", "compile_plans", "compile_targets", "month_index"]

#: Calendar months by their three-letter names (``jan`` = 1); full names are accepted too.
MONTH_NAMES: dict[str, int] = {
    m: i + 1
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_FULL = {
    "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip

_MONTH = DAYS["month"]
#: Arrivals a plan may bring in one month (as money: sums up to a trillion stay exact).
MAX_MONTH_ARRIVALS = 1e12
#: The largest seasonality: a month with 100 times the usual arrivals (more is a one-off month).
_MAX_SEASON = 100.0
_MAX_MONTHS = 600


def month_index(ym: str) -> int:
    """Months since year 0 of a ``YYYY-MM`` text (for differences between months).

    >>> month_index("2027-03") - month_index("2026-12")
    3
    """
    y, m = ym.split("-")
    return int(y) * 12 + int(m) - 1


def _num(v: float) -> str:
    return f"{v:g}"


def _year_month(c: _Compiler, ym: sx.YearMonth) -> str | None:
    if not 1 <= ym.month <= 12 or ym.year < 1:
        c.bag.error(
            ym.span, "E320", f"'{ym.year:04d}-{ym.month}' is not a calendar month",
            "write the year and the month as YYYY-MM, with the month from 01 to 12 (e.g. 2027-03)",
        )
        return None
    return f"{ym.year:04d}-{ym.month:02d}"


def _per_month(c: _Compiler, d: sx.Duration, what: str) -> float:
    """How many of ``d`` fit in a month (``per week`` -> 365/12/7)."""
    days = c.days(d, what=what)
    return _MONTH / days if days > 0 else 1.0


def _once(c: _Compiler, key: str, prop: Any, seen: dict[str, Span | None], owner: str) -> bool:
    if key in seen:
        first = seen[key]
        c.bag.error(
            prop.span, "E211", f"'{key}' is set twice in {owner}",
            f"first set at line {first.line}" if first else None,
        )
        return False
    seen[key] = prop.span
    return True


def _plan(c: _Compiler, node: sx.PlanNode, scenarios: dict[str, Span | None]) -> CalendarPlan | None:
    owner = f"plan '{node.name.text}'"
    fields: dict[str, Any] = {"name": node.name.text, "label": node.label, "span": node.span}
    seen: dict[str, Span | None] = {}
    one_offs: list[tuple[sx.PlanArrivalsIn, str]] = []
    season: dict[int, float] = {}
    season_at: dict[int, Span | None] = {}
    ok = True
    for p in node.props:
        if isinstance(p, sx.PlanStart):
            if _once(c, "start", p, seen, owner):
                ym = _year_month(c, p.month)
                ok &= ym is not None
                fields["start"] = ym
        elif isinstance(p, sx.PlanMonths) and p.word not in ("month", "months"):
            c.bag.error(
                p.span, "E325", f"a plan runs for a number of months, not '{p.word}'",
                f"write 'months {_num(p.count.value)}'",
            )
            ok = False
        elif isinstance(p, sx.PlanMonths):
            if _once(c, "months", p, seen, owner):
                n = p.count.value
                if not math.isfinite(n) or n != int(n) or not 1 <= n <= _MAX_MONTHS:
                    c.bag.error(
                        p.count.span, "E325",
                        f"'months' is a whole number from 1 to {_MAX_MONTHS}, got {_num(n)}", None,
                    )
                    ok = False
                else:
                    fields["months"] = int(n)
        elif isinstance(p, sx.PlanArrivals):
            if _once(c, "arrivals per", p, seen, owner):
                if p.count.value < 0 or not math.isfinite(p.count.value):
                    c.bag.error(p.count.span, "E325", f"arrivals must be at least 0, got {_num(p.count.value)}", None)
                    ok = False
                fields["arrivals"] = p.count.value * _per_month(c, p.per, "arrivals period")
                if p.growth is not None and p.growth_per is not None:
                    g = c.share(p.growth, "growth")
                    if g <= -1:
                        c.bag.error(p.growth.span, "E325", "growth must be more than -100%", None)
                        ok = False
                    else:
                        times = _per_month(c, p.growth_per, "growth period")
                        fields["growth"] = g if times == 1.0 else (1.0 + g) ** times - 1.0
        elif isinstance(p, sx.PlanArrivalsIn):
            ym = _year_month(c, p.month)
            if p.count.value < 0 or not math.isfinite(p.count.value):
                c.bag.error(p.count.span, "E325", f"arrivals must be at least 0, got {_num(p.count.value)}", None)
                ok = False
            if ym is None:
                ok = False
            elif any(y == ym for _p, y in one_offs):
                earlier = next(q for q, y in one_offs if y == ym)
                c.bag.error(
                    p.month.span, "E211", f"arrivals in {ym} are set twice in {owner}",
                    f"first set at line {earlier.span.line}" if earlier.span else None,
                )
                ok = False
            else:
                one_offs.append((p, ym))
        elif isinstance(p, sx.PlanSeasonality):
            for it in p.items:
                key = it.month.text.lower()
                m = MONTH_NAMES.get(key) or _FULL.get(key)
                if m is None:
                    hint = did_you_mean(key, list(MONTH_NAMES) + list(_FULL))
                    c.bag.error(
                        it.month.span, "E320", f"'{it.month.text}' is not a month name",
                        hint or "months are jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec",
                    )
                    ok = False
                    continue
                if m in season:
                    first = season_at[m]
                    c.bag.error(
                        it.month.span, "E211", f"the seasonality of '{it.month.text}' is set twice in {owner}",
                        f"first set at line {first.line}" if first else None,
                    )
                    ok = False
                    continue
                f = it.share.value / 100.0 if it.share.percent else it.share.value
                if not 0 <= f <= _MAX_SEASON:
                    got = f"{_num(f * 100)}%" if math.isfinite(f) else "a number too large to count"
                    c.bag.error(it.share.span, "E325", f"seasonality is from 0% to {_MAX_SEASON:.0%}, got {got}",
                                "a month with far more arrivals is a one-off: 'arrivals N in YYYY-MM'")
                    ok = False
                season[m] = f
                season_at[m] = it.month.span
        elif isinstance(p, sx.PlanBudget):
            if _once(c, "budget", p, seen, owner):
                fields["budget"] = c.money(p.money, "budget") * _per_month(c, p.per, "budget period")
        elif isinstance(p, sx.PlanScenario) and _once(c, "scenario", p, seen, owner):
            if p.name.text != "baseline" and not c.ref(p.name, scenarios, "scenario", "E323"):
                ok = False
            else:
                fields["scenario"] = p.name.text
    needed = (("start", "start 2027-01"), ("months", "months 24"), ("arrivals per", "arrivals 1000 per month"))
    for key, example in needed:
        if key not in seen:
            c.bag.error(
                node.name.span, "E321", f"{owner} has no '{key.split()[0]}'",
                f"add '{example}' to the plan", )
            ok = False
    start, months = fields.get("start"), fields.get("months")
    if start and months:
        m0 = month_index(start)
        for p_in, ym in one_offs:
            k = month_index(ym) - m0
            if not 0 <= k < months:
                last = m0 + months - 1
                c.bag.error(
                    p_in.month.span, "E322", f"{ym} is outside {owner}",
                    f"the plan runs from {start} to {last // 12:04d}-{last % 12 + 1:02d}",
                )
                ok = False
    if ok and months:
        ok = _arrivals_within_limit(c, node, owner, fields, months, season, one_offs)
    if not ok:
        return None
    fields["one_offs"] = tuple((ym, p_in.count.value) for p_in, ym in one_offs)
    fields["seasonality"] = tuple(sorted(season.items()))
    return CalendarPlan(**fields)


def compile_plans(c: _Compiler, nodes: list[sx.PlanNode], scenarios: dict[str, Span | None]) -> list[CalendarPlan]:
    """The journey's ``plan`` blocks (``scenarios``: the scenario names, for references)."""
    out: list[CalendarPlan] = []
    names: dict[str, Span | None] = {}
    for node in nodes:
        fresh = c.declare(node.name, names, "plan")
        plan = _plan(c, node, scenarios)
        if plan is not None and fresh:
            out.append(plan)
    return out


_PERCENT_KPIS = ("conversion_rate", "retention", "churn")


def compile_targets(c: _Compiler, nodes: list[sx.TargetsNode]) -> Targets | None:
    """The journey's ``targets`` block (at most one)."""
    if not nodes:
        return None
    for extra in nodes[1:]:
        first = nodes[0].span
        c.bag.error(
            extra.span, "E211", "'targets' is given twice",
            f"one targets block per journey (first at line {first.line})" if first else None,
        )
    node = nodes[0]
    out: list[Target] = []
    seen: dict[str, Span | None] = {}
    for t in node.targets:
        kpi = t.kpi.text
        if kpi not in TARGET_KPIS:
            hint = did_you_mean(kpi, TARGET_KPIS) or "the KPIs are " + ", ".join(f"'{k}'" for k in TARGET_KPIS)
            c.bag.error(t.kpi.span, "E324", f"unknown KPI '{kpi}'", hint)
            continue
        days: float | None = None
        if kpi == "retention":
            if t.duration is None:
                c.bag.error(
                    t.kpi.span, "E324", "'retention' needs the days after conversion it is measured at",
                    "write e.g. 'retention 90 days 28%'",
                )
                continue
            days = c.days(t.duration, what="retention point")
        elif t.duration is not None:
            c.bag.error(t.duration.span, "E324", f"'{kpi}' takes no duration", f"write e.g. '{kpi} {_example(kpi)}'")
            continue
        key = kpi if days is None else f"retention {days:g} days"
        if key in seen:
            first = seen[key]
            c.bag.error(
                t.kpi.span, "E211", f"the target for '{key}' is set twice",
                f"first set at line {first.line}" if first else None,
            )
            continue
        seen[key] = t.kpi.span
        if kpi in _PERCENT_KPIS:
            if not isinstance(t.value, sx.Share):
                c.bag.error(
                    t.value.span, "E324", f"the target for '{kpi}' is a percentage",
                    f"write e.g. '{kpi} {_example(kpi)}'",
                )
                continue
            value = t.value.value / 100.0
            if not 0 <= value <= 1:
                c.bag.error(t.value.span, "E303", f"the target for '{kpi}' must be from 0% to 100%", None)
                continue
        else:
            if not isinstance(t.value, sx.Money):
                c.bag.error(
                    t.value.span, "E324", f"the target for '{kpi}' is an amount of money",
                    f"write e.g. '{kpi} {_example(kpi)}'",
                )
                continue
            c.check_currency(t.value.currency, t.value.span)
            value = t.value.amount
            if not math.isfinite(value):  # (a target may be below zero: value per customer at least -2 EUR)
                c.bag.error(t.value.span, "E300", f"the target for '{kpi}' is too large to count", None)
                continue
            c.money_limit(value, t.value.span, f"the target for '{kpi}'")
        out.append(Target(kpi=kpi, bound=t.bound or TARGET_KPIS[kpi], value=value, days=days, span=t.span))
    return Targets(label=node.label, targets=tuple(out), span=node.span)


def _arrivals_within_limit(c: Any, node: Any, owner: str, fields: dict[str, Any], months: int,
                           season: dict[int, float], one_offs: list[tuple[Any, str]]) -> bool:
    """No month of the plan brings more than :data:`MAX_MONTH_ARRIVALS` arrivals (growth compounded
    over the months, the largest seasonality): beyond that the forecast's sums stop being exact,
    and a large enough growth overflows to infinity."""
    base, growth = float(fields.get("arrivals", 0.0)), float(fields.get("growth", 0.0))
    peak_season = max([1.0, *season.values()])
    try:
        peak = base * max(1.0, (1.0 + growth) ** (months - 1)) * peak_season
    except OverflowError:
        peak = math.inf
    ok = True
    if peak > MAX_MONTH_ARRIVALS:
        c.bag.error(node.name.span, "E325", f"{owner} would bring {_num(peak)} arrivals in its busiest month"
                    f" (growth compounded over {months} months, times the largest seasonality), more than the"
                    f" {MAX_MONTH_ARRIVALS:g} a month can have", "lower the growth or shorten 'months'")
        ok = False
    for p_in, _ym in one_offs:
        if p_in.count.value > MAX_MONTH_ARRIVALS:
            c.bag.error(p_in.count.span, "E325", f"{_num(p_in.count.value)} arrivals in a month is more than the"
                        f" {MAX_MONTH_ARRIVALS:g} a month can have", None)
            ok = False
    return ok


def _example(kpi: str) -> str:
    return {
        "conversion_rate": "3.5%", "retention": "90 days 28%", "churn": "20%",
        "ltv": "1200 EUR", "cac": "90 EUR", "value_per_customer": "300 EUR",
    }[kpi]  # fmt: skip
