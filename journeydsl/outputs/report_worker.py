"""``journeydsl report`` on both cores: the HTML page is drawn by a forked process that imports
matplotlib (about half a second) while this one simulates the journey.

The worker is only an accelerator. It builds the very page :func:`~journeydsl.outputs.htmlreport.build_report`
builds here (same inputs, pickled; same code), and when it cannot be used (no ``fork`` on this
platform, threads already running, the worker failing in any way) the page is built in this
process as before, so that errors and their tracebacks are the usual ones.

This module imports nothing heavy itself: the parent pays only for ``multiprocessing`` and a fork.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from journeydsl.analysis.forecast import Forecast
    from journeydsl.engine.results import Results
    from journeydsl.language.model import Journey

__all__ = ["ReportWorker"]


def _serve(conn: Connection) -> None:
    """The worker: import what the page needs, then build the one page it is sent."""
    try:
        from journeydsl.outputs.htmlreport import _matplotlib, build_report

        _matplotlib()  # the import this process exists to overlap
        args, kwargs = conn.recv()
        conn.send(build_report(*args, **kwargs))
    except BaseException:  # the parent builds the page itself and reports the error
        with contextlib.suppress(BaseException):  # unless it is gone or no longer listening
            conn.send(None)
    finally:
        conn.close()


class ReportWorker:
    """A forked process that builds the report page; start it before the slow steps.

    >>> worker = ReportWorker.start()          # doctest: +SKIP
    >>> html = worker.build(journey, results)  # doctest: +SKIP
    """

    def __init__(self, proc: BaseProcess | None, conn: Connection | None) -> None:
        self._proc = proc
        self._conn = conn

    @classmethod
    def start(cls) -> ReportWorker:
        """Fork the worker where that is safe (Linux, no other thread running), else a stand-in.

        Start it once the journey is compiled (the worker shares what is imported by then).
        """
        if not sys.platform.startswith("linux") or threading.active_count() > 1:
            return cls(None, None)
        import multiprocessing

        import numpy  # noqa: F401 - both processes need it: imported once, before the fork, it is shared

        ctx = multiprocessing.get_context("fork")
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child,), name="journeydsl-report", daemon=True)
        try:
            proc.start()
        except OSError:  # no process to spare: build here
            conn.close()
            return cls(None, None)
        finally:
            child.close()
        return cls(proc, conn)

    def build(self, journey: Journey, results: Results, forecast: Forecast | None = None,
              lang: str | None = None, ids: bool = False) -> str:
        """The page :func:`~journeydsl.outputs.htmlreport.build_report` gives for these arguments."""
        html: Any = None
        if self._conn is not None:
            try:
                self._conn.send(((journey, results, forecast), {"lang": lang, "ids": ids}))
                html = self._conn.recv()
            except (OSError, EOFError):  # the worker is gone: build here
                html = None
            self._finish(wait=True)
        if isinstance(html, str):
            return html
        from journeydsl.outputs.htmlreport import build_report

        return build_report(journey, results, forecast, lang=lang, ids=ids)

    def close(self) -> None:
        """Stop the worker without waiting (when the page is not needed after all)."""
        self._finish(wait=False)

    def _finish(self, wait: bool) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if wait:  # it has sent the page and is exiting
                self._proc.join(timeout=5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._proc = None
