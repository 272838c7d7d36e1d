"""The ``journeydsl`` command: arguments -> API -> diagnostics on stderr -> exit code.

Exit codes: 0 success; 1 an invalid journey (or ``fmt --check`` / ``check
--strict`` found something); 2 a usage error (bad option, missing file);
3 an internal error (a bug: please report it, ``--debug`` shows the traceback).
No traceback reaches a user without ``--debug``.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from journeydsl import __version__
from journeydsl.errors import (
    Diagnostic,
    JourneyError,
    diagnostics_to_json,
    format_diagnostic,
    format_diagnostics,
)
from journeydsl.fileio import atomic_write
from journeydsl.source import Source

if TYPE_CHECKING:
    from journeydsl.model import Journey
    from journeydsl.progress import Progress
    from journeydsl.results import Results

__all__ = ["main"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

OUTPUT_FORMATS = ("table", "json", "csv", "markdown")
RENDER_FORMATS = ("svg", "png", "dot", "mermaid")


class UsageError(Exception):
    """Something about the command line, not the journey, is wrong (exit 2)."""


def _err(text: str) -> None:
    print(text, file=sys.stderr)


# --- loading ------------------------------------------------------------


def _read(path: str) -> Source | None:
    """The file's text, or None when it is not UTF-8 (compile reports that as a diagnostic)."""
    p = Path(path)
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            close = difflib.get_close_matches(p.name, [c.name for c in p.parent.iterdir()], n=1)
            if close:
                hint = f"; did you mean '{p.parent / close[0]}'?"
        raise UsageError(f"{path}: no such file{hint}")
    if p.is_dir():
        raise UsageError(f"{path}: is a folder, not a .journey file")
    try:
        return Source.read(p)
    except UnicodeDecodeError:
        return None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _load(path: str, *, quiet: bool = True) -> Journey:
    """Compile one file, showing its warnings unless quiet; raises JourneyError (exit 1) or UsageError (exit 2)."""
    from journeydsl.compile import compile_source, load

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
                print(f"{path}: ok")
    if args.format == "json":
        print(diagnostics_to_json(everything))
    return status


def cmd_fmt(args: argparse.Namespace) -> int:
    """Format every file in memory first; write only when all of them are valid journeys."""
    from journeydsl.fmt import format_source

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
                sys.stdout.writelines(
                    difflib.unified_diff(
                        before.splitlines(keepends=True),
                        after.splitlines(keepends=True),
                        fromfile=path,
                        tofile=f"{path} (formatted)",
                    )
                )
        else:
            atomic_write(path, after)
            if not args.quiet:
                _err(f"{path}: reformatted")
    return status


def _progress(args: argparse.Namespace, what: str) -> Progress:
    from journeydsl.progress import Progress

    return Progress(what, quiet=args.quiet)


def _emit(args: argparse.Namespace, results: Results) -> None:
    from journeydsl.report import format_results

    text = format_results(results, args.format)
    if args.output:
        atomic_write(args.output, text)
        if not args.quiet:
            _err(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")


def _horizon(args: argparse.Namespace) -> float | None:
    from journeydsl.api import parse_duration

    if args.horizon is None:
        return None
    try:
        days = parse_duration(args.horizon)
    except ValueError as exc:
        raise UsageError(f"--horizon: {exc}") from None
    if days <= 0:
        raise UsageError("--horizon must be positive")
    return days


def _simulate(args: argparse.Namespace, journey: Journey, scenarios: list[str] | None) -> Results:
    """Simulate with the run options on the command line, a progress bar on a terminal."""
    from journeydsl import api

    progress = _progress(args, "simulating")
    try:
        return api.simulate(
            journey,
            customers=args.customers,
            seed=args.seed,
            scenarios=scenarios,
            horizon_days=_horizon(args),
            workers=args.workers,
            progress=progress,
        )
    except KeyError as exc:
        raise UsageError(f"--scenario: {exc.args[0]}") from None
    finally:
        progress.close()


def cmd_simulate(args: argparse.Namespace) -> int:
    journey = _load(args.file, quiet=args.quiet)
    if args.exact:
        from journeydsl.report import format_exact

        sys.stdout.write(format_exact(journey, args.format))
        return EXIT_OK
    if args.no_scenarios:
        chosen: list[str] | None = []
    elif args.scenario:
        chosen = list(args.scenario)
    else:
        chosen = None
    results = _simulate(args, journey, chosen)
    _emit(args, results)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from journeydsl import api

    if len(args.files) < 2:
        raise UsageError("compare needs at least two journey files (the first is the baseline)")
    journeys = []
    for path in args.files:
        journey = _load(path, quiet=args.quiet)
        journeys.append(journey)
    progress = _progress(args, "simulating")
    try:
        results = api.compare(
            journeys,
            customers=args.customers,
            seed=args.seed,
            horizon_days=_horizon(args),
            workers=args.workers,
            progress=progress,
        )
    finally:
        progress.close()
    _emit(args, results)
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from journeydsl import api
    from journeydsl.maps import RenderError

    journey = _load(args.file, quiet=args.quiet)
    if args.scenario and args.scenario not in {s.name for s in journey.scenarios}:
        from journeydsl.errors import did_you_mean

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
    progress = _progress(args, "simulating flows")
    try:
        drawn = api.render(
            journey,
            None if out == "-" else out,
            format=fmt,
            scenario=args.scenario,
            flows=args.flows,
            direction=args.direction,
            customers=args.customers,
            seed=args.seed,
        )
        if out == "-":
            if isinstance(drawn, bytes):
                sys.stdout.flush()
                sys.stdout.buffer.write(drawn)
            else:
                sys.stdout.write(drawn)
    except RenderError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    finally:
        progress.close()
    if out != "-" and not args.quiet:
        _err(f"wrote {out}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from journeydsl.templates import template_names, template_text

    if args.list:
        for name, summary in template_names():
            print(f"{name:22} {summary}")
        return EXIT_OK
    if args.file is None:
        raise UsageError("init needs a FILE to write (or --list to see the templates)")
    target = Path(args.file)
    if target.exists() and not args.force:
        raise UsageError(f"{target}: already exists (use --force to overwrite it)")
    try:
        text = template_text(args.template)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    atomic_write(target, text)
    if not args.quiet:
        _err(f"wrote {target} from the '{args.template}' template; next: journeydsl check {target}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from journeydsl.htmlreport import build_report

    journey = _load(args.file, quiet=args.quiet)
    results = _simulate(args, journey, None)
    html = build_report(journey, results)
    atomic_write(args.output, html)
    if not args.quiet:
        _err(f"wrote {args.output}")
    return EXIT_OK


def cmd_fit(args: argparse.Namespace) -> int:
    """Calibrate a journey from a CRM export; nothing is written unless everything succeeded."""
    from journeydsl.fit import FitDataError, fit_export  # lazy: numpy/scipy only when fitting

    for path in (args.events, args.into, args.map):
        if path is not None:
            _read_bytes_ok(path)
    if args.into is not None:
        _load(args.into, quiet=True)  # an invalid base is a journey error (exit 1) with its diagnostics
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
        _err(result.summary().rstrip("\n"))
    if args.report:
        from journeydsl.fit.report import write_report

        write_report(result, args.report)
        if not args.quiet:
            _err(f"wrote {args.report}")
    if args.output:
        atomic_write(args.output, result.text)
        if not args.quiet:
            _err(f"wrote {args.output}")
    else:
        sys.stdout.write(result.text)
    return EXIT_OK


def _read_bytes_ok(path: str) -> None:
    p = Path(path)
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            close = difflib.get_close_matches(p.name, [c.name for c in p.parent.iterdir()], n=1)
            if close:
                hint = f"; did you mean '{p.parent / close[0]}'?"
        raise UsageError(f"{path}: no such file{hint}")
    if p.is_dir():
        raise UsageError(f"{path}: is a folder, not a file")


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


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _add_run_options(p: argparse.ArgumentParser, *, output: bool = True) -> None:
    p.add_argument("--customers", "-n", type=_positive_int, metavar="N",
                   help="customers to simulate (default: the file's 'customers', else 10,000)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help="random seed; the same seed gives the same numbers (default 0)")
    p.add_argument("--horizon", metavar="D",
                   help="follow each customer this long, e.g. 365, '90 days', '2 years' "
                        "(default: the file's 'horizon')")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="K",
                   help="processes to use; results do not depend on it (default 1)")
    if output:
        p.add_argument("--format", "-f", choices=OUTPUT_FORMATS, default="table",
                       help="output format (default table)")
        p.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of the terminal")


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
    p.add_argument("--exact", action="store_true",
                   help="exact answers from algebra instead of simulation, where the model allows")
    p.set_defaults(func=cmd_simulate)

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
    p.add_argument("--direction", choices=("LR", "TB"), default="LR",
                   help="left to right (default) or top to bottom")
    p.add_argument("--customers", "-n", type=_positive_int, metavar="N",
                   help="customers for --flows (default: the file's)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed for --flows")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("report", parents=[common], help="write a self-contained HTML report",
                       description="Simulate a journey and its scenarios and write one HTML page.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--output", "-o", metavar="PATH", required=True, help="the .html file to write")
    _add_run_options(p, output=False)
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
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("init", parents=[common], help="start a new journey from a template",
                       description="Write a commented starting journey from one of the examples.")
    p.add_argument("file", metavar="FILE", nargs="?")
    p.add_argument("--template", "-t", default="saas_trial", metavar="NAME",
                   help="which example to start from (default saas_trial; see --list)")
    p.add_argument("--list", action="store_true", help="list the templates")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_init)
    return parser


def _guess_render_format(args: argparse.Namespace) -> None:
    if getattr(args, "command", None) != "render" or args.format is not None:
        return
    endings = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid",
               ".mermaid": "mermaid"}
    args.format = endings.get(Path(args.output).suffix.lower(), "svg") if args.output else "svg"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    _guess_render_format(args)
    try:
        return int(args.func(args))
    except JourneyError as exc:
        _err(format_diagnostics(exc.diagnostics, exc.source))
        return EXIT_INVALID
    except UsageError as exc:
        _err(f"journeydsl {args.command}: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted; nothing was written")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        else:
            _err(
                f"journeydsl {args.command}: internal error: {type(exc).__name__}: {exc}\n"
                "this is a bug in journeydsl; run again with --debug and report the traceback"
            )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
