"""Source text and positions in it.

A :class:`Source` is a file's path and text; a :class:`Span` is a 1-based
region in it. Diagnostics carry spans; the excerpt with a caret is drawn late,
by :meth:`Source.excerpt`, when an error is shown to a person.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MAX_BYTES", "FileTooLarge", "Source", "Span", "read_bounded"]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of source text: 1-based line and column, end exclusive.

    >>> Span(3, 5, 3, 10).width
    5
    """

    line: int
    col: int
    end_line: int
    end_col: int

    @property
    def width(self) -> int:
        """Columns covered on the first line (at least 1)."""
        if self.end_line != self.line:
            return 1
        return max(1, self.end_col - self.col)

    @classmethod
    def point(cls, line: int, col: int) -> Span:
        """A span one column wide."""
        return cls(line, col, line, col + 1)

    @classmethod
    def from_meta(cls, meta: object) -> Span | None:
        """Build a span from a lark ``Meta`` or ``Token`` (``None`` when it has no position)."""
        if getattr(meta, "empty", False):
            return None
        line = getattr(meta, "line", None)
        col = getattr(meta, "column", None)
        if line is None or col is None:
            return None
        end_line = getattr(meta, "end_line", None) or line
        end_col = getattr(meta, "end_column", None) or col + 1
        return cls(line, col, end_line, end_col)


#: The largest journey file read, in bytes (``E103`` beyond); a hand-written journey is far smaller.
MAX_BYTES = 2_000_000


class FileTooLarge(ValueError):
    """A file over :data:`MAX_BYTES` bytes; ``size`` is its size, or ``None`` when unknown (a stream)."""

    def __init__(self, path: str, size: int | None) -> None:
        super().__init__(f"{path}: more than {MAX_BYTES:,} bytes")
        self.path = path
        self.size = size


def read_bounded(path: str | Path) -> bytes:
    """A file's bytes, reading at most ``MAX_BYTES + 1`` of them (``FileTooLarge`` beyond).

    The size is judged in bytes before anything is decoded, and without reading
    the whole of a huge file (or of an endless one such as ``/dev/zero``).
    """
    with open(path, "rb") as fh:
        try:
            size: int | None = os.fstat(fh.fileno()).st_size
        except OSError:  # pragma: no cover - fstat on an open file does not fail in practice
            size = None
        if size is not None and size > MAX_BYTES:
            raise FileTooLarge(str(path), size)
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise FileTooLarge(str(path), None)
    return data


@dataclass(frozen=True, slots=True)
class Source:
    """A journey file's text and the name it is shown by."""

    path: str
    text: str
    # where each line starts in ``text``, found once when first needed (excerpts look lines up often)
    _starts: list[int] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def read(cls, path: str | Path) -> Source:
        """Read a file as UTF-8 (a byte-order mark is dropped).

        Raises :class:`FileTooLarge` for more than :data:`MAX_BYTES` bytes,
        ``UnicodeDecodeError`` for bytes that are not UTF-8 and ``OSError``
        when the file cannot be read; the CLI turns each into a diagnostic.
        """
        data = read_bounded(path)
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        return cls(str(path), text)

    def _line_starts(self) -> list[int]:
        starts = self._starts
        if starts is None:
            # "\n" only, as the parser counts lines (splitlines() would also split at U+2028 and friends)
            starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
            object.__setattr__(self, "_starts", starts)
        return starts

    def line_text(self, line: int, start: int = 0, stop: int | None = None) -> str:
        """The text of a 1-based line, without its line break ("" past the end).

        ``start`` and ``stop`` cut it to columns ``start + 1 .. stop`` without
        copying the rest of a very long line. Lines are indexed once per source.
        """
        starts = self._line_starts()
        if not 1 <= line <= len(starts):
            return ""
        begin = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        if end > begin and self.text[end - 1] == "\r":
            end -= 1
        lo = begin + max(0, start)
        hi = end if stop is None else min(end, begin + stop)
        return self.text[lo:hi] if hi > lo else ""

    def line_length(self, line: int) -> int:
        """The length of a 1-based line in characters (0 past the end)."""
        starts = self._line_starts()
        if not 1 <= line <= len(starts):
            return 0
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        if end > starts[line - 1] and self.text[end - 1] == "\r":
            end -= 1
        return end - starts[line - 1]

    def excerpt(self, span: Span) -> str:
        """The source line of ``span`` with a caret line under the span.

        Control characters in the line are shown as ``\\x1b``-style escapes (a
        tab as a space), and the caret moves with them, so it stays under the
        same characters.

        >>> print(Source("x", "a -> trail 30%").excerpt(Span(1, 6, 1, 11)))
           1 | a -> trail 30%
             |      ^^^^^
        >>> print(Source("x", 'stage a "\x1b[2J" {').excerpt(Span(1, 16, 1, 17)))
           1 | stage a "\\x1b[2J" {
             |                   ^
        """
        from journeydsl.language.sanitize import terminal_char

        if self.line_length(span.line) > 200:  # keep a huge line readable around the caret
            start = max(0, span.col - 80)
            raw = self.line_text(span.line, start, start + 160)
            col = span.col - start
        else:
            raw = self.line_text(span.line)
            col = span.col
        shown = [" " if ch == "\t" else terminal_char(ch) for ch in raw]
        text = "".join(shown)
        before = sum(len(s) for s in shown[: col - 1]) + max(0, col - 1 - len(shown))
        covered = shown[col - 1 : col - 1 + span.width]
        caret_width = sum(len(s) for s in covered) + span.width - len(covered)  # past the end: as before
        col = before + 1
        number = str(span.line)
        gutter = " " * max(4, len(number) + 1)
        width = max(1, min(caret_width, len(text) - col + 2))
        first = f"{number.rjust(len(gutter))} | {text}"
        caret = f"{gutter} | {' ' * (col - 1)}{'^' * width}"
        return f"{first}\n{caret}"
