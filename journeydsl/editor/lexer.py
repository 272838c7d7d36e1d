"""A Pygments lexer for ``.journey`` files, so Sphinx, MkDocs and any Pygments user highlight them.

Installed with journeydsl, it is registered under the alias ``journey``
(the ``pygments.lexers`` entry point), so a fenced block marked
```` ```journey ```` is highlighted. Its keyword lists are read from
``grammars/journey.lark`` when the module is imported, so a keyword added to
the language is highlighted without touching this file.

>>> from pygments import lex
>>> [str(t) for t, v in lex("stage trial { dwell 7 days }", JourneyLexer()) if v.strip()][:4]
['Token.Keyword.Declaration', 'Token.Name.Class', 'Token.Punctuation', 'Token.Keyword']
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from journeydsl.editor.keywords import grammar_words

__all__ = ["JourneyLexer"]

_W = grammar_words()
_DECLARATIONS = sorted(_W.declarations, key=len, reverse=True)
_KEYWORDS = sorted(set(_W.keywords.values()) - set(_W.declarations), key=len, reverse=True)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class JourneyLexer(RegexLexer):
    """Lexer for the journeydsl customer-journey language (``.journey`` files)."""

    name = "Journey"
    aliases: ClassVar[list[str]] = ["journey", "journeydsl"]
    filenames: ClassVar[list[str]] = ["*.journey"]
    mimetypes: ClassVar[list[str]] = ["text/x-journey"]
    url = "https://pypi.org/project/journeydsl/"

    tokens: ClassVar[dict[str, list]] = {
        "root": [
            (r"[ \t\r\f]+", Whitespace),
            (r"\n", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"', String.Double, "string"),
            (
                words(_DECLARATIONS, prefix=r"\b", suffix=r"\b").get()
                + rf"(\s+)(?!(?:{'|'.join(_KEYWORDS)})\b)({_NAME})",
                bygroups(Keyword.Declaration, Whitespace, Name.Class),
            ),
            (words(_DECLARATIONS, prefix=r"\b", suffix=r"\b"), Keyword.Declaration),
            (words(_W.dist_kinds, prefix=r"\b", suffix=r"\b(?=\s*\()"), Name.Builtin),
            (words(_W.dist_params, prefix=r"\b", suffix=r"\b"), Name.Attribute),
            (words(_KEYWORDS, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(_W.units, prefix=r"\b", suffix=r"s?\b"), Keyword.Type),
            (r"-?[0-9][0-9_]*(\.[0-9][0-9_]*)?%", Number.Float),
            (r"-?[0-9][0-9_]*\.[0-9][0-9_]*", Number.Float),
            (r"-?[0-9][0-9_]*", Number.Integer),
            (r"\b[A-Z]{3}\b", Name.Constant),
            (_NAME, Name),
            (r"->", Operator),
            (r"[=±–+*/<>≥≤-]", Operator),
            (r"[{}(),;:.]", Punctuation),
        ],
        "string": [
            (r'\\.', String.Escape),
            (r'[^"\\\n]+', String.Double),
            (r'"', String.Double, "#pop"),
            (r"\n", Whitespace, "#pop"),
        ],
    }
