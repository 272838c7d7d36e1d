"""One forecast run of a journey: its arms (baseline and scenarios), simulated, with targets judged.

The Python API's ``simulate`` and the parameter draws of
:mod:`journeydsl.analysis.uncertainty` both run a journey this way, so a draw
is exactly the plain forecast with other values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from journeydsl.language.checks import DEFAULT_MAX_WORK
from journeydsl.language.errors import did_you_mean
from journeydsl.language.model import Journey

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.engine.montecarlo import WorkEstimate
    from journeydsl.engine.results import Results

__all__ = ["arms_of", "check_horizon", "judge_targets", "simulate_arms"]


def arms_of(journey: Journey, scenarios: Sequence[str] | None) -> list[tuple[str, Journey]]:
    """The baseline and the chosen scenarios (``None``: all of them) as simulation arms."""
    names = [s.name for s in journey.scenarios] if scenarios is None else list(scenarios)
    known = {s.name for s in journey.scenarios}
    for name in names:
        if name not in known:
            hint = did_you_mean(name, known)
            raise KeyError(
                f"no scenario '{name}' in '{journey.name}'" + (f"; {hint}" if hint else "")
            )
    # the baseline arm keeps the file's scenario list: the engine ignores it except to label the arms
    return [("baseline", journey)] + [
        (name, journey.with_scenario(name)) for name in names
    ]


def check_horizon(horizon_days: float | None) -> None:
    """A horizon given to a run obeys the language's limit (at most 100 years)."""
    from journeydsl.language.checks import MAX_HORIZON_DAYS

    if horizon_days is not None and not 0 < horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(f"the horizon must be more than 0 and at most {MAX_HORIZON_DAYS:,.0f} days"
                         f" (100 years), got {horizon_days:g}")


def simulate_arms(
    journey: Journey,
    customers: int | None = None,
    seed: int = 0,
    *,
    scenarios: Sequence[str] | None = (),
    horizon_days: float | None = None,
    workers: int = 1,
    progress: Callable[[float, int], None] | None = None,
    executor: Executor | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
) -> Results:
    """The plain forecast (see :func:`journeydsl.api.simulate`, which documents every argument)."""
    from journeydsl.engine.montecarlo import run

    n = journey.customers if customers is None else customers
    check_horizon(horizon_days)
    results = run(
        arms_of(journey, scenarios),
        n,
        seed,
        horizon_days=horizon_days,
        workers=workers,
        progress=progress,
        executor=executor,
        max_work=max_work,
        on_estimate=on_estimate,
    )
    return judge_targets(journey, results)


def judge_targets(journey: Journey, results: Results) -> Results:
    """``results`` with each arm judged against the journey's KPI targets (if it has any)."""
    if journey.targets is not None:
        from journeydsl.analysis.targets import evaluate

        results.targets = {arm.name: evaluate(journey.targets, arm) for arm in results.arms}
    return results
