"""Reparse only the statements an edit touched, so a long journey is rechecked quickly while typing.

A journey is one block of statements, each ending at a line break or ``;``
at the block's top level. :func:`parse_incremental` cuts the text into those
statements with one regular-expression scan, parses each statement it has not
seen before on its own (inside a one-statement journey, at the same column),
and moves the spans of those it has seen to their new lines. The LALR
parser is in the same state at the start of every top-level statement, so a
statement parses, or fails at the same token with the same message, alone as
in the whole file; the test suite checks that the diagnostics equal those of
a whole-file parse over many mutated files. When the text's shape is not a
plain ``journey ... { ... }`` (a block never closed, text after the journey),
the caller falls back to parsing the whole file.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from journeydsl.language import syntax as sx
from journeydsl.language.errors import Diagnostic, JourneySyntaxError
from journeydsl.language.parser import MAX_BYTES, parse
from journeydsl.language.source import Source, Span

__all__ = ["Incremental", "parse_incremental"]

_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[{};\n]')
_BLANK = re.compile(r"(?:\s|#[^\n]*)*\Z")
#: Parsed statements kept between edits (by text and column); cleared when it grows past this.
CACHE_SIZE = 50_000

# (statement text, column, separator) -> (items parsed at line 2, or the error found there)
_cache: dict[tuple[str, int, str], tuple[tuple[Any, ...], Diagnostic | None]] = {}
# the same, moved to the line they were last seen at (an edit that adds no line moves nothing)
_placed: dict[tuple[str, int, str, int], tuple[Any, ...]] = {}


@dataclass(frozen=True)
class Incremental:
    """The syntax assembled from statements; ``errors`` holds the first broken statement's diagnostic."""

    node: sx.JourneyNode
    error: Diagnostic | None
    #: lines of the statements left out because they do not parse
    broken_lines: frozenset[int]


def _shift(obj: Any, dl: int) -> Any:
    """``obj`` with every span moved down ``dl`` lines."""
    if dl == 0:
        return obj
    if isinstance(obj, Span):
        return Span(obj.line + dl, obj.col, obj.end_line + dl, obj.end_col)
    if isinstance(obj, tuple):
        return tuple(_shift(v, dl) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return type(obj)(**{f.name: _shift(getattr(obj, f.name), dl) for f in dataclasses.fields(obj)})
    return obj


def _statements(text: str) -> tuple[int, list[tuple[int, int, str]], int] | None:
    """(end of the header ``journey ... {``, statements as (start, end, separator), offset of the last ``}``).

    ``None`` when the text is not one journey block with balanced braces.
    """
    depth = 0
    header_end = -1
    footer = -1
    region = 0
    out: list[tuple[int, int, str]] = []

    def close(end: int, sep: str) -> None:
        chunk = text[region:end]
        if not _BLANK.match(chunk):
            start = region + len(chunk) - len(chunk.lstrip())
            out.append((start, region + len(chunk.rstrip()), sep))

    for m in _SCAN.finditer(text):
        ch = text[m.start()]
        if ch in '"#':
            continue
        if footer >= 0:
            if ch in ";\n":
                continue
            return None  # something after the journey's closing brace
        if ch == "{":
            if depth == 0:
                if header_end >= 0:
                    return None
                header_end = region = m.end()
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                close(m.start(), "")
                footer = m.start()
        elif depth == 1:
            close(m.start(), ch)
            region = m.end()
    if depth != 0 or header_end < 0 or footer < 0 or not _BLANK.match(text, footer + 1):
        return None
    return header_end, out, footer


def _parse_statement(stmt: str, col: int, sep: str, path: str) -> tuple[tuple[Any, ...], Diagnostic | None]:
    """The items of one statement parsed at line 2, or the diagnostic of its syntax error."""
    key = (stmt, col, sep)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    wrapped = "journey J {\n" + " " * (col - 1) + stmt + (sep or " ") + "}"
    try:
        result: tuple[tuple[Any, ...], Diagnostic | None] = (parse(Source(path, wrapped)).items, None)
    except JourneySyntaxError as exc:
        result = ((), exc.diagnostics[0])
    if len(_cache) >= CACHE_SIZE:
        _cache.clear()
    _cache[key] = result
    return result


def parse_incremental(source: Source) -> Incremental | None:
    """The syntax of ``source`` from its statements (``None``: parse the whole file instead).

    Returns an :class:`Incremental` whose ``error`` is the diagnostic a
    whole-file parse gives for the first statement that does not parse (the
    other statements are kept), or ``None`` when the text is not a plain
    journey block or the error is one only the whole file can describe.
    """
    text = source.text
    if "\x00" in text or len(text) > MAX_BYTES:
        return None  # the whole-file parse describes these first
    shape = _statements(text)
    if shape is None:
        return None
    header_end, statements, footer = shape
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    try:
        head = parse(Source(source.path, text[:header_end] + "}"))
    except JourneySyntaxError:
        return None
    items: list[Any] = []
    error: Diagnostic | None = None
    broken: set[int] = set()
    header_line = where(header_end - 1)[0]
    for start, end, sep in statements:
        line, col = where(start)
        if line == header_line:
            return None  # a statement on the line of 'journey ... {': the parser's state differs there
        parsed, diag = _parse_statement(text[start:end], col, sep, source.path)
        if diag is not None:
            if diag.span is None or "end of the file" in diag.message:
                return None
            shifted = _shift(diag.span, line - 2)
            if error is None:
                error = Diagnostic(shifted, diag.severity, diag.code, diag.message, diag.hint, source.path)
            broken.update(range(line, where(end)[0] + 1))
            continue
        key = (text[start:end], col, sep, line)
        placed = _placed.get(key)
        if placed is None:
            if len(_placed) >= CACHE_SIZE:
                _placed.clear()
            placed = _placed[key] = _shift(parsed, line - 2)
        items.extend(placed)
    if head.span is None:
        return None
    end_line, end_col = where(footer)
    span = Span(head.span.line, head.span.col, end_line, end_col + 1)
    node = sx.JourneyNode(name=head.name, label=head.label, items=tuple(items), span=span)
    return Incremental(node, error, frozenset(broken))
