"""The ``journeydsl`` command: arguments -> API -> diagnostics on stderr -> exit code.

Exit codes: 0 success; 1 an invalid journey (or ``fmt --check`` / ``check
--strict`` found something); 2 a usage error (bad option, missing file);
3 an internal error (a bug: please report it, ``--debug`` shows the traceback).
No traceback reaches a user without ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import gc
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from journeydsl import __version__
from journeydsl.language.errors import (
    Diagnostic,
    JourneyError,
    diagnostics_to_json,
    format_diagnostic,
    format_diagnostics,
)
from journeydsl.language.fileio import STDOUT, CannotWrite, atomic_write, check_output, os_reason, write_output
from journeydsl.language.sanitize import for_terminal, for_terminal_lines
from journeydsl.language.source import FileTooLarge, Source

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.engine.results import Results
    from journeydsl.language.model import Journey
    from journeydsl.outputs.progress import Progress

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

OUTPUT_FORMATS = ("table", "json", "csv", "markdown")
RENDER_FORMATS = ("svg", "png", "dot", "mermaid")


class UsageError(Exception):
    """Something about the command line, not the journey, is wrong (exit 2)."""


class RunRefused(Exception):
    """A run estimated to take too long: exit 2 when run options made it so, else 1 (the journey)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _err(text: str) -> None:
    """A message on stderr; control characters from file names or labels are shown as escapes."""
    print(for_terminal_lines(text), file=sys.stderr)


# --- loading ------------------------------------------------------------


def _need_file(path: str, kind: str = "file") -> Path:
    """``path`` as a Path if it names an existing file; a usage error (with a did-you-mean) otherwise."""
    p = Path(path)
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            close = difflib.get_close_matches(p.name, [c.name for c in p.parent.iterdir()], n=1)
            if close:
                hint = f"; did you mean '{p.parent / close[0]}'?"
        raise UsageError(f"{path}: no such file{hint}")
    if p.is_dir():
        raise UsageError(f"{path}: is a folder, not a {kind}")
    return p


def _read(path: str) -> Source | None:
    """The file's text, or None when it is not UTF-8 or too large (compile reports that as a diagnostic)."""
    p = _need_file(path, ".journey file")
    try:
        return Source.read(p)
    except (UnicodeDecodeError, FileTooLarge):
        return None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _load(path: str, *, quiet: bool = True) -> Journey:
    """Compile one file, showing its warnings unless quiet; raises JourneyError (exit 1) or UsageError (exit 2)."""
    from journeydsl.language.compile import compile_source, load

    source = _read(path)
    if source is None:
        return load(path)  # not UTF-8: load raises the encoding diagnostic
    journey, warnings = compile_source(source)
    if warnings and not quiet:
        _err("\n".join(format_diagnostic(w, source) for w in warnings))
    return journey


# --- commands -----------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from journeydsl.api import check

    status = EXIT_OK
    everything: list[Diagnostic] = []
    for path in args.files:
        source = _read(path)
        diags = check(path)
        everything.extend(diags)
        errors = [d for d in diags if d.severity == "error"]
        if errors or (args.strict and diags):
            status = EXIT_INVALID
        if args.format == "text":
            if diags:
                _err(format_diagnostics(diags, source))
            elif not args.quiet:
                print(f"{for_terminal(path)}: ok")
    if args.format == "json":
        print(diagnostics_to_json(everything))
    return status


def cmd_fmt(args: argparse.Namespace) -> int:
    """Format every file in memory first; write only when all of them are valid journeys."""
    from journeydsl.language.fmt import format_source

    status = EXIT_OK
    changes: list[tuple[str, str, str]] = []
    for path in args.files:
        try:
            source = _read(path)
            if source is None:
                _load(path)  # raises the encoding diagnostic
                continue
            formatted = format_source(source.text, path)
        except JourneyError as exc:
            _err(format_diagnostics(exc.diagnostics, exc.source))
            status = EXIT_INVALID
            continue
        if formatted != source.text:
            changes.append((path, source.text, formatted))
    if status != EXIT_OK:
        if changes and not args.check:
            _err("nothing was reformatted: fix the errors above first")
        return status
    for path, before, after in changes:
        if args.check:
            status = EXIT_INVALID
            _err(f"{path}: would be reformatted")
            if args.diff:
                diff = difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=path,
                    tofile=f"{path} (formatted)",
                )
                if sys.stdout.isatty():  # shown, not piped to patch: no control character acts
                    diff = (for_terminal(line.rstrip("\n")) + "\n" for line in diff)
                sys.stdout.writelines(diff)
        else:
            try:
                atomic_write(path, after)
            except OSError as exc:
                raise CannotWrite(path, os_reason(exc)) from None
            if not args.quiet:
                _err(f"{path}: reformatted")
    return status


def _progress(args: argparse.Namespace, what: str) -> Progress:
    from journeydsl.outputs.progress import Progress

    return Progress(what, quiet=args.quiet)


def _write(args: argparse.Namespace, path: str | None, data: str | bytes, inputs: Sequence[str]) -> None:
    """Write a command's output to ``path`` (None or '-': the terminal), saying so unless quiet."""
    if write_output(path or STDOUT, data, inputs) and not args.quiet:
        _err(f"wrote {path}")


def _lang(args: argparse.Namespace, journey: Journey | None) -> str:
    """``--lang``, else the journey's ``language`` setting, else English."""
    return getattr(args, "lang", None) or (journey.language if journey is not None else None) or "en"


def _emit(args: argparse.Namespace, results: Results, inputs: Sequence[str], journey: Journey | None = None) -> None:
    from journeydsl.outputs.report import format_results

    text = format_results(results, args.format, lang=_lang(args, journey), ids=args.ids)
    _write(args, args.output, text, inputs)


def _positive_duration(flag: str, text: str) -> float:
    """The days of a duration option (``--horizon 2 years``); a usage error unless positive."""
    from journeydsl.api import parse_duration

    try:
        days = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if days <= 0:
        raise UsageError(f"{flag} must be positive")
    return days


def _horizon(args: argparse.Namespace) -> float | None:
    if args.horizon is None:
        return None
    days = _positive_duration("--horizon", args.horizon)
    from journeydsl.language.checks import MAX_HORIZON_DAYS

    if days > MAX_HORIZON_DAYS:
        raise UsageError(f"--horizon is {days:g} days, longer than the {MAX_HORIZON_DAYS:,.0f} days"
                         " (100 years) a run can follow")
    return days


def _work_options(args: argparse.Namespace) -> dict[str, object]:
    """``max_work`` and ``on_estimate`` for a run: the limit (none with --force) and a note on long runs."""
    from journeydsl.engine.montecarlo import NOTE_WORK, WorkEstimate
    from journeydsl.language.checks import DEFAULT_MAX_WORK

    limit = None if args.force else (args.max_work or DEFAULT_MAX_WORK)

    def note(estimate: WorkEstimate) -> None:
        # (a run over the limit is refused with the same estimate: no note before the error)
        if estimate.steps > NOTE_WORK and not args.quiet and (limit is None or estimate.steps <= limit):
            _err(f"note: this run will take {estimate.describe()}")
    return {"max_work": limit, "on_estimate": note}


def _refuse(args: argparse.Namespace, exc: Exception) -> RunRefused:
    """The message and exit code for a run over its work limit (montecarlo.TooMuchWork)."""
    from_options = args.customers is not None or getattr(args, "horizon", None) is not None
    shorter = ", a shorter --horizon" if hasattr(args, "horizon") else ""
    knobs = f"fewer customers (-n){shorter}" if from_options else (
        "fewer customers (-n or 'customers'), a shorter 'horizon' or 'ltv window',"
        " slower loops or triggers in the journey")
    if getattr(args, "draws", None):
        knobs += ", fewer --draws"
    if hasattr(args, "max_work"):  # render --flows has neither
        knobs += "; or --max-work STEPS to allow more, or --force to run however long it takes"
    return RunRefused(f"{exc}\n   hint: {knobs}", EXIT_USAGE if from_options else EXIT_INVALID)


def _simulate(args: argparse.Namespace, journey: Journey, scenarios: list[str] | None,
              executor: Executor | None) -> Results:
    """Simulate with the run options on the command line, a progress bar on a terminal.

    ``executor``: the Dask cluster's (see :func:`_executor`), opened by the command.
    """
    from journeydsl import api
    from journeydsl.engine.montecarlo import TooMuchWork

    draws = getattr(args, "draws", None)
    progress = _progress(args, f"simulating {draws} draw{'' if draws == 1 else 's'}" if draws else "simulating")
    try:
        return api.simulate(
            journey,
            customers=args.customers,
            seed=args.seed,
            scenarios=scenarios,
            horizon_days=_horizon(args),
            workers=args.workers,
            progress=progress,
            executor=executor,
            draws=draws,
            **_work_options(args),  # type: ignore[arg-type]
        )
    except KeyError as exc:
        raise UsageError(f"--scenario: {exc.args[0]}") from None
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    finally:
        progress.close()


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Executor | None]:
    """The Dask cluster's executor when ``--scheduler`` (or JOURNEYDSL_SCHEDULER) names one, else None."""
    from journeydsl.engine.montecarlo.executors import SCHEDULER_ENV

    address = getattr(args, "scheduler", None) or os.environ.get(SCHEDULER_ENV)
    if not address:
        yield None
        return
    from journeydsl.engine.montecarlo.executors import dask_executor

    try:
        client, executor = dask_executor(address, timeout="10s")
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--scheduler: cannot reach the Dask scheduler at {address}: {exc}") from None
    if not args.quiet:
        from journeydsl.engine.montecarlo.executors import slow_allocator_workers

        slow = slow_allocator_workers(client)
        if slow:
            settings = ", ".join(sorted({x for found in slow.values() for x in found}))
            _err(f"note: {len(slow)} of the cluster's workers run with {settings} in their environment (Dask's"
                 " nanny sets it by default), which makes journeydsl about 1.8 times slower there; the numbers"
                 " are the same. docs/scaling.md says how to start workers without it")
    try:
        yield executor
    finally:
        client.close()


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.output:
        check_output(args.output, [args.file])
    journey = _load(args.file, quiet=args.quiet)
    if args.exact:
        from journeydsl.outputs.report import format_exact

        _write(args, args.output, format_exact(journey, args.format, lang=_lang(args, journey), ids=args.ids),
               [args.file])
        return EXIT_OK
    if args.no_scenarios:
        chosen: list[str] | None = []
    elif args.scenario:
        chosen = list(args.scenario)
    else:
        chosen = None
    with _executor(args) as executor:
        results = _simulate(args, journey, chosen, executor)
    _emit(args, results, [args.file], journey)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from journeydsl import api

    if len(args.files) < 2:
        raise UsageError("compare needs at least two journey files (the first is the baseline)")
    if args.output:
        check_output(args.output, args.files)
    journeys = []
    for path in args.files:
        journey = _load(path, quiet=args.quiet)
        journeys.append(journey)
    from journeydsl.engine.montecarlo import TooMuchWork

    progress = _progress(args, "simulating")
    try:
        with _executor(args) as executor:
            results = api.compare(
                journeys,
                customers=args.customers,
                seed=args.seed,
                horizon_days=_horizon(args),
                workers=args.workers,
                progress=progress,
                executor=executor,
                **_work_options(args),  # type: ignore[arg-type]
            )
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    finally:
        progress.close()
    _emit(args, results, args.files, journeys[0])
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from journeydsl import api
    from journeydsl.engine.montecarlo import TooMuchWork
    from journeydsl.outputs.maps import RenderError

    journey = _load(args.file, quiet=args.quiet)
    if args.scenario and args.scenario not in {s.name for s in journey.scenarios}:
        from journeydsl.language.errors import did_you_mean

        hint = did_you_mean(args.scenario, [s.name for s in journey.scenarios])
        raise UsageError(
            f"--scenario: no scenario '{args.scenario}' in {args.file}" + (f"; {hint}" if hint else "")
        )
    fmt = args.format
    out = args.output
    if out is None:
        suffix = {"svg": ".svg", "png": ".png", "dot": ".dot", "mermaid": ".mmd"}[fmt]
        stem = Path(args.file).with_suffix("")
        out = f"{stem}.{args.scenario}{suffix}" if args.scenario else f"{stem}{suffix}"
    check_output(out, [args.file])
    progress = _progress(args, "simulating flows")
    try:
        # only --flows simulates: a plain map never connects to a cluster (nor fails to)
        with _executor(args) if args.flows else contextlib.nullcontext() as executor:
            drawn = api.render(
                journey,
                None,
                format=fmt,
                scenario=args.scenario,
                flows=args.flows,
                direction=args.direction,
                customers=args.customers,
                seed=args.seed,
                lang=_lang(args, journey),
                workers=args.workers,
                executor=executor,
            )
    except RenderError as exc:
        _err(f"journeydsl render: error: {exc}")
        return EXIT_USAGE
    except TooMuchWork as exc:  # --flows on a journey whose run would take too long
        raise _refuse(args, exc) from None
    finally:
        progress.close()
    _write(args, out, drawn, [args.file])
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from journeydsl.language.templates import template_names, template_text

    if args.list:
        for name, summary in template_names():
            print(f"{name:22} {summary}")
        return EXIT_OK
    if args.file is None:
        raise UsageError("init needs a FILE to write (or --list to see the templates)")
    target = args.file
    if target != STDOUT:
        if Path(target).exists() and not args.force:
            raise UsageError(f"{target}: already exists (use --force to overwrite it)")
        check_output(target)
    try:
        text = template_text(args.template)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if write_output(target, text) and not args.quiet:
        _err(f"wrote {target} from the '{args.template}' template; next: journeydsl check {target}")
    return EXIT_OK


def cmd_sensitivity(args: argparse.Namespace) -> int:

    from journeydsl.analysis.sensitivity import tornado
    from journeydsl.outputs.sensitivity_report import tornado_svg, tornado_table

    if args.output:
        check_output(args.output, [args.file])
    journey = _load(args.file, quiet=args.quiet)
    from journeydsl.analysis.uncertainty import uncertain_params

    if not uncertain_params(journey):
        _err(f"{args.file}: no uncertain parameters to vary; give a value a range, like"
             " 'param close = 25% ± 5%' or 'trial -> customer 25% ± 5%'")
        return EXIT_INVALID
    from journeydsl.engine.montecarlo import TooMuchWork

    progress = _progress(args, "simulating the tornado")
    try:
        with _executor(args) as executor:
            t = tornado(journey, args.figure, args.scenario, args.customers, args.seed,
                        workers=args.workers, progress=progress, executor=executor,
                        **_work_options(args))  # type: ignore[arg-type]
    except KeyError as exc:
        raise UsageError(f"--scenario: {exc.args[0]}") from None
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    except ValueError as exc:
        raise UsageError(f"--figure: {exc}") from None
    finally:
        progress.close()
    fmt = args.format
    if fmt in ("svg", "png"):
        data = tornado_svg(t, journey, fmt, lang=_lang(args, journey))
        if fmt == "png" and not args.output and sys.stdout.isatty():
            raise UsageError("--format png writes bytes: give -o FILE (or -o - to pipe them)")
        _write(args, args.output, data if fmt == "png" else data.decode("utf-8"), [args.file])
        return EXIT_OK
    text = _json_text(t.to_dict()) if fmt == "json" else tornado_table(t, journey, _lang(args, journey))
    _write(args, args.output, text, [args.file])
    return EXIT_OK


def cmd_breakeven(args: argparse.Namespace) -> int:

    from journeydsl.analysis.sensitivity import breakeven
    from journeydsl.engine.montecarlo import TooMuchWork

    journey = _load(args.file, quiet=args.quiet)
    progress = _progress(args, "searching")
    try:
        with _executor(args) as executor:
            b = breakeven(journey, args.param, args.scenario, args.figure, args.customers, args.seed,
                          workers=args.workers, executor=executor, progress=progress)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        progress.close()
    if args.format == "json":
        sys.stdout.write(_json_text(b.to_dict()))
        return EXIT_OK
    from journeydsl.outputs.sensitivity_report import breakeven_text

    print(for_terminal(breakeven_text(b, journey, _better_higher(args.figure), _lang(args, journey))))
    return EXIT_OK


def _share_arg(text: str) -> float:
    """A share written '5%' or '0.05' (strictly between 0 and 1)."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a share like '5%' or 0.05") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0% and 100%, got {text}")
    return value


def _arrivals_arg(text: str) -> float:
    """Arrivals a day from '300 per week', '1000 per month' or '40' (a day)."""
    from journeydsl.api import parse_duration

    number, _, per = text.replace("_", "").partition(" per ")
    try:
        count = float(number)
        days = parse_duration(per.strip() if per.strip()[:1].isdigit() else f"1 {per.strip()}") if per else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not arrivals like '300 per week' or '1000 per month'") from None
    if not (count > 0 and days > 0 and math.isfinite(count)):
        raise argparse.ArgumentTypeError(f"arrivals must be more than 0, got '{text}'")
    return count / days


def cmd_plan_test(args: argparse.Namespace) -> int:

    from journeydsl.analysis.abtest import plan_test
    from journeydsl.engine.montecarlo import TooMuchWork

    journey = _load(args.file, quiet=args.quiet)
    known = [s.name for s in journey.scenarios]
    if args.scenario not in known:
        from journeydsl.language.errors import did_you_mean

        hint = did_you_mean(args.scenario, known) if known else "the journey has no scenario to test"
        raise UsageError(f"--scenario: no scenario '{args.scenario}' in {args.file}" + (f"; {hint}" if hint else ""))
    if args.plan is not None and args.plan not in {p.name for p in journey.plans}:
        raise UsageError(f"--plan: no plan '{args.plan}' in {args.file}")
    window = None if args.window is None else _positive_duration("--window", args.window)
    if args.output:
        check_output(args.output, [args.file])
    progress = _progress(args, "simulating")
    try:
        tp = plan_test(journey, args.scenario, metric=args.metric, alpha=args.significance, power=args.power,
                       split=args.split, arrivals_per_day=args.arrivals, plan=args.plan, customers=args.customers,
                       seed=args.seed, window_days=window, workers=args.workers, **_work_options(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    finally:
        progress.close()
    if args.format == "json":
        text = _json_text(tp.to_dict())
    else:
        from journeydsl.outputs.report import format_test_plan

        text = format_test_plan(tp, journey.currency or "", _lang(args, journey))
    _write(args, args.output, text, [args.file])
    return EXIT_OK


def _better_higher(figure: str) -> bool:
    from journeydsl.engine.results import BETTER

    return BETTER.get(figure, "higher") == "higher"


def cmd_attribute(args: argparse.Namespace) -> int:

    from journeydsl.analysis.attribution import attribute, items_of

    if args.output:
        check_output(args.output, [args.file])
    journey = _load(args.file, quiet=args.quiet)
    if not items_of(journey, args.by):
        _err(f"{args.file}: no {args.by}s to attribute to")
        return EXIT_INVALID
    from journeydsl.engine.montecarlo import TooMuchWork

    progress = _progress(args, "simulating every combination")
    try:
        with _executor(args) as executor:
            a = attribute(journey, args.by, args.customers, args.seed, workers=args.workers, progress=progress,
                          executor=executor, **_work_options(args))  # type: ignore[arg-type]
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    finally:
        progress.close()
    if args.format == "json":
        text = _json_text(a.to_dict())
    else:
        from journeydsl.outputs.sensitivity_report import attribution_table

        text = attribution_table(a, journey, _lang(args, journey))
    _write(args, args.output, text, [args.file])
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from journeydsl.outputs.report_worker import ReportWorker

    check_output(args.output, [args.file])
    journey = _load(args.file, quiet=args.quiet)
    # the page is drawn by a process that imports matplotlib while this one simulates
    worker = ReportWorker.start()
    try:
        with _executor(args) as executor:  # one connection for the run and the forecast
            results = _simulate(args, journey, None, executor)
            fc = None
            if journey.plans:  # the first plan's month-by-month forecast gets its own section
                from journeydsl.analysis.forecast import forecast

                progress = _progress(args, "forecasting")
                try:
                    fc = forecast(journey, None, customers=args.customers, seed=args.seed, progress=progress,
                                  workers=args.workers, executor=executor)
                finally:
                    progress.close()
        report = worker.build(journey, results, fc, lang=_lang(args, journey), ids=args.ids)
    finally:
        worker.close()
    _write(args, args.output, report, [args.file])
    return EXIT_OK


def cmd_lsp(args: argparse.Namespace) -> int:
    """Serve the language server over stdin/stdout (needs the [lsp] extra)."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        raise UsageError(
            "the language server needs pygls, which is not installed: pip install 'journeydsl[lsp]'"
        ) from None
    import journeydsl.editor.lsp

    return journeydsl.editor.lsp.main()


def cmd_fit(args: argparse.Namespace) -> int:
    """Calibrate a journey from a CRM export; nothing is written unless everything succeeded."""
    from journeydsl.analysis.fit import FitDataError, fit_export  # lazy: numpy/scipy only when fitting

    fit_inputs = [p for p in (args.events, args.into, args.map) if p is not None]
    for path in fit_inputs:
        _need_file(path)
    for out in (args.output, args.report):
        if out:
            check_output(out, fit_inputs)
    base = None
    if args.into is not None:
        base = _load(args.into, quiet=True)  # an invalid base is a journey error (exit 1) with its diagnostics
    try:
        result = fit_export(args.events, into=args.into, as_of=args.as_of, shape=args.from_, map_path=args.map,
                            goal=args.goal, since=args.since, strict=args.strict, money=args.money)
    except ModuleNotFoundError as exc:
        if exc.name != "scipy":
            raise
        raise UsageError("fit needs scipy: pip install 'journeydsl[fit]'") from None
    except FitDataError as exc:
        if exc.diagnostics:
            _err(format_diagnostics(exc.diagnostics, exc.source))
        _err(f"journeydsl fit: error: {exc}\nnothing was written")
        return EXIT_INVALID
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if result.problems and not args.quiet:
        shown = result.problems[:20]
        _err("\n".join(format_diagnostic(d, result.events.source) for d in shown))
        more = len(result.problems) - len(shown)
        _err(f"{len(result.problems):,} row(s) could not be used" + (f" ({more:,} more not shown)" if more else "")
             + "; --strict makes them an error")
    if not args.quiet:
        for w in result.warnings:
            _err(f"warning: {w}")
        from journeydsl.outputs.fit_report import summary_text

        _err(summary_text(result, _lang(args, base)).rstrip("\n"))
    if args.report:
        from journeydsl.outputs.fit_report import write_report

        write_report(result, args.report, _lang(args, base))
        if not args.quiet:
            _err(f"wrote {args.report}")
    _write(args, args.output, result.text, fit_inputs)
    return EXIT_OK




def cmd_forecast(args: argparse.Namespace) -> int:
    """Month-by-month forecast of a journey's calendar plan."""
    from journeydsl import api
    from journeydsl.outputs.forecast_report import format_forecast

    if args.output:
        check_output(args.output, [args.file])
    journey = _load(args.file, quiet=args.quiet)
    if not journey.plans:
        raise UsageError(
            f"{args.file} has no plan; add one, e.g. "
            "'plan launch { start 2027-01; months 24; arrivals 1000 per month }' (see docs/commands/forecast.md)"
        )
    if args.plan is not None and args.plan not in {p.name for p in journey.plans}:
        names = [p.name for p in journey.plans]
        close = difflib.get_close_matches(args.plan, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; the plans are {', '.join(names)}"
        raise UsageError(f"--plan: no plan '{args.plan}'{hint}")
    if args.format == "svg" and not args.output and sys.stdout.isatty():
        raise UsageError("--format svg writes an image: give --output FILE.svg")
    if args.draws:
        from journeydsl.analysis.uncertainty import uncertain_params

        if not uncertain_params(journey):
            raise UsageError(
                f"--draws: {args.file} has no uncertain parameters to draw; give a value a range, like"
                " 'param close = 25% ± 5%' or 'trial -> customer 25% ± 5%'"
            )
    from journeydsl.analysis.forecast import check_work
    from journeydsl.engine.montecarlo import TooMuchWork

    work = _work_options(args)
    try:  # the forecast and its draws, judged together before either starts
        check_work(journey, args.plan, args.customers, args.seed, args.draws or 0, **work)  # type: ignore[arg-type]
    except TooMuchWork as exc:
        raise _refuse(args, exc) from None
    with _executor(args) as executor:
        progress = _progress(args, "forecasting")
        try:
            fc = api.forecast(journey, args.plan, customers=args.customers, seed=args.seed, progress=progress,
                              workers=args.workers, executor=executor, max_work=None)
        finally:
            progress.close()
        if args.draws:
            from journeydsl.analysis.forecast import add_draws

            progress = _progress(args, f"forecasting {args.draws} draw{'' if args.draws == 1 else 's'}")
            try:
                add_draws(fc, journey, args.draws, customers=args.customers, seed=args.seed, progress=progress,
                          workers=args.workers, executor=executor)
            finally:
                progress.close()
    _write(args, args.output, format_forecast(fc, args.format, _lang(args, journey)), [args.file])
    return EXIT_OK


# --- the parser ---------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that says what to do next and exits 2 on a usage error."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _err(f"{self.prog}: error: {message}\n(see '{self.prog} --help')")
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _customers(text: str) -> int:
    from journeydsl.language.checks import MAX_CUSTOMERS

    value = _positive_int(text)
    if value > MAX_CUSTOMERS:
        raise argparse.ArgumentTypeError(f"at most {MAX_CUSTOMERS:,} customers, got {value:,}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _add_sample_options(
    p: argparse.ArgumentParser,
    customers: str = "customers to simulate (default: the file's 'customers', else 10,000)",
) -> None:
    """What every command that runs the engine takes: how many customers, the seed, and where to run."""
    p.add_argument("--customers", "-n", type=_customers, metavar="N", help=customers)
    p.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help="random seed; the same seed gives the same numbers (default 0)")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="K",
                   help="processes to use; results do not depend on it (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
                        "(default: $JOURNEYDSL_SCHEDULER; needs journeydsl[dask]); same numbers as one machine")


def _add_run_options(p: argparse.ArgumentParser, *, output: bool = True) -> None:
    """simulate, compare and report: the sample options, --horizon, the work limit, words and output."""
    _add_sample_options(p)
    p.add_argument("--horizon", metavar="D",
                   help="follow each customer this long, e.g. 365, '90 days', '2 years' "
                        "(default: the file's 'horizon')")
    _add_work_options(p)
    _add_lang_option(p)
    p.add_argument("--ids", action="store_true",
                   help="call arms, stages and touchpoints by their names instead of their labels")
    if output:
        p.add_argument("--format", "-f", choices=OUTPUT_FORMATS, default="table",
                       help="output format (default table)")
        p.add_argument("--output", "-o", metavar="PATH",
                       help="write to PATH instead of the terminal ('-': the terminal)")


def _add_work_options(p: argparse.ArgumentParser) -> None:
    """The limit on a run's estimated work, for commands whose run is estimated before it starts."""
    p.add_argument("--max-work", type=_positive_int, metavar="STEPS",
                   help="refuse a run estimated at more engine steps than this"
                        " (default 15_000_000_000, about 15 minutes on one core)")
    p.add_argument("--force", action="store_true",
                   help="run however long the estimate says it takes")


def _json_text(data: object) -> str:
    """A command's JSON output: indented, non-ASCII kept, one final newline; NaN is refused (metrics.md: an
    undefined figure is ``null``, never ``NaN``, which strict JSON readers reject)."""
    import json

    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _add_lang_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "ru", "bg"), default=None,
                   help="language of the words and number formats (default: the file's 'language', else en)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = _Parser(
        prog="journeydsl",
        description="Plan, simulate, compare and draw customer journeys written in .journey files.",
        epilog="Exit codes: 0 ok, 1 invalid journey, 2 usage error. Docs: docs/index.md",
    )
    parser.add_argument("--version", action="version", version=f"journeydsl {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bar or notes")
    common.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("check", parents=[common], help="check journey files for mistakes",
                       description="Check journey files; every mistake is shown with its place.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("fmt", parents=[common], help="lay journey files out in the canonical style",
                       description="Rewrite journey files in the canonical layout (comments kept).")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 if a file would be reformatted")
    p.add_argument("--diff", action="store_true", help="with --check, print what would change")
    p.set_defaults(func=cmd_fmt)

    p = sub.add_parser("simulate", parents=[common], help="forecast conversion, retention, LTV, CAC",
                       description="Simulate customers through a journey and its scenarios.")
    p.add_argument("file", metavar="FILE")
    _add_run_options(p)
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="run this scenario beside the baseline (repeatable; default: all)")
    p.add_argument("--no-scenarios", action="store_true", help="run the baseline alone")
    p.add_argument("--draws", type=_positive_int, metavar="N",
                   help="also simulate N draws of the uncertain parameters: a 95%% range per figure")
    p.add_argument("--exact", action="store_true",
                   help="exact answers from algebra instead of simulation, where the model allows")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("forecast", parents=[common], help="month-by-month forecast of a calendar plan",
                       description="Forecast arrivals, conversions, active customers, revenue and cost by "
                                   "calendar month for a journey's 'plan' block (docs/commands/forecast.md).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--plan", metavar="NAME", help="the plan to forecast (default: the first in the file)")
    p.add_argument("--format", "-f", choices=("table", "json", "csv", "markdown", "svg"), default="table",
                   help="output format; svg draws the layer cake by cohort month (default table)")
    p.add_argument("--output", "-o", metavar="OUT", help="write to OUT instead of the terminal")
    _add_sample_options(p, customers="customers in the one cohort simulated (default: the file's 'customers')")
    p.add_argument("--draws", type=_positive_int, metavar="N",
                   help="also forecast N draws of the uncertain parameters; their spread widens the intervals")
    _add_work_options(p)
    _add_lang_option(p)
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("plan-test", parents=[common], help="size a live A/B test of a scenario",
                       description="The customers per arm and the days a real A/B test needs to detect a "
                                   "scenario's forecast difference from the baseline, from the run's own "
                                   "variance (docs/commands/plan-test.md).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--scenario", required=True, metavar="NAME", help="the scenario to test against the baseline")
    p.add_argument("--metric", choices=("conversion_rate", "value_per_customer", "revenue_per_customer",
                                        "cost_per_customer"), default="conversion_rate",
                   help="the figure the test judges (default conversion_rate)")
    p.add_argument("--significance", type=_share_arg, default=0.05, metavar="SHARE",
                   help="two-sided significance level (default 5%%)")
    p.add_argument("--power", type=_share_arg, default=0.8, metavar="SHARE",
                   help="chance of detecting the forecast difference (default 80%%)")
    p.add_argument("--split", type=_share_arg, metavar="SHARE",
                   help="share of the test's customers given the scenario (default: its rollout share, else 50%%)")
    p.add_argument("--arrivals", type=_arrivals_arg, metavar="'N per UNIT'",
                   help="new customers, e.g. '300 per week' (default: from the journey's plan)")
    p.add_argument("--plan", metavar="NAME", help="the plan whose arrivals to use (default: the first)")
    p.add_argument("--window", metavar="D",
                   help="how long each customer is followed before the figure is read, e.g. '30 days'"
                        " (default: the file's 'horizon')")
    p.add_argument("--customers", "-n", type=_customers, metavar="N",
                   help="customers to simulate per arm (default: the file's 'customers', else 10,000)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="K", help="processes to use")
    _add_work_options(p)
    _add_lang_option(p)
    p.add_argument("--format", "-f", choices=("table", "json"), default="table")
    p.add_argument("--output", "-o", metavar="OUT", help="write to OUT instead of the terminal")
    p.set_defaults(func=cmd_plan_test)

    p = sub.add_parser("compare", parents=[common], help="compare whole journey files",
                       description="Simulate several journey files on common random numbers; "
                                   "the first is the baseline.")
    p.add_argument("files", nargs="+", metavar="FILE")
    _add_run_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("render", parents=[common], help="draw the journey map",
                       description="Draw a journey map as SVG, PNG, DOT or Mermaid.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--output", "-o", metavar="OUT",
                   help="where to write ('-' for the terminal; default: next to FILE)")
    p.add_argument("--format", "-f", choices=RENDER_FORMATS, default=None,
                   help="svg (default), png, dot or mermaid; guessed from OUT's ending")
    p.add_argument("--scenario", metavar="NAME", help="draw this scenario's journey")
    p.add_argument("--flows", action="store_true",
                   help="simulate and draw the forecast flows (customers per 1,000)")
    p.add_argument("--direction", choices=("auto", "LR", "TB"), default="auto",
                   help="auto (default): left to right unless that is over 2.5 times as wide as it is high, "
                        "then top to bottom; LR or TB to choose")
    _add_sample_options(p, customers="customers for --flows (default: the file's)")
    _add_lang_option(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("report", parents=[common], help="write a self-contained HTML report",
                       description="Simulate a journey and its scenarios and write one HTML page.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--output", "-o", metavar="PATH", required=True,
                   help="the .html file to write ('-' for the terminal)")
    _add_run_options(p, output=False)
    p.add_argument("--draws", type=_positive_int, metavar="N",
                   help="also simulate N draws of the uncertain parameters (ranges and P(best))")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("fit", parents=[common], help="calibrate a journey from a CRM export",
                       description="Fit branch shares, times in stage and rates to a CRM export "
                                   "(open leads counted as censored), into your journey or a new one.")
    p.add_argument("events", metavar="EVENTS.csv", help="the export: entries, transitions, amoCRM/Kommo, "
                   "HubSpot or Salesforce")
    p.add_argument("--into", metavar="BASE.journey", help="write the fitted figures into a copy of this journey")
    p.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="the export's cut-off (default: its latest time); a date means the end of that day")
    p.add_argument("--output", "-o", metavar="OUT.journey", help="where to write the journey (default: the terminal)")
    p.add_argument("--from", dest="from_", default="auto",
                   choices=("auto", "entries", "transitions", "kommo", "hubspot", "salesforce"),
                   help="the export's shape (default: told by its header)")
    p.add_argument("--map", metavar="MAP.csv",
                   help="CSV 'data_name,stage' for stages that match by neither id nor label")
    p.add_argument("--goal", metavar="STAGE", help="without --into: the goal stage of the new journey")
    p.add_argument("--since", metavar="DATE", help="only cases that started on or after DATE")
    p.add_argument("--report", metavar="fit.html|fit.md", help="also write the goodness-of-fit report")
    p.add_argument("--strict", action="store_true", help="any bad row is an error")
    p.add_argument("--money", action="store_true",
                   help="with --into: write the data's mean amount over each stage's 'revenue ... on enter'")
    _add_lang_option(p)
    p.set_defaults(func=cmd_fit)
    p = sub.add_parser("sensitivity", parents=[common], help="which uncertain parameter moves a figure most",
                       description="A tornado: each uncertain parameter at its 2.5% and 97.5% points,"
                                   " the others at their means, on common random numbers.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--figure", default="value_per_customer", metavar="F",
                   help="the figure to explain (default: value_per_customer)")
    p.add_argument("--scenario", metavar="NAME", help="explain this scenario's difference from the baseline")
    p.add_argument("--format", "-f", choices=("table", "json", "svg", "png"), default="table")
    p.add_argument("--output", "-o", metavar="OUT", help="write to OUT instead of the terminal")
    _add_sample_options(p, customers="customers per variant (default: the file's 'customers')")
    _add_work_options(p)
    _add_lang_option(p)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("breakeven", parents=[common], help="the parameter value where a scenario stops paying off",
                       description="Bisection on common random numbers for the value of one parameter"
                                   " where a scenario's difference from the baseline crosses zero.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--param", required=True, metavar="NAME", help="the parameter to move")
    p.add_argument("--scenario", required=True, metavar="S", help="the scenario to compare with the baseline")
    p.add_argument("--figure", default="value_per_customer", metavar="F",
                   help="the figure compared (default: value_per_customer)")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    _add_sample_options(p, customers="customers per step of the search (default: the file's 'customers')")
    _add_lang_option(p)
    p.set_defaults(func=cmd_breakeven)

    p = sub.add_parser("attribute", parents=[common], help="what each touchpoint, trigger or channel contributes",
                       description="Removal effects and Shapley values of each touchpoint, trigger or channel,"
                                   " every combination simulated on common random numbers.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--by", choices=("touchpoint", "trigger", "channel"), default="touchpoint")
    p.add_argument("--format", "-f", choices=("table", "json"), default="table")
    p.add_argument("--output", "-o", metavar="OUT", help="write to OUT instead of the terminal")
    _add_sample_options(p, customers="customers per combination (default: the file's 'customers')")
    _add_work_options(p)
    _add_lang_option(p)
    p.set_defaults(func=cmd_attribute)

    p = sub.add_parser("init", parents=[common], help="start a new journey from a template",
                       description="Write a commented starting journey from one of the examples.")
    p.add_argument("file", metavar="FILE", nargs="?", help="the file to write ('-' for the terminal)")
    p.add_argument("--template", "-t", default="saas_trial", metavar="NAME",
                   help="which example to start from (default saas_trial; see --list)")
    p.add_argument("--list", action="store_true", help="list the templates")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("lsp", parents=[common], help="run the language server for editors (stdio)",
                       description="Speak the Language Server Protocol over stdin/stdout, for editors: "
                                   "diagnostics, completion, hover, rename, formatting. See docs/editors.md.")
    p.add_argument("--stdio", action="store_true", help="use stdin/stdout (the default and only transport)")
    p.set_defaults(func=cmd_lsp)
    return parser


def _guess_render_format(args: argparse.Namespace) -> None:
    if getattr(args, "command", None) != "render" or args.format is not None:
        return
    endings = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid",
               ".mermaid": "mermaid"}
    args.format = endings.get(Path(args.output).suffix.lower(), "svg") if args.output else "svg"


#: Commands that run the engine (render only with --flows, fit for its backtest; all cheap to tune).
SIMULATING = frozenset({"simulate", "forecast", "plan-test", "compare", "render", "report", "fit", "sensitivity",
                        "breakeven", "attribute"})

#: The cyclic garbage collector's thresholds for a command (Python's default: 700, 10, 10).
GC_THRESHOLDS = (200_000, 30, 30)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Sets the garbage collector's thresholds to :data:`GC_THRESHOLDS` for the rest of the process.
    """
    # Start-up makes a few hundred thousand objects that live as long as the command (modules,
    # classes, pydantic schemas, the parser's tables), and at the default thresholds the collector
    # walks them again and again. Objects still go as soon as they are unused; only reference
    # cycles wait longer. Not set back on return: the first allocation after that would collect
    # everything made since (tens of milliseconds at the exit of every command).
    gc.set_threshold(*GC_THRESHOLDS)
    return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    _guess_render_format(args)
    if args.command in SIMULATING:
        from journeydsl.engine.allocator import keep_heap

        keep_heap()  # the blocks' arrays reuse their pages (see engine/allocator.py)
    try:
        return int(args.func(args))
    except JourneyError as exc:
        _err(format_diagnostics(exc.diagnostics, exc.source))
        return EXIT_INVALID
    except (UsageError, CannotWrite) as exc:
        _err(f"journeydsl {args.command}: error: {exc}")
        return EXIT_USAGE
    except RunRefused as exc:
        _err(f"journeydsl {args.command}: error: {exc}")
        return exc.code
    except KeyboardInterrupt:
        _err("interrupted; nothing was written")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        else:
            _err(
                f"journeydsl {args.command}: internal error: {type(exc).__name__}: {exc}\n"
                "this is a bug in journeydsl; run again with --debug and report the traceback"
            )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
