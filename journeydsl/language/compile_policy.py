"""Syntax -> model for ``policy`` blocks: caps, quiet hours, holdout (part of the compile step).

:class:`journeydsl.language.compile._Compiler` (and the scenario compiler) call
:func:`compile_policy` with themselves, for the diagnostics bag and the unit
conversions. What each statement means is in docs/language.md (contact policy).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from journeydsl.language import syntax as sx
from journeydsl.language.errors import did_you_mean
from journeydsl.language.model import WEEKDAYS, Calendar, Cap, Policy
from journeydsl.language.source import Span

if TYPE_CHECKING:
    from journeydsl.language.compile_units import UnitReader

__all__ = ["ANY_CHANNEL", "compile_calendar", "compile_policy", "policy_channels"]

#: The channel word of ``cap any N per W``: every channel together.
ANY_CHANNEL = "any"

_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*[-–—]\s*([0-9]{1,2}):([0-9]{2})")


def policy_channels(
    touchpoints: Iterable[sx.TouchpointNode], extra: Iterable[sx.Override] = ()
) -> dict[str, Span | None]:
    """The channels the journey's touchpoints (and those its variants add) use, where first written."""
    out: dict[str, Span | None] = {}
    nodes = list(touchpoints) + [it for it in extra if isinstance(it, sx.TouchpointNode)]
    for tp in nodes:
        for p in tp.props:
            if isinstance(p, sx.ChannelProp):
                out.setdefault(p.channel.text, p.channel.span)
    return out


def _minutes(c: UnitReader, node: sx.Name) -> tuple[int, int] | None:
    m = _CLOCK.fullmatch(node.text)
    if m is None:  # the token only matches the shape; kept for safety
        c.bag.error(node.span, "E331", f"'{node.text}' is not a range of times of day", "write it like 21:00-08:00")
        return None
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    bad = [f"{h}:{mm:02d}" for h, mm in ((h1, m1), (h2, m2)) if h > 23 or mm > 59]
    if bad:
        c.bag.error(
            node.span, "E331", f"'{bad[0]}' is not a time of day",
            "times go from 00:00 to 23:59 (write 00:00 for midnight)",
        )
        return None
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        c.bag.error(
            node.span, "E331", f"quiet hours '{node.text}' start and end at the same time",
            "write when they start and when they end, like 21:00-08:00",
        )
        return None
    return start, end


def compile_policy(c: UnitReader, nodes: Sequence[sx.PolicyNode], channels: dict[str, Span | None],
                   owner: str | None = None) -> Policy | None:
    """The policy of ``nodes`` (at most one: a second is ``E211``); None when there is none.

    ``channels`` are the channels a cap may name (``any`` aside); ``owner`` is
    ``"scenario 'x'"`` for a scenario's own policy (used in messages).
    """
    if not nodes:
        return None
    where = f" in {owner}" if owner else ""
    for extra in nodes[1:]:
        first = nodes[0].span
        c.bag.error(
            extra.span, "E211", f"a second 'policy'{where}",
            f"write every rule in one policy block (the first is at line {first.line})" if first else None,
        )
    node = nodes[0]
    f: dict[str, Any] = {}
    caps: list[Cap] = []
    seen: dict[str, Span | None] = {}
    cap_keys: dict[str | None, Span | None] = {}
    for p in node.props:
        key = {sx.CapProp: "cap", sx.OnCapProp: "on cap", sx.QuietProp: "quiet hours",
               sx.HoldoutProp: "holdout"}[type(p)]
        if key != "cap":
            if key in seen:
                first = seen[key]
                c.bag.error(p.span, "E211", f"'{key}' is given twice in the policy{where}",
                            f"first given at line {first.line}" if first else None)
                continue
            seen[key] = p.span
        c.context = f"policy {key}"
        if isinstance(p, sx.CapProp):
            cap = _cap(c, p, channels)
            if cap is None:
                continue
            if cap.channel in cap_keys:
                first = cap_keys[cap.channel]
                what = "every channel" if cap.channel is None else f"channel '{cap.channel}'"
                c.bag.error(p.span, "E211", f"{what} is capped twice in the policy{where}",
                            f"keep one cap per channel (the first is at line {first.line})" if first else None)
                continue
            cap_keys[cap.channel] = p.span
            caps.append(cap)
        elif isinstance(p, sx.OnCapProp):
            f["on_cap"] = p.action.text
        elif isinstance(p, sx.QuietProp):
            if p.word.text != "hours":
                c.bag.error(p.word.span, "E101", f"expected 'hours' after 'quiet', got '{p.word.text}'",
                            "write 'quiet hours 21:00-08:00'")
                continue
            quiet = _minutes(c, p.clock)
            if quiet is not None:
                f["quiet"] = quiet
                if p.action is not None:
                    f["quiet_action"] = p.action.text
        elif isinstance(p, sx.HoldoutProp):
            share = c.share(p.share, "holdout")
            if not 0.0 <= share <= 1.0:
                c.bag.error(p.share.span, "E301", f"the holdout is {share * 100:g}%, outside 0%-100%",
                            "the share of customers kept from marketing contacts, like 'holdout 10%'")
                continue
            f["holdout"] = share
    return Policy(caps=tuple(caps), span=node.span, **f)


def _cap(c: UnitReader, p: sx.CapProp, channels: dict[str, Span | None]) -> Cap | None:
    name = p.channel.text
    ok = True
    if name != ANY_CHANNEL and name not in channels:
        hint = did_you_mean(name, [*channels, ANY_CHANNEL])
        if hint is None:
            shown = ", ".join(f"'{x}'" for x in sorted(channels)[:8]) or "none yet"
            hint = f"the touchpoints' channels are {shown}; 'cap any' counts every channel"
        c.bag.error(p.channel.span, "E330", f"no touchpoint uses channel '{name}'", hint)
        ok = False
    n = p.count.value
    if not math.isfinite(n) or n < 1 or n != int(n):
        c.bag.error(p.count.span, "E309", f"a cap is a whole number of contacts of at least 1, got {n:g}",
                    "write 'cap email 3 per week'")
        ok = False
    if isinstance(p.window, sx.ParamRef | sx.Uncertain):
        c.bag.error(p.window.span, "E604", "a cap's window takes a plain duration, not a parameter or a range",
                    "write 'per week' or 'per 3 days'")
        return None
    days = c.days(p.window, what="cap window")
    if not ok or not days > 0:
        return None
    return Cap(channel=None if name == ANY_CHANNEL else name, count=int(n), window_days=days,
               unit=p.window.unit, span=p.span)


def compile_calendar(c: UnitReader, nodes: Sequence[sx.CalendarNode]) -> Calendar | None:
    """The journey's calendar (at most one, ``E211``); None when it has none."""
    if not nodes:
        return None
    for extra in nodes[1:]:
        c.bag.error(extra.span, "E211", "a second 'calendar'", "write the working week in one calendar block")
    weekends: list[int] = []
    seen = False
    for p in nodes[0].props:
        if seen:
            c.bag.error(p.span, "E211", "'weekends' is given twice in the calendar", "list every day off in one line")
            continue
        seen = True
        for day in p.days:
            k = WEEKDAYS.get(day.text.lower())
            if k is None:
                c.bag.error(day.span, "E333", f"'{day.text}' is not a day of the week",
                            did_you_mean(day.text.lower(), WEEKDAYS) or "write mon, tue, wed, thu, fri, sat or sun")
            elif k not in weekends:
                weekends.append(k)
    if len(weekends) == 7:
        c.bag.error(nodes[0].span, "E333", "every day of the week is a weekend: no business day is left",
                    "list the days off only, like 'weekends sat, sun'")
        return None
    return Calendar(weekends=tuple(sorted(weekends)) if seen else (5, 6), span=nodes[0].span)
