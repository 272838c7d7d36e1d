"""A journey compiled into flat numbers and arrays the engine can loop over.

:func:`compile_plan` is done once per arm and segment; the result is a
picklable value (workers receive it), free of pydantic objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from journeydsl.engine.montecarlo.gate import GatePlan
from journeydsl.engine.montecarlo.sampling import Sampler, sampler
from journeydsl.engine.results import TallyShape
from journeydsl.language.digraph import Adjacency, adjacency, reach, strongly_connected
from journeydsl.language.model import Calendar, Journey, Transition, Trigger

__all__ = ["Plan", "StagePlan", "TriggerPlan", "compile_plan", "gate_plan"]


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
    # per exit slot, worked out once: (target stage, its counter in Tally.exits, the target is a sink,
    # the `via` touchpoint or -1, the target's phase flag or -1); and whether some slot leads to a sink
    exit_slots: tuple[tuple[int, int, bool, int, int], ...] = ()
    to_sink: bool = False


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

    @property
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


def compile_plan(journey: Journey, shape: TallyShape) -> Plan:
    """Turn a (segment's or scenario's) journey into a :class:`Plan` over ``shape``'s names.

    ``shape`` fixes the index of every stage, touchpoint and trigger so that
    the tallies of all segments of an arm line up.
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

    # which stages can be entered more than once (on a cycle, trigger reroutes included)
    g = adjacency(
        [*(t.key for t in journey.transitions),
         *((tg.stage, tg.then_stage) for tg in journey.triggers if tg.then_stage is not None)],
        (s.name for s in journey.stages),
    )
    cyclic: set[str] = set()
    for comp in strongly_connected(g):
        if len(comp) > 1:
            cyclic.update(comp)
    cyclic |= {u for u, succ in g.items() if u in succ}

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
        plans.append(sp)

    members: list[np.ndarray] = []
    methods: list[str] = []
    for p, label in enumerate(shape.phases):
        names = {st.name for st in journey.stages if st.phase == label}
        members.append(np.array(sorted(sidx[x] for x in names), np.int64))
        if len(names) <= 1:
            methods.append("stage")
        elif not _reenterable(g, names):
            methods.append("entries")
        else:
            methods.append("flags")
            for sp in plans:
                if sp.name in names:
                    sp.flag = p

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
    active = np.array([sp.active for sp in plans], bool)
    for sp in plans:
        sp.out_active = active[sp.out_targets] if sp.out_targets.size else np.zeros(0, bool)
        sp.km_moves = bool(sp.out_active.size) and bool((sp.out_active != sp.active).any())
        nb = sp.via.size
        sp.exit_slots = tuple(
            (j, int(sp.out_edges[k]), plans[j].sink, int(sp.via[k]) if k < nb else -1, plans[j].flag)
            for k, j in enumerate(sp.out_targets.tolist())
        )
        sp.to_sink = len(sp.exit_slots) > 1 and any(e[2] for e in sp.exit_slots)
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
        phase_inner=tuple(
            tuple(k for k, (a, b) in enumerate(shape.edges) if a in inside and b in inside)
            for inside in (set(m.tolist()) for m in members)
        ),
        tp_steps=tuple(tp_steps),
        tp_resp_cost=tp_resp_cost,
        tp_rich=tp_rich,
        tp_queue=tp_queue,
        tp_step_pos=tuple(tp_step_pos),
        tracked=tracked,
    )


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


def _reenterable(g: Adjacency, members: set[str]) -> bool:
    """Whether a customer can leave the stages ``members`` and come back to one of them."""
    outside = {v for u in members for v in g[u] if v not in members}  # one step out
    back = reach(g, outside)
    return any(v in members for u in back for v in g[u])
