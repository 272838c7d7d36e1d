"""What an editor asks about one journey document, answered from the project's own parser and checks.

:class:`Analysis` holds one version of a document's text and answers, lazily
and once: its diagnostics (exactly those of ``journeydsl check``, same codes
and spans), its syntax (kept even with a syntax error: the broken lines are
blanked and the rest reparsed, so names are still known mid-edit), where each
stage, touchpoint, trigger, segment and scenario is defined and used, what may
be written at a position (read from the parser's own state, so keywords a
grammar change adds are offered without touching this file), hover text and
quick fixes. Positions are 1-based (line, column in characters), like
:class:`~journeydsl.language.source.Span`; :mod:`journeydsl.editor.lsp` converts to LSP's.
Nothing here depends on an LSP library.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from lark.exceptions import UnexpectedInput

from journeydsl.editor.incremental import _SCAN, parse_incremental
from journeydsl.editor.keywords import grammar_words
from journeydsl.language import syntax as sx
from journeydsl.language.compile import compile_syntax
from journeydsl.language.errors import Diagnostic, JourneyError, JourneySyntaxError
from journeydsl.language.model import DIST_PARAMS, Journey
from journeydsl.language.parser import parse, parser
from journeydsl.language.source import Source, Span

__all__ = [
    "KEYWORD_HELP",
    "Analysis",
    "Completion",
    "Occurrence",
    "QuickFix",
    "SymbolNode",
]

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
    "response": "The share of contacted customers who respond.",
    "trigger": "Automation: `trigger NAME { when in STAGE for 7 days; send T; then 30% -> STAGE }`.",
    "when": "When a trigger fires: `when enter STAGE` or `when in STAGE for 7 days`.",
    "in": "The stage a trigger watches (`when in trial for 7 days`, `every 30 days in customer`).",
    "send": "The touchpoint a trigger sends (its cost is charged to everyone it reaches).",
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
                    self.add("touchpoint", p.touchpoint)
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


class Analysis:
    """One version of a journey document and everything an editor asks about it."""

    def __init__(self, text: str, path: str = "<journey>") -> None:
        self._in_override = False
        self.text = text
        self.path = path
        self.source = Source(path, text)

    # --- parsing ----------------------------------------------------------------------------------

    @cached_property
    def _parsed(self) -> tuple[sx.JourneyNode | None, JourneySyntaxError | None, frozenset[int], str]:
        """(syntax, the syntax error, lines blanked to get it, the text that parsed)."""
        fast = parse_incremental(self.source)
        if fast is not None:
            if fast.error is None:
                return fast.node, None, frozenset(), self.text
            error = JourneySyntaxError([fast.error], self.source)
            kept = self.text.split("\n")
            for n in fast.broken_lines:
                kept[n - 1] = _blank(kept[n - 1])
            return fast.node, error, fast.broken_lines, "\n".join(kept)
        try:
            return parse(self.source), None, frozenset(), self.text
        except JourneySyntaxError as exc:
            first = exc
        lines = self.text.split("\n")
        blanked: set[int] = set()
        closers = 0
        err: JourneySyntaxError = first
        closed_before: set[int] = set()
        for _ in range(MAX_REPAIRS):
            diag = err.diagnostics[0]
            if diag.span is None:
                break
            line = diag.span.line
            current = lines[line - 1] if line <= len(lines) else ""
            at_line_start = diag.span.col == len(current) - len(current.lstrip()) + 1
            if line > len(lines) or (line == len(lines) and not lines[-1].strip()) or diag.message.endswith(
                "found the end of the file"
            ):
                closers += 1  # an unclosed block: close it at the end
                if closers > 8:
                    break
            elif at_line_start and line not in closed_before and _opens_more(lines[: line - 1]):
                # a statement where a block's property was expected: the block above was never closed
                closed_before.add(line)
                prev = max(n for n in range(1, line) if lines[n - 1].strip()) if line > 1 else 0
                if prev:
                    lines[prev - 1] = lines[prev - 1] + " }"
            elif line in blanked or not current.strip():
                break
            else:
                blanked.add(line)
                lines[line - 1] = _blank(lines[line - 1])
            text = "\n".join(lines) + "\n}" * closers
            try:
                return parse(Source(self.path, text)), first, frozenset(blanked), text
            except JourneySyntaxError as exc:
                err = exc
        return None, first, frozenset(blanked), self.text

    @property
    def syntax(self) -> sx.JourneyNode | None:
        """The syntax, from the text with broken lines blanked when it has a syntax error."""
        return self._parsed[0]

    @property
    def syntax_error(self) -> JourneySyntaxError | None:
        return self._parsed[1]

    @property
    def blanked_lines(self) -> frozenset[int]:
        """The lines left out to keep the rest of the file's symbols after a syntax error."""
        return self._parsed[2]

    @cached_property
    def _compiled(self) -> tuple[Journey | None, list[Diagnostic]]:
        node, error, _blanked, _text = self._parsed
        if error is not None:
            return None, list(error.diagnostics)
        assert node is not None
        try:
            journey, diags = compile_syntax(node, self.path)
        except JourneyError as exc:  # pragma: no cover - compile reports through its bag
            return None, list(exc.diagnostics)
        if any(d.severity == "error" for d in diags):
            return None, diags
        return journey, diags

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic, exactly as ``journeydsl check`` reports it (sorted by position)."""
        return self._compiled[1]

    @property
    def journey(self) -> Journey | None:
        """The compiled journey, when the file has no error."""
        return self._compiled[0]

    # --- symbols ----------------------------------------------------------------------------------

    @cached_property
    def occurrences(self) -> list[Occurrence]:
        return occurrences(self.syntax) if self.syntax is not None else []

    def names(self, kind: str) -> list[str]:
        """The defined names of ``kind`` (stage, touchpoint, ...) in file order."""
        seen: dict[str, None] = {}
        for o in self.occurrences:
            if o.kind == kind and o.definition:
                seen.setdefault(o.name, None)
        return list(seen)

    def at(self, line: int, col: int) -> Occurrence | None:
        """The name written at (or just before) a position."""
        for o in self.occurrences:
            s = o.span
            if s.line == line and s.col <= col <= s.end_col:
                return o
        return None

    def definition(self, occ: Occurrence) -> Occurrence | None:
        return next(
            (o for o in self.occurrences if o.kind == occ.kind and o.name == occ.name and o.definition), None
        )

    def references(self, occ: Occurrence, *, include_definition: bool = True) -> list[Occurrence]:
        return [
            o
            for o in self.occurrences
            if o.kind == occ.kind and o.name == occ.name and (include_definition or not o.definition)
        ]

    def rename(self, line: int, col: int, new_name: str) -> list[Occurrence]:
        """The occurrences to rewrite to rename the symbol at a position (raises ``ValueError`` with why not)."""
        if self.syntax_error is not None:
            where = self.syntax_error.diagnostics[0].span
            at = f" on line {where.line}" if where else ""
            raise ValueError(f"fix the syntax error{at} first: renaming needs the whole file")
        occ = self.at(line, col)
        if occ is None:
            raise ValueError("there is no stage, touchpoint, trigger, segment or scenario name here")
        if not _NAME_FULL.match(new_name):
            raise ValueError(f"'{new_name}' is not a name: use letters, digits and '_', starting with a letter")
        if new_name in grammar_words().keywords.values():
            raise ValueError(f"'{new_name}' is a word of the language and cannot be a name")
        if new_name != occ.name and new_name in self.names(occ.kind):
            raise ValueError(f"there is already a {occ.kind} '{new_name}'")
        return self.references(occ)

    @cached_property
    def outline(self) -> SymbolNode | None:
        """Journey > phases > stages, touchpoints, triggers, segments, scenarios."""
        return _outline(self.syntax) if self.syntax is not None else None

    # --- words at a position ---------------------------------------------------------------------------

    def word_at(self, line: int, col: int) -> tuple[str, Span] | None:
        """The word (letters, digits, '_') under or just before a position."""
        text = self.source.line_text(line)
        for m in _NAME_RE.finditer(text):
            if m.start() + 1 <= col <= m.end() + 1:
                return m.group(0), Span(line, m.start() + 1, line, m.end() + 1)
        return None

    def _in_comment_or_string(self, line: int, col: int) -> bool:
        text = self.source.line_text(line)[: col - 1]
        in_string = False
        i = 0
        while i < len(text):
            ch = text[i]
            if in_string:
                if ch == "\\":
                    i += 1
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                return True
            i += 1
        return in_string

    # --- completion ----------------------------------------------------------------------------------

    def _accepts(self, line: int, col: int) -> tuple[set[str], list[str]] | None:
        """What the parser accepts at a position (terminal names) and the tokens before it on the line.

        Only the statement around the position is fed to the parser (see
        :func:`statement_prefix`); its lines above the cursor that do not parse
        are left out, so an error elsewhere does not hide what may be written here.
        """
        lines = self.text.split("\n")[: line - 1]
        current = self.source.line_text(line)[: col - 1]
        partial = re.search(r"[A-Za-z_][A-Za-z0-9_]*\Z", current)
        if partial:
            current = current[: partial.start()]
        plines = statement_prefix("\n".join([*lines, current])).split("\n")
        last_line = len(plines)
        for _ in range(8):
            try:
                ip = parser().parse_interactive("\n".join(plines))
                tokens = list(ip.iter_parse())
                accepts = set(ip.accepts())
                break
            except UnexpectedInput as exc:
                bad = getattr(exc, "line", None)
                if not isinstance(bad, int) or bad < 2 or bad >= last_line:
                    return None  # the cursor's own line does not parse up to the cursor
                plines[bad - 1] = _blank(plines[bad - 1])  # a broken line above, in the same statement
            except Exception:
                return None
        else:
            return None
        on_line = [str(t.type) for t in tokens if t.line == last_line and t.type not in ("_SEP",)]
        return accepts, on_line

    def completions(self, line: int, col: int) -> list[Completion]:
        """What may be written at a position, by context (1-based line and column of the cursor)."""
        if self._in_comment_or_string(line, col):
            return []
        before = self.source.line_text(line)[: col - 1]
        partial = re.search(r"[A-Za-z_][A-Za-z0-9_]*\Z", before)
        head = before[: partial.start()] if partial else before
        words_before = re.findall(r"->|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9_.]*%?|[{}(),;]", head)
        prev = words_before[-1] if words_before else ""
        state = self._accepts(line, col)
        accepts, on_line = state if state is not None else (self._guess_accepts(words_before), [])
        out: list[Completion] = []
        w = grammar_words()
        keyword_names = {v: k for k, v in w.keywords.items()}
        if "NAME" in accepts:
            self._in_override = _in_override(self.text, line)
            out.extend(self._names_after(prev, words_before, on_line))
        if "DIST_KIND" in accepts:
            for kind in w.dist_kinds:
                out.append(Completion(kind, "distribution", _DIST_HELP.get(kind), DIST_SNIPPETS.get(kind, kind),
                                      snippet=kind in DIST_SNIPPETS))
        if "PARAM" in accepts:
            open_kind = self._dist_kind_open(head)
            for p in DIST_PARAMS.get(open_kind, w.dist_params) if open_kind else w.dist_params:
                out.append(Completion(p, "parameter", f"a parameter of {open_kind}" if open_kind else None, f"{p} "))
        if "UNIT" in accepts:
            plural = not re.search(r"(?<![0-9.])1\s*\Z", head)
            for u in w.units:
                label = f"{u}s" if plural and prev and prev[0].isdigit() else u
                out.append(Completion(label, "unit", "a time unit"))
        if "CURRENCY" in accepts and prev and prev[0].isdigit():
            code = self.journey.currency if self.journey else self._currency_written()
            if code:
                out.append(Completion(code, "currency", "the journey's currency"))
        for term in sorted(accepts):
            word = w.keywords.get(term)
            if word and word in keyword_names:
                out.append(Completion(word, "keyword", KEYWORD_HELP.get(word)))
        seen: set[tuple[str, str]] = set()
        unique: list[Completion] = []
        for item in out:
            if (item.label, item.kind) not in seen:
                seen.add((item.label, item.kind))
                unique.append(item)
        return unique

    def _currency_written(self) -> str | None:
        m = re.search(r"^\s*currency\s+([A-Z]{3})\b", self.text, re.M)
        return m.group(1) if m else None

    @staticmethod
    def _dist_kind_open(head: str) -> str | None:
        """The distribution whose '(' is still open before the cursor."""
        m = re.search(r"\b([a-z]+)\s*\(([^()]*)\Z", head)
        return m.group(1) if m and m.group(1) in DIST_PARAMS else None

    def _names_after(self, prev: str, words_before: list[str], on_line: list[str]) -> list[Completion]:
        """Names that fit after ``prev`` (the word or symbol before the cursor)."""
        stage_words = {"->", "enter", "in", "without"}
        tp_words = {"send", "touch", "via"}
        kinds: list[str]
        if prev in stage_words or (prev == "," and "TOUCH" not in on_line and "touch" not in words_before):
            kinds = ["stage"]
        elif prev in tp_words or (prev == "," and "touch" in words_before):
            kinds = ["touchpoint"]
        elif prev in ("trigger", "stage", "touchpoint"):
            # in a scenario or segment the name is one to change; elsewhere a new one is being named
            changing = (len(words_before) >= 2 and words_before[-2] == "without") or self._in_override
            kinds = [prev] if changing else []
        elif prev == "channel":
            return [Completion(c, "channel", "a channel used in this journey") for c in self._channels()]
        elif prev in ("", "{", ";"):
            kinds = ["stage"]  # a transition 'A -> B 30%', or a change to a stage in a scenario
        else:
            kinds = []
        out = []
        for kind in kinds:
            for name in self.names(kind):
                out.append(Completion(name, kind, self._label_of(kind, name)))
        return out

    def _channels(self) -> list[str]:
        return sorted(set(re.findall(r"\bchannel\s+([A-Za-z_][A-Za-z0-9_]*)", self.text)))

    def _label_of(self, kind: str, name: str) -> str | None:
        node = self._node_of(kind, name)
        label = getattr(node, "label", None) if node is not None else None
        return f'{kind} "{label}"' if label else kind

    def _guess_accepts(self, words_before: list[str]) -> set[str]:
        """When the text before the cursor does not parse: a guess from the word before it."""
        prev = words_before[-1] if words_before else ""
        if prev in ("->", "send", "touch", "via", "enter", "in", "trigger", "channel", ",", "without"):
            return {"NAME"}
        if prev in ("dwell", "after", "worth"):
            return {"DIST_KIND", "NUMBER"}
        if prev and prev[0].isdigit() and not prev.endswith("%"):
            return {"UNIT", "CURRENCY"}
        return {"NAME"} if not words_before else set()

    # --- hover ----------------------------------------------------------------------------------------

    def _node_of(self, kind: str, name: str) -> object | None:
        """The syntax node that defines a name (the base one, not a scenario's change)."""
        if self.syntax is None:
            return None
        for it in self._walk_items():
            node_name = getattr(it, "name", None)
            if isinstance(node_name, sx.Name) and node_name.text == name and _kind_of(it) == kind:
                return it
        return None

    def _walk_items(self) -> Iterator[object]:
        assert self.syntax is not None
        for it in self.syntax.items:
            if isinstance(it, sx.PhaseNode):
                yield from it.stages
            else:
                yield it

    def snippet_of(self, span: Span | None) -> str:
        """The source text of a span (at most 6 lines)."""
        if span is None:
            return ""
        lines = [self.source.line_text(n) for n in range(span.line, span.end_line + 1)]
        if len(lines) == 1:
            return lines[0][span.col - 1 : span.end_col - 1]
        lines[0] = lines[0][span.col - 1 :]
        lines[-1] = lines[-1][: span.end_col - 1]
        indent = min((len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()), default=0)
        lines[1:] = [x[indent - 4 :] if indent >= 4 else x for x in lines[1:]]
        return "\n".join(lines[:6] + (["    ..."] if len(lines) > 6 else []))

    def hover(self, line: int, col: int, reach: dict[str, float] | None = None) -> tuple[str, Span] | None:
        """Markdown for what is under a position: a name's definition and uses, or a keyword's meaning.

        ``reach``: the share of customers who ever reach each stage (from the
        exact solver), shown for stages when given.
        """
        occ = self.at(line, col)
        if occ is not None:
            return self._hover_symbol(occ, reach), occ.span
        found = self.word_at(line, col)
        if found is None or self._in_comment_or_string(line, found[1].col):
            return None
        word, span = found
        w = grammar_words()
        if word in w.dist_kinds:
            params = ", ".join(DIST_PARAMS.get(word, ()))
            return f"**{word}** distribution ({params}): {_DIST_HELP.get(word, '')}", span
        if word in w.keywords.values():
            return f"**{word}**: {KEYWORD_HELP.get(word, 'a word of the journey language')}", span
        unit = word.removesuffix("s")
        if unit in w.units:
            return f"**{word}**: a time unit", span
        return None

    def _hover_symbol(self, occ: Occurrence, reach: dict[str, float] | None) -> str:
        node = self._node_of(occ.kind, occ.name)
        label = getattr(node, "label", None)
        title = f"**{occ.kind} `{occ.name}`**" + (f' "{label}"' if label else "")
        parts = [title]
        if node is not None:
            parts.append("```journey\n" + self.snippet_of(getattr(node, "span", None)) + "\n```")
        if occ.kind == "stage" and isinstance(node, sx.StageNode):
            dwell = next((p for p in node.props if isinstance(p, sx.DwellProp)), None)
            if dwell is not None:
                parts.append(f"Stays: `{self.snippet_of(dwell.span).strip()}`")
        if occ.kind == "stage":
            exits = [
                self.snippet_of(it.span).strip()
                for it in self._walk_items()
                if isinstance(it, sx.TransitionNode) and it.source.text == occ.name
            ]
            if exits:
                parts.append("Exits:\n" + "\n".join(f"- `{e}`" for e in exits))
            else:
                parts.append("No transitions leave it.")
            if reach is not None and occ.name in reach:
                parts.append(
                    f"Reached by **{reach[occ.name]:.1%}** of customers "
                    "(exact answer, unbounded horizon, baseline)"
                )
        uses = len(self.references(occ, include_definition=False))
        parts.append(f"{uses} use{'s' if uses != 1 else ''} in this file")
        return "\n\n".join(parts)

    # --- quick fixes --------------------------------------------------------------------------------------

    @cached_property
    def quick_fixes(self) -> list[QuickFix]:
        """A fix for every diagnostic whose hint is a did-you-mean: replace the misspelt word."""
        fixes = []
        for d in self.diagnostics:
            m = re.fullmatch(r"did you mean '([^']+)'\?", d.hint or "")
            if m is None or d.span is None:
                continue
            target = self._misspelt(d)
            if target is not None and self.snippet_of(target) != m.group(1):
                fixes.append(QuickFix(f"Replace with '{m.group(1)}'", target, m.group(1), d))
        return fixes

    def _misspelt(self, d: Diagnostic) -> Span | None:
        """The word a did-you-mean diagnostic is about: a quoted word of its message inside its span."""
        span = d.span
        assert span is not None
        text = self.source.line_text(span.line)
        end = span.end_col if span.end_line == span.line else len(text) + 1
        quoted = re.findall(r"'([^']+)'", d.message)
        for q in quoted:
            for m in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(q)}(?![A-Za-z0-9_])", text):
                if span.col <= m.start() + 1 and m.end() + 1 <= end:
                    return Span(span.line, m.start() + 1, span.line, m.end() + 1)
        word = text[span.col - 1 : end - 1]
        if _NAME_FULL.match(word):
            return Span(span.line, span.col, span.line, end)
        return None
