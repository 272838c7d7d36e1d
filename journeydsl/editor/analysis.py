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

import re
from functools import cached_property

from journeydsl.editor.completion import Completing
from journeydsl.editor.keywords import grammar_words
from journeydsl.editor.symbols import (
    _DIST_HELP,
    _NAME_FULL,
    KEYWORD_HELP,
    Completion,
    Occurrence,
    QuickFix,
    SymbolNode,
)
from journeydsl.language import syntax as sx
from journeydsl.language.errors import Diagnostic
from journeydsl.language.model import DIST_PARAMS
from journeydsl.language.source import Span

__all__ = [
    "KEYWORD_HELP",
    "Analysis",
    "Completion",
    "Occurrence",
    "QuickFix",
    "SymbolNode",
]


class Analysis(Completing):
    """One version of a journey document and everything an editor asks about it.

    The parts: :class:`~journeydsl.editor.document.Document` (parsing, diagnostics,
    symbols), :class:`~journeydsl.editor.completion.Completing` (completion) and, here,
    hover and quick fixes.
    """

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
