"""A one-line progress bar for long runs, shown only on a terminal.

It writes to standard error, redraws at most a few times a second, and says
nothing when the stream is not a terminal (piped, in CI) or when quiet.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Call it with ``(done, total)``; call :meth:`close` when the work ends.

    >>> import io
    >>> p = Progress("simulating", stream=io.StringIO())  # not a terminal: silent
    >>> p(1, 2); p.close()
    """

    def __init__(
        self,
        what: str,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        min_interval: float = 0.2,
    ) -> None:
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = not quiet and bool(isatty())
        self.min_interval = min_interval
        self.started = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: float, total: int) -> None:
        """``done`` of ``total`` blocks are simulated (a fraction while a block is under way)."""
        if not self.enabled or total <= 0:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        width = 30
        filled = int(width * done / total)
        elapsed = now - self.started
        eta = ""
        if 0 < done < total:
            eta = f", about {elapsed * (total - done) / done:.0f} s left"
        bar = "█" * filled + "·" * (width - filled)
        self.stream.write(f"\r{self.what} [{bar}] {100 * done / total:3.0f}%{eta}\033[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Clear the bar so that what follows starts on a clean line."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False
