"""The canonical layout of a `.journey` file (``journeydsl fmt``).

:func:`format_source` rewrites a journey with one statement per line,
4-space indents, a fixed order (settings, phases and stages, touchpoints,
transitions, triggers, segments, scenarios; properties in a fixed order
within each block) and canonical spellings (``30%``, ``1.20 EUR``,
``2 years``, ``1_000``, ``20_000``). A stage, touchpoint or change with
simple properties and no comment inside is written on one line when it fits
in :data:`WIDTH` columns; consecutive one-line declarations of a kind align
their labels and braces, transitions align their stage names, and trailing
comments of a run of lines share a column. Blank lines are the author's (at
most one in a row, none after ``{`` or before ``}``). Comments stay with
the statement they were written on or above. The result parses to the same
model and formatting it again changes nothing.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from journeydsl.language import syntax as sx
from journeydsl.language.compile import compile_source
from journeydsl.language.model import DIST_PARAMS
from journeydsl.language.parser import parse
from journeydsl.language.source import Source, Span

__all__ = ["format_number", "format_source", "quote_label"]

INDENT = "    "


# --- canonical spellings -------------------------------------------------------------


def _group(digits: str) -> str:
    """``_`` between thousands of an integer part from four digits up: ``1_000``, ``20_000``."""
    sign = "-" if digits.startswith("-") else ""
    body = digits.lstrip("-")
    return sign + (f"{int(body):_}" if len(body) >= 4 else body)


def format_number(v: float) -> str:
    """The canonical spelling of a number: no exponent, ``_`` between thousands from 1_000.

    >>> [format_number(x) for x in (20000.0, 0.5, 1.0, 1e-05, 1234.0, 999.0, 2500.75)]
    ['20_000', '0.5', '1', '0.00001', '1_234', '999', '2_500.75']
    """
    if v == int(v) and abs(v) < 1e15:
        return _group(str(int(v)))
    text = repr(v)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    whole, dot, frac = text.partition(".")
    return _group(whole) + dot + frac


def _money_amount(v: float) -> str:
    """Money keeps two decimals when it has cents: ``1.20``, ``14.99``, ``1_250.50``."""
    if v != int(v):
        two = f"{v:.2f}"
        if float(two) == v:
            whole, _, cents = two.partition(".")
            return f"{_group(whole)}.{cents}"
    return format_number(v)


def _amount(a: sx.Amount) -> str:
    if a.percent:
        return f"{format_number(a.value)}%"
    if a.unit:
        return f"{format_number(a.value)} {a.unit}{'' if a.value == 1 else 's'}"
    if a.currency:
        return f"{_money_amount(a.value)} {a.currency}"
    return format_number(a.value)


def valued_text(v: sx.Valued) -> str:
    """A parameter's name, or an uncertain value in its canonical spelling.

    ``25% ± 5%``, ``25% (18%–33%)``, ``30 of 120``, ``beta(30, 70)``,
    ``gamma(shape 2, mean 95 EUR)``; a range is written with an en dash.
    """
    if isinstance(v, sx.ParamRef):
        return v.name.text
    t = [_amount(a) for a in v.amounts]
    if v.form == "fixed":
        return t[0]
    if v.form == "pm":
        return f"{t[0]} ± {t[1]}"
    if v.form == "range":
        return f"{t[0]} ({t[1]}–{t[2]})"
    if v.form == "of":
        return f"{t[0]} of {t[1]}"
    names = v.arg_names or (None,) * len(t)
    return f"{v.kind}(" + ", ".join(f"{n} {x}" if n else x for n, x in zip(names, t, strict=True)) + ")"


def _share(s: sx.Share | sx.Valued) -> str:
    if isinstance(s, sx.ParamRef | sx.Uncertain):
        return valued_text(s)
    if s.percent:
        return f"{format_number(s.value)}%"
    pct = format_number(round(s.value * 100, 10))
    if 0 <= s.value <= 1 and float(pct) / 100 == s.value:
        return f"{pct}%"
    return format_number(s.value)


def _duration(d: sx.Duration | sx.Valued, *, bare_one: bool = False) -> str:
    if isinstance(d, sx.ParamRef | sx.Uncertain):
        return valued_text(d)
    count = d.count
    if d.business:
        return f"{format_number(count or 0)} business {d.unit}{'' if count == 1 else 's'}"
    if count is None or (bare_one and count == 1):
        return d.unit if bare_one else f"1 {d.unit}"
    return f"{format_number(count)} {d.unit}{'' if count == 1 else 's'}"


def _money(m: sx.Money | sx.Valued) -> str:
    if isinstance(m, sx.ParamRef | sx.Uncertain):
        return valued_text(m)
    amount = _money_amount(m.amount)
    return f"{amount} {m.currency}" if m.currency else amount


def _quantity(q: sx.Quantity | sx.Valued) -> str:
    if isinstance(q, sx.ParamRef | sx.Uncertain):
        return valued_text(q)
    if q.unit:
        return f"{format_number(q.value)} {q.unit}{'' if q.value == 1 else 's'}"
    if q.currency:
        return f"{_money_amount(q.value)} {q.currency}"
    return format_number(q.value)


def _dist(d: sx.DistNode) -> str:
    if d.kind == "fixed":
        return _quantity(d.args[0].quantity)
    order = DIST_PARAMS[d.kind]
    named: dict[str, sx.Quantity | sx.Valued] = {}
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


#: Characters a label shows as an escape: the language's own (\" \\ \t \n \r), then
#: ``\uXXXX`` for every other control character, the line and paragraph separators,
#: the byte-order mark and the bidirectional controls that could make a line read
#: differently from what it says (everything else, any script or emoji, is written as is).
_LABEL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def quote_label(label: str) -> str:
    r"""A label as the language writes it: in double quotes, with the language's escapes.

    Reading the result back (:func:`journeydsl.language.transformer.unquote`) gives ``label`` again.

    >>> print(quote_label('Free\ttrial "Pro" \\ Клиент 🎉\x1b'))
    "Free\ttrial \"Pro\" \\ Клиент 🎉\u001b"
    """
    out = []
    for ch in label:
        if ch in _LABEL_ESCAPES:
            out.append(_LABEL_ESCAPES[ch])
        elif _INVISIBLE.match(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _label(label: str | None) -> str:
    if label is None:
        return ""
    return " " + quote_label(label)


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

    leading: dict[int, list[_Comment]] = field(default_factory=dict)
    head: dict[int, list[_Comment]] = field(default_factory=dict)
    tail: dict[int, list[_Comment]] = field(default_factory=dict)
    block_end: dict[int, list[_Comment]] = field(default_factory=dict)
    header: list[_Comment] = field(default_factory=list)
    footer: list[_Comment] = field(default_factory=list)

    def inside(self, node: Any) -> bool:
        """Whether any comment sits inside ``node``'s block (on or above a child, or at its end)."""
        if self.block_end.get(id(node)):
            return True
        return any(id(c) in table for c in _children(node)
                   for table in (self.leading, self.head, self.tail, self.block_end))


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
    if isinstance(node, sx.PlanNode):
        return list(node.props)
    if isinstance(node, sx.TargetsNode):
        return list(node.targets)
    if isinstance(node, sx.PolicyNode | sx.CalendarNode):
        return list(node.props)
    return []


def _flatten(node: Any, out: list[Any]) -> None:
    out.append(node)
    for c in _children(node):
        _flatten(c, out)


def _start(node: Any) -> tuple[int, int]:
    span: Span | None = node.span
    return (span.line, span.col) if span else (0, 0)


def _end(node: Any) -> tuple[int, int]:
    span: Span = node.span
    return (span.end_line, span.end_col)


def _last_statement(ending: list[Any]) -> Any:
    """Of the nodes ending on one line, the last one not inside another: a comment
    after ``a; b`` belongs to ``b``, one after ``stage s { entry }`` to the stage."""
    outer = [n for n in ending
             if not any(o is not n and _start(o) <= _start(n) and _end(n) <= _end(o)
                        for o in ending)]
    return max(outer or ending, key=_start)


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

    def add(table: dict[int, list[_Comment]], node: Any, comment: _Comment) -> None:
        table.setdefault(id(node), []).append(comment)

    for c in comments:
        if c.line < jspan.line or (c.line == jspan.line and c.col < jspan.col):
            notes.header.append(c)
            continue
        if c.line > jspan.end_line or (c.line == jspan.end_line and c.col >= jspan.end_col):
            notes.footer.append(c)
            continue
        if not c.own_line:
            ending = by_end.get(c.line)
            if ending:
                node = _last_statement(ending)
                add(notes.head if node.span.line == c.line else notes.tail, node, c)
                continue
            starting = by_start.get(c.line)
            if starting:
                add(notes.head, min(starting, key=_start), c)
                continue
        i = bisect.bisect_right(starts, c.line)
        following = nodes[i] if i < len(nodes) else None
        block: Any = innermost.get(c.line, journey)
        bspan: Span = block.span
        if following is None or _start(following) > (bspan.end_line, bspan.end_col):
            add(notes.block_end, block, c)
        else:
            add(notes.leading, following, c)
    return notes


# --- printing ----------------------------------------------------------------------------

WIDTH = 100
"""The column limit of the layout: one-line blocks, aligned columns and aligned comments."""


@dataclass
class _Line:
    """One output line: code and/or a comment, or a blank line.

    ``cells`` are the columns of a one-line declaration (``stage NAME``, the
    label, the rest) and ``key`` names the run it aligns with.
    """

    indent: str = ""
    code: str = ""
    comment: str = ""
    blank: bool = False
    cells: tuple[str, ...] = ()
    key: str = ""


_BLANK = _Line(blank=True)


class _Printer:
    def __init__(self, notes: _Notes, source: Source) -> None:
        self.notes = notes
        self.lines = source.text.split("\n")
        self.blank_above = {no for no in range(2, len(self.lines) + 1)
                            if not self.lines[no - 2].strip()}
        self.widths: tuple[int, int] = (0, 0)
        self.in_overrides = False

    def gap(self, line: int) -> list[_Line]:
        """A blank line if the author left one right above source line ``line``."""
        return [_BLANK] if line in self.blank_above else []

    def starts_line(self, node: Any) -> bool:
        span: Span | None = node.span
        return span is not None and not self.lines[span.line - 1][: span.col - 1].strip()

    def comments(self, found: list[_Comment], indent: str) -> list[_Line]:
        """Own-line comments, with the author's blank lines above them."""
        out: list[_Line] = []
        for c in found:
            out += [*self.gap(c.line), _Line(indent, comment=c.text)]
        return out

    def _decorate(self, node: Any, lines: list[_Line], indent: str) -> list[_Line]:
        """Add a node's comments (and the blank lines above it) around its printed lines."""
        nid = id(node)
        lead = self.comments(self.notes.leading.get(nid, []), indent)
        if self.starts_line(node):
            lead += self.gap(node.span.line)
        if nid in self.notes.head:
            _append_comment(lines[0], self.notes.head[nid])
        if nid in self.notes.tail:
            _append_comment(lines[-1], self.notes.tail[nid])
        return lead + lines

    def block(self, node: Any, header: str, body: list[_Line], indent: str) -> list[_Line]:
        """``header {`` + body lines + ``}`` (``header {}`` when there is nothing inside)."""
        ends = self.comments(self.notes.block_end.get(id(node), []), indent + INDENT)
        if not body and not ends:
            return self._decorate(node, [_Line(indent, f"{header} {{}}")], indent)
        lines = [_Line(indent, f"{header} {{"), *body, *ends, _Line(indent, "}")]
        return self._decorate(node, lines, indent)

    def sections(self, node: Any, header: str, groups: list[list[Any]], indent: str) -> list[_Line]:
        """A block whose children come in a fixed order of kinds."""
        body = [line for group in groups for child in group
                for line in self.item(child, indent + INDENT)]
        return self.block(node, header, body, indent)

    # --- statements ---------------------------------------------------------------

    def journey(self, j: sx.JourneyNode) -> list[_Line]:
        head = f"journey {j.name}{_label(j.label)}" if j.name else f"journey{_label(j.label)}"
        order = (
            sx.CurrencySetting, sx.HorizonSetting, sx.LtvWindowSetting, sx.DiscountSetting, sx.CustomersSetting,
            sx.ArrivalsSetting, sx.LanguageSetting,
        )
        settings = sorted(
            (it for it in j.items if isinstance(it, order)),
            key=lambda it: order.index(type(it)),
        )
        groups: list[list[Any]] = [
            settings,
            [it for it in j.items if isinstance(it, sx.ParamDecl)],
            [it for it in j.items if isinstance(it, sx.PhaseNode | sx.StageNode)],
            [it for it in j.items if isinstance(it, sx.TouchpointNode)],
            [it for it in j.items if isinstance(it, sx.TransitionNode)],
            [it for it in j.items if isinstance(it, sx.TriggerNode)],
            [it for it in j.items if isinstance(it, sx.CalendarNode)],
            [it for it in j.items if isinstance(it, sx.PolicyNode)],
            [it for it in j.items if isinstance(it, sx.SegmentNode)],
            [it for it in j.items if isinstance(it, sx.ScenarioNode)],
            [it for it in j.items if isinstance(it, sx.PlanNode | sx.TargetsNode)],
        ]
        self.widths = _widths(groups[4])
        return self.sections(j, head, groups, "")

    def item(self, it: Any, indent: str) -> list[_Line]:
        if isinstance(it, sx.PhaseNode):
            body = [line for s in it.stages for line in self.stage(s, indent + INDENT)]
            return self.block(it, f"phase{_label(it.label)}", body, indent)
        if isinstance(it, sx.StageNode):
            return self.stage(it, indent)
        if isinstance(it, sx.TransitionNode):
            return self._decorate(it, [_Line(indent, _transition(it, self.widths))], indent)
        if isinstance(it, sx.TouchpointNode):
            return self.touchpoint(it, indent)
        if isinstance(it, sx.TriggerNode):
            return self.trigger(it, indent)
        if isinstance(it, sx.SegmentNode):
            head = f"segment {it.name.text}{_label(it.label)} {_share(it.share)}"
            return self.overrides(it, head, indent)
        if isinstance(it, sx.ScenarioNode):
            rollout = "" if it.rollout is None else f" {_share(it.rollout)}"
            return self.overrides(it, f"scenario {it.name.text}{_label(it.label)}{rollout}", indent)
        if isinstance(it, sx.PolicyNode | sx.CalendarNode):
            inside = indent + INDENT
            body = [line for p in it.props for line in self._decorate(p, [_Line(inside, _prop(p))], inside)]
            return self.block(it, "policy" if isinstance(it, sx.PolicyNode) else "calendar", body, indent)
        if isinstance(it, sx.PlanNode | sx.TargetsNode):
            inside = indent + INDENT
            props = it.props if isinstance(it, sx.PlanNode) else it.targets
            body = [line for p in props for line in self._decorate(p, [_Line(inside, _prop(p))], inside)]
            head = f"plan {it.name.text}" if isinstance(it, sx.PlanNode) else "targets"
            return self.block(it, head + _label(it.label), body, indent)
        if isinstance(it, sx.WithoutTrigger):
            return self._decorate(it, [_Line(indent, f"without trigger {it.name.text}")], indent)
        if isinstance(it, sx.ParamDecl):
            cells = (f"param {it.name.text}", _label(it.label).lstrip(), f"= {valued_text(it.value)}")
            line = _Line(indent, " ".join(c for c in cells if c), cells=cells, key=f"{len(indent)}:param")
            return self._decorate(it, [line], indent)
        if isinstance(it, sx.WithoutTransition):
            line = _Line(indent, f"without {it.source.text} -> {it.target.text}")
            return self._decorate(it, [line], indent)
        return self._decorate(it, [_Line(indent, _setting(it))], indent)

    def props(self, node: Any, kind: str, props: list[Any], indent: str, *,
              always_block: bool = False, one_line: bool = True) -> list[_Line]:
        """A declaration with properties: bare, on one line, or one property per line.

        One line (``kind NAME "Label" { p; q }``) when ``one_line`` allows it, no
        comment sits inside the block, at most one comment trails it, and the
        line fits in :data:`WIDTH` columns. The choice depends only on the
        content, never on how the input was laid out.
        """
        cells = (f"{kind} {node.name.text}", _label(node.label).lstrip())
        head = " ".join(c for c in cells if c)
        key = f"{len(indent)}:{kind}"
        if not props and not always_block and not self.notes.block_end.get(id(node)):
            return self._decorate(node, [_Line(indent, head, cells=cells, key=key)], indent)
        nid = id(node)
        if (one_line and props and not self.notes.inside(node)
                and not (nid in self.notes.head and nid in self.notes.tail)):
            inner = "{ " + "; ".join(_prop(p) for p in props) + " }"
            if len(indent) + len(head) + 1 + len(inner) <= WIDTH:
                line = _Line(indent, f"{head} {inner}", cells=(*cells, inner), key=key)
                return self._decorate(node, [line], indent)
        inside = indent + INDENT
        body = [line for p in props
                for line in self._decorate(p, [_Line(inside, _prop(p))], inside)]
        return self.block(node, head, body, indent)

    def stage(self, s: sx.StageNode, indent: str) -> list[_Line]:
        rank = {sx.EntryProp: 0, sx.DwellProp: 4, sx.TouchProp: 5, sx.PurchasesProp: 8, sx.RefersProp: 9}

        def key(p: Any) -> int:
            if isinstance(p, sx.FlagProp):
                return {"terminal": 1, "goal": 2, "active": 3}[p.flag]
            if isinstance(p, sx.CashProp):
                return 6 if p.kind == "revenue" else 7
            return rank[type(p)]

        props = sorted(s.props, key=key)
        return self.props(s, "stage", props, indent, always_block=s.short)

    def touchpoint(self, t: sx.TouchpointNode, indent: str) -> list[_Line]:
        rank = {sx.ChannelProp: 0, sx.TouchpointCostProp: 1, sx.ResponseProp: 3, sx.FunnelProp: 3,
                sx.CapacityProp: 4, sx.TransactionalProp: 5}

        def key(p: Any) -> int:
            if isinstance(p, sx.TouchpointCostProp) and p.on_response:
                return 2
            return rank[type(p)]

        props = sorted(t.props, key=key)
        return self.props(t, t.kind, props, indent, always_block=t.has_body)

    def trigger(self, t: sx.TriggerNode, indent: str) -> list[_Line]:
        rank = {sx.WhenEnter: 0, sx.WhenIn: 0, sx.WhenEvery: 0, sx.WhenResponse: 0, sx.WhenNoResponse: 0,
                sx.UnlessProp: 1, sx.SendProp: 2, sx.ResponseProp: 3, sx.ThenProp: 4, sx.LimitProp: 5}
        props = sorted(t.props, key=lambda p: rank[type(p)])
        return self.props(t, "trigger", props, indent, always_block=True,
                          one_line=self.in_overrides)

    def overrides(self, node: sx.SegmentNode | sx.ScenarioNode, head: str,
                  indent: str) -> list[_Line]:
        items = node.overrides
        groups: list[list[Any]] = [
            [it for it in items if isinstance(it, sx.ParamDecl)],
            [it for it in items if isinstance(it, sx.StageNode)],
            [it for it in items if isinstance(it, sx.TransitionNode)],
            [it for it in items if isinstance(it, sx.TouchpointNode)],
            [it for it in items if isinstance(it, sx.TriggerNode)],
            [it for it in items if isinstance(it, sx.WithoutTrigger | sx.WithoutTransition)],
            [it for it in items if isinstance(it, sx.PolicyNode)],
        ]
        saved = self.widths
        self.widths = _widths(groups[2])
        self.in_overrides = True
        try:
            return self.sections(node, head, groups, indent)
        finally:
            self.widths = saved
            self.in_overrides = False


def _append_comment(line: _Line, found: list[_Comment]) -> None:
    line.comment = " ".join([line.comment, *(c.text for c in found)]).strip()


# --- the last pass: blank lines, aligned declarations, aligned comments --------------------


def _tidy_blanks(lines: list[_Line]) -> list[_Line]:
    """At most one blank line in a row; none at the start, after ``{`` or before ``}``."""
    out: list[_Line] = []
    for line in lines:
        if line.blank and (not out or out[-1].blank or out[-1].code.endswith("{")):
            continue
        if line.code.startswith("}") and out and out[-1].blank:
            out.pop()
        out.append(line)
    while out and out[-1].blank:
        out.pop()
    return out


def _runs(lines: list[_Line], member: Any) -> list[list[_Line]]:
    """Maximal runs of ``member`` lines with no blank line or other code line between."""
    runs: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if member(line, current):
            current.append(line)
        elif line.blank or line.code:
            if current:
                runs.append(current)
            current = [line] if member(line, []) else []
    if current:
        runs.append(current)
    return runs


def _align_declarations(lines: list[_Line]) -> None:
    """Consecutive one-line declarations of one kind share their label and ``{`` columns.

    When that would pass :data:`WIDTH`, only the labels are aligned; when even
    that would, the run is left as it is.
    """

    def member(line: _Line, run: list[_Line]) -> bool:
        return bool(line.key) and (not run or run[0].key == line.key)

    for run in _runs(lines, member):
        if len(run) < 2:
            continue
        columns = max(len(line.cells) for line in run)
        widths = [max((len(line.cells[i]) for line in run if len(line.cells) > i + 1),
                      default=0) for i in range(columns)]
        for padded in (columns, 1):
            aligned = [_cells(line.cells, widths[:padded]) for line in run]
            if all(len(run[0].indent) + len(code) <= WIDTH for code in aligned):
                for line, code in zip(run, aligned, strict=True):
                    line.code = code
                break


def _cells(cells: tuple[str, ...], widths: list[int]) -> str:
    """``cells`` joined by spaces, each but the last padded to its column's width."""
    parts = []
    for i, cell in enumerate(cells):
        last = i + 1 == len(cells)
        width = widths[i] if i < len(widths) else 0
        if cell or last or width:
            parts.append(cell if last else cell.ljust(width))
    return " ".join(parts).rstrip()


def _align_comments(lines: list[_Line]) -> None:
    """Trailing comments of a run of lines start in one column.

    A run is consecutive lines of one block: same indent, no blank line and
    no line of another depth between them. Its comments start two spaces
    after the longest code among its commented lines; a comment that would
    then pass :data:`WIDTH` gets two spaces instead and does not count
    towards the column.
    """
    run: list[_Line] = []
    for line in [*lines, _BLANK]:
        if run and not line.blank and line.indent == run[0].indent:
            run.append(line)
            continue
        _comment_column([ln for ln in run if ln.code and ln.comment])
        run = [] if line.blank else [line]


def _comment_column(trailing: list[_Line]) -> None:
    def end(ln: _Line) -> int:
        return len(ln.indent) + len(ln.code)

    aligned = trailing
    while aligned:
        column = max(end(ln) for ln in aligned) + 2
        fits = [ln for ln in aligned if column + len(ln.comment) <= WIDTH]
        if len(fits) == len(aligned):
            break
        aligned = fits
    column = max((end(ln) for ln in aligned), default=0) + 2
    for ln in trailing:
        lines_up = end(ln) + 2 <= column and column + len(ln.comment) <= WIDTH
        ln.comment = " " * (column - end(ln) if lines_up else 2) + ln.comment


def _render(lines: list[_Line]) -> list[str]:
    lines = _tidy_blanks(lines)
    _align_declarations(lines)
    _align_comments(lines)
    out = []
    for line in lines:
        if line.blank:
            out.append("")
        elif line.code:
            out.append(line.indent + line.code + line.comment)
        else:
            out.append(line.indent + line.comment)
    return out


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
    if isinstance(it, sx.LtvWindowSetting):
        return f"ltv window {_duration(it.duration)}"
    if isinstance(it, sx.LanguageSetting):
        return f"language {it.code.text}"
    if isinstance(it, sx.DiscountSetting):
        per = it.per or sx.Duration(None, "year")
        return f"discount {_share(it.rate)} per {_duration(per, bare_one=True)}"
    if isinstance(it, sx.ArrivalsSetting):
        return f"arrivals {format_number(it.count.value)} per {_duration(it.per, bare_one=True)}"
    return f"customers {format_number(it.count.value)}"


def _clock(text: str) -> str:
    """A range of times of day as HH:MM-HH:MM (as written when it is not one)."""
    import re

    m = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})\s*[-–—]\s*([0-9]{1,2}):([0-9]{2})", text)
    if m is None:
        return text
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _ref(r: sx.ResponseRef) -> str:
    return r.touchpoint.text if r.step is None else f"{r.touchpoint.text}.{r.step.text}"


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
    if isinstance(p, sx.RefersProp):
        count = format_number(p.count.value) if isinstance(p.count, sx.Number) else valued_text(p.count)
        return f"refers {count} per {p.per.text}"
    if isinstance(p, sx.PurchasesProp):
        rate = format_number(p.rate.value) if isinstance(p.rate, sx.Number) else valued_text(p.rate)
        return (f"purchases {rate} per {_duration(p.per, bare_one=True)}"
                f" worth {_dist(p.worth)}")
    if isinstance(p, sx.ChannelProp):
        return f"channel {p.channel.text}"
    if isinstance(p, sx.TouchpointCostProp):
        return f"cost {_money(p.money)}" + (" on response" if p.on_response else "")
    if isinstance(p, sx.ResponseProp):
        return f"response {_share(p.share)}"
    if isinstance(p, sx.TransactionalProp):
        return "transactional"
    if isinstance(p, sx.CapProp):
        return f"cap {p.channel.text} {format_number(p.count.value)} per {_duration(p.window, bare_one=True)}"
    if isinstance(p, sx.OnCapProp):
        return f"on cap {p.action.text}"
    if isinstance(p, sx.QuietProp):
        action = "" if p.action is None else f" {p.action.text}"
        return f"quiet {p.word.text} {_clock(p.clock.text)}{action}"
    if isinstance(p, sx.HoldoutProp):
        return f"holdout {_share(p.share)}"
    if isinstance(p, sx.WeekendsProp):
        return "weekends " + ", ".join(d.text for d in p.days)
    if isinstance(p, sx.FunnelProp):
        return "response " + ", ".join(f"{s.name.text} {_share(s.share)}" for s in p.steps)
    if isinstance(p, sx.CapacityProp):
        count = format_number(p.count.value) if isinstance(p.count, sx.Number) else valued_text(p.count)
        return f"capacity {count} per {_duration(p.per, bare_one=True)}"
    if isinstance(p, sx.WhenResponse):
        return f"when response to {_ref(p.ref)}"
    if isinstance(p, sx.WhenNoResponse):
        return f"when no response to {_ref(p.ref)} within {_duration(p.duration)}"
    if isinstance(p, sx.UnlessProp):
        return f"unless responded to {_ref(p.ref)}"
    if isinstance(p, sx.WhenEnter):
        return f"when enter {p.stage.text}"
    if isinstance(p, sx.WhenIn):
        return f"when in {p.stage.text} for {_duration(p.duration)}"
    if isinstance(p, sx.WhenEvery):
        return f"every {_duration(p.duration, bare_one=True)} in {p.stage.text}"
    if isinstance(p, sx.SendProp):
        return "send " + ", ".join(n.text for n in p.touchpoints)
    if isinstance(p, sx.ThenProp):
        share = "" if p.share is None else f" {_share(p.share)}"
        return f"then{share} -> {p.stage.text}"
    if isinstance(p, sx.LimitProp):
        return f"limit {format_number(p.count.value)}"
    plan = _plan_prop(p)
    if plan is not None:
        return plan
    raise TypeError(f"cannot format {type(p).__name__}")  # pragma: no cover


def _year_month(ym: sx.YearMonth) -> str:
    return f"{ym.year:04d}-{ym.month:02d}"


def _plan_prop(p: Any) -> str | None:
    """A statement of a ``plan`` or ``targets`` block."""
    if isinstance(p, sx.PlanStart):
        return f"start {_year_month(p.month)}"
    if isinstance(p, sx.PlanMonths):
        return f"months {format_number(p.count.value)}"
    if isinstance(p, sx.PlanArrivals):
        out = f"arrivals {format_number(p.count.value)} per {_duration(p.per, bare_one=True)}"
        if p.growth is not None and p.growth_per is not None:
            out += f" growing {_share(p.growth)} per {_duration(p.growth_per, bare_one=True)}"
        return out
    if isinstance(p, sx.PlanArrivalsIn):
        return f"arrivals {format_number(p.count.value)} in {_year_month(p.month)}"
    if isinstance(p, sx.PlanSeasonality):
        return "seasonality " + ", ".join(f"{i.month.text.lower()} {_share(i.share)}" for i in p.items)
    if isinstance(p, sx.PlanBudget):
        return f"budget {_money(p.money)} per {_duration(p.per, bare_one=True)}"
    if isinstance(p, sx.PlanScenario):
        return f"scenario {p.name.text}"
    if isinstance(p, sx.TargetNode):
        parts = [p.kpi.text]
        if p.bound is not None:
            parts.append(f"at {p.bound}")
        if p.duration is not None:
            parts.append(_duration(p.duration))
        parts.append(_share(p.value) if isinstance(p.value, sx.Share) else _money(p.value))
        return " ".join(parts)
    return None


def format_source(text: str, path: str = "<journey>") -> str:
    """The canonical text of a journey; raises :class:`~journeydsl.language.errors.JourneyError` if invalid.

    >>> print(format_source('journey "J" { stage a { entry; goal }; stage b { terminal };'
    ...                     ' a -> b 0.5; a->a otherwise after 1 day }'), end="")
    journey "J" {
        stage a { entry; goal }
        stage b { terminal }
        a -> b 50%
        a -> a otherwise after 1 day
    }
    """
    source = Source(path, text)
    compile_source(source)  # invalid journeys are not formatted
    node = parse(source)
    notes = _attach(node, _scan_comments(source.text))
    printer = _Printer(notes, source)
    lines = printer.comments(notes.header, "")
    lines += printer.journey(node)
    lines += printer.comments(notes.footer, "")
    return "\n".join(line.rstrip() for line in _render(lines)) + "\n"
