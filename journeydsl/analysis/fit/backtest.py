"""The backtest: the fitted journey re-run on the data's own cases, compared with the data.

Every case of the export (whose start is known) enters the fitted journey in
the stage and at the time it entered in the data, and is followed only up to
the same cut-off. What the data shows by the cut-off (the share of cases that
reached each stage, the days from entry to the goal) is then set beside what
the fitted journey gives. Only the stage-to-stage figures are re-run: the
journey's triggers, segments and money are not part of the backtest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from journeydsl.analysis.fit.readers import DAY

if TYPE_CHECKING:
    from journeydsl.analysis.fit.core import FitResult

__all__ = ["Backtest", "backtest"]

MAX_STEPS = 200
#: re-runs of every case averaged on the fitted journey's side
REPEATS = 20


@dataclass
class Backtest:
    """Data against the fitted journey, by the same cut-off."""

    cases: int
    funnel: list[tuple[str, float, float]]  # stage, data share reached, fitted share reached
    convert_data: np.ndarray  # days from entry to the goal, data
    convert_sim: np.ndarray  # the same, fitted journey
    emd_days: float | None
    runs: int = 1


def _simulate(r: FitResult, start_stage: np.ndarray, follow_days: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Walk each case through the fitted journey; (reached[case, stage], goal_days[case] or NaN)."""
    from journeydsl.engine.montecarlo.sampling import sampler

    j = r.journey
    index = {name: i for i, name in enumerate(r.names)}
    rng = np.random.default_rng(seed)
    n = start_stage.size
    reached = np.zeros((n, len(r.names)), dtype=bool)
    reached[np.arange(n), start_stage] = True
    goal_keys = [index[s.name] for s in j.stages if s.goal and s.name in index]
    goal_days = np.full(n, np.nan)
    for g in goal_keys:
        goal_days[start_stage == g] = 0.0
    where = start_stage.copy()
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    stages = {s.name: s for s in j.stages}
    in_journey = np.array([index[name] for name in stages if name in index])
    for _ in range(MAX_STEPS):
        alive &= np.isin(where, in_journey)
        if not alive.any():
            break
        for name, stage in stages.items():
            if name not in index:
                continue
            k = index[name]
            who = np.flatnonzero(alive & (where == k))
            if who.size == 0:
                continue
            out = [t for t in j.transitions if t.source == name]
            if stage.terminal or not out:
                alive[who] = False
                continue
            if out[0].kind == "rate":
                hazards = np.array([t.hazard for t in out])
                if np.isinf(hazards).any():  # a 100% rate: the stay ends at once, by one of those exits
                    hazards = np.isinf(hazards).astype(float)
                    delay = np.zeros(who.size)
                else:
                    delay = (rng.exponential(1.0 / hazards.sum(), who.size) if hazards.sum() > 0
                             else np.full(who.size, np.inf))
                total = hazards.sum()
                pick = (rng.choice(len(out), size=who.size, p=hazards / total) if total > 0
                        else np.zeros(who.size, dtype=np.int64))
            else:
                shares = np.array([t.share or 0.0 for t in out])
                rest = max(0.0, 1.0 - shares.sum())
                other = [i for i, t in enumerate(out) if t.otherwise]
                if other:
                    shares[other[0]] = rest
                    rest = 0.0
                probs = np.append(shares, rest)
                pick = rng.choice(len(probs), size=who.size, p=probs / probs.sum())
                delay = np.zeros(who.size)
                if stage.dwell is not None:
                    delay = sampler(stage.dwell).draw(rng, who.size)
                for i, t in enumerate(out):
                    if t.after is not None:
                        sel = pick == i
                        delay[sel] = sampler(t.after).draw(rng, int(sel.sum()))
                stay = pick == len(out)
                delay[stay] = np.inf
            clock[who] += delay
            late = clock[who] > follow_days[who]
            alive[who[late]] = False
            moving = who[~late]
            targets = np.array([index[t.target] for t in out])[pick[~late]]
            where[moving] = targets
            reached[moving, targets] = True
            for g in goal_keys:
                first = moving[(targets == g) & np.isnan(goal_days[moving])]
                goal_days[first] = clock[first]
    return reached, goal_days


def backtest(r: FitResult, *, seed: int = 0, runs: int = REPEATS) -> Backtest | None:
    """The fitted journey against the data by the same cut-off (``None`` without cases of known start).

    The fitted journey's side is the average of ``runs`` re-runs of every case (capped at 10^6
    simulated cases), so that its own noise is small beside the data's.
    """
    from scipy import stats as sps

    st = r.stays
    known = np.isfinite(st.case_first_time)
    if not known.any():
        return None
    cases = np.unique(st.entries_case)
    first_stage = st.case_first_stage[known]
    first_time = st.case_first_time[known]
    follow = (r.as_of - first_time) / DAY
    runs = max(1, min(runs, 1_000_000 // max(first_stage.size, 1)))
    reached_sim, goal_sim = _simulate(r, np.tile(first_stage, runs), np.tile(follow, runs), seed)
    # the data: which stages each case (of known start) reached by the cut-off
    pos = {int(c): i for i, c in enumerate(cases[known])}
    rows = np.array([pos.get(int(c), -1) for c in st.entries_case])
    ok = rows >= 0
    reached_data = np.zeros((first_stage.size, reached_sim.shape[1]), dtype=bool)
    reached_data[rows[ok], st.entries_stage[ok]] = True
    goal_keys = {i for i, name in enumerate(r.names) if name in r.goal}
    goal_data = np.full(rows.max() + 1 if ok.any() else 0, np.inf)
    for i in np.flatnonzero(ok & np.isin(st.entries_stage, list(goal_keys))):
        goal_data[rows[i]] = min(goal_data[rows[i]], (st.entries_time[i] - first_time[rows[i]]) / DAY)
    convert_data = goal_data[np.isfinite(goal_data)]
    convert_sim = goal_sim[np.isfinite(goal_sim)]
    funnel = [(r.names[k], float(reached_data[:, k].mean()), float(reached_sim[:, k].mean()))
              for k in range(len(r.names)) if reached_data[:, k].any() or reached_sim[:, k].any()]
    emd = (float(sps.wasserstein_distance(convert_data, convert_sim))
           if convert_data.size and convert_sim.size else None)
    return Backtest(int(known.sum()), funnel, convert_data, convert_sim, emd, runs)
