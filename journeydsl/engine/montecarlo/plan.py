"""A journey compiled into flat numbers and arrays the engine can loop over.

:func:`compile_plan` is done once per arm and segment; the result is a
picklable value (workers receive it), free of pydantic objects.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from journeydsl.engine.montecarlo.gate import GatePlan
from journeydsl.engine.montecarlo.sampling import Sampler, sampler
from journeydsl.engine.results import TallyShape
from journeydsl.language.digraph import Adjacency, adjacency, reach, strongly_connected
from journeydsl.language.model import Calendar, Journey, Stage, Transition, Trigger

__all__ = ["PhaseCounts", "Plan", "StagePlan", "TriggerPlan", "compile_plan", "gate_plan"]


@dataclass(frozen=True)
class TriggerPlan:
    """One trigger on a stage: when it fires, what it costs, whom it reroutes."""

    index: int
    when: str  # "enter" | "in" | "every"
    days: float
    touch: int  # touchpoint index, -1 for none
    cost: float
    response: float
    then_share: float  # 0 when there is no `then`
    then_target: int  # -1 when there is no `then`
    limit: int | None
    slot: int = -1  # the exit slot of the stage its reroutes use
    business: tuple[float, ...] | None = None  # business days: the wait in days by weekday of entry (Mon = 0)
    # the contacts it makes: touchpoint indices and, per touchpoint, the shares of those
    # contacted who reach each step of its response (the last step is the response)
    sends: tuple[int, ...] = ()
    send_steps: tuple[np.ndarray, ...] = ()
    behaviour: str = ""  # "" (fires on time in the stage) | "response" | "no_response"
    parent: tuple[int, int] = (-1, -1)  # behaviour: the (touchpoint, step) it answers
    unless: tuple[int, ...] = ()  # Plan.tracked slots: customers who responded there are left out


@dataclass
class StagePlan:
    """Everything the engine needs about one stage."""

    index: int
    name: str
    goal: bool
    active: bool
    mode: str  # "none" | "branch" | "rate"
    # branch form: cumulative shares of the listed branches; a draw past the
    # last one stays forever. targets/via per branch; delays per branch (None: zero).
    cum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    targets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    via: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    delays: list[Sampler | None] = field(default_factory=list)
    stay_forever: bool = False  # a remainder with no `otherwise`
    # rate form
    hazard: float = 0.0
    rate_cum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # money and contacts on enter / during the stay
    enter_revenue: float = 0.0
    enter_cost: float = 0.0  # on-enter costs plus the cost of touches on enter
    touches: tuple[int, ...] = ()
    periodic_revenue: tuple[tuple[float, float], ...] = ()  # (amount, period days)
    periodic_cost: tuple[tuple[float, float], ...] = ()
    purchases: tuple[tuple[float, Sampler], ...] = ()  # (rate per day, worth)
    refers: float = 0.0  # new arrivals each entry brings (logged by age for calendar forecasts)
    triggers: tuple[TriggerPlan, ...] = ()
    events: bool = False  # its triggers fire one by one, in time order, per customer (engine._events)
    rich_touches: tuple[int, ...] = ()  # touches on enter made one by one (engine._Block.send)
    revisitable: bool = False
    # exit slots: the edges (in order), then one per rerouting trigger
    out_targets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    out_edges: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # counters in Tally.exits
    sink: bool = False  # nothing happens here and nobody leaves: only counted
    needs_d0: bool = False  # some money or contact at entry or during the stay
    flag: int = -1  # the phase whose per-customer "entered" flag a visit here sets (-1: none)
    out_active: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # per exit slot: into an active stage
    km_moves: bool = False  # some exit crosses between active and inactive stages (retention counts it)
    after_conv: bool = False  # a converter can be here: a goal stage, or one reachable from one
    # per exit slot, worked out once: (target stage, its counter in Tally.exits, the target is a sink,
    # the `via` touchpoint or -1, the target's phase flag or -1); and whether some slot leads to a sink
    exit_slots: tuple[tuple[int, int, bool, int, int], ...] = ()
    to_sink: bool = False
    # a stage where a stay is nothing but its exit: per exit slot, whether the delays of those
    # leaving by it are only summed (see _Stays._quick_stay); () when the stage is not such
    quick_skip: tuple[bool, ...] = ()

    @functools.cached_property
    def delay_table(self) -> tuple[np.ndarray, tuple[tuple[int, Sampler], ...]]:
        """Per branch, its delay when it is the same for everyone (none or fixed), then ``inf`` for
        the slot past the last (stays forever); and the branches whose delays are drawn, in order.
        Worked out once per stage plan (blocks and arms sharing the plan share it)."""
        fixed = [0.0 if d is None else d.a if d.kind == "fixed" else 0.0 for d in self.delays]
        drawn = tuple((k, d) for k, d in enumerate(self.delays) if d is not None and d.kind != "fixed")
        return np.array([*fixed, math.inf]), drawn


@dataclass(frozen=True)
class PhaseCounts:
    """A plan's phases by how a block counts the customers who reached them (``Plan.phase_method``).

    ``stage`` phases (one stage): that stage's reach. ``entries`` phases: the visits to
    their stages less the moves between two of their stages, summed per phase
    (``bincount`` of counts, which are whole numbers: exact in any order). ``flags``
    phases: the block's per-customer flags.
    """

    stage_phases: np.ndarray  # "stage" phases with a stage, and that stage
    stage_of: np.ndarray
    entry_phases: np.ndarray  # "entries" phases
    entry_stages: np.ndarray  # their stages, and the phase of each
    entry_stage_phase: np.ndarray
    inner_edges: np.ndarray  # the counters of the moves inside them, and the phase of each
    inner_edge_phase: np.ndarray
    flag_phases: tuple[int, ...]

    @classmethod
    def of(cls, plan: Plan) -> PhaseCounts:
        stage_p: list[int] = []
        stage_of: list[int] = []
        entry_p: list[int] = []
        e_st: list[int] = []
        e_st_p: list[int] = []
        e_in: list[int] = []
        e_in_p: list[int] = []
        flags: list[int] = []
        for p, how in enumerate(plan.phase_method):
            members = plan.phase_members[p]
            if how == "flags":
                flags.append(p)
            elif members.size == 0:
                continue
            elif how == "stage":
                stage_p.append(p)
                stage_of.append(int(members[0]))
            else:
                entry_p.append(p)
                e_st.extend(members.tolist())
                e_st_p.extend([p] * members.size)
                e_in.extend(plan.phase_inner[p])
                e_in_p.extend([p] * len(plan.phase_inner[p]))

        def ints(x: list[int]) -> np.ndarray:
            return np.array(x, np.int64)

        return cls(ints(stage_p), ints(stage_of), ints(entry_p), ints(e_st), ints(e_st_p), ints(e_in),
                   ints(e_in_p), tuple(flags))


@dataclass
class Plan:
    """A journey ready to simulate: stages by index, entry shares, settings."""

    name: str
    stages: list[StagePlan]
    entry_cum: np.ndarray
    entry_stages: np.ndarray
    horizon: float
    delta: float  # continuous discount rate per day: ln(1 + r) / 365
    ltv_window: float  # days each converter is followed after conversion for LTV
    tp_cost: np.ndarray
    tp_response: np.ndarray
    shape: TallyShape
    has_active: bool
    # per phase of ``shape.phases``: its stage indices here, and how its reach is counted:
    # "stage" (one stage: its reach), "entries" (never re-entered once left: entries into it
    # from visits and exits), "flags" (a per-customer flag per block)
    phase_members: tuple[np.ndarray, ...] = ()
    phase_method: tuple[str, ...] = ()
    # per phase: the counters in Tally.exits of the moves between two of its stages
    phase_inner: tuple[tuple[int, ...], ...] = ()
    touch_paths: bool = False  # keep each customer's contacts before converting (first/last/linear touch)
    gate: GatePlan | None = None  # the journey's contact policy (None: every contact goes out as due)
    # a scenario rolled out to a share of the customers: the share, and the plan the others stay on
    rollout: float | None = None
    rollout_base: Plan | None = None
    # a queue's first run (montecarlo._with_waits): only the task requests are wanted, so a block
    # stops after its customers' stays (no LTV follow-up, no final tallies)
    requests_only: bool = False

    @functools.cached_property
    def follow_up(self) -> Plan:
        """The plan converters are followed on for their LTV: this one over the LTV window
        (made once, with what it works out once)."""
        return replace(self, horizon=self.ltv_window)

    @functools.cached_property
    def ltv_goes_on(self) -> bool:
        """Whether converters' LTV goes on from where each one is at the horizon (see
        ``ltv._LifetimeValues._resumed_values``) instead of following them afresh from conversion:
        when the window is the horizon, and neither a contact policy nor an ``unless`` keeps
        memory of contacts, and no stage a converter can be in has triggers (whose firings
        past the horizon the stay at the horizon would have to take up)."""
        if self.ltv_window != self.horizon or self.gate is not None or self.tracked:
            return False
        return not any(sp.triggers for sp in self.stages if sp.after_conv)

    @functools.cached_property
    def revisitable_stages(self) -> tuple[int, ...]:
        """The stages a customer can enter more than once (each block remembers who has)."""
        return tuple(sp.index for sp in self.stages if sp.revisitable)

    @functools.cached_property
    def phase_counts(self) -> PhaseCounts:
        """How each block counts who reached each phase, as index arrays (see :class:`PhaseCounts`)."""
        return PhaseCounts.of(self)

    @functools.cached_property
    def needs_draws(self) -> bool:
        """Whether customers need their policy, rollout or week draws (see ``gate.gate_draws``)."""
        return (self.gate is not None or self.rollout_base is not None
                or any(t.business is not None for sp in self.stages for t in sp.triggers))

    @property
    def asks_for_tasks(self) -> bool:
        """Whether a customer may ask for a task with a queue: a stage's or a move's contact, or a
        trigger's that the policy lets through (a whole holdout stops every one not transactional)."""
        queue = self.tp_queue
        if not queue.any():
            return False
        gate = self.gate
        shut = gate is not None and gate.holdout >= 1.0
        for sp in self.stages:
            if any(queue[t] for t in sp.rich_touches) or any(v >= 0 and queue[v] for v in sp.via.tolist()):
                return True
            if any(queue[t] and (not shut or (gate is not None and gate.exempt[t])) for tr in sp.triggers
                   for t in tr.sends):
                return True
        return self.rollout_base is not None and self.rollout_base.asks_for_tasks

    # per touchpoint: the shares of those contacted who reach each step of its response (the
    # last is the response), the cost per responder, whether each contact is made one by one
    # (engine._Block.send: a cost on response, a response some trigger waits for or a task
    # queue needs), and whether it is a task whose requests are logged for its queue
    tp_steps: tuple[np.ndarray, ...] = ()
    tp_resp_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tp_rich: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    tp_queue: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    tp_step_pos: tuple[np.ndarray, ...] = ()  # per touchpoint: each step's counter in Tally.tp_steps (-1: none)
    # per touchpoint: the waits a task's requests are drawn from (its queue, from a first run;
    # empty: done at once). Set by montecarlo.run, not by compile_plan.
    tp_waits: tuple[np.ndarray, ...] = ()
    # (touchpoint, step) pairs whose responses are remembered per customer (``unless``)
    tracked: tuple[tuple[int, int], ...] = ()


#: Stage plans already made in a run (see :func:`compile_plan`'s ``memo``), and graph facts
StageMemo = dict[tuple[object, ...], tuple[tuple[object, ...], Any]]


def compile_plan(journey: Journey, shape: TallyShape, memo: StageMemo | None = None) -> Plan:
    """Turn a (segment's or scenario's) journey into a :class:`Plan` over ``shape``'s names.

    ``shape`` fixes the index of every stage, touchpoint and trigger so that
    the tallies of all segments of an arm line up.

    ``memo`` (one dict for the plans of a run): a stage whose stage, transitions and
    triggers are the very objects of a stage compiled before (arms and segments share
    every item their changes leave alone), with the same figures of the touchpoints it
    uses, reuses that stage's plan instead of compiling it again.
    """
    sidx = {name: i for i, name in enumerate(shape.stages)}
    eidx = shape.edge_index()
    tidx = {name: i for i, name in enumerate(shape.touchpoints)}
    gidx = {name: i for i, name in enumerate(shape.triggers)}
    tps = {t.name: t for t in journey.touchpoints}
    nt = len(shape.touchpoints)
    tp_cost = np.zeros(nt)
    tp_resp = np.ones(nt)
    tp_steps: list[np.ndarray] = [np.ones(1) for _ in range(nt)]
    tp_resp_cost = np.zeros(nt)
    tp_queue = np.zeros(nt, bool)
    for name, i in tidx.items():
        if name in tps:
            tp = tps[name]
            tp_cost[i] = tp.cost
            r = tp.response
            tp_resp[i] = 1.0 if r is None else r
            tp_steps[i] = np.array([v for _s, v in tp.steps]) if tp.steps else np.array([tp_resp[i]])
            tp_resp_cost[i] = tp.response_cost
            tp_queue[i] = tp.capacity_per_day is not None

    def step_of(tp_name: str, step: str | None) -> tuple[int, int]:
        i = tidx[tp_name]
        found = tps.get(tp_name)
        known = found.step_names if found is not None else ()
        return i, (known.index(step) if step in known else len(tp_steps[i]) - 1)

    offsets = shape.step_offsets()
    tp_step_pos: list[np.ndarray] = []
    for name, i in tidx.items():
        found = tps.get(name)
        known = shape.steps[i] if i < len(shape.steps) else ()
        step_names = found.step_names if found is not None else ()
        tp_step_pos.append(np.array([offsets[i] + known.index(s) if s in known else -1 for s in step_names], np.int64))
    tracked = tuple(dict.fromkeys(step_of(n, s) for tg in journey.triggers for n, s in tg.unless))
    slot_of = {ts: k for k, ts in enumerate(tracked)}
    tp_rich = tp_queue | (tp_resp_cost > 0)
    for i, _k in tracked:
        tp_rich[i] = True

    # which stages can be entered more than once (on a cycle, trigger reroutes included), and
    # which phases can be left and entered again: worked out once per shape of the graph
    in_phase: dict[str | None, list[str]] = {}
    for st in journey.stages:
        in_phase.setdefault(st.phase, []).append(st.name)
    groups = tuple(tuple(in_phase.get(label, ())) for label in shape.phases)
    names = tuple(s.name for s in journey.stages)
    rerouting = tuple(tg for tg in journey.triggers if tg.then_stage is not None)
    # in a run, by the identity of the transitions (arms and segments share most of them):
    # cheaper than the key of the cache below, which is made of every edge's names
    graph_key = ("graph", tuple(map(id, journey.transitions)), tuple(map(id, rerouting)), names, groups)
    graph_done = memo.get(graph_key) if memo is not None else None
    if graph_done is not None:
        cyclic, reenter = graph_done[1]
    else:
        cyclic, reenter = _graph_facts(
            (*(t.key for t in journey.transitions), *((tg.stage, tg.then_stage) for tg in rerouting)),
            names,
            groups,
        )
        if memo is not None:
            memo[graph_key] = ((journey.transitions, rerouting), (cyclic, reenter))

    # transitions and triggers by stage, gathered once (not a scan of all of them per stage)
    out_edges: dict[str, list[Transition]] = {}
    for edge in journey.transitions:
        out_edges.setdefault(edge.source, []).append(edge)
    triggers_of: dict[str, list[Trigger]] = {}
    for tg in journey.triggers:
        triggers_of.setdefault(tg.stage, []).append(tg)

    plans: list[StagePlan] = []
    for st in sorted(journey.stages, key=lambda s: sidx[s.name]):
        i = sidx[st.name]
        edges = out_edges.get(st.name, [])
        key = None
        if memo is not None:
            key = _stage_key(st, edges, triggers_of.get(st.name, ()), shape, st.name in cyclic,
                             tidx, tp_cost, tp_resp, tp_rich, tp_steps)
            done = memo.get(key) if key is not None else None
            if done is not None:
                plans.append(_copied(done[1]))
                continue
        sp = StagePlan(index=i, name=st.name, goal=st.goal, active=st.active, mode="none")
        if edges and edges[0].kind == "rate":
            sp.mode = "rate"
            hz: np.ndarray = np.array([e.hazard for e in edges])
            sp.targets = np.array([sidx[e.target] for e in edges], np.int64)
            sp.via = np.array([tidx[e.via] if e.via else -1 for e in edges], np.int64)
            if np.isinf(hz).any():
                # a 100% rate leaves at once; several such edges split evenly
                hz = np.where(np.isinf(hz), 1.0, 0.0)
                sp.hazard = math.inf
            else:
                sp.hazard = float(hz.sum())
            sp.rate_cum = np.cumsum(hz) / hz.sum() if hz.sum() > 0 else np.ones(len(hz))
            if sp.hazard == 0:
                sp.mode = "none"
        elif edges:
            sp.mode = "branch"
            listed = sum(e.share or 0.0 for e in edges if not e.otherwise)
            rest = max(0.0, 1.0 - listed)
            # drawn uncertain shares may add up past 100%: scale them down together
            # (a checked journey never does, so this changes nothing else)
            scale = 1.0 / listed if listed > 1.0 else 1.0
            shares = [rest if e.otherwise else float(e.share or 0.0) * scale for e in edges]
            sp.cum = np.cumsum(shares)
            has_otherwise = any(e.otherwise for e in edges)
            if has_otherwise:
                sp.cum[-1] = 1.0 + 1e-9  # never stay forever by rounding
            sp.stay_forever = not has_otherwise and listed < 1.0 - 1e-12
            sp.targets = np.array([sidx[e.target] for e in edges], np.int64)
            sp.via = np.array([tidx[e.via] if e.via else -1 for e in edges], np.int64)
            dwell = sampler(st.dwell) if st.dwell is not None else None
            sp.delays = [sampler(e.after) if e.after is not None else dwell for e in edges]
        sp.enter_revenue = sum(f.amount for f in st.revenue if f.period_days is None)
        touches = [tidx[t] for t in st.touches]
        sp.touches = tuple(t for t in touches if not tp_rich[t])
        sp.rich_touches = tuple(t for t in touches if tp_rich[t])
        sp.enter_cost = sum(f.amount for f in st.costs if f.period_days is None) + sum(
            float(tp_cost[t]) for t in sp.touches
        )
        sp.periodic_revenue = tuple((f.amount, f.period_days) for f in st.revenue if f.period_days is not None)
        sp.periodic_cost = tuple((f.amount, f.period_days) for f in st.costs if f.period_days is not None)
        sp.purchases = tuple((p.rate_per_day, sampler(p.worth)) for p in st.purchases if p.rate > 0)
        sp.refers = float(st.refers or 0.0)
        trig: list[TriggerPlan] = []
        for tg in triggers_of.get(st.name, ()):
            sends = tuple(tidx[s] for s in tg.send)
            touch = sends[0] if sends else -1
            if tg.response is not None:
                resp = tg.response
            elif touch >= 0:
                resp = float(tp_resp[touch])
            else:
                resp = 1.0
            has_then = tg.then_stage is not None and (tg.then_share or 0.0) > 0
            steps: list[np.ndarray] = []
            for s in sends:
                own: np.ndarray = tp_steps[s].copy()
                if tg.response is not None:  # the trigger's response replaces the last step's share
                    own[-1] = tg.response
                    np.maximum(own, tg.response, out=own)
                steps.append(own)
            trig.append(
                TriggerPlan(
                    index=gidx[tg.name],
                    when=tg.when,
                    days=float(tg.days or 0.0),
                    touch=touch,
                    cost=float(tp_cost[touch]) if touch >= 0 else 0.0,
                    response=float(resp),
                    then_share=float(tg.then_share or 0.0) if has_then else 0.0,
                    then_target=sidx[tg.then_stage] if has_then and tg.then_stage else -1,
                    limit=tg.limit,
                    business=tuple(float((journey.calendar or Calendar()).business_wait(int(tg.days or 0), d))
                                   for d in range(7)) if tg.business else None,
                    sends=sends,
                    send_steps=tuple(steps),
                    behaviour=tg.when if tg.behaviour else "",
                    parent=step_of(tg.on_touch, tg.on_step) if tg.on_touch is not None else (-1, -1),
                    unless=tuple(slot_of[step_of(n, s)] for n, s in tg.unless),
                )
            )
        reroutes = [t.then_target for t in trig if t.then_target >= 0]
        nb = int(sp.targets.size)
        k = 0
        for n_t, t in enumerate(trig):
            if t.then_target >= 0:
                trig[n_t] = replace(t, slot=nb + k)
                k += 1
        sp.triggers = tuple(trig)
        sp.events = any(
            t.behaviour or t.unless or len(t.sends) > 1 or any(tp_rich[s] for s in t.sends) for t in trig
        )
        sp.out_targets = np.array([*sp.targets.tolist(), *reroutes], np.int64)
        sp.out_edges = np.array([eidx[(i, int(j))] for j in sp.out_targets], np.int64)
        sp.revisitable = st.name in cyclic
        sp.needs_d0 = bool(sp.enter_revenue or sp.enter_cost or sp.periodic_revenue or sp.periodic_cost or sp.triggers)
        sp.sink = sp.mode == "none" and not (
            sp.goal or sp.active or sp.revisitable or sp.needs_d0 or sp.purchases or sp.touches or sp.refers
            or sp.rich_touches
        )
        if memo is not None and key is not None:
            # the memo keeps the objects of its key alive, so that their ids stay theirs
            memo[key] = ((st, tuple(edges), tuple(triggers_of.get(st.name, ())), shape), sp)
            sp = _copied(sp)
        plans.append(sp)

    members: list[np.ndarray] = []
    flagged: dict[str, int] = {}
    methods: list[str] = []
    for p, names in enumerate(groups):
        members.append(np.array(sorted(sidx[x] for x in names), np.int64))
        if len(names) <= 1:
            methods.append("stage")
        elif not reenter[p]:
            methods.append("entries")
        else:
            methods.append("flags")
            for x in names:
                flagged[x] = p
    for sp in plans:
        sp.flag = flagged.get(sp.name, -1)

    entries = journey.entries
    entry_shares: np.ndarray = np.array([float(s.entry or 0.0) for s in entries])
    if entry_shares.sum() <= 0:
        entry_shares = np.ones(len(entries))
    # stages other arms have and this one lacks: never entered, only there to line up indices
    present = {sp.index for sp in plans}
    for name, i in sidx.items():
        if i not in present:
            plans.append(StagePlan(index=i, name=name, goal=False, active=False, mode="none", sink=True))
    plans.sort(key=lambda sp: sp.index)
    is_active = [sp.active for sp in plans]
    is_sink = [sp.sink for sp in plans]
    flag_of = [sp.flag for sp in plans]
    active = np.array(is_active, bool)
    after = _after_conversion(plans)
    for sp in plans:
        sp.after_conv = sp.index in after
        targets = sp.out_targets.tolist()
        if not targets:
            sp.out_active = np.zeros(0, bool)
            sp.km_moves = False
            sp.exit_slots = ()
            sp.to_sink = False
            continue
        sp.out_active = active[sp.out_targets]
        # (only converters' moves count: a stage no converter can be in has none)
        sp.km_moves = sp.after_conv and any(is_active[j] != sp.active for j in targets)
        counters = sp.out_edges.tolist()
        via = sp.via.tolist()
        nb = len(via)
        sp.exit_slots = tuple(
            (j, counters[k], is_sink[j], via[k] if k < nb else -1, flag_of[j]) for k, j in enumerate(targets)
        )
        sp.to_sink = len(targets) > 1 and any(is_sink[j] for j in targets)
        sp.quick_skip = _quick_skip(sp, is_sink, flag_of)
    return Plan(
        gate=gate_plan(journey, shape),
        name=journey.name,
        stages=plans,
        entry_cum=np.cumsum(entry_shares) / entry_shares.sum(),
        entry_stages=np.array([sidx[s.name] for s in entries], np.int64),
        horizon=shape.horizon_days,
        delta=math.log1p(journey.discount) / 365.0,
        ltv_window=float(journey.ltv_window_days or shape.horizon_days),
        tp_cost=tp_cost,
        tp_response=tp_resp,
        shape=shape,
        has_active=any(s.active for s in journey.stages),
        phase_members=tuple(members),
        phase_method=tuple(methods),
        phase_inner=_phase_inner(shape.edges, members),
        tp_steps=tuple(tp_steps),
        tp_resp_cost=tp_resp_cost,
        tp_rich=tp_rich,
        tp_queue=tp_queue,
        tp_step_pos=tuple(tp_step_pos),
        tracked=tracked,
    )


def _quick_skip(sp: StagePlan, is_sink: list[bool], flag_of: list[int]) -> tuple[bool, ...]:
    """For a stage where a stay is nothing but its exit (branches without contacts, no money,
    triggers, goal, retention, phase flag or second visit): per exit slot, whether the delays
    of those leaving by it need only be summed: it leads to a terminal stage that sets no
    phase flag, and its delay's sum is one draw (:attr:`Sampler.summable`). () otherwise."""
    if (sp.mode != "branch" or sp.stay_forever or sp.goal or sp.active or sp.revisitable or sp.needs_d0
            or sp.purchases or sp.touches or sp.rich_touches or sp.triggers or sp.flag >= 0 or sp.km_moves
            or bool((sp.via >= 0).any())):
        return ()
    skip = tuple(is_sink[j] and flag_of[j] < 0 and (d is None or d.summable)
                 for j, d in zip(sp.targets.tolist(), sp.delays, strict=True))
    return skip if any(skip) else ()


def _after_conversion(plans: list[StagePlan]) -> set[int]:
    """The stages a customer can be in after converting: the goal stages and every stage
    reachable from one (by its edges and its triggers' reroutes)."""
    g = {sp.name: [plans[j].name for j in sp.out_targets.tolist()] for sp in plans}
    after = reach(g, [sp.name for sp in plans if sp.goal])
    return {sp.index for sp in plans if sp.name in after}


def gate_plan(journey: Journey, shape: TallyShape) -> GatePlan | None:
    """The journey's ``policy`` over ``shape``'s touchpoints (None when it has none, or one
    that changes nothing: no cap, no quiet hours and no one held out)."""
    pol = journey.policy
    if pol is None or not (pol.shapes_contacts or pol.holdout > 0):
        return None
    tps = {t.name: t for t in journey.touchpoints}
    nt = len(shape.touchpoints)
    channel = [tps[n].channel if n in tps else None for n in shape.touchpoints]
    exempt = np.array([n not in tps or tps[n].transactional for n in shape.touchpoints], bool)
    caps = tuple(
        (np.array([c.channel is None or channel[i] == c.channel for i in range(nt)], bool) & ~exempt,
         c.count, c.window_days)
        for c in pol.caps
    )
    quiet = None if pol.quiet is None else (pol.quiet[0] / 1440.0, pol.quiet[1] / 1440.0)
    return GatePlan(caps=caps, delay_on_cap=pol.on_cap == "delay", quiet=quiet,
                    quiet_delay=pol.quiet_action == "delay", holdout=pol.holdout, exempt=exempt)


def _stage_key(st: Stage, edges: Sequence[Transition], trigs: Sequence[Trigger], shape: TallyShape,
               cyclic: bool, tidx: dict[str, int], tp_cost: np.ndarray, tp_resp: np.ndarray,
               tp_rich: np.ndarray, tp_steps: list[np.ndarray]) -> tuple[object, ...] | None:
    """What a stage's plan is made of, as a memo key (None: not memoised).

    Items by identity; of the touchpoints, the figures the stage's plan reads. Stages with
    triggers that answer contacts, wait for business days or leave out responders read more
    of the journey, and are compiled every time.
    """
    tps: list[int] = [tidx[t] for t in st.touches] if st.touches else []
    for tg in trigs:
        if tg.behaviour or tg.on_touch is not None or tg.unless or tg.business:
            return None
        tps.extend(tidx[x] for x in tg.send)
    facts = tuple((float(tp_cost[t]), float(tp_resp[t]), bool(tp_rich[t]), tp_steps[t].tobytes()) for t in tps) \
        if tps else ()
    return (id(shape), id(st), tuple(map(id, edges)), tuple(map(id, trigs)), cyclic, facts)


def _copied(sp: StagePlan) -> StagePlan:
    """A shallow copy (the fields :func:`compile_plan` sets once all stages are made are set anew)."""
    out = object.__new__(StagePlan)
    out.__dict__.update(sp.__dict__)
    return out


@functools.lru_cache(maxsize=32)
def _graph_facts(
    edges: tuple[tuple[str, str], ...], nodes: tuple[str, ...], groups: tuple[tuple[str, ...], ...]
) -> tuple[frozenset[str], tuple[bool, ...]]:
    """The nodes on a cycle of the graph of ``edges``, and per group of nodes (a phase's stages)
    whether a customer can leave it and come back (for groups of 2 or more; False otherwise).

    Cached: the arms and segments of a run mostly share one graph and differ in numbers.
    """
    g = adjacency(edges, nodes)
    cyclic: set[str] = set()
    for comp in strongly_connected(g):
        if len(comp) > 1:
            cyclic.update(comp)
    cyclic |= {u for u, succ in g.items() if u in succ}
    return frozenset(cyclic), tuple(len(m) > 1 and _reenterable(g, set(m)) for m in groups)


def _phase_inner(edges: tuple[tuple[int, int], ...], members: list[np.ndarray]) -> tuple[tuple[int, ...], ...]:
    """Per phase: the counters (positions in ``edges``) of the moves between two of its stages."""
    phase_of: dict[int, int] = {}
    for p, m in enumerate(members):
        phase_of.update(dict.fromkeys(m.tolist(), p))
    inner: list[list[int]] = [[] for _ in members]
    for k, (a, b) in enumerate(edges):
        p = phase_of.get(a, -1)
        if p >= 0 and phase_of.get(b, -1) == p:
            inner[p].append(k)
    return tuple(tuple(x) for x in inner)


def _reenterable(g: Adjacency, members: set[str]) -> bool:
    """Whether a customer can leave the stages ``members`` and come back to one of them."""
    outside = {v for u in members for v in g[u] if v not in members}  # one step out
    back = reach(g, outside)
    return any(v in members for u in back for v in g[u])
