"""Exact answers by absorbing Markov chain algebra, where the model allows them.

At an unbounded horizon, a journey whose routing does not depend on time is
a Markov chain on its stages (the *embedded jump chain*): from a branch-form
stage the next stage is drawn by share, from a rate-form stage edge k wins
with chance ``hazard_k / sum(hazards)``. With Q the transient-to-transient
block of that chain, the fundamental matrix ``N = (I - Q)^-1`` gives expected
visits; making the goal stages absorbing gives the chance of converting and
the expected time to convert.

What it cannot answer (:class:`ExactUnsupported` says which):

- triggers with ``then``: they reroute at a time in the stay, so the route
  depends on the delay drawn (the chain is no longer Markov on stages);
- a loop customers can travel forever without reaching any stage with no
  way out (expected visits are infinite).

Triggers without ``then`` do not change routes; their cost is not part of
:attr:`ExactResult.cost_on_enter`, which is then ``None``.

>>> from journeydsl.model import Journey, Stage, Transition
>>> j = Journey(name="j", stages=(Stage(name="a", entry=1.0),
...     Stage(name="won", goal=True, terminal=True), Stage(name="lost", terminal=True)),
...     transitions=(Transition(source="a", target="a", share=0.5),
...                  Transition(source="a", target="won", share=0.25),
...                  Transition(source="a", target="lost", otherwise=True)))
>>> r = solve(j)
>>> round(r.conversion, 6), round(r.visits["a"], 6)
(0.5, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from journeydsl.model import Journey

__all__ = ["ExactResult", "ExactUnsupported", "solve"]


class ExactUnsupported(Exception):
    """The journey uses a feature the algebra cannot answer; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExactResult:
    """Exact figures at an unbounded horizon (mixed over segments by share).

    ``conversion``: chance of ever reaching a goal stage; ``visits``: expected
    number of stays in each stage per entering customer;
    ``time_to_convert_days``: mean days from entry to the first goal among
    converters (``None`` when nobody converts); ``revenue_on_enter``: expected
    undiscounted on-enter revenue per customer; ``cost_on_enter``: expected
    undiscounted on-enter costs, touches on enter and ``via`` costs per customer
    (``None`` when triggers add costs the algebra leaves out).
    ``by_segment`` holds the same per segment.
    """

    conversion: float
    visits: dict[str, float]
    time_to_convert_days: float | None
    revenue_on_enter: float
    cost_on_enter: float | None
    by_segment: dict[str, ExactResult] = field(default_factory=dict)


def _chain(
    journey: Journey,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Stage names (+ a final 'stays forever' state), transition matrix P,
    expected delay matrix D (mean delay given the edge taken), the entry
    distribution, and the absorbing states (no way out)."""
    names = [s.name for s in journey.stages]
    idx = {n: i for i, n in enumerate(names)}
    n = len(names) + 1
    stuck = n - 1
    P = np.zeros((n, n))
    D = np.zeros((n, n))
    absorbing = [stuck]
    for st in journey.stages:
        i = idx[st.name]
        edges = journey.out_edges(st.name)
        if not edges:
            P[i, i] = 1.0
            absorbing.append(i)
            continue
        if edges[0].kind == "rate":
            hz = np.array([e.hazard for e in edges])
            if np.isinf(hz).any():
                w = np.isinf(hz).astype(float)
                mean = 0.0
            else:
                w = hz
                mean = 1.0 / hz.sum() if hz.sum() > 0 else 0.0
            if w.sum() == 0:
                P[i, i] = 1.0
                absorbing.append(i)
                continue
            for e, wk in zip(edges, w / w.sum(), strict=True):
                P[i, idx[e.target]] += wk
                D[i, idx[e.target]] = mean
            continue
        listed = sum(e.share or 0.0 for e in edges if not e.otherwise)
        rest = max(0.0, 1.0 - listed)
        for e in edges:
            p = rest if e.otherwise else float(e.share or 0.0)
            delay = e.after or st.dwell
            P[i, idx[e.target]] += p
            D[i, idx[e.target]] = delay.expected() if delay is not None else 0.0
        if not any(e.otherwise for e in edges) and rest > 1e-12:
            P[i, stuck] += rest
    P[stuck, stuck] = 1.0
    pi = np.zeros(n)
    entries = journey.entries
    shares = np.array([float(s.entry or 0.0) for s in entries])
    if shares.sum() <= 0:
        shares = np.ones(len(entries))
    for s, w in zip(entries, shares / shares.sum(), strict=True):
        pi[idx[s.name]] = w
    return [*names, "<stays forever>"], P, D, pi, sorted(absorbing)


def _fundamental(P: np.ndarray, transient: list[int], names: list[str]) -> np.ndarray:
    """``(I - Q)^-1`` over ``transient``; raises when some of them can never leave."""
    g = nx.DiGraph()
    g.add_nodes_from(range(P.shape[0]))
    g.add_edges_from(zip(*np.nonzero(P > 0), strict=True))
    tset = set(transient)
    exits = [i for i in range(P.shape[0]) if i not in tset]
    can_leave: set[int] = set(exits)
    for a in exits:
        can_leave |= nx.ancestors(g, a)
    trapped = [names[i] for i in transient if i not in can_leave]
    if trapped:
        listed = ", ".join(f"'{t}'" for t in trapped)
        raise ExactUnsupported(
            f"customers can loop forever among {listed} without reaching a stage "
            "with no way out, so expected visits are infinite"
        )
    Q = P[np.ix_(transient, transient)]
    return np.linalg.inv(np.eye(len(transient)) - Q)


def _solve_one(journey: Journey) -> ExactResult:
    then = [t.name for t in journey.triggers if t.then_stage is not None and (t.then_share or 0) > 0]
    if then:
        listed = ", ".join(f"'{t}'" for t in then)
        raise ExactUnsupported(
            f"trigger {listed} reroutes customers part-way through a stay ('then'), "
            "so routes depend on time; use the simulation"
        )
    names, P, D, pi, absorbing = _chain(journey)
    n = len(names)
    transient = [i for i in range(n) if i not in absorbing]

    # full chain: expected visits
    visits = np.zeros(n)
    Nf = _fundamental(P, transient, names) if transient else np.zeros((0, 0))
    if transient:
        visits[transient] = pi[transient] @ Nf
        R = P[np.ix_(transient, absorbing)]
        visits[absorbing] = pi[absorbing] + pi[transient] @ Nf @ R
    else:
        visits[absorbing] = pi[absorbing]

    # conversion chain: goal stages absorbing
    goal = [i for i, s in enumerate(journey.stages) if s.goal]
    tc = [i for i in transient if i not in goal]
    h = np.zeros(n)  # chance of reaching a goal from each state
    h[goal] = 1.0
    m_time = np.zeros(n)  # E[T * 1{convert}] from each state
    if tc:
        Nc = _fundamental(P, tc, names)
        r_goal = P[np.ix_(tc, goal)].sum(axis=1)
        h[tc] = Nc @ r_goal
        # time in j counts when the path then converts: sum_k p_jk * tau_jk * h_k
        w = (P[tc] * D[tc] * h[None, :]).sum(axis=1)
        m_time[tc] = Nc @ w
    conv = float(pi @ h)
    ttc = float(pi @ m_time) / conv if conv > 0 else None

    stages = {s.name: s for s in journey.stages}
    enter_rev = np.array(
        [sum(f.amount for f in stages[nm].revenue if f.period_days is None) for nm in names[:-1]] + [0.0]
    )
    tp_cost = {t.name: t.cost for t in journey.touchpoints}
    enter_cost = np.zeros(n)
    via_cost = np.zeros((n, n))
    for nm in names[:-1]:
        st = stages[nm]
        i = names.index(nm)
        enter_cost[i] = sum(f.amount for f in st.costs if f.period_days is None) + sum(
            tp_cost.get(t, 0.0) for t in st.touches
        )
    for e in journey.transitions:
        if e.via:
            via_cost[names.index(e.source), names.index(e.target)] = tp_cost.get(e.via, 0.0)
    leaves = np.array([i in transient for i in range(n)], dtype=float)
    via_per_visit = (P * via_cost).sum(axis=1) * leaves
    cost = float(visits @ (enter_cost + via_per_visit))
    return ExactResult(
        conversion=conv,
        visits={nm: float(visits[i]) for i, nm in enumerate(names[:-1])},
        time_to_convert_days=ttc,
        revenue_on_enter=float(visits @ enter_rev),
        cost_on_enter=None if journey.triggers else cost,
    )


def solve(journey: Journey) -> ExactResult:
    """Exact conversion, visits, time to convert and on-enter money at an unbounded horizon.

    Segments are solved one by one and mixed by share. Raises
    :class:`ExactUnsupported` naming the feature when the algebra cannot answer.
    """
    parts = [(name, share, _solve_one(j)) for name, share, j in journey.segment_journeys()]
    if len(parts) == 1:
        return parts[0][2]
    total = sum(share for _n, share, _r in parts)
    w = [share / total for _n, share, _r in parts]
    conv = sum(wi * r.conversion for wi, (_n, _s, r) in zip(w, parts, strict=True))
    ttc_num = sum(
        wi * r.conversion * r.time_to_convert_days
        for wi, (_n, _s, r) in zip(w, parts, strict=True)
        if r.time_to_convert_days is not None
    )
    names = list(parts[0][2].visits)
    visits = {nm: sum(wi * r.visits.get(nm, 0.0) for wi, (_n, _s, r) in zip(w, parts, strict=True)) for nm in names}
    costs = [r.cost_on_enter for _n, _s, r in parts]
    return ExactResult(
        conversion=conv,
        visits=visits,
        time_to_convert_days=ttc_num / conv if conv > 0 else None,
        revenue_on_enter=sum(wi * r.revenue_on_enter for wi, (_n, _s, r) in zip(w, parts, strict=True)),
        cost_on_enter=None
        if any(c is None for c in costs)
        else sum(wi * (c or 0.0) for wi, c in zip(w, costs, strict=True)),
        by_segment={name: r for name, _s, r in parts},
    )
