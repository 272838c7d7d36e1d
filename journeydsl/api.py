"""The Python API: each step of the tool callable on its own, from a notebook or a script.

>>> import journeydsl as jd                                   # doctest: +SKIP
>>> journey = jd.load("examples/journeys/saas_trial.journey")  # doctest: +SKIP
>>> results = jd.simulate(journey, customers=20_000, seed=42)  # doctest: +SKIP
>>> results.to_dict()["scenarios"][0]["metrics"]["conversion_rate"]["mean"]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from journeydsl.language.checks import DEFAULT_MAX_WORK
from journeydsl.language.compile import compile_source
from journeydsl.language.errors import Diagnostic, JourneyError
from journeydsl.language.model import DAYS, Journey
from journeydsl.language.source import FileTooLarge, Source

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.analysis.attribution import Attribution
    from journeydsl.analysis.fit import FitResult
    from journeydsl.analysis.forecast import Forecast
    from journeydsl.analysis.sensitivity import Breakeven, Tornado
    from journeydsl.engine.montecarlo import WorkEstimate
    from journeydsl.engine.results import Results
    from journeydsl.outputs.maps import Flows

__all__ = [
    "attribute",
    "breakeven",
    "check",
    "compare",
    "fit",
    "flows_from",
    "forecast",
    "load",
    "loads",
    "parse_duration",
    "render",
    "sensitivity",
    "simulate",
]

ProgressFn = Callable[[float, int], None]


def _journey_svg(journey: Journey) -> str | None:
    """The journey map, so that a notebook shows a journey as a picture (None without Graphviz)."""
    from journeydsl.outputs.maps import RenderError
    from journeydsl.outputs.maps import render as _render

    try:
        svg = _render(journey, None, format="svg")
    except RenderError:
        return None
    return svg.decode("utf-8") if isinstance(svg, bytes) else svg


# Jupyter's picture of a journey. It is attached here, not written in the model, so that the
# language layer never imports the outputs layer (the import happens only when a notebook asks).
Journey._repr_svg_ = _journey_svg  # type: ignore[attr-defined]


def loads(text: str, path: str = "<journey>") -> Journey:
    """Compile journey text into a validated :class:`~journeydsl.language.model.Journey`.

    Raises :class:`~journeydsl.language.errors.JourneyError` with every diagnostic when
    the text is not a valid journey.
    """
    journey, _warnings = compile_source(Source(path, text))
    return journey


def load(path: str | Path) -> Journey:
    """Read and compile a ``.journey`` file (raises ``JourneyError`` when it is invalid)."""
    from journeydsl.language.compile import load as _load

    return _load(path)


def check(path: str | Path) -> list[Diagnostic]:
    """Every diagnostic for a file, errors and warnings, sorted by position (empty when clean).

    Raises ``OSError`` when the file cannot be read at all.
    """
    try:
        source = Source.read(path)
    except (UnicodeDecodeError, FileTooLarge):
        source = None
    try:
        if source is None:
            load(path)  # reports the encoding or size problem as a diagnostic
            return []
        _journey, warnings = compile_source(source)
    except JourneyError as exc:
        return list(exc.diagnostics)
    return sorted(warnings, key=lambda d: d.sort_key)


def simulate(
    journey: Journey,
    customers: int | None = None,
    seed: int = 0,
    *,
    scenarios: Sequence[str] | None = (),
    horizon_days: float | None = None,
    workers: int = 1,
    progress: ProgressFn | None = None,
    executor: Executor | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
    draws: int | None = None,
) -> Results:
    """Simulate ``customers`` customers through the journey (default: the file's ``customers``).

    ``scenarios``: ``()`` for the baseline alone (the default here), ``None``
    for every scenario in the file, or a list of names. ``draws=N`` adds N
    draws of the uncertain parameters (see :mod:`journeydsl.analysis.uncertainty`). Scenarios run on common
    random numbers and carry ``versus_baseline`` comparisons. The same journey,
    customers, seed and horizon always give the same numbers, whatever ``workers``
    or ``executor`` (any :class:`concurrent.futures.Executor`, e.g. a Dask cluster's:
    ``distributed.Client(address).get_executor()``).

    A pilot block first estimates the work; a run over ``max_work`` steps
    raises :class:`~journeydsl.engine.montecarlo.TooMuchWork` saying how long it would
    take (``None``: no limit), and ``on_estimate`` hears the estimate.
    """
    from journeydsl.analysis.runs import simulate_arms

    if draws:  # the forecast at the means, with every figure's range over parameter draws
        from journeydsl.analysis.uncertainty import simulate_draws

        return simulate_draws(journey, draws, customers, seed, scenarios=scenarios, horizon_days=horizon_days,
                              workers=workers, progress=progress, executor=executor, max_work=max_work,
                              on_estimate=on_estimate)
    return simulate_arms(journey, customers, seed, scenarios=scenarios, horizon_days=horizon_days, workers=workers,
                         progress=progress, executor=executor, max_work=max_work, on_estimate=on_estimate)


def forecast(
    journey: Journey,
    plan: str | None = None,
    customers: int | None = None,
    seed: int = 0,
    *,
    progress: ProgressFn | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    draws: int | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
) -> Forecast:
    """The month-by-month forecast of the journey's plan ``plan`` (default: its first).

    ``KeyError`` when the journey has no such plan. With a ``targets`` block, the
    targets are also measured, on a plain simulation of the plan's scenario with
    the same customers and seed (so the status is the one ``simulate`` gives).
    ``draws=N`` widens the intervals by N draws of the uncertain parameters
    (:func:`journeydsl.analysis.forecast.add_draws`). ``workers`` and ``executor``
    spread the work as in :func:`simulate`, with the same numbers. A forecast (with
    its draws) estimated at more than ``max_work`` engine steps raises
    :class:`~journeydsl.engine.montecarlo.TooMuchWork` before it starts, as
    :func:`simulate` does; ``on_estimate`` hears the estimate.
    """
    from journeydsl.analysis.forecast import add_draws, check_work
    from journeydsl.analysis.forecast import forecast as _forecast

    check_work(journey, plan, customers, seed, draws or 0, max_work=max_work, on_estimate=on_estimate)
    fc = _forecast(journey, plan, customers, seed, progress=progress, workers=workers, executor=executor)
    if draws:
        add_draws(fc, journey, draws, customers, seed, progress=progress, workers=workers, executor=executor)
    if journey.targets is not None:
        from journeydsl.analysis.targets import evaluate

        arm = journey.with_scenario(fc.plan.scenario or "baseline")
        res = simulate(arm, customers, seed, workers=workers, executor=executor, max_work=max_work)
        fc.targets = evaluate(journey.targets, res.baseline)
    return fc


def compare(
    journeys: Sequence[Journey],
    customers: int | None = None,
    seed: int = 0,
    *,
    names: Sequence[str] | None = None,
    horizon_days: float | None = None,
    workers: int = 1,
    progress: ProgressFn | None = None,
    executor: Executor | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
) -> Results:
    """Compare whole journeys as arms on common random numbers; the first is the baseline.

    ``names`` name the arms (default: each file's stem, else the journey's name); tables and reports
    call each arm by its journey's name when those differ (``--ids``: by its name).
    """
    from journeydsl.engine.montecarlo import run

    if len(journeys) < 2:
        raise ValueError("compare needs at least two journeys")
    if names is None:
        names = [Path(j.source).stem if j.source else j.name for j in journeys]
    unique: list[str] = []
    for name in names:
        candidate, k = name, 2
        while candidate in unique:
            candidate, k = f"{name}_{k}", k + 1
        unique.append(candidate)
    arms = [(name, j.with_scenario("baseline")) for name, j in zip(unique, journeys, strict=True)]
    from journeydsl.analysis.runs import check_horizon

    n = journeys[0].customers if customers is None else customers
    check_horizon(horizon_days)
    results = run(arms, n, seed, horizon_days=horizon_days, workers=workers, progress=progress, executor=executor,
                  max_work=max_work, on_estimate=on_estimate)
    titles = [j.name for j in journeys]
    if len(set(titles)) == len(titles):  # each file is called by its journey's name where a person reads it
        for arm, title in zip(results.arms, titles, strict=True):
            arm.label = title
    return results


def fit(
    events: str | Path,
    *,
    into: str | Path | None = None,
    as_of: str | None = None,
    shape: str = "auto",
    map_path: str | Path | None = None,
    goal: str | None = None,
    since: str | None = None,
    strict: bool = False,
    money: bool = False,
) -> FitResult:
    """Calibrate a journey from a CRM export (see ``docs/commands/fit.md``).

    Returns a :class:`~journeydsl.analysis.fit.FitResult`: ``.text`` is the fitted
    journey (fmt-clean), ``.journey`` its model, ``.fits`` the evidence per
    stage; ``journeydsl.outputs.fit_report.summary_text(result, lang)`` is the printed goodness of fit. Needs scipy
    (``pip install 'journeydsl[fit]'``).
    """
    from journeydsl.analysis.fit import fit_export

    return fit_export(events, into=into, as_of=as_of, shape=shape, map_path=map_path, goal=goal, since=since,
                      strict=strict, money=money)


def flows_from(results: Results, arm: int = 0) -> Flows:
    """The forecast flows of one arm, for drawing on a map (customers per 1,000 on each edge)."""
    from journeydsl.outputs.maps import flows_from as _flows_from

    return _flows_from(results, arm)


def render(
    journey: Journey,
    path: str | Path | None = None,
    *,
    format: str = "svg",
    scenario: str | None = None,
    flows: bool | Results = False,
    direction: str = "LR",
    customers: int | None = None,
    seed: int = 0,
    lang: str | None = None,
    workers: int = 1,
    executor: Executor | None = None,
) -> bytes | str:
    """Draw the journey map (``svg``, ``png``, ``dot`` or ``mermaid``); write it to ``path`` if given.

    ``flows=True`` simulates first and overlays the forecast (or pass the
    :class:`~journeydsl.engine.results.Results` of an earlier run of the same journey);
    ``workers`` and ``executor`` spread that run as in :func:`simulate`.
    A ``path`` that is the journey's own file is refused with ``RenderError``
    (the map never replaces the journey it was drawn from).
    """
    from journeydsl.outputs.maps import RenderError
    from journeydsl.outputs.maps import render as _render

    if path is not None and journey.source:
        from journeydsl.language.fileio import CannotWrite, same_file

        if same_file(path, journey.source):
            raise RenderError(str(CannotWrite(path, "it is the journey's own file; choose another path")))

    drawn = journey.with_scenario(scenario) if scenario else journey
    title = f"{journey.name} — {journey.scenario(scenario).title}" if scenario else None
    overlay = None
    if flows is True:
        results = simulate(drawn, customers=customers, seed=seed, workers=workers, executor=executor)
        overlay = flows_from(results)
    elif flows is not False:
        overlay = flows_from(flows)
    return _render(drawn, path, format=format, flows=overlay, direction=direction, title=title, lang=lang)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*?)s?\s*$")


def parse_duration(text: str) -> float:
    """Days in a duration such as ``730``, ``90 days``, ``2 years`` or ``6 months``.

    >>> parse_duration("2 years")
    730.0
    >>> parse_duration("90")
    90.0
    """
    m = _DURATION.match(text.lower())
    if not m:
        raise ValueError(f"'{text}' is not a duration like '365', '90 days' or '2 years'")
    number, unit = float(m.group(1)), m.group(2) or "day"
    if unit not in DAYS:
        raise ValueError(
            f"unknown unit '{unit}' in '{text}' (use minutes, hours, days, weeks, months, quarters or years)"
        )
    return number * DAYS[unit]


def sensitivity(journey: Journey, figure: str = "value_per_customer", scenario: str | None = None,
                customers: int | None = None, seed: int = 0, *, workers: int = 1,
                executor: Executor | None = None, progress: ProgressFn | None = None) -> Tornado:
    """The tornado: each uncertain parameter at its 2.5% and 97.5% points.

    See :mod:`journeydsl.analysis.sensitivity`. ``workers`` and ``executor`` spread
    the work as in :func:`simulate`, with the same numbers.
    """
    from journeydsl.analysis.sensitivity import tornado

    return tornado(journey, figure, scenario, customers, seed, workers=workers, executor=executor,
                   progress=progress)


def breakeven(journey: Journey, param: str, scenario: str, figure: str = "value_per_customer",
              customers: int | None = None, seed: int = 0, *, workers: int = 1,
              executor: Executor | None = None, progress: ProgressFn | None = None) -> Breakeven:
    """Where ``scenario``'s difference from the baseline crosses zero as ``param`` moves.

    ``workers`` and ``executor`` spread each step's run as in :func:`simulate`.
    """
    from journeydsl.analysis.sensitivity import breakeven as _breakeven

    return _breakeven(journey, param, scenario, figure, customers, seed, workers=workers, executor=executor,
                      progress=progress)


def attribute(journey: Journey, by: str = "touchpoint", customers: int | None = None, seed: int = 0,
              *, workers: int = 1, executor: Executor | None = None,
              progress: ProgressFn | None = None) -> Attribution:
    """Removal effects, Shapley values and first/last/linear touch per touchpoint, trigger or channel.

    ``workers`` and ``executor`` spread the work as in :func:`simulate`, with the same numbers.
    """
    from journeydsl.analysis.attribution import attribute as _attribute

    if by not in ("touchpoint", "trigger", "channel"):
        raise ValueError(f"by must be touchpoint, trigger or channel, not '{by}'")
    return _attribute(journey, by, customers, seed, workers=workers, executor=executor,  # type: ignore[arg-type]
                      progress=progress)

