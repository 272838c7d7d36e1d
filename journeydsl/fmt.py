"""The canonical layout of a `.journey` file (``journeydsl fmt``).

:func:`format_source` rewrites a journey with one statement per line,
4-space indents, a fixed order (settings, phases and stages, touchpoints,
transitions, triggers, segments, scenarios; properties in a fixed order
within each block) and canonical spellings (``30%``, ``1.20 EUR``,
``2 years``, ``20_000``). Comments stay with the statement they were
written on or above. The result parses to the same model and formatting it
again changes nothing.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from journeydsl import syntax as sx
from journeydsl.compile import compile_source
from journeydsl.model import DIST_PARAMS
from journeydsl.parser import parse
from journeydsl.source import Source, Span

__all__ = ["format_number", "format_source"]

INDENT = "    "


# --- canonical spellings -------------------------------------------------------------


def format_number(v: float) -> str:
    """The canonical spelling of a number: no exponent, ``_`` between thousands from 10_000.

    >>> [format_number(x) for x in (20000.0, 0.5, 1.0, 1e-05, 1234.0)]
    ['20_000', '0.5', '1', '0.00001', '1234']
    """
    if v == int(v) and abs(v) < 1e15:
        n = int(v)
        return f"{n:_}" if abs(n) >= 10_000 else str(n)
    text = repr(v)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _money_amount(v: float) -> str:
    if v != int(v):
        two = f"{v:.2f}"
        if float(two) == v:
            return two
    return format_number(v)


def _share(s: sx.Share) -> str:
    if s.percent:
        return f"{format_number(s.value)}%"
    pct = format_number(round(s.value * 100, 10))
    if 0 <= s.value <= 1 and float(pct) / 100 == s.value:
        return f"{pct}%"
    return format_number(s.value)


def _duration(d: sx.Duration, *, bare_one: bool = False) -> str:
    count = d.count
    if count is None or (bare_one and count == 1):
        return d.unit if bare_one else f"1 {d.unit}"
    return f"{format_number(count)} {d.unit}{'' if count == 1 else 's'}"


def _money(m: sx.Money) -> str:
    amount = _money_amount(m.amount)
    return f"{amount} {m.currency}" if m.currency else amount


def _quantity(q: sx.Quantity) -> str:
    if q.unit:
        return f"{format_number(q.value)} {q.unit}{'' if q.value == 1 else 's'}"
    if q.currency:
        return f"{_money_amount(q.value)} {q.currency}"
    return format_number(q.value)


def _dist(d: sx.DistNode) -> str:
    if d.kind == "fixed":
        return _quantity(d.args[0].quantity)
    order = DIST_PARAMS[d.kind]
    named: dict[str, sx.Quantity] = {}
    positional = 0
    for a in d.args:
        if a.param is None:
            named[order[positional]] = a.quantity
            positional += 1
        else:
            named[a.param] = a.quantity
    if d.kind == "uniform":
        return f"uniform({_quantity(named['low'])}, {_quantity(named['high'])})"
    args = ", ".join(f"{p} {_quantity(named[p])}" for p in order if p in named)
    return f"{d.kind}({args})"


def _label(label: str | None) -> str:
    if label is None:
        return ""
    return " " + json.dumps(label, ensure_ascii=False)


# --- comments ----------------------------------------------------------------------


@dataclass
class _Comment:
    line: int
    col: int
    text: str
    own_line: bool


def _scan_comments(text: str) -> list[_Comment]:
    """Every ``#`` comment outside a label, with its position."""
    out: list[_Comment] = []
    for no, line in enumerate(text.split("\n"), start=1):
        if "#" not in line:
            continue
        in_string = False
        i = 0
        while i < len(line):
            ch = line[i]
            if in_string and ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = not in_string
            elif ch == "#" and not in_string:
                out.append(_Comment(no, i + 1, line[i:].rstrip(), not line[:i].strip()))
                break
            i += 1
    return out


@dataclass
class _Notes:
    """Comments attached to nodes (by ``id``)."""

    leading: dict[int, list[str]] = field(default_factory=dict)
    head: dict[int, list[str]] = field(default_factory=dict)
    tail: dict[int, list[str]] = field(default_factory=dict)
    block_end: dict[int, list[str]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


def _children(node: Any) -> list[Any]:
    """The nodes printed on lines of their own inside ``node``."""
    if isinstance(node, sx.JourneyNode):
        return list(node.items)
    if isinstance(node, sx.PhaseNode):
        return list(node.stages)
    if isinstance(node, sx.StageNode | sx.TouchpointNode | sx.TriggerNode):
        return list(node.props)
    if isinstance(node, sx.SegmentNode | sx.ScenarioNode):
        return list(node.overrides)
    return []


def _flatten(node: Any, out: list[Any]) -> None:
    out.append(node)
    for c in _children(node):
        _flatten(c, out)


def _start(node: Any) -> tuple[int, int]:
    span: Span | None = node.span
    return (span.line, span.col) if span else (0, 0)


def _attach(journey: sx.JourneyNode, comments: list[_Comment]) -> _Notes:
    """Give each comment to a node: above it, at the end of its line, or at a block's end."""
    notes = _Notes()
    nodes: list[Any] = []
    _flatten(journey, nodes)
    nodes = [n for n in nodes if n.span is not None]
    nodes.sort(key=_start)
    starts = [n.span.line for n in nodes]
    by_end: dict[int, list[Any]] = {}
    by_start: dict[int, list[Any]] = {}
    innermost: dict[int, Any] = {}
    for n in nodes:
        by_end.setdefault(n.span.end_line, []).append(n)
        by_start.setdefault(n.span.line, []).append(n)
        if _children(n) or isinstance(
            n, sx.JourneyNode | sx.PhaseNode | sx.SegmentNode | sx.ScenarioNode
        ):
            for line in range(n.span.line + 1, n.span.end_line):
                innermost[line] = n  # inner blocks come later and win
    jspan = journey.span
    assert jspan is not None

    def add(table: dict[int, list[str]], node: Any, text: str) -> None:
        table.setdefault(id(node), []).append(text)

    for c in comments:
        if c.line < jspan.line or (c.line == jspan.line and c.col < jspan.col):
            notes.header.append(c.text)
            continue
        if c.line > jspan.end_line or (c.line == jspan.end_line and c.col >= jspan.end_col):
            notes.footer.append(c.text)
            continue
        if not c.own_line:
            ending = by_end.get(c.line)
            if ending:
                node = min(ending, key=_start)
                add(notes.head if node.span.line == c.line else notes.tail, node, c.text)
                continue
            starting = by_start.get(c.line)
            if starting:
                add(notes.head, min(starting, key=_start), c.text)
                continue
        i = bisect.bisect_right(starts, c.line)
        following = nodes[i] if i < len(nodes) else None
        block: Any = innermost.get(c.line, journey)
        bspan: Span = block.span
        if following is None or _start(following) > (bspan.end_line, bspan.end_col):
            add(notes.block_end, block, c.text)
        else:
            add(notes.leading, following, c.text)
    return notes


# --- printing ----------------------------------------------------------------------------


class _Printer:
    def __init__(self, notes: _Notes) -> None:
        self.notes = notes

    def _decorate(self, node: Any, lines: list[str], indent: str) -> list[str]:
        """Add a node's comments around its printed lines."""
        nid = id(node)
        lead = [indent + c for c in self.notes.leading.get(nid, [])]
        if nid in self.notes.head:
            lines[0] += "  " + " ".join(self.notes.head[nid])
        if nid in self.notes.tail:
            lines[-1] += "  " + " ".join(self.notes.tail[nid])
        return lead + lines

    def block(self, node: Any, header: str, body: list[list[str]], indent: str) -> list[str]:
        """``header {`` + body lines + ``}``; a body of groups gets blank lines between blocks."""
        ends = [indent + INDENT + c for c in self.notes.block_end.get(id(node), [])]
        inner: list[str] = []
        sizes = [sum(line != "\0" and not line.lstrip().startswith("#") for line in group)
                 for group in body]
        for i, group in enumerate(body):
            if i and (sizes[i] > 1 or sizes[i - 1] > 1 or self._new_section(group)):
                inner.append("")
            inner.extend(group)
        if not inner and not ends:
            return self._decorate(node, [f"{indent}{header} {{}}"], indent)
        return self._decorate(node, [f"{indent}{header} {{", *inner, *ends, f"{indent}}}"], indent)

    @staticmethod
    def _new_section(group: list[str]) -> bool:
        return bool(group) and group[0] == "\0"

    def sections(self, node: Any, header: str, groups: list[list[Any]], indent: str,
                 render: Any) -> list[str]:
        """A block whose children come in sections (kinds), a blank line between sections."""
        body: list[list[str]] = []
        for gi, group in enumerate(g for g in groups if g):
            for j, child in enumerate(group):
                lines = render(child, indent + INDENT)
                if gi and j == 0:
                    lines = ["\0", *lines]
                body.append(lines)
        out = self.block(node, header, body, indent)
        return [line for line in out if line != "\0"]

    # --- statements ---------------------------------------------------------------

    def journey(self, j: sx.JourneyNode) -> list[str]:
        head = f"journey {j.name}{_label(j.label)}" if j.name else f"journey{_label(j.label)}"
        order = (
            sx.CurrencySetting, sx.HorizonSetting, sx.DiscountSetting, sx.CustomersSetting,
        )
        settings = sorted(
            (it for it in j.items if isinstance(it, order)),
            key=lambda it: order.index(type(it)),
        )
        groups: list[list[Any]] = [
            settings,
            [it for it in j.items if isinstance(it, sx.PhaseNode | sx.StageNode)],
            [it for it in j.items if isinstance(it, sx.TouchpointNode)],
            [it for it in j.items if isinstance(it, sx.TransitionNode)],
            [it for it in j.items if isinstance(it, sx.TriggerNode)],
            [it for it in j.items if isinstance(it, sx.SegmentNode)],
            [it for it in j.items if isinstance(it, sx.ScenarioNode)],
        ]
        self.widths = _widths(groups[3])
        return self.sections(j, head, groups, "", self.item)

    def item(self, it: Any, indent: str) -> list[str]:
        if isinstance(it, sx.PhaseNode):
            body = [self.stage(s, indent + INDENT) for s in it.stages]
            return self.block(it, f"phase{_label(it.label)}", body, indent)
        if isinstance(it, sx.StageNode):
            return self.stage(it, indent)
        if isinstance(it, sx.TransitionNode):
            return self._decorate(it, [indent + _transition(it, self.widths)], indent)
        if isinstance(it, sx.TouchpointNode):
            return self.touchpoint(it, indent)
        if isinstance(it, sx.TriggerNode):
            return self.trigger(it, indent)
        if isinstance(it, sx.SegmentNode):
            head = f"segment {it.name.text}{_label(it.label)} {_share(it.share)}"
            return self.overrides(it, head, indent)
        if isinstance(it, sx.ScenarioNode):
            return self.overrides(it, f"scenario {it.name.text}{_label(it.label)}", indent)
        if isinstance(it, sx.WithoutTrigger):
            return self._decorate(it, [f"{indent}without trigger {it.name.text}"], indent)
        if isinstance(it, sx.WithoutTransition):
            line = f"{indent}without {it.source.text} -> {it.target.text}"
            return self._decorate(it, [line], indent)
        return self._decorate(it, [indent + _setting(it)], indent)

    def props(self, node: Any, head: str, props: list[Any], indent: str,
              always_block: bool = False) -> list[str]:
        if not props and not always_block and not self.notes.block_end.get(id(node)):
            return self._decorate(node, [indent + head], indent)
        body = [self._decorate(p, [indent + INDENT + _prop(p)], indent + INDENT) for p in props]
        return self.block(node, head, body, indent)

    def stage(self, s: sx.StageNode, indent: str) -> list[str]:
        rank = {sx.EntryProp: 0, sx.DwellProp: 4, sx.TouchProp: 5, sx.PurchasesProp: 8}

        def key(p: Any) -> int:
            if isinstance(p, sx.FlagProp):
                return {"terminal": 1, "goal": 2, "active": 3}[p.flag]
            if isinstance(p, sx.CashProp):
                return 6 if p.kind == "revenue" else 7
            return rank[type(p)]

        props = sorted(s.props, key=key)
        return self.props(s, f"stage {s.name.text}{_label(s.label)}", props, indent,
                          always_block=s.short)

    def touchpoint(self, t: sx.TouchpointNode, indent: str) -> list[str]:
        rank = {sx.ChannelProp: 0, sx.TouchpointCostProp: 1, sx.ResponseProp: 2}
        props = sorted(t.props, key=lambda p: rank[type(p)])
        return self.props(t, f"touchpoint {t.name.text}{_label(t.label)}", props, indent,
                          always_block=t.has_body)

    def trigger(self, t: sx.TriggerNode, indent: str) -> list[str]:
        rank = {sx.WhenEnter: 0, sx.WhenIn: 0, sx.WhenEvery: 0, sx.SendProp: 1,
                sx.ResponseProp: 2, sx.ThenProp: 3, sx.LimitProp: 4}
        props = sorted(t.props, key=lambda p: rank[type(p)])
        return self.props(t, f"trigger {t.name.text}{_label(t.label)}", props, indent,
                          always_block=True)

    def overrides(self, node: sx.SegmentNode | sx.ScenarioNode, head: str,
                  indent: str) -> list[str]:
        items = node.overrides
        groups: list[list[Any]] = [
            [it for it in items if isinstance(it, sx.StageNode)],
            [it for it in items if isinstance(it, sx.TransitionNode)],
            [it for it in items if isinstance(it, sx.TouchpointNode)],
            [it for it in items if isinstance(it, sx.TriggerNode)],
            [it for it in items if isinstance(it, sx.WithoutTrigger | sx.WithoutTransition)],
        ]
        saved = self.widths
        self.widths = _widths(groups[1])
        try:
            return self.sections(node, head, groups, indent, self.item)
        finally:
            self.widths = saved


def _widths(transitions: list[Any]) -> tuple[int, int]:
    if not transitions:
        return (0, 0)
    return (max(len(t.source.text) for t in transitions),
            max(len(t.target.text) for t in transitions))


def _transition(t: sx.TransitionNode, widths: tuple[int, int]) -> str:
    parts = [f"{t.source.text.ljust(widths[0])} -> {t.target.text.ljust(widths[1])}"]
    parts.append("otherwise" if t.otherwise or t.share is None else _share(t.share))
    if t.per is not None:
        parts.append(f"per {_duration(t.per, bare_one=True)}")
    parts.extend(f"after {_dist(a)}" for a in t.after)
    parts.extend(f"via {v.text}" for v in t.via)
    return " ".join(parts)


def _setting(it: sx.Setting) -> str:
    if isinstance(it, sx.CurrencySetting):
        return f"currency {it.code}"
    if isinstance(it, sx.HorizonSetting):
        return f"horizon {_duration(it.duration)}"
    if isinstance(it, sx.DiscountSetting):
        per = it.per or sx.Duration(None, "year")
        return f"discount {_share(it.rate)} per {_duration(per, bare_one=True)}"
    return f"customers {format_number(it.count.value)}"


def _prop(p: Any) -> str:
    if isinstance(p, sx.EntryProp):
        return "entry" if p.share is None else f"entry {_share(p.share)}"
    if isinstance(p, sx.FlagProp):
        return p.flag
    if isinstance(p, sx.DwellProp):
        return f"dwell {_dist(p.dist)}"
    if isinstance(p, sx.TouchProp):
        return f"touch {', '.join(n.text for n in p.touchpoints)} on enter"
    if isinstance(p, sx.CashProp):
        when = "on enter" if p.every is None else f"every {_duration(p.every, bare_one=True)}"
        return f"{p.kind} {_money(p.money)} {when}"
    if isinstance(p, sx.PurchasesProp):
        return (f"purchases {format_number(p.rate.value)} per {_duration(p.per, bare_one=True)}"
                f" worth {_dist(p.worth)}")
    if isinstance(p, sx.ChannelProp):
        return f"channel {p.channel.text}"
    if isinstance(p, sx.TouchpointCostProp):
        return f"cost {_money(p.money)}"
    if isinstance(p, sx.ResponseProp):
        return f"response {_share(p.share)}"
    if isinstance(p, sx.WhenEnter):
        return f"when enter {p.stage.text}"
    if isinstance(p, sx.WhenIn):
        return f"when in {p.stage.text} for {_duration(p.duration)}"
    if isinstance(p, sx.WhenEvery):
        return f"every {_duration(p.duration, bare_one=True)} in {p.stage.text}"
    if isinstance(p, sx.SendProp):
        return f"send {p.touchpoint.text}"
    if isinstance(p, sx.ThenProp):
        share = "" if p.share is None else f" {_share(p.share)}"
        return f"then{share} -> {p.stage.text}"
    if isinstance(p, sx.LimitProp):
        return f"limit {format_number(p.count.value)}"
    raise TypeError(f"cannot format {type(p).__name__}")  # pragma: no cover


def format_source(text: str, path: str = "<journey>") -> str:
    """The canonical text of a journey; raises :class:`~journeydsl.errors.JourneyError` if invalid.

    >>> print(format_source('journey "J" { stage a { entry; goal }; stage b { terminal };'
    ...                     ' a -> b 0.5; a->a otherwise after 1 day }'), end="")
    journey "J" {
        stage a {
            entry
            goal
        }
    <BLANKLINE>
        stage b {
            terminal
        }
    <BLANKLINE>
        a -> b 50%
        a -> a otherwise after 1 day
    }
    """
    source = Source(path, text)
    compile_source(source)  # invalid journeys are not formatted
    node = parse(source)
    notes = _attach(node, _scan_comments(source.text))
    lines = [*notes.header, *_Printer(notes).journey(node), *notes.footer]
    return "\n".join(line.rstrip() for line in lines) + "\n"
