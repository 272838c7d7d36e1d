"""One version of a journey document: parsed (kept even mid-edit), compiled, and its symbols.

The base of :class:`journeydsl.editor.analysis.Analysis`: everything is
worked out lazily and once per version of the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property

from journeydsl.editor.incremental import parse_incremental
from journeydsl.editor.keywords import grammar_words
from journeydsl.editor.symbols import (
    _NAME_FULL,
    _NAME_RE,
    MAX_REPAIRS,
    Occurrence,
    SymbolNode,
    _blank,
    _kind_of,
    _opens_more,
    _outline,
    occurrences,
)
from journeydsl.language import syntax as sx
from journeydsl.language.compile import compile_syntax
from journeydsl.language.errors import Diagnostic, JourneyError, JourneySyntaxError
from journeydsl.language.model import Journey
from journeydsl.language.parser import parse
from journeydsl.language.source import Source, Span


class Document:
    """One version of a journey document: its syntax, diagnostics and symbols."""

    def __init__(self, text: str, path: str = "<journey>") -> None:
        self._in_override = False
        self.text = text
        self.path = path
        self.source = Source(path, text)

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

    def _label_of(self, kind: str, name: str) -> str | None:
        node = self._node_of(kind, name)
        label = getattr(node, "label", None) if node is not None else None
        return f'{kind} "{label}"' if label else kind

    def _channels(self) -> list[str]:
        return sorted(set(re.findall(r"\bchannel\s+([A-Za-z_][A-Za-z0-9_]*)", self.text)))

    def _currency_written(self) -> str | None:
        m = re.search(r"^\s*currency\s+([A-Z]{3})\b", self.text, re.M)
        return m.group(1) if m else None
