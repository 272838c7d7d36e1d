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

from journeydsl.checks import DEFAULT_MAX_WORK
from journeydsl.compile import compile_source
from journeydsl.errors import Diagnostic, JourneyError
from journeydsl.model import DAYS, Journey
from journeydsl.source import FileTooLarge, Source

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.attribution import Attribution
    from journeydsl.fit import FitResult
    from journeydsl.forecast import Forecast
    from journeydsl.maps import Flows
    from journeydsl.montecarlo import WorkEstimate
    from journeydsl.results import Results
    from journeydsl.sensitivity import Breakeven, Tornado

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


def loads(text: str, path: str = "<journey>") -> Journey:
    """Compile journey text into a validated :class:`~journeydsl.model.Journey`.

    Raises :class:`~journeydsl.errors.JourneyError` with every diagnostic when
    the text is not a valid journey.
    """
    journey, _warnings = compile_source(Source(path, text))
    return journey


def load(path: str | Path) -> Journey:
    """Read and compile a ``.journey`` file (raises ``JourneyError`` when it is invalid)."""
    from journeydsl.compile import load as _load

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


def _arms(journey: Journey, scenarios: Sequence[str] | None) -> list[tuple[str, Journey]]:
    """The baseline and the chosen scenarios (``None``: all of them) as simulation arms."""
    names = [s.name for s in journey.scenarios] if scenarios is None else list(scenarios)
    known = {s.name for s in journey.scenarios}
    for name in names:
        if name not in known:
            from journeydsl.errors import did_you_mean

            hint = did_you_mean(name, known)
            raise KeyError(
                f"no scenario '{name}' in '{journey.name}'" + (f"; {hint}" if hint else "")
            )
    # the baseline arm keeps the file's scenario list: the engine ignores it except to label the arms
    return [("baseline", journey)] + [
        (name, journey.with_scenario(name)) for name in names
    ]


def _check_horizon(horizon_days: float | None) -> None:
    """A horizon given to a run obeys the language's limit (at most 100 years)."""
    from journeydsl.checks import MAX_HORIZON_DAYS

    if horizon_days is not None and not 0 < horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(f"the horizon must be more than 0 and at most {MAX_HORIZON_DAYS:,.0f} days"
                         f" (100 years), got {horizon_days:g}")


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
    draws of the uncertain parameters (see :mod:`journeydsl.uncertainty`). Scenarios run on common
    random numbers and carry ``versus_baseline`` comparisons. The same journey,
    customers, seed and horizon always give the same numbers, whatever ``workers``
    or ``executor`` (any :class:`concurrent.futures.Executor`, e.g. a Dask cluster's:
    ``distributed.Client(address).get_executor()``).

    A pilot block first estimates the work; a run over ``max_work`` steps
    raises :class:`~journeydsl.montecarlo.TooMuchWork` saying how long it would
    take (``None``: no limit), and ``on_estimate`` hears the estimate.
    """
    from journeydsl.montecarlo import run

    if draws:  # the forecast at the means, with every figure's range over parameter draws
        from journeydsl.uncertainty import simulate_draws

        return simulate_draws(journey, draws, customers, seed, scenarios=scenarios, horizon_days=horizon_days,
                              workers=workers, progress=progress)
    n = journey.customers if customers is None else customers
    _check_horizon(horizon_days)
    results = run(
        _arms(journey, scenarios),
        n,
        seed,
        horizon_days=horizon_days,
        workers=workers,
        progress=progress,
        executor=executor,
        max_work=max_work,
        on_estimate=on_estimate,
    )
    if journey.targets is not None:
        from journeydsl.targets import evaluate

        results.targets = {arm.name: evaluate(journey.targets, arm) for arm in results.arms}
    return results


def forecast(
    journey: Journey,
    plan: str | None = None,
    customers: int | None = None,
    seed: int = 0,
    *,
    progress: ProgressFn | None = None,
) -> Forecast:
    """The month-by-month forecast of the journey's plan ``plan`` (default: its first).

    ``KeyError`` when the journey has no such plan. With a ``targets`` block, the
    targets are also measured, on a plain simulation of the plan's scenario with
    the same customers and seed (so the status is the one ``simulate`` gives).
    """
    from journeydsl.forecast import forecast as _forecast

    fc = _forecast(journey, plan, customers, seed, progress=progress)
    if journey.targets is not None:
        from journeydsl.targets import evaluate

        arm = journey.with_scenario(fc.plan.scenario or "baseline")
        res = simulate(arm, customers, seed)
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

    ``names`` label the arms (default: each file's stem, else the journey's name).
    """
    from journeydsl.montecarlo import run

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
    n = journeys[0].customers if customers is None else customers
    _check_horizon(horizon_days)
    return run(arms, n, seed, horizon_days=horizon_days, workers=workers, progress=progress, executor=executor,
               max_work=max_work, on_estimate=on_estimate)


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

    Returns a :class:`~journeydsl.fit.FitResult`: ``.text`` is the fitted
    journey (fmt-clean), ``.journey`` its model, ``.fits`` the evidence per
    stage, ``.summary()`` the printed goodness of fit. Needs scipy
    (``pip install 'journeydsl[fit]'``).
    """
    from journeydsl.fit import fit_export

    return fit_export(events, into=into, as_of=as_of, shape=shape, map_path=map_path, goal=goal, since=since,
                      strict=strict, money=money)


def flows_from(results: Results, arm: int = 0) -> Flows:
    """The forecast flows of one arm, for drawing on a map (customers per 1,000 on each edge)."""
    from journeydsl.maps import Flows

    chosen = results.arms[arm]
    reach = {name: float(s["reached"]) for name, s in chosen.stages.items()}
    edges = {edge: flow["per_1000"] for edge, flow in chosen.edge_flows().items()}
    triggers = {name: 1000 * float(t["rerouted_per_customer"] or 0) for name, t in chosen.triggers.items()}
    return Flows(per_1000_edges=edges, stage_reach=reach, per_1000_triggers=triggers)


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
) -> bytes | str:
    """Draw the journey map (``svg``, ``png``, ``dot`` or ``mermaid``); write it to ``path`` if given.

    ``flows=True`` simulates first and overlays the forecast (or pass the
    :class:`~journeydsl.results.Results` of an earlier run of the same journey).
    A ``path`` that is the journey's own file is refused with ``RenderError``
    (the map never replaces the journey it was drawn from).
    """
    from journeydsl.maps import RenderError
    from journeydsl.maps import render as _render

    if path is not None and journey.source:
        from journeydsl.fileio import CannotWrite, same_file

        if same_file(path, journey.source):
            raise RenderError(str(CannotWrite(path, "it is the journey's own file; choose another path")))

    drawn = journey.with_scenario(scenario) if scenario else journey
    title = f"{journey.name} — {journey.scenario(scenario).title}" if scenario else None
    overlay = None
    if flows is True:
        results = simulate(drawn, customers=customers, seed=seed)
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
                customers: int | None = None, seed: int = 0, *, workers: int = 1) -> Tornado:
    """The tornado: each uncertain parameter at its 2.5% and 97.5% points (see :mod:`journeydsl.sensitivity`)."""
    from journeydsl.sensitivity import tornado

    return tornado(journey, figure, scenario, customers, seed, workers=workers)


def breakeven(journey: Journey, param: str, scenario: str, figure: str = "value_per_customer",
              customers: int | None = None, seed: int = 0) -> Breakeven:
    """Where ``scenario``'s difference from the baseline crosses zero as ``param`` moves."""
    from journeydsl.sensitivity import breakeven as _breakeven

    return _breakeven(journey, param, scenario, figure, customers, seed)


def attribute(journey: Journey, by: str = "touchpoint", customers: int | None = None, seed: int = 0,
              *, workers: int = 1) -> Attribution:
    """Removal effects, Shapley values and first/last/linear touch per touchpoint, trigger or channel."""
    from journeydsl.attribution import attribute as _attribute

    if by not in ("touchpoint", "trigger", "channel"):
        raise ValueError(f"by must be touchpoint, trigger or channel, not '{by}'")
    return _attribute(journey, by, customers, seed, workers=workers)  # type: ignore[arg-type]

