"""The words and symbols of a journey document: names, where they are defined and used, the outline.

Shared by :mod:`journeydsl.editor.document`, :mod:`journeydsl.editor.completion`
and :mod:`journeydsl.editor.analysis`: the help text of every keyword and
distribution, the occurrence and outline types, and the collector that finds
every stage, touchpoint, trigger, segment and scenario in the syntax.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from journeydsl.editor.incremental import _SCAN
from journeydsl.language import syntax as sx
from journeydsl.language.errors import Diagnostic
from journeydsl.language.source import Span

#: At most this many broken lines are blanked before giving up on keeping the symbols.
MAX_REPAIRS = 12

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_FULL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: One line on what each keyword means (shown on hover); keywords missing here get a generic line.
KEYWORD_HELP: dict[str, str] = {
    "journey": "The whole journey: `journey \"Label\" { ... }` holds every other statement.",
    "currency": "The journey's currency, a three-letter code (`currency EUR`); money without a code uses it.",
    "horizon": "How long each simulated customer is followed from entry (`horizon 2 years`).",
    "discount": "Yearly discount rate applied to every cash flow (`discount 10% per year`).",
    "customers": "How many customers `journeydsl simulate` follows by default (`customers 20_000`).",
    "ltv": "`ltv window DURATION`: how long after converting a customer's value counts towards LTV.",
    "window": "`ltv window DURATION`: how long after converting a customer's value counts towards LTV.",
    "phase": "A group of stages drawn together on the map (`phase \"Acquisition\" { stage ... }`).",
    "stage": "A lifecycle stage customers are in: `stage NAME \"Label\" { properties }`.",
    "entry": "Customers start here; `entry 30%` splits new customers between several entry stages.",
    "terminal": "Customers who reach this stage stay there (no way out).",
    "goal": "Reaching this stage counts as a conversion.",
    "active": "Being in this stage counts as retained (retention and active-customer figures).",
    "dwell": "How long customers stay before moving on: a fixed time (`3 days`) or a distribution.",
    "touch": "Touchpoints that reach every customer entering the stage (`touch welcome on enter`).",
    "enter": "On entering the stage (`on enter`, `when enter STAGE`).",
    "revenue": "Money earned in the stage: `revenue 49 EUR every month` or `revenue 20 EUR on enter`.",
    "cost": "Money spent: on a stage (`cost 4 EUR every month`) or per contact of a touchpoint.",
    "every": "A repeat period: `revenue 49 EUR every month`, or a trigger `every 30 days in STAGE`.",
    "purchases": "Extra purchases while in the stage: `purchases 0.5 per year worth lognormal(...)`.",
    "worth": "The value of each purchase (`worth 120 EUR` or a distribution).",
    "otherwise": "The rest of the customers leaving the stage, after the listed shares.",
    "after": "How long customers on this transition stay before moving (overrides the stage's dwell).",
    "via": "A touchpoint that contacts every customer taking this transition (its cost counts).",
    "touchpoint": "A contact with customers: `touchpoint NAME \"Label\" { channel email; cost 0.02 EUR }`.",
    "channel": "The channel of a touchpoint (email, sms, paid_social, ...), used to group costs.",
    "response": "The share of contacted customers who respond, or a funnel: `response opens 40%, clicks 25%`.",
    "trigger": "Automation: `trigger NAME { when in STAGE for 7 days; send T; then 30% -> STAGE }`.",
    "when": "When a trigger fires: `when enter STAGE`, `when in STAGE for 7 days`, "
            "`when response to T` or `when no response to T within 2 days`.",
    "in": "The stage a trigger watches (`when in trial for 7 days`, `every 30 days in customer`).",
    "send": "The touchpoints a trigger sends, one contact of each (`send sms, call`); each is charged.",
    "task": "Manager work, sent like a touchpoint: `task call { cost 4 EUR; response 35%; capacity 40 per day }`.",
    "capacity": "How many tasks the team completes (`capacity 40 per day`); extra tasks wait in a queue.",
    "arrivals": "New customers a day, as a steady stream (`arrivals 80 per day`): loads the task queues.",
    "to": "The touchpoint a behaviour condition answers: `when response to email.clicks`.",
    "no": "`when no response to T within 2 days`: fires for those who did not answer T.",
    "within": "`when no response to T within 2 days`: how long to wait for the answer.",
    "unless": "`unless responded to T`: leaves out customers who already answered T.",
    "responded": "`unless responded to T`: leaves out customers who already answered T.",
    "then": "Where responders go: `then 30% -> customer` (no share: every responder).",
    "limit": "How many times an `every` trigger fires for one customer at most.",
    "segment": "A share of customers who differ: `segment NAME \"Label\" 20% { changes }`.",
    "scenario": "An alternative to compare with the baseline: `scenario NAME \"Label\" { changes }`.",
    "without": "In a scenario or segment: `without trigger NAME` or `without A -> B`.",
    "on": "`on enter`: when the stage is entered.",
    "per": "A rate's period: `5% per month`, `discount 10% per year`, `0.5 per year`.",
    "for": "`when in STAGE for 7 days`: how long into the stay the trigger fires.",
}

_DIST_HELP = {
    "exponential": "memoryless stay; `exponential(mean 2 days)`",
    "gamma": "`gamma(shape 2, mean 5 days)`; shape above 1 makes very short stays rare",
    "lognormal": "long right tail; `lognormal(mean 120 EUR, sd 40 EUR)`",
    "uniform": "every value between two ends equally likely; `uniform(7 days, 14 days)`",
    "weibull": "`weibull(shape 1.5, scale 10 days)`",
    "normal": "bell curve (cut at zero); `normal(mean 30 days, sd 5 days)`",
}

#: Snippets offered for each distribution kind (LSP snippet syntax).
DIST_SNIPPETS = {
    "exponential": "exponential(mean ${1:2} ${2:days})",
    "gamma": "gamma(shape ${1:2}, mean ${2:5} ${3:days})",
    "lognormal": "lognormal(mean ${1:120} ${2:EUR}, sd ${3:40} ${4:EUR})",
    "uniform": "uniform(${1:7} ${2:days}, ${3:14} ${4:days})",
    "weibull": "weibull(shape ${1:1.5}, scale ${2:10} ${3:days})",
    "normal": "normal(mean ${1:30} ${2:days}, sd ${3:5} ${4:days})",
}


# --- symbols -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A name of ``kind`` written at ``span``: its definition, or a use of it."""

    kind: str  # stage, touchpoint, trigger, segment, scenario (and param, or any *Node kind a grammar adds)
    name: str
    span: Span
    definition: bool


@dataclass(frozen=True, slots=True)
class SymbolNode:
    """An outline entry: journey > phases > stages, touchpoints, triggers, segments, scenarios."""

    kind: str
    name: str
    detail: str | None
    span: Span
    selection: Span
    children: tuple[SymbolNode, ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """One completion: ``insert`` is plain text, or an LSP snippet when ``snippet`` is set."""

    label: str
    kind: str  # keyword, stage, touchpoint, trigger, segment, scenario, distribution, parameter, unit, ...
    detail: str | None = None
    insert: str | None = None
    snippet: bool = False


@dataclass(frozen=True, slots=True)
class QuickFix:
    """Replace ``span`` with ``replacement`` (a did-you-mean hint), fixing ``diagnostic``."""

    title: str
    span: Span
    replacement: str
    diagnostic: Diagnostic


def _kind_of(node: object) -> str:
    """``ParamNode`` -> ``param``: the kind a grammar's new named node declares."""
    return type(node).__name__.removesuffix("Node").lower()


class _Collector:
    """Walks syntax nodes, noting every named thing and every use of one."""

    def __init__(self) -> None:
        self.found: list[Occurrence] = []

    def add(self, kind: str, name: sx.Name | None, definition: bool = False) -> None:
        if name is not None and name.span is not None:
            self.found.append(Occurrence(kind, name.text, name.span, definition))

    def stage(self, st: sx.StageNode, override: bool) -> None:
        self.add("stage", st.name, definition=not override and not st.short)
        for p in st.props:
            if isinstance(p, sx.TouchProp):
                for t in p.touchpoints:
                    self.add("touchpoint", t)

    def item(self, it: object, override: bool = False) -> None:
        if isinstance(it, sx.PhaseNode):
            for st in it.stages:
                self.stage(st, override)
        elif isinstance(it, sx.StageNode):
            self.stage(it, override)
        elif isinstance(it, sx.TransitionNode):
            self.add("stage", it.source)
            self.add("stage", it.target)
            for v in it.via:
                self.add("touchpoint", v)
        elif isinstance(it, sx.TouchpointNode):
            self.add("touchpoint", it.name, definition=not override)
        elif isinstance(it, sx.TriggerNode):
            self.add("trigger", it.name, definition=not override)
            for p in it.props:
                if isinstance(p, (sx.WhenEnter, sx.WhenIn, sx.WhenEvery, sx.ThenProp)):
                    self.add("stage", p.stage)
                elif isinstance(p, sx.SendProp):
                    for name in p.touchpoints:
                        self.add("touchpoint", name)
                elif isinstance(p, (sx.WhenResponse, sx.WhenNoResponse, sx.UnlessProp)):
                    self.add("touchpoint", p.ref.touchpoint)
        elif isinstance(it, (sx.SegmentNode, sx.ScenarioNode)):
            self.add(_kind_of(it), it.name, definition=True)
            for ov in it.overrides:
                self.item(ov, override=True)
        elif isinstance(it, sx.WithoutTrigger):
            self.add("trigger", it.name)
        elif isinstance(it, sx.WithoutTransition):
            self.add("stage", it.source)
            self.add("stage", it.target)
        elif dataclasses.is_dataclass(it) and not isinstance(it, type):
            self.generic(it, override)

    def generic(self, node: object, override: bool) -> None:
        """A node this module does not know yet (a newer grammar): its ``name`` defines its kind."""
        for f in dataclasses.fields(node):  # type: ignore[arg-type]
            value = getattr(node, f.name)
            if f.name == "name" and isinstance(value, sx.Name) and type(node).__name__.endswith("Node"):
                self.add(_kind_of(node), value, definition=not override)
            elif isinstance(value, tuple):
                for v in value:
                    if dataclasses.is_dataclass(v):
                        self.item(v, override)
            elif dataclasses.is_dataclass(value) and not isinstance(value, (sx.Name, Span)):
                self.item(value, override)


def occurrences(node: sx.JourneyNode) -> list[Occurrence]:
    """Every definition and use of a stage, touchpoint, trigger, segment or scenario, in file order.

    A name only ever declared inside scenarios or segments (a stage a scenario
    adds) counts as defined at its first such declaration.
    """
    c = _Collector()
    for it in node.items:
        c.item(it)
    found = c.found
    defined = {(o.kind, o.name) for o in found if o.definition}
    first_decl: dict[tuple[str, str], int] = {}
    fixed: list[Occurrence] = []
    for o in found:
        key = (o.kind, o.name)
        if key not in defined and key not in first_decl and _is_declaration(o, node):
            first_decl[key] = len(fixed)
            o = dataclasses.replace(o, definition=True)
        fixed.append(o)
    return sorted(fixed, key=lambda o: (o.span.line, o.span.col))


def _is_declaration(o: Occurrence, node: sx.JourneyNode) -> bool:
    """Whether ``o`` names a stage, touchpoint or trigger block inside an override (it may add one)."""
    for it in node.items:
        if isinstance(it, (sx.SegmentNode, sx.ScenarioNode)):
            for ov in it.overrides:
                if isinstance(ov, (sx.StageNode, sx.TouchpointNode, sx.TriggerNode)) and ov.name.span == o.span:
                    return True
    return False


def _outline(node: sx.JourneyNode) -> SymbolNode | None:
    if node.span is None:
        return None

    def leaf(kind: str, it: sx.StageNode | sx.TouchpointNode | sx.TriggerNode) -> SymbolNode | None:
        if it.span is None or it.name.span is None:
            return None
        return SymbolNode(kind, it.name.text, it.label, it.span, it.name.span)

    children: list[SymbolNode] = []
    for it in node.items:
        if isinstance(it, sx.PhaseNode) and it.span is not None:
            stages = tuple(s for s in (leaf("stage", st) for st in it.stages) if s is not None)
            children.append(SymbolNode("phase", it.label, None, it.span, it.span, stages))
        elif isinstance(it, sx.StageNode):
            leafed = leaf("stage", it)
            if leafed:
                children.append(leafed)
        elif isinstance(it, (sx.TouchpointNode, sx.TriggerNode)):
            leafed = leaf(_kind_of(it), it)
            if leafed:
                children.append(leafed)
        elif isinstance(it, (sx.SegmentNode, sx.ScenarioNode)) and it.span and it.name.span:
            detail = it.label
            if isinstance(it, sx.SegmentNode):
                sh = it.share
                if isinstance(sh, sx.Share):
                    share = f"{sh.value:g}%" if sh.percent else f"{sh.value:g}"
                elif isinstance(sh, sx.ParamRef):
                    share = sh.name.text
                else:
                    share = "uncertain share"
                detail = f"{it.label} ({share})" if it.label else share
            children.append(SymbolNode(_kind_of(it), it.name.text, detail, it.span, it.name.span))
        elif dataclasses.is_dataclass(it) and it.__class__.__name__.endswith("Node"):
            span = getattr(it, "span", None)
            name = getattr(it, "name", None)
            if span is not None and isinstance(name, sx.Name) and name.span is not None:
                children.append(SymbolNode(_kind_of(it), name.text, getattr(it, "label", None), span, name.span))
    title = node.label or node.name or "journey"
    return SymbolNode("journey", title, None, node.span, node.span, tuple(children))


# --- the analysis of one document ------------------------------------------------------------------------


def _blank(line: str) -> str:
    """The line with everything but a trailing comment turned into spaces (columns kept)."""
    return " " * len(line)


def statement_prefix(prefix: str) -> str:
    r"""The text the parser needs to know what may follow ``prefix``: only its last top-level statement.

    The parser is in the same state at the start of every statement of the
    journey block, so ``journey J {`` and the statement's own text are enough
    (and a long file costs no more than a short one). The prefix itself when
    it is not inside a journey block.

    >>> statement_prefix('journey "J" {\n    stage a { entry }\n    a -> ')
    'journey J {\n    a -> '
    """
    depth = 0
    region = -1
    for m in _SCAN.finditer(prefix):
        ch = prefix[m.start()]
        if ch in '"#':
            continue
        if ch == "{":
            depth += 1
            if depth == 1:
                region = m.end()
        elif ch == "}":
            depth -= 1
        elif depth == 1:
            region = m.start() + 1
    if depth < 1 or region < 0:
        return prefix
    return "journey J {\n" + prefix[region:]


def _in_override(text: str, line: int) -> bool:
    """Whether a line is inside a ``scenario`` or ``segment`` block (where statements change the journey)."""
    upto = "\n".join(text.split("\n")[: line - 1])
    openers: list[str] = []
    start = 0
    for m in _SCAN.finditer(upto):
        ch = upto[m.start()]
        if ch in '"#':
            continue
        if ch == "{":
            word = re.match(r"\s*([A-Za-z_]+)", upto[start : m.start()])
            openers.append(word.group(1) if word else "")
        elif ch == "}" and openers:
            openers.pop()
        start = m.end()
    return any(o in ("scenario", "segment") for o in openers)


def _opens_more(lines: list[str]) -> bool:
    """Whether these lines open more blocks than they close, past the journey's own (labels, comments skipped)."""
    depth = 0
    for line in lines:
        code = re.sub(r'"(?:[^"\\\n]|\\.)*"?|#.*', "", line)
        depth += code.count("{") - code.count("}")
    return depth > 1
