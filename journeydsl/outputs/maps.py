"""Journey maps: DOT, Mermaid, and SVG/PNG through Graphviz.

This is the only module that speaks DOT or Mermaid or calls Graphviz.
:func:`to_dot` and :func:`to_mermaid` are pure string builders (same journey
in, same text out); :func:`render` turns a journey into ``svg``, ``png``,
``dot`` or ``mermaid`` and writes it atomically when given a path.

The map shows phases as labelled clusters in the journey's order, stages
styled by role (entry, goal, active, terminal; the role is also written in
the node so colour is never the only cue), transitions labelled with their
share or rate and delay, touchpoints on the edges and stages that use them,
triggers as dashed purple edges (or notes when they do not reroute), and a
small legend. With :class:`Flows` the edges are drawn as wide as the number
of customers per 1,000 that travel them and the stages show their reach.

Every piece of user text is escaped: XML-escaped inside DOT HTML-like
labels, backslash-escaped inside DOT quoted strings, and entity-coded in
Mermaid labels, so hostile names and labels cannot break the output.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeydsl.language.fileio import CannotWrite, atomic_write, os_reason
from journeydsl.language.model import DAYS, CashFlow, Dist, Journey, Stage, Transition, Trigger
from journeydsl.outputs.i18n import N_, Lang, Np_, get_lang

if TYPE_CHECKING:
    from journeydsl.engine.results import Results

__all__ = [
    "FORMATS",
    "MAX_LABEL",
    "Flows",
    "GraphvizTimeout",
    "RenderError",
    "flows_from",
    "render",
    "to_dot",
    "to_mermaid",
]

#: The output formats :func:`render` knows.
FORMATS: tuple[str, ...] = ("svg", "png", "dot", "mermaid")

#: The longest label a map shows whole: a longer label, name or title is cut to this
#: many characters, the last one an ellipsis '…' (Graphviz silently draws an empty
#: box for a label of about a megabyte, and Mermaid refuses diagrams past 50,000 characters).
MAX_LABEL = 200

#: A font with Latin, Cyrillic and Greek coverage that Debian and most systems ship.
FONT = "DejaVu Sans"

INSTALL_HINT = (
    "install Graphviz: apt-get install graphviz / brew install graphviz, "
    "or use --format dot|mermaid"
)

_DIRECTIONS = ("LR", "TB", "RL", "BT")

#: With ``direction="auto"`` a map laid out left to right that is wider than this many times
#: its height is laid out top to bottom instead (a slide or an A4 page holds it better).
AUTO_ASPECT = 2.5

#: A map with more stages than this is a big map: Graphviz's slow steps are capped (``mclimit``,
#: ``nslimit``, ``nslimit1``) and an end stage many arrows lead to is drawn as a copy beside each
#: stage that leads there (see :data:`HUB_ARROWS`).
BIG_MAP = 40

#: On a big map, an end stage with more arrows leading to it than this is drawn as small copies.
#: Every arrow into one box far down the map drags a chain of hidden points through each rank it
#: crosses: 1,000 stages that each may end in ``lost`` make half a million of them, and Graphviz
#: spends minutes placing them.
HUB_ARROWS = 6

#: Seconds Graphviz may take to lay out one map before ``render`` gives up.
GRAPHVIZ_TIMEOUT = 120.0

#: Graphviz settings for big maps: fewer passes to reduce crossings and to place nodes
#: (a little less tidy, minutes faster).
_BIG_MAP_GRAPH = (("mclimit", "0.3"), ("nslimit", "2"), ("nslimit1", "2"))


class RenderError(Exception):
    """A map could not be drawn or written (Graphviz missing or failing, bad option)."""


class GraphvizTimeout(RenderError):
    """Graphviz took longer than :data:`GRAPHVIZ_TIMEOUT` seconds to lay the map out."""


@dataclass(frozen=True)
class Flows:
    """A forecast to draw on the map.

    ``per_1000_edges`` maps ``(source, target)`` to the customers per 1,000
    entering that move from one stage to the other (by a transition or a
    trigger's reroute); ``per_1000_triggers`` maps a trigger's name to the
    customers per 1,000 it rerouted, so each arrow carries its own number;
    ``stage_reach`` maps a stage name to the share (a fraction) of entering
    customers that ever reach it.
    """

    per_1000_edges: dict[tuple[str, str], float] = field(default_factory=dict)
    stage_reach: dict[str, float] = field(default_factory=dict)
    per_1000_triggers: dict[str, float] = field(default_factory=dict)

    def transition(self, journey: Journey, t: Transition) -> float | None:
        """Customers per 1,000 that take transition ``t`` itself: the moves from its source to its
        target less those a trigger rerouted along the same pair (drawn on the trigger's arrow)."""
        if t.key not in self.per_1000_edges:
            return None
        rerouted = sum(self.per_1000_triggers.get(tg.name, 0.0) for tg in journey.triggers
                       if (tg.stage, tg.then_stage) == t.key)
        return max(0.0, self.per_1000_edges[t.key] - rerouted)

    def trigger(self, journey: Journey, tg: Trigger) -> float | None:
        """Customers per 1,000 that trigger ``tg`` rerouted (None when not known)."""
        if tg.name in self.per_1000_triggers:
            return self.per_1000_triggers[tg.name]
        key = (tg.stage, tg.then_stage)
        if key in self.per_1000_edges and key not in {t.key for t in journey.transitions}:
            return self.per_1000_edges[key]  # no trigger counts given: the pair's moves are all its own
        return None


# --- palette ---------------------------------------------------------------
# Light fills with dark text (contrast above 10:1 everywhere) and a darker
# border of the same hue; the role is also spelt out in each node.


@dataclass(frozen=True)
class _Look:
    fill: str
    border: str
    badge: str
    hint: str


_TEXT = "#111827"
_MUTED = "#374151"
_LOOKS: dict[str, _Look] = {
    "entry": _Look("#DBEAFE", "#1D4ED8", N_("ENTRY"), N_("where customers start")),
    "stage": _Look("#F8FAFC", "#475569", "", N_("a stage customers pass through")),
    "goal": _Look("#DCFCE7", "#15803D", N_("GOAL"), N_("reaching it counts as a conversion")),
    "active": _Look("#CCFBF1", "#0F766E", N_("ACTIVE"), N_("being in it counts as retained")),
    "terminal": _Look("#E5E7EB", "#4B5563", N_("END"), N_("the journey ends here")),
}
_BRANCH_COLOR = "#475569"
_RATE_COLOR = "#B45309"
_TRIGGER_COLOR = "#7C3AED"
_NOTE_FILL = "#FEF9C3"
_NOTE_BORDER = "#A16207"
_CLUSTER_FILL = "#F1F5F9"
_CLUSTER_BORDER = "#CBD5E1"
_FLOW_COLOR = "#1D4ED8"


def _roles(stage: Stage) -> list[str]:
    out = []
    if stage.entry is not None:
        out.append("entry")
    if stage.goal:
        out.append("goal")
    if stage.active:
        out.append("active")
    if stage.terminal:
        out.append("terminal")
    return out


def _primary_role(stage: Stage) -> str:
    """The role that picks the colour: goal, then entry, terminal, active, else stage."""
    for role in ("goal", "entry", "terminal", "active"):
        if role in _roles(stage):
            return role
    return "stage"


# --- numbers and units, as a strategist writes them --------------------------
#
# The map's fixed words and number formats are the current language's (see
# journeydsl.outputs.i18n); to_dot and to_mermaid set it for the time they draw.

_LANG: ContextVar[Lang | None] = ContextVar("journeydsl_map_lang", default=None)


def _lang() -> Lang:
    return _LANG.get() or get_lang("en")


def _t(message: str) -> str:
    """A fixed word of the map in the current language."""
    return _lang()._(message)


def _num(x: float, digits: int = 2) -> str:
    """A number without trailing zeros: 3, 2.5, 0.33 (in the language's format)."""
    r = round(x, digits)
    places = 0
    while places < digits and abs(r - round(r, places)) > 1e-12:
        places += 1
    return _lang().decimal(r, places)


def _pct(share: float) -> str:
    """A fraction as a percentage: 0.3 -> '30%', 0.125 -> '12.5%', 0.0005 -> '0.05%'."""
    v = share * 100
    r = round(v, 1 if abs(v) >= 1 else 2)
    places = 0
    while places < 2 and abs(r - round(r, places)) > 1e-12:
        places += 1
    return _lang().percent(r / 100, places)


#: The unit words, singular and plural, as messages (the catalogues hold each language's forms).
_UNIT_WORDS: dict[str, tuple[str, str]] = {
    "minute": Np_("{n} minute", "{n} minutes"),
    "hour": Np_("{n} hour", "{n} hours"),
    "day": Np_("{n} day", "{n} days"),
    "week": Np_("{n} week", "{n} weeks"),
    "month": Np_("{n} month", "{n} months"),
    "quarter": Np_("{n} quarter", "{n} quarters"),
    "year": Np_("{n} year", "{n} years"),
}
_EVERY_ONE: dict[str, str] = {
    "minute": N_("every minute"), "hour": N_("every hour"), "day": N_("every day"), "week": N_("every week"),
    "month": N_("every month"), "quarter": N_("every quarter"), "year": N_("every year"),
}
_PER_ONE: dict[str, str] = {
    "minute": N_("/minute"), "hour": N_("/hour"), "day": N_("/day"), "week": N_("/week"), "month": N_("/month"),
    "quarter": N_("/quarter"), "year": N_("/year"),
}


def _unit_of(days: float, unit: str | None = None) -> tuple[float, str] | None:
    """``(count, unit)``: in ``unit`` (the one the author wrote) when it gives a plain count,
    else in the largest unit ``days`` is a whole number of (hours and minutes only for less than a day).

    >>> _unit_of(365 / 2, "month"), _unit_of(365 / 2), _unit_of(14, "day"), _unit_of(14)
    ((6, 'month'), (2, 'quarter'), (14, 'day'), (2, 'week'))
    """
    if unit in DAYS:
        n = days / DAYS[unit]
        if n > 0 and abs(n * 100 - round(n * 100)) < 1e-6:
            return (round(n) if abs(n - round(n)) < 1e-9 else n), unit
    for u in ("year", "quarter", "month", "week", "day", *(("hour", "minute") if days < 1 else ())):
        n = days / DAYS[u]
        if n >= 1 and abs(n - round(n)) < 1e-9:
            return round(n), u
    return None


def _count(n: float, unit: str) -> str:
    """'1 week', '6 months', '2.5 days' in the current language."""
    one, many = _UNIT_WORDS[unit]
    return _lang().n_(one, many, n).format(n=_num(n, 2))


def _duration(days: float, unit: str | None = None) -> str:
    """Days in the author's unit, else the largest whole unit: 7 -> '1 week', 2.5 -> '2.5 days'."""
    u = _unit_of(days, unit)
    if u is not None:
        return _count(*u)
    return _count(round(days, 1), "day")


def _every(days: float, unit: str | None = None) -> str:
    """'every month', 'every 6 months' (never 'every 2 quarters' for a period written in months)."""
    u = _unit_of(days, unit)
    if u is not None and u[0] == 1:
        return _t(_EVERY_ONE[u[1]])
    return _t("every {duration}").format(duration=_duration(days, unit))


def _per(period_days: float, unit: str | None = None) -> str:
    """A period as a rate suffix: '/month', ' per 2 weeks', ' per 10 days'."""
    u = _unit_of(period_days, unit)
    if u is not None and u[0] == 1:
        return _t(_PER_ONE[u[1]])
    return _t(" per {duration}").format(duration=_duration(period_days, unit))


def _dist_days(d: Dist) -> str:
    """A delay distribution in a few characters: '3 days', '~5 days', '7–14 days'."""
    if d.kind == "fixed":
        return _duration(d.expected(), d.unit)
    if d.kind == "uniform":
        p = d.params()
        low, high = p["low"], p["high"]
        for unit in ((d.unit,) if d.unit in DAYS else ()) + ("year", "quarter", "month", "week", "day"):
            a, b = low / DAYS[unit], high / DAYS[unit]
            if a >= 1 and abs(a - round(a)) < 1e-9 and abs(b - round(b)) < 1e-9:
                return f"{_num(a)}–{_count(b, unit)}"
        return f"{_num(low, 1)}–{_count(round(high, 1), 'day')}"
    return f"~{_duration(d.expected(), d.unit)}"


def _money(amount: float, currency: str | None) -> str:
    places = 0 if amount == int(amount) else 2
    return _lang().money(amount, currency or "", places)


def _dist_money(d: Dist, currency: str | None) -> str:
    if d.kind == "fixed":
        return _money(d.expected(), currency)
    return f"~{_money(d.expected(), currency)}"


def _cash(flow: CashFlow, currency: str | None) -> str:
    money = _money(flow.amount, currency)
    if flow.period_days is None:
        return _t("{money} on enter").format(money=money)
    return f"{money}{_per(flow.period_days, flow.unit)}"


# --- what the map says ---------------------------------------------------------


def _short(text: str, limit: int = MAX_LABEL) -> str:
    """User text as a map shows it: at most ``limit`` characters, the cut marked with '…'.

    >>> _short("Free trial"), _short("x" * 300)[-3:], len(_short("x" * 300))
    ('Free trial', 'xx…', 200)
    """
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _touch_text(journey: Journey, name: str) -> str:
    """'Paid social (paid_social)' for a touchpoint, or the bare name if it is unknown."""
    try:
        tp = journey.touchpoint(name)
    except KeyError:
        return _short(name)
    if tp.capacity_per_day is not None:  # a task with a team of limited size
        cap = _t("{n} a day").format(n=_num(tp.capacity_per_day, 1))
        return f"{_short(tp.title)} ({_short(tp.channel)}, {cap})"
    return f"{_short(tp.title)} ({_short(tp.channel)})"


def _stage_lines(journey: Journey, stage: Stage, flows: Flows | None) -> list[str]:
    """The compact property lines under a stage's title."""
    cur = journey.currency
    lines: list[str] = []
    if stage.entry is not None and len(journey.entries) > 1:
        lines.append(_t("{share} of entries").format(share=_pct(stage.entry)))
    if stage.dwell is not None:
        lines.append(_t("stay {duration}").format(duration=_dist_days(stage.dwell)))
    for r in stage.revenue:
        lines.append(_t("revenue {amount}").format(amount=_cash(r, cur)))
    for c in stage.costs:
        lines.append(_t("cost {amount}").format(amount=_cash(c, cur)))
    for p in stage.purchases:
        lines.append(_lang().n_("{n} purchase{per} × {worth}", "{n} purchases{per} × {worth}", round(p.rate, 2))
                     .format(n=_num(p.rate), per=_per(p.per_days, p.unit), worth=_dist_money(p.worth, cur)))
    for t in stage.touches:
        lines.append(_t("on enter: {touchpoint}").format(touchpoint=_touch_text(journey, t)))
    if flows is not None and stage.name in flows.stage_reach:
        lines.append(_reached_text(flows, stage))
    return lines


def _badge(role: str) -> str:
    """The role's word in the legend: ENTRY, GOAL, ... and STAGE for a plain stage."""
    badge = _LOOKS[role].badge
    return _t(badge) if badge else _t("STAGE")


def _reached_text(flows: Flows, stage: Stage) -> str:
    return _t("reached by {share}").format(share=_pct(flows.stage_reach[stage.name]))


def _remainder(journey: Journey, t: Transition) -> float:
    taken = sum(e.share or 0.0 for e in journey.out_edges(t.source) if e.share is not None)
    return max(0.0, 1.0 - taken)


def _edge_lines(journey: Journey, t: Transition) -> tuple[str, list[str]]:
    """The headline (share or rate) and the detail lines of a transition."""
    if t.uncertainty is not None and t.rate is not None and t.period_days is not None:
        head = f"{t.uncertainty}{_per(t.period_days, t.unit)}"
    elif t.uncertainty is not None:
        head = t.uncertainty
    elif t.rate is not None and t.period_days is not None:
        head = f"{_pct(t.rate)}{_per(t.period_days, t.unit)}"
    elif t.otherwise:
        rest = _remainder(journey, t)
        head = _t("rest {share}").format(share=_pct(rest)) if rest > 0 else _t("rest")
    else:
        head = _pct(t.share or 0.0)
    lines = []
    if t.after is not None:
        lines.append(_t("after {duration}").format(duration=_dist_days(t.after)))
    if t.via is not None:
        lines.append(_t("via {touchpoint}").format(touchpoint=_touch_text(journey, t.via)))
    return head, lines


def _trigger_lines(journey: Journey, tg: Trigger) -> tuple[str, str]:
    """The trigger's title and its rule: 'day 7: Trial nudge (email) → 30%'."""
    if tg.when == "enter":
        when = _t("on enter")
    elif tg.when == "in" and tg.business:
        when = _t("business day {n}").format(n=_num(tg.days or 0.0, 1))
    elif tg.when == "in":
        days = tg.days or 0.0
        u = _unit_of(days, tg.unit)
        if u is not None and (0 < days < 1 or (tg.unit not in (None, "day") and u[1] != "day")):
            when = _t("after {duration}").format(duration=_count(*u))
        else:
            when = _t("day {n}").format(n=_num(days, 1))
    elif tg.when == "every":
        when = _every(tg.days or 0.0, tg.unit)
        if tg.limit is not None:
            when += " " + _t("(max {n})").format(n=tg.limit)
    else:
        ref = _short(tg.on_touch or "") + (f".{_short(tg.on_step)}" if tg.on_step else "")
        if tg.when == "response":
            when = _t("on response to {ref}").format(ref=ref)
        else:
            when = _t("no response to {ref} in {duration}").format(ref=ref, duration=_duration(tg.days or 0.0, tg.unit))
    if tg.unless:
        refs = ", ".join(_short(n) + (f".{_short(s)}" if s else "") for n, s in tg.unless)
        when += " " + _t("unless responded to {refs}").format(refs=refs)
    parts = [" + ".join(_touch_text(journey, s) for s in tg.send) if tg.send else _t("no contact")]
    response = tg.response
    if response is None and len(tg.send) == 1:
        with contextlib.suppress(KeyError):
            response = journey.touchpoint(tg.send[0]).response
    if response is not None:
        parts.append(_t("{share} respond").format(share=_pct(response)))
    rule = f"{when}: {', '.join(parts)}"
    if tg.then_stage is not None:
        share = _pct(tg.then_share) if tg.then_share is not None else _t("all")
        rule += f" → {share}"
    return _short(tg.title), rule


def _wrap(text: str, width: int = 26) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True) or [text]


def _ordered_phases(journey: Journey) -> list[str]:
    """Phases in the journey's order, then any phase only a stage names."""
    out = list(dict.fromkeys(journey.phases))
    for s in journey.stages:
        if s.phase is not None and s.phase not in out:
            out.append(s.phase)
    return out


def _penwidth(value: float, top: float) -> float:
    """1 to 9 points, by the square root of the share of the busiest edge (area-like)."""
    if top <= 0 or value <= 0:
        return 1.0
    return round(1.0 + 8.0 * math.sqrt(min(value / top, 1.0)), 2)


def _flow_text(value: float) -> str:
    return _t("{n} per 1,000").format(n=_num(value, 0 if value >= 10 else 1))


def _dot_id(name: str) -> str:
    """A stage's DOT node id: its name, or for a very long name its start and a digest.

    Graphviz refuses quoted strings longer than 16,384 characters; names are
    letters, digits and '_', so the '~' keeps the shortened id apart from any name.
    """
    if len(name) <= 100:
        return name
    return f"{name[:64]}~{hashlib.sha256(name.encode('utf-8')).hexdigest()[:16]}"


def _fresh_id(base: str, taken: set[str]) -> str:
    out = base
    while out in taken:
        out += "_"
    taken.add(out)
    return out


def _check_direction(direction: str) -> str:
    d = direction.upper()
    if d == "AUTO":
        return "LR"  # text output has no layout to measure; render() measures and may turn it
    if d not in _DIRECTIONS:
        raise RenderError(f"unknown direction '{direction}' (expected one of {', '.join(_DIRECTIONS)})")
    return d


def _map_lang(journey: Journey, lang: str | Lang | None) -> Lang:
    if isinstance(lang, Lang):
        return lang
    return get_lang(lang or journey.language)


def _speaks(build: Callable[..., str]) -> Callable[..., str]:
    """Run a map builder in the language its ``lang`` argument names (else the journey's)."""

    @functools.wraps(build)
    def wrapper(journey: Journey, **kwargs: Any) -> str:
        token = _LANG.set(_map_lang(journey, kwargs.get("lang")))
        try:
            return build(journey, **kwargs)
        finally:
            _LANG.reset(token)

    return wrapper


# --- DOT -------------------------------------------------------------------


_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """Make text safe to embed: U+FFFD for controls (C0 and C1), lone surrogates and U+FFFE/FFFF.

    Graphviz rejects those in HTML-like labels and would copy them into SVG.
    The Unicode line and paragraph separators become spaces (YAML and some
    Mermaid versions break lines on them).
    """
    return _NOT_XML.sub("\ufffd", text).replace("\u2028", " ").replace("\u2029", " ")


def _xml(text: str) -> str:
    """Escape text for a Graphviz HTML-like label (XML character data).

    >>> _xml('<a href="x">&</a>')
    '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;'
    """
    out = (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
        .replace("]", "&#93;")  # Graphviz 2.43's HTML-label lexer fails on a bare ']' (Debian 12's version)
    )
    # a tab (like a bare ']') alone in a label is a syntax error to Graphviz 2.43; it means a space anyway
    return _clean(out).replace("\r", " ").replace("\n", " ").replace("\t", " ")


def _q(text: str) -> str:
    """A DOT double-quoted string; backslashes and quotes escaped, line breaks as ``\\n``.

    >>> print(_q('say "hi" \\\\ bye'))
    "say \\"hi\\" \\\\ bye"
    """
    body = _clean(text).replace("\\", "\\\\").replace('"', '\\"')
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{body}"'


def _font(text: str, size: int | None = None, color: str | None = None, bold: bool = False) -> str:
    # Graphviz cannot parse an empty element (<B></B>, <FONT></FONT>): an empty label is a space
    body = _xml(text) or " "
    if bold:
        body = f"<B>{body}</B>"
    attrs = ""
    if size is not None:
        attrs += f' POINT-SIZE="{size}"'
    if color is not None:
        attrs += f' COLOR="{color}"'
    return f"<FONT{attrs}>{body}</FONT>" if attrs else body


def _dot_stage_label(journey: Journey, stage: Stage, flows: Flows | None) -> str:
    look = _LOOKS[_primary_role(stage)]
    rows: list[str] = []
    badges = [_t(_LOOKS[r].badge) for r in _roles(stage)]
    if badges:
        rows.append(_font(" · ".join(badges), 8, look.border, bold=True))
    rows.extend(_font(line, 12, _TEXT, bold=True) for line in _wrap(_short(stage.title)))
    for line in _stage_lines(journey, stage, flows):
        reached = flows is not None and stage.name in flows.stage_reach and line == _reached_text(flows, stage)
        color = _FLOW_COLOR if reached else _MUTED
        rows.append(_font(line, 9, color, bold=color == _FLOW_COLOR))
    return "<" + "<BR/>".join(rows) + ">"


def _dot_edge_label(head: str, lines: Sequence[str], color: str, extra: str | None = None) -> str:
    rows = [_font(head, 10, color, bold=True)]
    rows.extend(_font(line, 8, _MUTED) for line in lines)
    if extra is not None:
        rows.append(_font(extra, 9, _FLOW_COLOR, bold=True))
    cells = "<BR/>".join(rows)
    return (
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1" BGCOLOR="#FFFFFFCC">'
        f"<TR><TD>{cells}</TD></TR></TABLE>>"
    )


def _attrs(pairs: Iterable[tuple[str, str]]) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in pairs) + "]"


def _dot_stage(
    journey: Journey, stage: Stage, flows: Flows | None, indent: str, node_id: str | None = None
) -> str:
    """A stage's node; with ``node_id`` a copy of an end stage (dashed border) under that id."""
    role = _primary_role(stage)
    look = _LOOKS[role]
    style = '"filled"' if role == "terminal" else '"rounded,filled"'
    if node_id is not None:
        style = '"filled,dashed"'
    pairs = [
        ("label", _dot_stage_label(journey, stage, flows)),
        ("shape", "box"),
        ("style", style),
        ("fillcolor", _q(look.fill)),
        ("color", _q(look.border)),
        ("penwidth", "2" if role in ("entry", "goal") else "1.2"),
    ]
    if stage.goal:
        pairs.append(("peripheries", "2"))
    return f"{indent}{_q(node_id or _dot_id(stage.name))} {_attrs(pairs)};"


def _hub_stages(journey: Journey) -> set[str]:
    """End stages of a big map drawn as a copy beside each stage leading there (see :data:`HUB_ARROWS`)."""
    if len(journey.stages) <= BIG_MAP:
        return set()
    arrows: dict[str, int] = {}
    for t in journey.transitions:
        arrows[t.target] = arrows.get(t.target, 0) + 1
    for tg in journey.triggers:
        if tg.then_stage is not None:
            arrows[tg.then_stage] = arrows.get(tg.then_stage, 0) + 1
    return {s.name for s in journey.stages if s.terminal and arrows.get(s.name, 0) > HUB_ARROWS}


def _legend_rows(journey: Journey, flows: Flows | None) -> list[tuple[str, str, str]]:
    """(sample, sample colour, meaning) for each kind of thing this map shows."""
    used = {r for s in journey.stages for r in _roles(s)}
    rows: list[tuple[str, str, str]] = []
    for role in ("entry", "stage", "goal", "active", "terminal"):
        if role == "stage" or role in used:
            rows.append((f"role:{role}", "", _t(_LOOKS[role].hint)))
    # the samples are this journey's own first share and rate, so they read as on the map
    shares = [t for t in journey.transitions if t.share is not None]
    if any(t.kind == "branch" for t in journey.transitions):
        sample = _pct(shares[0].share or 0.0) if shares else "30%"
        rows.append((sample, _BRANCH_COLOR, _t("share of customers leaving the stage that go this way")))
    rates = [t for t in journey.transitions if t.kind == "rate"]
    if rates:
        sample = _edge_lines(journey, rates[0])[0]
        rows.append((sample, _RATE_COLOR, _t("chance of leaving this way within the period")))
    if journey.triggers:
        meaning = (_t("automation trigger (dashed: reroutes responders)") if flows is None
                   else _t("automation trigger (dashed: reroutes responders; its own number per 1,000)"))
        rows.append(("╌╌▶", _TRIGGER_COLOR, meaning))
    if flows is not None:
        rows.append(("━━▶", _BRANCH_COLOR, _t("wider line: more customers per 1,000 entering")))
    policy = _policy_text(journey)
    if policy:
        rows.append(("≤", _TRIGGER_COLOR, policy))
    return rows


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _policy_text(journey: Journey) -> str | None:
    """The contact policy in one line: caps, quiet hours, holdout (None without a policy)."""
    pol = journey.policy
    if pol is None:
        return None
    parts = []
    if pol.caps:
        caps = ", ".join(
            f"{c.channel or _t('any channel')} ≤ {c.count}{_per(c.window_days, c.unit)}" for c in pol.caps
        )
        how = _t("over a cap: delayed") if pol.on_cap == "delay" else _t("over a cap: skipped")
        parts.append(f"{_t('caps')}: {caps} ({how})")
    if pol.quiet is not None:
        how = _t("delayed") if pol.quiet_action == "delay" else _t("skipped")
        parts.append(f"{_t('quiet hours')} {_clock_text(pol.quiet[0])}–{_clock_text(pol.quiet[1])} ({how})")
    if pol.holdout > 0:
        parts.append(_t("holdout {share} (no marketing contacts)").format(share=_pct(pol.holdout)))
    if not parts:
        return None
    exempt = [t.name for t in journey.touchpoints if t.transactional]
    if exempt:
        parts.append(_t("exempt: {names}").format(names=", ".join(exempt)))
    return _t("contact policy") + ": " + "; ".join(parts)


def _dot_legend(journey: Journey, flows: Flows | None) -> str:
    trs = []
    for sample, color, meaning in _legend_rows(journey, flows):
        if sample.startswith("role:"):
            role = sample[5:]
            look = _LOOKS[role]
            name = _badge(role)
            cell = (
                f'<TD BGCOLOR="{look.fill}" COLOR="{look.border}" BORDER="1" STYLE="rounded">'
                f"{_font(name, 8, look.border, bold=True)}</TD>"
            )
        else:
            cell = f'<TD BORDER="0">{_font(sample, 9, color, bold=True)}</TD>'
        trs.append(f'<TR>{cell}<TD ALIGN="LEFT" BORDER="0">{_font(meaning, 8, _MUTED)}</TD></TR>')
    table = (
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="3" CELLPADDING="3">'
        f'<TR><TD COLSPAN="2" ALIGN="LEFT">{_font(_t("Legend"), 9, _TEXT, bold=True)}</TD></TR>'
        + "".join(trs)
        + "</TABLE>"
    )
    return f"<{table}>"


@_speaks
def to_dot(
    journey: Journey,
    *,
    flows: Flows | None = None,
    direction: str = "LR",
    title: str | None = None,
    lang: str | Lang | None = None,
) -> str:
    """The journey map as Graphviz DOT text (deterministic for the same input).

    ``title`` defaults to the journey's name; ``direction`` is ``LR`` or ``TB``
    (also ``RL``, ``BT``).

    >>> from journeydsl.language.model import Journey, Stage, Transition
    >>> j = Journey(name="j", stages=(Stage(name="a", entry=1.0), Stage(name="b", terminal=True)),
    ...             transitions=(Transition(source="a", target="b", share=0.3),))
    >>> '"a" -> "b"' in to_dot(j)
    True
    """
    rankdir = _check_direction(direction)
    ids = {_dot_id(s.name) for s in journey.stages}
    heading = _short(title if title is not None else journey.name)
    out: list[str] = [
        "digraph journey {",
        "  graph "
        + _attrs(
            [
                ("label", "<" + _font(heading, 18, _TEXT, bold=True) + ">"),
                ("labelloc", "t"),
                ("labeljust", "l"),
                ("rankdir", rankdir),
                ("charset", '"UTF-8"'),
                ("fontname", _q(FONT)),
                ("bgcolor", '"white"'),
                ("pad", "0.3"),
                ("nodesep", "0.35"),
                ("ranksep", "0.55"),
                ("newrank", "true"),
                ("compound", "true"),
                *(_BIG_MAP_GRAPH if len(journey.stages) > BIG_MAP else ()),
            ]
        )
        + ";",
        "  node "
        + _attrs([("fontname", _q(FONT)), ("fontcolor", _q(_TEXT)), ("margin", '"0.15,0.08"')])
        + ";",
        "  edge "
        + _attrs(
            [
                ("fontname", _q(FONT)),
                ("color", _q(_BRANCH_COLOR)),
                ("arrowsize", "0.7"),
                ("penwidth", "1.2"),
            ]
        )
        + ";",
    ]

    hubs = _hub_stages(journey)
    by_name = {s.name: s for s in journey.stages}

    def head_id(target: str, source: str, indent: str = "  ") -> str:
        """The node an arrow into ``target`` points at: the stage, or for a hub a fresh copy of it."""
        if target not in hubs:
            return _q(_dot_id(target))
        copy = _fresh_id(f"{_dot_id(target)} after {_dot_id(source)}", ids)
        out.append(_dot_stage(journey, by_name[target], flows, indent, node_id=copy))
        return _q(copy)

    for i, phase in enumerate(_ordered_phases(journey), start=1):
        members = [s for s in journey.stages if s.phase == phase and s.name not in hubs]
        if not members:
            continue
        out.append(f"  subgraph cluster_phase_{i} {{")
        out.append(
            "    graph "
            + _attrs(
                [
                    ("label", '""'),
                    ("style", '"rounded,filled"'),
                    ("fillcolor", _q(_CLUSTER_FILL)),
                    ("color", _q(_CLUSTER_BORDER)),
                    ("margin", "10"),
                ]
            )
            + ";"
        )
        # The phase's title is a node of its own in the cluster, not the cluster's label:
        # Graphviz routes edges around nodes but draws them straight through cluster labels.
        title_id = _fresh_id(f"phase title {i}", ids)
        out.append(
            f"    {_q(title_id)} "
            + _attrs([("label", "<" + _font(_short(phase), 11, _MUTED, bold=True) + ">"), ("shape", "plaintext"),
                      ("margin", '"0.04,0.02"'), ("height", "0.2")])
            + ";"
        )
        out.extend(_dot_stage(journey, s, flows, "    ") for s in members)
        out.append(f"    {{ rank=same; {_q(title_id)}; {_q(_dot_id(members[0].name))}; }}")
        out.append("  }")
        # title first in its rank: above the first stage left to right, left of it top to bottom
        out.append(f"  {_q(title_id)} -> {_q(_dot_id(members[0].name))} [style=invis, minlen=0];")
    for s in journey.stages:
        if s.phase is None and s.name not in hubs:
            out.append(_dot_stage(journey, s, flows, "  "))

    per_edge = flows.per_1000_edges if flows is not None else {}
    top = max(per_edge.values(), default=0.0)
    for t in journey.transitions:
        head, lines = _edge_lines(journey, t)
        color = _RATE_COLOR if t.kind == "rate" else _BRANCH_COLOR
        value = flows.transition(journey, t) if flows is not None else None
        extra = _flow_text(value) if value is not None else None
        pairs = [("label", _dot_edge_label(head, lines, color, extra)), ("color", _q(color))]
        if value is not None:
            pairs.append(("penwidth", str(_penwidth(value, top))))
        out.append(f"  {_q(_dot_id(t.source))} -> {head_id(t.target, t.source)} {_attrs(pairs)};")

    for tg in journey.triggers:
        name, rule = _trigger_lines(journey, tg)
        if tg.then_stage is not None:
            value = flows.trigger(journey, tg) if flows is not None else None
            extra = _flow_text(value) if value is not None else None
            pairs = [
                ("label", _dot_edge_label(name, [rule], _TRIGGER_COLOR, extra)),
                ("color", _q(_TRIGGER_COLOR)),
                ("style", "dashed"),
                ("arrowhead", "vee"),
                ("constraint", "false"),
            ]
            if value is not None:
                pairs.append(("penwidth", str(_penwidth(value, top))))
            out.append(f"  {_q(_dot_id(tg.stage))} -> {head_id(tg.then_stage, tg.stage)} {_attrs(pairs)};")
        else:
            note = _fresh_id(_dot_id(f"trigger {tg.name}"), ids)
            label = (
                "<"
                + _font(f"⚡ {name}", 9, _TRIGGER_COLOR, bold=True)
                + "<BR/>"
                + _font(rule, 8, _MUTED)
                + ">"
            )
            pairs = [
                ("label", label),
                ("shape", "note"),
                ("style", "filled"),
                ("fillcolor", _q(_NOTE_FILL)),
                ("color", _q(_NOTE_BORDER)),
            ]
            out.append(f"  {_q(note)} {_attrs(pairs)};")
            out.append(
                f"  {_q(_dot_id(tg.stage))} -> {_q(note)} "
                + _attrs(
                    [
                        ("style", "dotted"),
                        ("color", _q(_TRIGGER_COLOR)),
                        ("arrowhead", "none"),
                    ]
                )
                + ";"
            )

    legend = _fresh_id("legend", ids)
    out.append("  subgraph cluster_legend {")
    out.append(
        "    graph "
        + _attrs([("label", '""'), ("style", '"rounded"'), ("color", _q(_CLUSTER_BORDER))])
        + ";"
    )
    out.append(
        f"    {_q(legend)} "
        + _attrs([("label", _dot_legend(journey, flows)), ("shape", "plain")])
        + ";"
    )
    out.append("  }")
    # pull the legend to the far end of the flow, after the stages nothing leaves
    drawn = [s.name for s in journey.stages if s.name not in hubs]
    leaving = {t.source for t in journey.transitions}
    sinks = [name for name in drawn if name not in leaving]
    for name in sinks or drawn[-1:]:
        out.append(f"  {_q(_dot_id(name))} -> {_q(legend)} [style=invis, weight=0];")
    out.append("}")
    return "\n".join(out) + "\n"


# --- Mermaid ---------------------------------------------------------------

#: Characters written as Mermaid entity codes inside labels: markup, the quote that
#: ends the label and the '|' that ends an edge label.
_MERMAID_ENTITIES = {
    "#": "#35;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    '"': "#quot;",
    "`": "#96;",
    "|": "#124;",
}
#: Runs of '%' or ':' are entity-coded too, so that no '%%{init: ...}%%' directive
#: (Mermaid applies those wherever they stand), '%%' comment or ':::' class
#: shorthand can form; a lone '%' as in '30%' stays as it is.
_MERMAID_RUNS = re.compile(r"%{2,}|:{2,}")


def _mm(text: str) -> str:
    """Text for inside a double-quoted Mermaid label, with entity codes for the risky characters.

    >>> _mm('<script>"x"</script>')
    '#lt;script#gt;#quot;x#quot;#lt;/script#gt;'
    >>> _mm("%%{init: {'theme':'dark'}}%% x:::red 30%")
    "#37;#37;{init: {'theme':'dark'}}#37;#37; x#58;#58;#58;red 30%"
    """
    out = "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in _clean(text))
    out = _MERMAID_RUNS.sub(lambda m: "".join(f"#{ord(c)};" for c in m.group(0)), out)
    return re.sub(r"[\x00-\x1f\x7f]", " ", out)


def _mm_label(lines: Sequence[str]) -> str:
    body = "<br/>".join(_mm(line) for line in lines)
    return f'"{body}"' if body.strip() else '" "'  # Mermaid cannot parse an empty label ""


def _mm_id(prefix: str, name: str, index: int) -> str:
    """A Mermaid node id that no keyword or edge syntax can clash with."""
    if re.fullmatch(r"[A-Za-z0-9_]{1,100}", name):
        return f"{prefix}_{name}"
    return f"{prefix}x_{index}"


_MM_SHAPES = {
    "entry": ("([", "])"),
    "stage": ("(", ")"),
    "goal": ("{{", "}}"),
    "active": ("(", ")"),
    "terminal": ("[", "]"),
}


@_speaks
def to_mermaid(
    journey: Journey,
    *,
    flows: Flows | None = None,
    direction: str = "LR",
    title: str | None = None,
    lang: str | Lang | None = None,
) -> str:
    """The journey map as a Mermaid flowchart (deterministic for the same input).

    Shapes by role: entry a stadium, goal a hexagon, terminal a square box,
    other stages rounded boxes; triggers are dotted edges or notes.

    >>> from journeydsl.language.model import Journey, Stage, Transition
    >>> j = Journey(name="j", stages=(Stage(name="a", entry=1.0), Stage(name="b", terminal=True)),
    ...             transitions=(Transition(source="a", target="b", share=0.3),))
    >>> 'st_a -->|"30%"| st_b' in to_mermaid(j)
    True
    """
    rankdir = _check_direction(direction)
    heading = _short(title if title is not None else journey.name)
    yaml_title = json.dumps(_clean(heading), ensure_ascii=False)
    for ch in "<>%":  # no markup and no '%%' directive, even in the front matter
        yaml_title = yaml_title.replace(ch, f"\\u{ord(ch):04x}")
    out = ["---", f"title: {yaml_title}", "---", f"flowchart {rankdir}"]
    ids = {s.name: _mm_id("st", s.name, i) for i, s in enumerate(journey.stages)}

    def node(stage: Stage, indent: str) -> str:
        role = _primary_role(stage)
        opening, closing = _MM_SHAPES[role]
        badges = [_t(_LOOKS[r].badge) for r in _roles(stage)]
        lines = ([" · ".join(badges)] if badges else []) + [_short(stage.title)]
        lines += _stage_lines(journey, stage, flows)
        return f"{indent}{ids[stage.name]}{opening}{_mm_label(lines)}{closing}"

    for i, phase in enumerate(_ordered_phases(journey), start=1):
        members = [s for s in journey.stages if s.phase == phase]
        if not members:
            continue
        out.append(f"  subgraph phase_{i}[{_mm_label([_short(phase)])}]")
        out.append(f"    direction {rankdir}")
        out.extend(node(s, "    ") for s in members)
        out.append("  end")
    out.extend(node(s, "  ") for s in journey.stages if s.phase is None)

    per_edge = flows.per_1000_edges if flows is not None else {}
    top = max(per_edge.values(), default=0.0)
    link_styles: list[str] = []
    link = 0

    def ref(name: str) -> str:
        # an edge to a stage the journey does not declare still gets a safe id
        if name not in ids:
            ids[name] = _mm_id("st", name, len(ids))
        return ids[name]

    for t in journey.transitions:
        head, lines = _edge_lines(journey, t)
        value = flows.transition(journey, t) if flows is not None else None
        if value is not None:
            lines = [*lines, _flow_text(value)]
        arrow = "==>" if value is not None else "-->"
        out.append(f"  {ref(t.source)} {arrow}|{_mm_label([head, *lines])}| {ref(t.target)}")
        style = f"stroke:{_RATE_COLOR if t.kind == 'rate' else _BRANCH_COLOR}"
        if value is not None:
            style += f",stroke-width:{_penwidth(value, top)}px"
        link_styles.append(f"  linkStyle {link} {style}")
        link += 1

    for i, tg in enumerate(journey.triggers):
        name, rule = _trigger_lines(journey, tg)
        if tg.then_stage is not None:
            lines = [f"⚡ {name}", rule]
            value = flows.trigger(journey, tg) if flows is not None else None
            if value is not None:
                lines.append(_flow_text(value))
            out.append(f"  {ref(tg.stage)} -.->|{_mm_label(lines)}| {ref(tg.then_stage)}")
        else:
            note = _mm_id("tg", tg.name, i)
            out.append(f"  {note}>{_mm_label([f'⚡ {name}', rule])}]")
            out.append(f"  {ref(tg.stage)} -.- {note}")
            out.append(f"  class {note} trigger")
        link_styles.append(f"  linkStyle {link} stroke:{_TRIGGER_COLOR}")
        link += 1

    legend = [
        (f"lg_{role}", _MM_SHAPES[role], [_badge(role), _t(_LOOKS[role].hint)], role)
        for role, _s, _m in (
            (r[5:], c, m) for r, c, m in _legend_rows(journey, flows) if r.startswith("role:")
        )
    ]
    out.append(f"  subgraph legend[{_mm_label([_t('Legend')])}]")
    out.append("    direction TB")
    for lid, (opening, closing), lines, _role in legend:
        out.append(f"    {lid}{opening}{_mm_label(lines)}{closing}")
    arrows = [
        f"{sample}: {meaning}"
        for sample, _c, meaning in _legend_rows(journey, flows)
        if not sample.startswith("role:")
    ]
    if arrows:
        out.append(f"    lg_arrows[{_mm_label([_t('ARROWS'), *arrows])}]")
    out.append("  end")

    for role, look in _LOOKS.items():
        width = "3px" if role in ("entry", "goal") else "1px"
        out.append(
            f"  classDef {role} fill:{look.fill},stroke:{look.border},"
            f"stroke-width:{width},color:{_TEXT}"
        )
    out.append(f"  classDef trigger fill:{_NOTE_FILL},stroke:{_NOTE_BORDER},color:{_TEXT}")
    for s in journey.stages:
        out.append(f"  class {ids[s.name]} {_primary_role(s)}")
    for lid, _shape, _lines, role in legend:
        out.append(f"  class {lid} {role}")
    if arrows:
        out.append("  class lg_arrows stage")
    for i, phase in enumerate(_ordered_phases(journey), start=1):
        if any(s.phase == phase for s in journey.stages):
            out.append(f"  style phase_{i} fill:{_CLUSTER_FILL},stroke:{_CLUSTER_BORDER}")
    out.append(f"  style legend fill:#FFFFFF,stroke:{_CLUSTER_BORDER}")
    out.extend(link_styles)
    return "\n".join(out) + "\n"


# --- Graphviz and files -------------------------------------------------------


def _graphviz(dot_text: str, fmt: str) -> bytes:
    """Run Graphviz ``dot`` on ``dot_text`` and return the ``svg`` or ``png`` bytes."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(f"Graphviz 'dot' was not found on PATH; {INSTALL_HINT}")
    args = [exe, f"-T{fmt}"]
    if fmt == "png":
        args.append("-Gdpi=150")
    try:
        done = subprocess.run(
            args, input=dot_text.encode("utf-8"), capture_output=True, timeout=GRAPHVIZ_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise GraphvizTimeout(
            f"Graphviz 'dot' took longer than {GRAPHVIZ_TIMEOUT:g} s to lay out this map and was stopped; "
            "the map is too big or tangled for a drawing: use --format dot or --format mermaid "
            "(the map as text), or draw one --scenario or a part of the journey"
        ) from None
    except OSError as exc:
        raise RenderError(f"Graphviz 'dot' could not run: {exc}; {INSTALL_HINT}") from None
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
        raise RenderError(f"Graphviz 'dot' failed: {detail}")
    return done.stdout


def _aspect(svg: bytes) -> float:
    """Width over height of a Graphviz SVG (from its ``viewBox``)."""
    m = re.search(rb'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg)
    if not m or float(m.group(2)) <= 0:
        return 1.0
    return float(m.group(1)) / float(m.group(2))


#: An edge's group: its line and arrowhead, then its label (a white box and texts, nothing nested).
_EDGE = re.compile(r'(<g id="edge\d+" class="edge">(?:(?!</g>).)*?)'
                   r'(<polygon fill="#ffffff" fill-opacity=(?:(?!<g|<a|</a>|</g>).)*)(</g>)', re.S)


def _labels_above_edges(svg: bytes) -> bytes:
    """Graphviz draws each edge with its label, so a later (thick) edge can run over an earlier
    edge's number; move every edge label, its white box with it, above all the lines."""
    text = svg.decode("utf-8")
    labels: list[str] = []

    def lift(found: re.Match[str]) -> str:
        labels.append(found.group(2))
        return found.group(1) + found.group(3)

    text = _EDGE.sub(lift, text)
    end = text.rfind("</g>")  # the graph's own group closes last
    if not labels or end < 0:
        return svg
    return (text[:end] + '<g class="edge-labels">\n' + "".join(labels) + "</g>\n" + text[end:]).encode("utf-8")


def render(
    journey: Journey,
    path: str | Path | None = None,
    *,
    format: str = "svg",
    flows: Flows | None = None,
    direction: str = "LR",
    title: str | None = None,
    lang: str | Lang | None = None,
) -> bytes | str:
    """Draw the journey map as ``svg`` or ``png`` (bytes, via Graphviz) or ``dot`` or ``mermaid`` (text).

    ``direction="auto"`` lays an SVG or PNG out left to right unless that comes out wider than
    :data:`AUTO_ASPECT` times its height, then top to bottom (DOT and Mermaid text: left to right).
    ``lang`` (``en``, ``ru``, ``bg``; default the journey's ``language``) picks the map's fixed words.

    When ``path`` is given the result is also written there atomically: the
    file is replaced whole or left untouched. Raises :class:`RenderError` for
    an unknown format or direction, a missing or failing Graphviz, or a file
    that cannot be written.
    """
    fmt = format.lower()
    if fmt == "mmd":
        fmt = "mermaid"
    if fmt not in FORMATS:
        raise RenderError(f"unknown format '{format}' (expected one of {', '.join(FORMATS)})")
    result: bytes | str
    if fmt == "mermaid":
        result = to_mermaid(journey, flows=flows, direction=direction, title=title, lang=lang)
    else:
        text = to_dot(journey, flows=flows, direction=direction, title=title, lang=lang)
        drawn: bytes | None = None
        if fmt != "dot" and direction.upper() == "AUTO":
            svg = _graphviz(text, "svg")
            if _aspect(svg) > AUTO_ASPECT:
                text = to_dot(journey, flows=flows, direction="TB", title=title, lang=lang)
            elif fmt == "svg":
                drawn = svg  # already drawn the way it stays: no second Graphviz run
        result = text if fmt == "dot" else drawn if drawn is not None else _graphviz(text, fmt)
        if fmt == "svg" and isinstance(result, bytes):
            result = _labels_above_edges(result)
    if path is not None:
        data = result.encode("utf-8") if isinstance(result, str) else result
        try:
            atomic_write(Path(path), data)
        except OSError as exc:
            raise RenderError(str(CannotWrite(path, os_reason(exc)))) from None
    return result


def flows_from(results: Results, arm: int = 0) -> Flows:
    """The forecast flows of one arm, for drawing on a map (customers per 1,000 on each edge)."""
    chosen = results.arms[arm]
    reach = {name: float(s["reached"]) for name, s in chosen.stages.items()}
    edges = {edge: flow["per_1000"] for edge, flow in chosen.edge_flows().items()}
    triggers = {name: 1000 * float(t["rerouted_per_customer"] or 0) for name, t in chosen.triggers.items()}
    return Flows(per_1000_edges=edges, stage_reach=reach, per_1000_triggers=triggers)
