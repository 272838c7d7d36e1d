"""Probabilistic forecasts: the journey simulated under many draws of its uncertain parameters.

Two nested levels. The outer one draws every uncertain parameter ``draws``
times, each from its own stream (:func:`journeydsl.language.params.draw_uniforms`);
the inner one simulates the customers of each draw with the *same* block
seeds as the plain run (common random numbers across draws and across
scenarios), so the spread of a figure over the draws reflects what is not
known about the parameters, not simulation noise.

:func:`simulate_draws` returns the plain run at the parameters' means (with
its Monte Carlo ``ci95`` as always) carrying, for every figure, the draws'
``uncertainty {mean, interval95, draws}``; comparisons add ``p_better``, the
share of draws in which the scenario beats the baseline, and each scenario its
``p_best``, the share of draws in which it has the highest value per customer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from journeydsl.engine.results import Results
from journeydsl.language.checks import DEFAULT_MAX_WORK
from journeydsl.language.compile import recompile
from journeydsl.language.model import Journey, Param
from journeydsl.language.params import draw_uniforms

__all__ = ["all_params", "draw_names", "figure_paths", "simulate_draws", "uncertain_params"]

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.engine.montecarlo import WorkEstimate

Path = tuple[Any, ...]


def all_params(journey: Journey) -> list[Param]:
    """Every parameter: the journey's (named, then inline), then each variant's own."""
    out = list(journey.params)
    for seg in journey.segments:
        out.extend(seg.overrides.params)
    for sc in journey.scenarios:
        out.extend(sc.overrides.params)
    return out


def uncertain_params(journey: Journey) -> list[Param]:
    """The parameters with a spread (plain constants left out), each stream once.

    A variant's own value of a named parameter (``scenario s { param close = ... }``)
    shares the stream of the journey's ``close``, so it is not listed again.
    """
    names = {p.name for p in journey.params}
    out: list[Param] = []
    for p in all_params(journey):
        base_name = p.name.split(": ", 1)[1] if ": " in p.name and not p.inline else None
        if base_name is not None and base_name in names:
            continue
        if p.uncertain:
            out.append(p)
    return out


def draw_names(journey: Journey) -> list[str]:
    """The names of the random streams a draw takes a value from."""
    return [p.name for p in uncertain_params(journey)]


def _flatten(node: Any, path: Path, out: dict[Path, float]) -> None:
    """Every figure with a ``ci95`` in a results dict, by its path (its mean, or its delta)."""
    if isinstance(node, dict):
        if "ci95" in node and ("mean" in node or "delta" in node):
            v = node.get("mean", node.get("delta"))
            out[path] = float(v) if isinstance(v, int | float) and math.isfinite(v) else math.nan
            return
        for k, v in node.items():
            if k != "charts":
                _flatten(v, (*path, k), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _flatten(v, (*path, i), out)


def figure_paths(results: Results) -> dict[Path, float]:
    """Each figure of ``results`` (that has a Monte Carlo interval) by its path in ``to_dict()``."""
    out: dict[Path, float] = {}
    _flatten(results.to_dict()["scenarios"], ("scenarios",), out)
    return out


def stream_of(journey: Journey, param: Param) -> str:
    """The random stream a parameter draws from: a variant's own value of a named parameter uses the base's."""
    if ": " in param.name and not param.inline:
        base = param.name.split(": ", 1)[1]
        if any(p.name == base for p in journey.params):
            return base
    return param.name


def draw_values(journey: Journey, seed: int, draws: int) -> dict[str, np.ndarray]:
    """Every uncertain parameter's value in each draw (a variant's own ones included), by name.

    Each value is its distribution's quantile at its stream's uniform number, computed
    for all draws at once.
    """
    streams = {name: draw_uniforms(seed, name, draws) for name in draw_names(journey)}
    out: dict[str, np.ndarray] = {}
    for p in all_params(journey):
        u = streams.get(stream_of(journey, p))
        if u is not None:
            out[p.name] = p.distribution().quantile(u)
    return out


def simulate_draws(
    journey: Journey,
    draws: int,
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
    """The plain forecast at the parameters' means, with every figure's spread over ``draws`` draws.

    The plain run and every draw (the journey compiled with the drawn values) are
    one job of (draw, arm, block) units for the engine (:func:`run_many`), spread
    over ``workers`` processes or ``executor``; each draw keeps only its figures.
    The result is the same whatever ``workers`` or ``executor``. ``max_work`` and
    ``on_estimate`` concern the whole job (the plain run and every draw);
    ``progress`` counts the blocks of all of them.
    """
    from journeydsl.analysis.runs import arms_of, check_horizon, judge_targets
    from journeydsl.engine.montecarlo import block_sizes, check_job, run_many

    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    n = journey.customers if customers is None else customers
    check_horizon(horizon_days)
    # the whole job's work, judged on the plain run before a draw is compiled (a hundred thousand
    # draws take half a minute to compile alone)
    check_job(arms_of(journey, scenarios), n, seed, draws + 1, horizon_days=horizon_days, max_work=max_work,
              on_estimate=on_estimate)
    values = draw_values(journey, seed, draws)
    nb = len(block_sizes(n))
    out: list[Any] = []
    # the plain run (0) and the draws (1..draws) go to the engine DRAW_CHUNK at a time: each run's
    # numbers are its own whatever runs share its job, and memory holds one chunk's compiled draws
    # (about 0.2 MB a draw for the fitness example), not all of them
    for start in range(0, draws + 1, DRAW_CHUNK):
        chunk = range(start, min(draws + 1, start + DRAW_CHUNK))
        journeys = [journey if r == 0 else recompile(journey, values={k: float(v[r - 1]) for k, v in values.items()})
                    for r in chunk]

        def finish(r: int, res: Results, journeys: list[Journey] = journeys, first: int = start) -> Any:
            judge_targets(journeys[r], res)
            return res if first + r == 0 else figure_paths(res)

        def tell(done: float, _total: int, first: int = start) -> None:
            if progress is not None:
                progress(first * nb + done, (draws + 1) * nb)

        out += run_many([arms_of(j, scenarios) for j in journeys], n, seed, horizon_days=horizon_days,
                        workers=workers, progress=tell, executor=executor, max_work=None, finish=finish)
    base: Results = out[0]
    base.uncertainty = summarise(base, out[1:], journey)
    return base


#: Runs (the plain one and the draws) handed to the engine at once by :func:`simulate_draws`.
DRAW_CHUNK = 500


def summarise(base: Results, per_draw: list[dict[Path, float]], journey: Journey) -> dict[str, Any]:
    """Every figure's mean and 95% range over the draws, ``p_better`` and ``p_best``."""
    draws = len(per_draw)
    plain = figure_paths(base)
    figures: dict[Path, dict[str, Any]] = {}
    data = base.to_dict()
    for path in plain:
        values = np.array([d.get(path, math.nan) for d in per_draw], dtype=float)
        ok = values[np.isfinite(values)]
        if ok.size == 0:
            continue
        lo, hi = np.quantile(ok, [0.025, 0.975])
        entry: dict[str, Any] = {"mean": float(ok.mean()), "interval95": [float(lo), float(hi)],
                                 "draws": int(ok.size)}
        if "versus_baseline" in path:
            node: Any = data
            for k in path:
                node = node[k]
            higher = node.get("better", "higher") == "higher"
            wins = np.where(ok > 0, 1.0, np.where(ok < 0, 0.0, 0.5))
            entry["p_better"] = float((wins if higher else 1.0 - wins).mean())
        figures[path] = entry
    # P(best): the share of draws in which each arm has the highest value per customer (ties shared)
    arms = [a["name"] for a in data["scenarios"]]
    key = [("scenarios", i, "metrics", "value_per_customer") for i in range(len(arms))]
    best = np.zeros(len(arms))
    for d in per_draw:
        vals = np.array([d.get(k, math.nan) for k in key])
        if not np.all(np.isfinite(vals)):
            continue
        top = vals == vals.max()
        best += top / top.sum()
    p_best = {name: float(b / draws) for name, b in zip(arms, best, strict=True)}
    params = []
    for p in uncertain_params(journey):
        lo, hi = p.distribution().interval95()
        params.append({"name": p.name, "label": p.title, "kind": p.kind, "written": p.text,
                       "mean": p.mean, "interval95": [lo, hi]})
    return {"draws": draws, "figures": figures, "p_best": p_best, "parameters": params}
