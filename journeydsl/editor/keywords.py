"""The words of the language, read from the grammar's terminals (so editors never drift from the parser).

A keyword is a terminal whose pattern is a plain word (``STAGE: "stage"``);
the closed word lists (distribution kinds, their parameters, time units) are
the alternatives of the ``DIST_KIND``, ``PARAM`` and ``UNIT`` patterns. A
*declaration* keyword starts the rule of its own name
(``stage: STAGE NAME ...``); editors show the name after it as a definition.

>>> words = grammar_words()
>>> words.keywords["STAGE"], "exponential" in words.dist_kinds
('stage', True)
>>> "stage" in words.declarations and "dwell" not in words.declarations
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from journeydsl.language.parser import grammar_text

__all__ = ["GrammarWords", "grammar_words", "terminal_patterns"]

_TERMINAL = re.compile(r"^(_?[A-Z][A-Z0-9_]*)(?:\.-?\d+)?[ \t]*:[ \t]*(.+?)[ \t]*(?://.*)?$", re.M)
_RULE = re.compile(r"^\??([a-z_][a-z0-9_]*)[ \t]*:[ \t]*(.+)$", re.M)
_ALTERNATIVES = re.compile(r"^\(([A-Za-z_|]+)\)")


def terminal_patterns(text: str | None = None) -> dict[str, str]:
    """Each terminal's pattern as written in the grammar (``"stage"`` or ``/regex/``)."""
    return {m.group(1): m.group(2) for m in _TERMINAL.finditer(text or grammar_text())}


@dataclass(frozen=True)
class GrammarWords:
    """The words an editor highlights and completes, by kind."""

    #: terminal name -> keyword (``{"STAGE": "stage", "_PER": "per", ...}``)
    keywords: dict[str, str]
    #: keywords that start a statement naming something (``stage``, ``trigger``, ...)
    declarations: tuple[str, ...]
    dist_kinds: tuple[str, ...]
    dist_params: tuple[str, ...]
    units: tuple[str, ...]
    #: punctuation terminals (``{"_ARROW": "->", ...}``)
    punctuation: dict[str, str]


def _alternatives(pattern: str) -> tuple[str, ...]:
    body = pattern.strip("/")
    m = _ALTERNATIVES.match(body)
    return tuple(m.group(1).split("|")) if m else ()


@lru_cache(maxsize=4)
def grammar_words(text: str | None = None) -> GrammarWords:
    """The language's words, read from ``grammars/journey.lark`` (or ``text``)."""
    source = text or grammar_text()
    patterns = terminal_patterns(source)
    keywords: dict[str, str] = {}
    punctuation: dict[str, str] = {}
    for name, pattern in patterns.items():
        m = re.fullmatch(r'"([^"]+)"i?', pattern)
        if not m:
            continue
        if re.fullmatch(r"[A-Za-z_]+", m.group(1)):
            keywords[name] = m.group(1)
        else:
            punctuation[name] = m.group(1)
    declarations: list[str] = []
    for m in _RULE.finditer(source):
        first = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", m.group(2))
        word = keywords.get(first.group(1)) if first else None
        names_something = re.search(r"\b(NAME|STRING|name_label)\b", m.group(2))
        if word is not None and word == m.group(1) and names_something and word not in declarations:
            declarations.append(word)
    return GrammarWords(
        keywords=keywords,
        declarations=tuple(declarations),
        dist_kinds=_alternatives(patterns.get("DIST_KIND", "")),
        dist_params=_alternatives(patterns.get("PARAM", "")),
        units=_alternatives(patterns.get("UNIT", "")),
        punctuation=punctuation,
    )
