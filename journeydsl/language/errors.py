"""Diagnostics and the errors that carry them.

Errors hold data (span, code, message, hint); the text a person reads,
with the excerpt and caret, is drawn by :func:`format_diagnostic` at the edge
(the CLI). Messages start lowercase, name things in single quotes, state the
expected and the actual value, and end without a full stop.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from journeydsl.language.source import Source, Span

__all__ = [
    "Diagnostic",
    "JourneyError",
    "JourneySyntaxError",
    "JourneyValidationError",
    "Severity",
    "diagnostics_to_json",
    "did_you_mean",
    "format_diagnostic",
    "format_diagnostics",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a journey file: where, how bad, what, and what to do."""

    span: Span | None
    severity: Severity
    code: str
    message: str
    hint: str | None = None
    path: str = "<journey>"

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        line = self.span.line if self.span else 0
        col = self.span.col if self.span else 0
        return (self.path, line, col, self.message)

    def to_dict(self) -> dict[str, object]:
        """The JSON form used by ``check --format json``."""
        return {
            "path": self.path,
            "line": self.span.line if self.span else None,
            "column": self.span.col if self.span else None,
            "end_line": self.span.end_line if self.span else None,
            "end_column": self.span.end_col if self.span else None,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class JourneyError(Exception):
    """A journey file could not be turned into a valid model.

    ``diagnostics`` holds every finding, sorted by position; ``source`` is
    the text they point into (for excerpts).
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], source: Source | None = None):
        self.diagnostics = sorted(diagnostics, key=lambda d: d.sort_key)
        self.source = source
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(first.message if first else "invalid journey")

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def __str__(self) -> str:
        return format_diagnostics(self.diagnostics, self.source)


class JourneySyntaxError(JourneyError):
    """The text does not follow the grammar."""


class JourneyValidationError(JourneyError):
    """The text parses but breaks a rule of the language."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or ``None``.

    >>> did_you_mean("trail", ["trial", "lead"])
    "did you mean 'trial'?"
    """
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"did you mean '{close[0]}'?" if close else None


def format_diagnostic(diag: Diagnostic, source: Source | None = None) -> str:
    """``file:line:col: severity: message``, then the excerpt with a caret, then the hint.

    Text for a terminal: control characters in the path, message, source line
    and hint are shown as escapes (:func:`journeydsl.language.sanitize.for_terminal`).
    """
    from journeydsl.language.sanitize import for_terminal

    where = for_terminal(diag.path)
    if diag.span is not None:
        where = f"{where}:{diag.span.line}:{diag.span.col}"
    lines = [f"{where}: {diag.severity}: {for_terminal(diag.message)}"]
    if source is not None and diag.span is not None:
        lines.append(source.excerpt(diag.span))
    if diag.hint:
        lines.append(f"   hint: {for_terminal(diag.hint)}")
    return "\n".join(lines)


def format_diagnostics(diags: Sequence[Diagnostic], source: Source | None = None) -> str:
    """All diagnostics in order, then a one-line count."""
    parts = [format_diagnostic(d, source) for d in diags]
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    name = diags[0].path.rsplit("/", 1)[-1] if diags else ""
    counts = []
    if errors:
        counts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        counts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if counts:
        from journeydsl.language.sanitize import for_terminal

        parts.append(f"found {' and '.join(counts)} in {for_terminal(name)}")
    return "\n".join(parts)


def diagnostics_to_json(diags: Sequence[Diagnostic]) -> str:
    """A JSON array with one object per diagnostic."""
    return json.dumps([d.to_dict() for d in diags], indent=2, ensure_ascii=False)


@dataclass
class DiagnosticBag:
    """Collects diagnostics while compiling or checking one source."""

    path: str = "<journey>"
    items: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span | None, code: str, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(span, "error", code, message, hint, self.path))

    def warning(self, span: Span | None, code: str, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(span, "warning", code, message, hint, self.path))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)
