"""Source text and positions in it.

A :class:`Source` is a file's path and text; a :class:`Span` is a 1-based
region in it. Diagnostics carry spans; the excerpt with a caret is drawn late,
by :meth:`Source.excerpt`, when an error is shown to a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Source", "Span"]


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


@dataclass(frozen=True, slots=True)
class Source:
    """A journey file's text and the name it is shown by."""

    path: str
    text: str

    @classmethod
    def read(cls, path: str | Path) -> Source:
        """Read a file as UTF-8 (a byte-order mark is dropped).

        Raises ``UnicodeDecodeError`` for bytes that are not UTF-8 and
        ``OSError`` when the file cannot be read; the CLI turns both into
        diagnostics.
        """
        data = Path(path).read_bytes()
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        return cls(str(path), text)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line break ("" past the end)."""
        # split at "\n" only, as the parser counts lines (splitlines() would also split at U+2028 and friends)
        lines = self.text.split("\n")
        if 1 <= line <= len(lines):
            return lines[line - 1].removesuffix("\r")
        return ""

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
        from journeydsl.sanitize import terminal_char

        raw = self.line_text(span.line)
        if len(raw) > 200:  # keep a huge line readable around the caret
            start = max(0, span.col - 80)
            raw = raw[start : start + 160]
            col = span.col - start
        else:
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
