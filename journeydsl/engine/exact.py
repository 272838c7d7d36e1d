"""Exact answers by absorbing Markov chain algebra, where the model allows them.

At an unbounded horizon, a journey is a Markov chain on its stages (the
*embedded jump chain*): from a branch-form stage the next stage is drawn by
share, from a rate-form stage edge k wins with chance
``hazard_k / sum(hazards)``. Triggers with ``then`` move the responders still
in the stage at each firing time; the chance of that is the delay's survival
function at the firing time (closed forms for every distribution of the
language, with the regularised incomplete gamma function for gamma and
weibull), so each stay still routes independently of the past. With Q the
transient-to-transient block, the fundamental matrix ``N = (I - Q)^-1`` gives
expected visits; making the goal stages absorbing gives the chance of
converting and, with the expected stay length on each edge (partial means of
the delays), the expected time to convert.

A holdout (``policy { holdout 10% }``) mixes the treated customers with the
held-out ones, whose journey lacks every trigger that sends a marketing
touchpoint; a scenario rolled out to a share mixes its customers with the
base's. Frequency caps and quiet hours make a contact depend on the
customer's earlier contacts and clock: the algebra refuses them.

What it cannot answer (:class:`ExactUnsupported` says so): a loop customers
can travel forever without reaching a stage with no way out (expected visits
are infinite). ``every`` triggers with ``then`` and no ``limit`` are summed
until the chance of not yet having been moved is below 1e-15.

Triggers without ``then`` do not change routes; their cost is not part of
:attr:`ExactResult.cost_on_enter`, which is then ``None``.

>>> from journeydsl.language.model import Journey, Stage, Transition
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

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from journeydsl.language.model import Dist, Journey

__all__ = ["ExactResult", "ExactUnsupported", "held_out", "solve"]


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


class _Law:
    """A stay length: survival ``S(o) = P(X > o)``, partial mean ``PE(x) = E[X 1{X <= x}]``, mean."""

    def __init__(self, dist: Dist | None = None, *, hazard: float | None = None, forever: bool = False):
        self.dist = dist
        self.hazard = hazard
        self.forever = forever

    @property
    def mean(self) -> float:
        if self.forever:
            return math.inf
        if self.hazard is not None:
            return 0.0 if math.isinf(self.hazard) else 1.0 / self.hazard
        return self.dist.expected() if self.dist is not None else 0.0

    def survival(self, o: float) -> float:
        if self.forever:
            return 1.0
        if self.hazard is not None:
            return 0.0 if math.isinf(self.hazard) else math.exp(-self.hazard * o)
        d = self.dist
        if d is None:
            return 0.0
        p = d.params()
        k = d.kind
        if k == "fixed":
            return 1.0 if p["value"] > o else 0.0
        if k == "exponential":
            return math.exp(-o / p["mean"])
        if k == "gamma":
            return 1.0 - _gamma_p(p["shape"], o * p["shape"] / p["mean"])
        if k == "lognormal":
            if o <= 0:
                return 1.0
            if p["sd"] == 0:
                return 1.0 if p["mean"] > o else 0.0
            s2 = math.log1p((p["sd"] / p["mean"]) ** 2)
            mu = math.log(p["mean"]) - s2 / 2
            return 1.0 - _phi((math.log(o) - mu) / math.sqrt(s2))
        if k == "uniform":
            lo, hi = p["low"], p["high"]
            if hi == lo:
                return 1.0 if lo > o else 0.0
            return min(1.0, max(0.0, (hi - o) / (hi - lo)))
        if k == "weibull":
            return math.exp(-((max(o, 0.0) / p["scale"]) ** p["shape"]))
        # normal truncated at zero
        m, sd = p["mean"], p["sd"]
        if sd == 0:
            return 1.0 if m > o else 0.0
        return (1.0 - _phi((o - m) / sd)) / (1.0 - _phi(-m / sd))

    def partial_mean(self, x: float) -> float:
        if math.isinf(x):
            return self.mean
        if self.forever:
            return 0.0
        if self.hazard is not None:
            if math.isinf(self.hazard):
                return 0.0
            return _gamma_p(2.0, self.hazard * x) / self.hazard
        d = self.dist
        if d is None:
            return 0.0
        p = d.params()
        k = d.kind
        if k == "fixed":
            return p["value"] if p["value"] <= x else 0.0
        if k == "exponential":
            return p["mean"] * _gamma_p(2.0, x / p["mean"])
        if k == "gamma":
            return p["mean"] * _gamma_p(p["shape"] + 1, x * p["shape"] / p["mean"])
        if k == "lognormal":
            if x <= 0:
                return 0.0
            if p["sd"] == 0:
                return p["mean"] if p["mean"] <= x else 0.0
            s2 = math.log1p((p["sd"] / p["mean"]) ** 2)
            mu = math.log(p["mean"]) - s2 / 2
            return p["mean"] * _phi((math.log(x) - mu - s2) / math.sqrt(s2))
        if k == "uniform":
            lo, hi = p["low"], p["high"]
            if hi == lo:
                return lo if lo <= x else 0.0
            c = min(max(x, lo), hi)
            return (c * c - lo * lo) / (2 * (hi - lo))
        if k == "weibull":
            a = 1 + 1 / p["shape"]
            return p["scale"] * math.gamma(a) * _gamma_p(a, (max(x, 0.0) / p["scale"]) ** p["shape"])
        m, sd = p["mean"], p["sd"]
        if sd == 0:
            return m if m <= x else 0.0
        a, b = -m / sd, (x - m) / sd
        return (m * (_phi(b) - _phi(a)) + sd * (_pdf(a) - _pdf(b))) / (1.0 - _phi(a))


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _pdf(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _gamma_p(a: float, x: float) -> float:
    """The regularised lower incomplete gamma function P(a, x) (series or continued fraction)."""
    if x <= 0:
        return 0.0
    if math.isinf(x):
        return 1.0
    lg = math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return min(1.0, total * math.exp(-x + a * math.log(x) - lg))
    # Lentz's continued fraction for Q(a, x)
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return max(0.0, 1.0 - math.exp(-x + a * math.log(x) - lg) * h)


def _firings(journey: Journey, stage: str) -> tuple[list[tuple[float, str]], list[tuple[float, float, str]]]:
    """Rerouting triggers of ``stage``: ``(reroute chance, target)`` of the ``enter`` ones
    in file order, then the timed firings in time order as ``(offset, reroute chance, target)``."""
    enter: list[tuple[float, str]] = []
    timed: list[tuple[float, int, int, float, str]] = []
    tps = {t.name: t for t in journey.touchpoints}
    for order, tg in enumerate(t for t in journey.triggers if t.then_stage and (t.then_share or 0) > 0):
        if tg.stage != stage or tg.then_stage is None:
            continue
        if tg.behaviour or tg.unless:
            raise ExactUnsupported(
                f"trigger '{tg.name}' moves customers on a behaviour condition ('when response to',"
                " 'when no response to' or 'unless responded to'): who it moves depends on earlier"
                " contacts of the same customer, which the stage-by-stage algebra does not follow"
            )
        queued = [s for s in tg.send if tps[s].capacity_per_day is not None]
        if queued and journey.arrivals_per_day is not None:
            raise ExactUnsupported(
                f"trigger '{tg.name}' moves customers when task '{queued[0]}' is done, after a wait in its"
                " queue that depends on every other customer's tasks"
            )
        if not tg.send:
            resp = 1.0 if tg.response is None else tg.response
        else:  # responders to any of its contacts, each answered independently
            silent = 1.0
            for s in tg.send:
                r = tg.response if tg.response is not None else tps[s].response
                silent *= 1.0 - (1.0 if r is None else float(r))
            resp = 1.0 - silent
        q = resp * float(tg.then_share or 0.0)
        if tg.when == "enter":
            enter.append((q, tg.then_stage))
        elif tg.when == "in":
            timed.append((float(tg.days or 0.0), order, 1, q, tg.then_stage))
        else:
            days = float(tg.days or 0.0)
            limit = tg.limit if tg.limit is not None else _MAX_FIRINGS
            # stop once the chance of never having been rerouted is negligible
            left, k = 1.0, 1
            while k <= limit and left > 1e-15:
                timed.append((k * days, order, k, q, tg.then_stage))
                left *= 1 - q
                k += 1
    timed.sort()
    return enter, [(o, q, tgt) for o, _order, _k, q, tgt in timed]


_MAX_FIRINGS = 100_000


def _chain(
    journey: Journey,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Stage names (+ a final 'stays forever' state), transition matrix P,
    M = E[stay length x 1{the stay leaves by this edge}], the entry
    distribution, and the absorbing states (no way out)."""
    names = [s.name for s in journey.stages]
    idx = {n: i for i, n in enumerate(names)}
    n = len(names) + 1
    stuck = n - 1
    P = np.zeros((n, n))
    M = np.zeros((n, n))
    absorbing = [stuck]
    for st in journey.stages:
        i = idx[st.name]
        edges = journey.out_edges(st.name)
        options: list[tuple[float, int, _Law]] = []  # (chance, target, stay length)
        if edges and edges[0].kind == "rate":
            hz = np.array([e.hazard for e in edges])
            w = np.isinf(hz).astype(float) if np.isinf(hz).any() else hz
            total = math.inf if np.isinf(hz).any() else float(hz.sum())
            if w.sum() > 0:
                law = _Law(hazard=total)
                options = [(float(wk), idx[e.target], law) for e, wk in zip(edges, w / w.sum(), strict=True)]
        elif edges:
            listed = sum(e.share or 0.0 for e in edges if not e.otherwise)
            rest = max(0.0, 1.0 - listed)
            for e in edges:
                p = rest if e.otherwise else float(e.share or 0.0)
                options.append((p, idx[e.target], _Law(e.after or st.dwell)))
            if not any(e.otherwise for e in edges) and rest > 1e-12:
                options.append((rest, stuck, _Law(forever=True)))
        enter, timed = _firings(journey, st.name)
        if not options:
            if not enter and not timed:
                P[i, i] = 1.0
                absorbing.append(i)
                continue
            options = [(1.0, stuck, _Law(forever=True))]
        for p, tgt, law in options:
            # triggers on entering fire for everyone still there, in file order
            keep = p
            for q, target in enter:
                P[i, idx[target]] += keep * q
                keep *= 1 - q
            # timed firings: rerouted at offset o if still there (X > o) and not rerouted before
            c = 1.0
            prev_o = 0.0
            time_normal = 0.0
            reroute = 0.0
            for o, q, target in timed:
                time_normal += c * (law.partial_mean(o) - law.partial_mean(prev_o))
                mass = keep * law.survival(o) * c * q
                P[i, idx[target]] += mass
                M[i, idx[target]] += mass * o
                reroute += law.survival(o) * c * q
                c *= 1 - q
                prev_o = o
            if not math.isinf(law.mean):
                time_normal += c * (law.mean - law.partial_mean(prev_o))
            P[i, tgt] += keep * (1.0 - reroute)
            if tgt != stuck:
                M[i, tgt] += keep * time_normal
    P[stuck, stuck] = 1.0
    pi = np.zeros(n)
    entries = journey.entries
    shares = np.array([float(s.entry or 0.0) for s in entries])
    if shares.sum() <= 0:
        shares = np.ones(len(entries))
    for s, w in zip(entries, shares / shares.sum(), strict=True):
        pi[idx[s.name]] = w
    return [*names, "<stays forever>"], P, M, pi, sorted(absorbing)


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


def _mix(parts: list[tuple[float, ExactResult]], by_segment: dict[str, ExactResult] | None = None) -> ExactResult:
    """Results of groups of customers mixed by their weights (segments, holdout, rollout)."""
    total = sum(w for w, _r in parts)
    w = [wi / total for wi, _r in parts]
    rs = [r for _w, r in parts]
    conv = sum(wi * r.conversion for wi, r in zip(w, rs, strict=True))
    ttc_num = sum(wi * r.conversion * r.time_to_convert_days
                  for wi, r in zip(w, rs, strict=True) if r.time_to_convert_days is not None)
    names = list(dict.fromkeys(nm for r in rs for nm in r.visits))
    visits = {nm: sum(wi * r.visits.get(nm, 0.0) for wi, r in zip(w, rs, strict=True)) for nm in names}
    costs = [r.cost_on_enter for r in rs]
    return ExactResult(
        conversion=conv,
        visits=visits,
        time_to_convert_days=ttc_num / conv if conv > 0 else None,
        revenue_on_enter=sum(wi * r.revenue_on_enter for wi, r in zip(w, rs, strict=True)),
        cost_on_enter=None if any(c is None for c in costs)
        else sum(wi * (c or 0.0) for wi, c in zip(w, costs, strict=True)),
        by_segment=by_segment or {},
    )


def held_out(journey: Journey) -> Journey:
    """The journey a held-out customer lives: no trigger that sends a marketing (not
    ``transactional``) touchpoint, since such a contact is never made and nobody responds to it."""
    marketing = {t.name for t in journey.touchpoints if not t.transactional}
    return journey.model_copy(update={
        # a trigger that sends only marketing contacts is gone; one that also sends transactional
        # ones keeps those (a trigger that sends nothing has no contact to hold out)
        "triggers": tuple(t if not any(s in marketing for s in t.send)
                          else t.model_copy(update={"send": tuple(s for s in t.send if s not in marketing)})
                          for t in journey.triggers
                          if not t.send or not all(s in marketing for s in t.send)),
        "policy": None,
    })


def _solve_one(journey: Journey) -> ExactResult:
    """One segment's journey; a holdout mixes its treated and held-out customers."""
    pol = journey.policy
    if pol is None or pol.holdout <= 0:
        return _solve_plain(journey)
    plain = journey.model_copy(update={"policy": None})
    if pol.holdout >= 1:
        return _solve_plain(held_out(plain))
    return _mix([(1.0 - pol.holdout, _solve_plain(plain)), (pol.holdout, _solve_plain(held_out(plain)))])


def _solve_plain(journey: Journey) -> ExactResult:
    names, P, M, pi, absorbing = _chain(journey)
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
        w = (M[tc] * h[None, :]).sum(axis=1)
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
    if journey.rollout_base is not None and journey.rollout is not None:
        # rolled out to a share: a mix of the scenario's customers and the base's
        r = journey.rollout
        full = journey.model_copy(update={"rollout": None, "rollout_base": None})
        return _mix([(r, solve(full)), (1.0 - r, solve(journey.rollout_base))])
    pol = journey.policy
    if pol is not None and pol.shapes_contacts:
        what = "frequency caps" if pol.caps else "quiet hours"
        raise ExactUnsupported(
            f"the policy's {what} make whether (and when) a contact is sent depend on each customer's"
            " earlier contacts and clock, which the chain algebra does not follow"
        )
    if any(t.business for _n, _s, j in journey.segment_journeys() for t in j.triggers):
        raise ExactUnsupported(
            "a trigger waits business days: its time depends on the weekday each customer enters the stage,"
            " which ties one stay to the next, and the chain algebra treats stays as independent"
        )
    parts = [(name, share, _solve_one(j)) for name, share, j in journey.segment_journeys()]
    if len(parts) == 1:
        return parts[0][2]
    return _mix([(share, r) for _n, share, r in parts], by_segment={name: r for name, _s, r in parts})
