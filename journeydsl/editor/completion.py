"""What may be written at a position: keywords read from the parser's own state, and names.

Keywords a grammar change adds are offered without touching this file: the
parser is asked which terminals it accepts after the statement's prefix.
"""

from __future__ import annotations

import re

from lark.exceptions import UnexpectedInput

from journeydsl.editor.document import Document
from journeydsl.editor.keywords import grammar_words
from journeydsl.editor.symbols import (
    _DIST_HELP,
    DIST_SNIPPETS,
    KEYWORD_HELP,
    Completion,
    _blank,
    _in_override,
    statement_prefix,
)
from journeydsl.language.model import DIST_PARAMS
from journeydsl.language.parser import parser


class Completing(Document):
    """Completion on top of the document's symbols."""

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

    @staticmethod
    def _dist_kind_open(head: str) -> str | None:
        """The distribution whose '(' is still open before the cursor."""
        m = re.search(r"\b([a-z]+)\s*\(([^()]*)\Z", head)
        return m.group(1) if m and m.group(1) in DIST_PARAMS else None

    def _names_after(self, prev: str, words_before: list[str], on_line: list[str]) -> list[Completion]:
        """Names that fit after ``prev`` (the word or symbol before the cursor)."""
        stage_words = {"->", "enter", "in", "without"}
        tp_words = {"send", "touch", "via", "to"}
        kinds: list[str]
        if prev == "," and "SEND" in on_line:
            kinds = ["touchpoint"]
        elif prev in stage_words or (prev == "," and "TOUCH" not in on_line and "touch" not in words_before):
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
