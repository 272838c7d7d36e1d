"""Text -> syntax nodes, with errors a strategist can read.

One Lark LALR parser is built from ``journey.lark`` on first use and cached.
Lark's exceptions never leave this module: they become a
:class:`~journeydsl.language.errors.JourneySyntaxError` whose message says what was
expected in words ("a share like '30%' or 'otherwise'"), not token names.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from journeydsl.language.errors import Diagnostic, JourneySyntaxError
from journeydsl.language.model import UNIT_WORDS
from journeydsl.language.source import MAX_BYTES, Source, Span
from journeydsl.language.syntax import JourneyNode
from journeydsl.language.transformer import to_syntax

__all__ = ["KEYWORDS", "MAX_BYTES", "grammar_text", "parse", "parse_tree", "parser", "too_large"]

#: Files larger than MAX_BYTES (from journeydsl.language.source) are refused with a diagnostic
#: (journeys are written by hand).


def grammar_text() -> str:
    """The grammar: from the installed package, else from the repository checkout."""
    try:
        res = resources.files("journeydsl").joinpath("grammars/journey.lark")
        if res.is_file():
            return res.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):  # pragma: no cover
        pass
    path = Path(__file__).resolve().parents[2] / "grammars" / "journey.lark"
    return path.read_text(encoding="utf-8")


def _cache_file() -> str | bool:
    """Where the analysed grammar is kept between runs: the user's own cache folder.

    Building the LALR tables takes about 40 ms of every command; Lark stores them
    with the grammar's SHA-256 and rebuilds when the grammar changes. The file is
    in the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``), never a
    shared temporary folder, because Lark reads it back with pickle. Set
    ``JOURNEYDSL_NO_CACHE=1`` to build the tables afresh every time.
    """
    if os.environ.get("JOURNEYDSL_NO_CACHE"):
        return False
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "journeydsl")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    return os.path.join(folder, f"grammar-{sys.version_info[0]}.{sys.version_info[1]}.lark-cache")


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The one cached Lark parser (LALR, contextual lexer, positions kept)."""
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=_cache_file(),
    )


# --- words for what the parser expected ------------------------------------------

#: Every keyword of the language (they cannot be used as names where a statement starts).
KEYWORDS: dict[str, str] = {
    "JOURNEY": "journey",
    "CURRENCY_KW": "currency",
    "HORIZON": "horizon",
    "DISCOUNT": "discount",
    "CUSTOMERS": "customers",
    "PHASE": "phase",
    "STAGE": "stage",
    "ENTRY": "entry",
    "TERMINAL": "terminal",
    "GOAL": "goal",
    "ACTIVE": "active",
    "DWELL": "dwell",
    "TOUCH": "touch",
    "ENTER": "enter",
    "REVENUE": "revenue",
    "COST": "cost",
    "EVERY": "every",
    "PURCHASES": "purchases",
    "WORTH": "worth",
    "OTHERWISE": "otherwise",
    "AFTER": "after",
    "VIA": "via",
    "TOUCHPOINT": "touchpoint",
    "CHANNEL": "channel",
    "RESPONSE": "response",
    "TRIGGER": "trigger",
    "WHEN": "when",
    "IN": "in",
    "SEND": "send",
    "THEN": "then",
    "LIMIT": "limit",
    "SEGMENT": "segment",
    "SCENARIO": "scenario",
    "WITHOUT": "without",
    "PLAN": "plan",
    "TARGETS": "targets",
    "START": "start",
    "ARRIVALS": "arrivals",
    "GROWING": "growing",
    "SEASONALITY": "seasonality",
    "BUDGET": "budget",
    "AT": "at",
    "MOST": "most",
    "LEAST": "least",
    "_ON": "on",
    "_PER": "per",
    "_FOR": "for",
    "PARAM_KW": "param",
    "OF": "of",
}

_WORDS: dict[str, str] = {
    "NAME": "a name",
    "STRING": 'a label in double quotes like "Free trial"',
    "NUMBER": "a number",
    "PERCENT": "a share like '30%'",
    "UNIT": "a time unit like 'days' or 'months'",
    "CURRENCY": "a currency code like 'EUR'",
    "DIST_KIND": "a distribution like 'exponential(mean 2 days)'",
    "PARAM": "a parameter like 'mean'",
    "MONTH_LIT": "a month like '2027-03'",
    "PDIST_KIND": "a distribution like 'beta(30, 70)'",
    "MODE": "'mode'",
    "PLUSMINUS": "'±'",
    "RANGE_DASH": "'–'",
    "_EQ": "'='",
    "_SEP": "the end of the statement (a new line or ';')",
    "_LBRACE": "'{'",
    "_RBRACE": "'}'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_COMMA": "','",
    "_ARROW": "'->'",
    "$END": "the end of the file",
    "<END-OF-FILE>": "the end of the file",
}

_GROUPS: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"STAGE", "PHASE", "TOUCHPOINT", "TRIGGER", "SEGMENT", "SCENARIO"}),
        "a journey statement (a setting, 'phase', 'stage', 'A -> B 30%', 'touchpoint',"
        " 'trigger', 'segment', 'scenario', 'plan' or 'targets')",
    ),
    (
        frozenset({"STAGE", "WITHOUT", "TOUCHPOINT", "TRIGGER"}),
        "an override ('stage', 'A -> B 30%', 'touchpoint', 'trigger' or 'without')",
    ),
    (
        frozenset({"ENTRY", "TERMINAL", "GOAL", "DWELL", "REVENUE"}),
        "a stage property ('entry', 'terminal', 'goal', 'active', 'dwell', 'touch',"
        " 'revenue', 'cost' or 'purchases')",
    ),
    (
        frozenset({"WHEN", "SEND", "THEN", "LIMIT"}),
        "a trigger statement ('when', 'every', 'send', 'response', 'then' or 'limit')",
    ),
    (
        frozenset({"START", "ARRIVALS", "SEASONALITY", "BUDGET"}),
        "a plan statement ('start', 'months', 'arrivals', 'seasonality', 'budget' or 'scenario')",
    ),
    (
        frozenset({"CHANNEL", "COST", "RESPONSE"}),
        "a touchpoint property ('channel', 'cost' or 'response')",
    ),
)


def _expected_words(expected: set[str]) -> str:
    """What the parser expected, in words."""
    exp = set(expected)
    parts: list[str] = []
    for members, words in _GROUPS:
        if members <= exp:
            parts.append(words)
            exp -= members
            exp -= set(KEYWORDS)  # the group's description covers the other keywords
            exp.discard("NAME")
            break
    if "PLUSMINUS" in exp:  # a number could go on with '± 5%', 'of 120' or '(18%–33%)': not worth saying
        exp -= {"PLUSMINUS", "OF", "_LPAR"}
        if "CURRENCY" in exp:
            exp.discard("UNIT")
    if {"PERCENT", "NUMBER", "UNIT"} <= exp:  # a duration, or a parameter's name
        exp -= {"PERCENT", "NUMBER", "UNIT", "NAME"}
        parts.append("a duration like '7 days'")
    if {"PERCENT", "NUMBER"} <= exp:
        exp -= {"PERCENT", "NUMBER", "NAME"}
        parts.insert(0, "a share like '30%'")
    if {"NUMBER", "UNIT"} <= exp and not parts:
        exp -= {"NUMBER", "UNIT"}
        parts.append("a duration like '7 days'")
    if "DIST_KIND" in exp and "NUMBER" in exp:
        exp -= {"DIST_KIND", "NUMBER"}
        parts.append("a fixed value like '3 days' or a distribution like 'exponential(mean 2 days)'")
    for name in sorted(exp, key=_order):
        if name in KEYWORDS:
            parts.append(f"'{KEYWORDS[name]}'")
        else:
            parts.append(_WORDS.get(name, name.lower().strip("_")))
    if not parts:
        return "something else"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _order(name: str) -> tuple[int, str]:
    rank = {"_SEP": 2, "$END": 3, "_RBRACE": 1}
    return (rank.get(name, 0), name)


def _found(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    if token.type == "_SEP":
        return "the end of the line" if "\n" in str(token) else "';'"
    if token.type == "STRING":
        return f"the label {token}"
    return f"'{token}'"


def _end_span(text: str) -> Span:
    lines = text.split("\n")
    return Span.point(len(lines), len(lines[-1]) + 1)


#: Hints for what the parser expected, when the token found does not say more.
_EXPECTED_HINTS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"ENTER", "IN"}), "write 'when enter STAGE' or 'when in STAGE for 7 days'"),
    (frozenset({"EVERY", "_ON"}), "say when: 'on enter' or 'every month'"),
    (frozenset({"_FOR"}), "write 'when in STAGE for 7 days'"),
    (frozenset({"TRIGGER", "NAME"}), "write 'without trigger NAME' or 'without A -> B'"),
    (frozenset({"JOURNEY"}), 'everything goes inside one block: journey "My journey" { ... }'),
    (frozenset({"_ARROW"}), "a transition is written 'A -> B 30%'"),
)


def _unclosed_brace(text: str) -> int | None:
    """The line of the last '{' that is never closed (labels and comments skipped)."""
    stack: list[int] = []
    line = 1
    in_string = in_comment = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
            in_string = in_comment = False
        elif in_comment:
            pass
        elif in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            in_comment = True
        elif ch == "{":
            stack.append(line)
        elif ch == "}" and stack:
            stack.pop()
        i += 1
    return stack[-1] if stack else None


#: The distribution names of the language, for did-you-mean hints.
_DISTRIBUTIONS = ("exponential", "gamma", "lognormal", "uniform", "weibull", "normal")


def _hint_for_token(token: Token, expected: set[str], text: str = "") -> str | None:
    value = str(token)
    if token.type == "STRING" and "NAME" in expected and "STRING" not in expected:
        bare = re.sub(r"[^A-Za-z0-9_]", "_", value[1:-1]) or "name"
        return f"names are written without quotes, like '{bare}'"
    if token.type in KEYWORDS and "NAME" in expected:
        return f"'{value}' is a word of the language; choose another name"
    if token.type in ("NAME", "CURRENCY") and "UNIT" in expected:
        close = difflib.get_close_matches(value.lower(), UNIT_WORDS, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        if "CURRENCY" not in expected:
            return "time units are day, week, month, quarter and year"
    if token.type == "NAME" and "CURRENCY" in expected and len(value) == 3:
        return f"currency codes are three capital letters, like '{value.upper()}'"
    if token.type == "NAME" and "DIST_KIND" in expected:
        close = difflib.get_close_matches(value.lower(), _DISTRIBUTIONS, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        return "the distributions are " + ", ".join(_DISTRIBUTIONS[:-1]) + f" and {_DISTRIBUTIONS[-1]}"
    if token.type in ("NAME", "CURRENCY"):
        keywords = [KEYWORDS[e] for e in expected if e in KEYWORDS]
        close = difflib.get_close_matches(value, keywords, n=1, cutoff=0.7)
        if close:
            return f"did you mean '{close[0]}'?"
    if token.type == "NUMBER" and "PERCENT" not in expected and "_SEP" in expected:
        return "a statement ends at the end of the line; put the next one on a new line"
    if value == "per" and "EVERY" in expected:
        return "did you mean 'every'?"
    if token.type == "$END" and "_RBRACE" in expected:
        line = _unclosed_brace(text)
        where = f" on line {line}" if line else ""
        return f"the '{{'{where} is not closed; add '}}'"
    if token.type == "_RBRACE" and expected <= {"_SEP", "$END"}:
        return "this '}' closes nothing; remove it"
    for members, hint in _EXPECTED_HINTS:
        if members <= expected and len(expected) <= len(members) + 3:
            return hint
    return None


def _misspelt_distribution(token: Token, source: Source) -> JourneySyntaxError | None:
    """``gama(shape 2, ...)``: a word before '(' reads as a parameter's name; say it is no distribution."""
    if token.type != "_LPAR" or token.line is None or token.column is None:
        return None
    before = source.line_text(token.line)[: token.column - 1]
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", before)
    if m is None or m.group(1) in KEYWORDS.values():
        return None
    word, col = m.group(1), m.start(1) + 1
    close = difflib.get_close_matches(word.lower(), _DISTRIBUTIONS, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else (
        "the distributions are " + ", ".join(_DISTRIBUTIONS[:-1]) + f" and {_DISTRIBUTIONS[-1]}")
    return _one(source, Span(token.line, col, token.line, col + len(word)), "E101",
                "expected a fixed value like '3 days' or a distribution like 'exponential(mean 2 days)',"
                f" found '{word}'", hint)


def _syntax_error(exc: UnexpectedInput, source: Source) -> JourneySyntaxError:
    """Turn a lark error into our error: span, message in words, hint."""
    text = source.text
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = {
            "$END" if e == "<END-OF-FILE>" else e for e in (exc.expected or ())
        }
        if token.type in ("NAME", "CURRENCY") and "UNIT" in expected:
            expected &= {"UNIT", "CURRENCY"}
        if token.type == "$END" or token.line is None:
            span = _end_span(text)
        else:
            end_col = token.end_column if token.end_line == token.line else None
            span = Span(token.line, token.column, token.line, end_col or token.column + 1)
            if token.type == "_SEP":
                span = Span.point(token.line, token.column)
        if expected == {"NAME", "NUMBER", "PERCENT"} and token.line is not None and re.search(
            r"->\s*[A-Za-z_][A-Za-z0-9_]*\s*$", source.line_text(token.line)[: token.column - 1]
        ):
            expected.add("OTHERWISE")  # after 'A -> B' lark's table leaves out 'otherwise'
        misspelt = _misspelt_distribution(token, source)
        if misspelt is not None:
            return misspelt
        message = f"expected {_expected_words(expected)}, found {_found(token)}"
        token_hint = _hint_for_token(token, expected, text)
        if token_hint is None and token.type == "_ARROW" and token.line is not None:
            before = source.line_text(token.line)[: token.column - 1].split()
            if before and before[-1] in KEYWORDS.values():
                token_hint = (f"'{before[-1]}' is a word of the language and cannot name a stage;"
                        " choose another name")
        return _one(source, span, "E101", message, token_hint)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        word_match = re.match(r"[^\s{}();,\"#]+", text[pos:])
        word = word_match.group(0) if word_match else char
        span = Span(exc.line, exc.column, exc.line, exc.column + max(1, len(word)))
        allowed = set(exc.allowed or ())
        hint: str | None = None
        if char == '"':
            message = "a label is missing its closing '\"'"
            span = Span.point(exc.line, exc.column)
            hint = 'labels are written on one line, like "Free trial"'
            return _one(source, span, "E102", message, hint)
        if "CURRENCY" in allowed and re.fullmatch(r"[A-Za-z]+", word):
            message = f"expected a currency code like 'EUR', found '{word}'"
            hint = "a currency code is three capital letters"
        elif char in "€$£¥":
            message = f"expected {_expected_words(allowed)}, found '{char}'"
            hint = "write money with a currency code, like '49 EUR'"
        else:
            message = f"expected {_expected_words(allowed)}, found '{word}'"
            if "UNIT" in allowed and re.fullmatch(r"[A-Za-z]+", word):
                close = difflib.get_close_matches(word.lower(), UNIT_WORDS, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else (
                    "time units are day, week, month, quarter and year")
            elif "PARAM" in allowed:
                hint = "parameters are mean, sd, shape and scale"
        return _one(source, span, "E102", message, hint)
    return _one(source, None, "E100", f"the text cannot be parsed: {exc}", None)  # pragma: no cover


def too_large(path: str, size: int | None) -> JourneySyntaxError:
    """E103 for a file of ``size`` bytes (``None``: a stream that went on past the limit)."""
    limit = f"{MAX_BYTES / 1e6:.0f} MB"
    shown = f"{size / 1e6:.1f} MB, at most {limit}" if size is not None else f"more than {limit}"
    return _one(
        Source(path, ""), None, "E103", f"the file is too large to be a journey ({shown})",
        "split it, or check that it is the right file",
    )


def _one(source: Source, span: Span | None, code: str, message: str, hint: str | None
         ) -> JourneySyntaxError:
    diag = Diagnostic(span, "error", code, message, hint, source.path)
    return JourneySyntaxError([diag], source)


def _precheck(source: Source) -> None:
    """Refuse what is not a journey text at all, fast: binary data, huge files, no text."""
    text = source.text
    # in bytes of UTF-8, as the file is read (a character can take up to 4)
    if len(text) > MAX_BYTES or (len(text) * 4 > MAX_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES):
        raise too_large(source.path, len(text.encode("utf-8", "surrogatepass")))
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise _one(
            source, Span.point(line, col), "E104",
            "the file holds binary data (a NUL byte), not journey text",
            "a .journey file is plain UTF-8 text",
        )
    if not text.strip() or all(
        line.strip() == "" or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise _one(
            source, None, "E105", "the file is empty: there is no journey in it",
            'start with: journey "My journey" { ... }',
        )


#: A backslash in a label and what follows it (``u`` takes up to four hex digits).
_BACKSLASH = re.compile(r"\\(u[0-9A-Fa-f]{0,4}|.?)")

ESCAPE_HINT = (
    'inside a label write \\" for a quote, \\\\ for a backslash, \\t for a tab,'
    " \\n for a line break, \\r for a carriage return, or \\u and four hex digits"
    " for any other character, like \\u00e9 for é"
)


def _bad_escape(seq: str) -> str | None:
    """Why a backslash sequence is not an escape of the language, or None when it is one."""
    if seq in ('"', "\\", "t", "n", "r"):
        return None
    if seq.startswith("u"):
        if len(seq) < 5:
            return f"'\\{seq}' needs four hex digits after '\\u'"
        code = int(seq[1:], 16)
        if code == 0:
            return "a label cannot hold the NUL character '\\u0000'"
        if 0xD800 <= code <= 0xDFFF:
            return f"'\\{seq}' is half of a UTF-16 surrogate pair, not a character"
        return None
    shown = repr(seq)[1:-1] if seq else ""
    return f"unknown escape '\\{shown}' in a label"


def check_escapes(tree: Tree[Token], source: Source) -> None:
    """Refuse a backslash in a label that is not one of the language's escapes (E107).

    The escapes are ``\\"`` ``\\\\`` ``\\t`` ``\\n`` ``\\r`` and ``\\uXXXX``; every bad one is
    reported with a caret under it.
    """
    diags: list[Diagnostic] = []
    for tok in tree.scan_values(lambda v: isinstance(v, Token) and v.type == "STRING"):
        text = str(tok)
        if "\\" not in text or tok.line is None or tok.column is None:
            continue
        for m in _BACKSLASH.finditer(text, 1, len(text) - 1):
            reason = _bad_escape(m.group(1))
            if reason is not None:
                col = tok.column + m.start()
                span = Span(tok.line, col, tok.line, col + max(2, len(m.group(0))))
                diags.append(Diagnostic(span, "error", "E107", reason, ESCAPE_HINT, source.path))
    if diags:
        raise JourneySyntaxError(diags, source)


def parse_tree(source: Source) -> Tree[Token]:
    """The lark tree of ``source`` (raises :class:`JourneySyntaxError`)."""
    _precheck(source)
    try:
        tree = parser().parse(source.text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    except LarkError as exc:  # pragma: no cover - any other lark failure
        raise _one(source, None, "E100", f"the text cannot be parsed: {exc}", None) from None
    check_escapes(tree, source)
    return tree


def parse(source: Source) -> JourneyNode:
    """The syntax of ``source``.

    >>> parse(Source("x", 'journey "J" { stage a { entry } }')).items[0].name.text
    'a'
    """
    return to_syntax(parse_tree(source))
