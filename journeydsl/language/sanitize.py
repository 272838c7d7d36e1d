"""Text from a journey file made safe for each medium it is shown in: one function per medium.

Labels, file names and source lines are the user's text and may hold anything
(escapes such as ``\\u001b`` put any character in a label). Each output medium
has one place here that makes such text inert:

- :func:`for_terminal` — control characters shown as ``\\x1b``-style escapes,
  so a label cannot clear the screen, set the window title or fake a line;
- :func:`for_markdown` — ``| < > & [ ] * ` \\`` escaped and line breaks made
  spaces, so a label stays text in one table cell or heading;
- :func:`for_csv` — a text cell that a spreadsheet would run as a formula
  (starting with ``= + - @``, a tab or a carriage return) gets a leading
  ``'``, as OWASP advises; numbers are never passed through it.

HTML (``htmlreport``), DOT and Mermaid (``maps``) escape in their own modules.
"""

from __future__ import annotations

import re

__all__ = ["for_csv", "for_markdown", "for_terminal", "for_terminal_lines", "terminal_char"]

#: Characters a terminal would act on instead of showing: C0 and C1 controls, DEL,
#: the Unicode line and paragraph separators and the bidirectional controls.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def terminal_char(ch: str) -> str:
    r"""How one character is shown on a terminal: itself, or an escape for a control character.

    >>> terminal_char("\x1b"), terminal_char("\t"), terminal_char("\u202e"), terminal_char("é")
    ('\\x1b', '\\t', '\\u202e', 'é')
    """
    if not _UNSAFE.match(ch):
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: object) -> str:
    r"""Text to print on a terminal, every control character shown as an escape.

    >>> print(for_terminal("Trial\x1b]0;owned\x07 \x1b[2J"))
    Trial\x1b]0;owned\x07 \x1b[2J
    """
    s = str(text)
    return _UNSAFE.sub(lambda m: terminal_char(m.group(0)), s) if _UNSAFE.search(s) else s


def for_terminal_lines(text: str) -> str:
    """Like :func:`for_terminal`, but keeps the text's own line breaks (for multi-line messages)."""
    return "\n".join(for_terminal(line) for line in text.split("\n"))


_MARKDOWN = {
    "\\": "\\\\",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "[": "\\[",
    "]": "\\]",
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
    "\r\n": " ",
    "\r": " ",
    "\n": " ",
}
_MARKDOWN_RE = re.compile("\r\n|[\\\\|`*\\[\\]<>&\r\n]")


def for_markdown(text: object) -> str:
    r"""Text for a Markdown table cell or heading: markup escaped, on one line, no control characters.

    >>> for_markdown("<script>alert(1)</script> | a\r\nb")
    '&lt;script&gt;alert(1)&lt;/script&gt; \\| a b'
    """
    s = _MARKDOWN_RE.sub(lambda m: _MARKDOWN[m.group(0)], str(text))
    return for_terminal(s)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def for_csv(text: object) -> str:
    """A text cell for CSV: a leading ``'`` when a spreadsheet would read it as a formula.

    Only for text cells (names, labels); numbers such as ``-0.5`` are written as they are.

    >>> for_csv("=HYPERLINK(\\"http://x\\")"), for_csv("-v2"), for_csv("baseline")
    ('\\'=HYPERLINK("http://x")', "'-v2", 'baseline')
    """
    s = str(text)
    return "'" + s if s.startswith(_FORMULA_START) else s
