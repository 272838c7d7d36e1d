"""The vectorised Monte Carlo engine: one block of customers of one plan.

Customers advance in per-stage groups, one stay per pass. For the whole group
in a stage the engine draws the exit (a branch by share, or the first of the
competing rate exits) and its delay, applies the stage's triggers (in the
order of their firing times; a ``then`` reroutes responders at the firing
time, replacing their pending exit), adds the stay's money in closed form,
clips at the horizon, and pushes the survivors to the next stage's group.
There is no loop over customers; loops are over stages, passes and trigger
firings.

Money in a stay that starts at ``t0`` and ends at ``t1`` (clipped at the
horizon), discounted by ``exp(-delta * t)``:

- on-enter flows and touches: ``amount * exp(-delta t0)``;
- ``every P`` flows: charged at ``t0 + k P`` for every period begun,
  ``k = 0 .. max(1, ceil((t1 - t0) / P)) - 1``, a geometric sum;
- purchases: a Poisson count with mean ``rate * (t1 - t0)``, times uniform in
  the stay, worth drawn from the money distribution.

Each stay's money is also booked to its stage (``Tally.stage_rev``,
``stage_cost``; a ``via`` cost to the stage left) and its days up to the
horizon to ``stage_days``, so the stage sums add up to the headline sums.
Calendar forecasts (``TallyShape.age_days`` > 0, off for ``simulate``) also log
every cash flow, first goal entry and active stay by age since entry, not
discounted (see :class:`_AgeLog`); the forecast combines them with the arrivals.

Phase reach: one stage's reach; for a phase never re-entered once left, the
visits to its stages minus the moves between them; otherwise a per-customer
flag per block.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from journeydsl.engine.montecarlo.blockdata import _INF
from journeydsl.engine.montecarlo.gate import GateDraws, gate_draws
from journeydsl.engine.montecarlo.plan import Plan
from journeydsl.engine.montecarlo.stay_books import _edges_upto
from journeydsl.engine.montecarlo.stays import _Stays
from journeydsl.engine.results import K, Tally

__all__ = ["STAY_OVERHEAD", "OverBudget", "WorkBudget", "simulate_block"]

#: Steps a group's stay costs besides one per customer (the Python work of one stay() call,
#: about 70 microseconds, as much as a thousand customer-stays in numpy).
STAY_OVERHEAD = 1_000


class OverBudget(Exception):
    """A pilot block spent its :class:`WorkBudget`; ``reached`` is the share of the horizon its
    slowest customers had reached (0 when simulated time did not move)."""

    def __init__(self, reached: float, stages: tuple[str, ...] = ()) -> None:
        super().__init__(f"work budget spent at {reached:.3%} of the horizon")
        self.reached = reached
        self.stages = stages  # the stages customers were moving through when it ran out


class WorkBudget:
    """Counts the engine's steps: one per customer-stay, trigger firing and purchase, and
    :data:`STAY_OVERHEAD` per group stay. Past ``limit`` steps the block stops (OverBudget)."""

    def __init__(self, limit: float = math.inf) -> None:
        self.limit = limit
        self.units = 0  # customer-stays, firings, purchases
        self.calls = 0  # group stays

    @property
    def steps(self) -> float:
        return self.units + STAY_OVERHEAD * self.calls

    def spend(self, units: int, calls: int = 0) -> None:
        self.units += units
        self.calls += calls
        if self.steps > self.limit:
            raise OverBudget(-1.0)  # where in the horizon is filled in by the block

#: Least seconds between two reports of progress within a block (a terminal redraws no faster).
PROGRESS_SECONDS = 0.25
_CHECK_EVERY = 10_000  # passes between checks that simulated time moves on




def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS (its threads stall on a busy shared machine)."""
    return float(np.einsum("i,i->", a, b))






















class _Block(_Stays):
    """Per-customer state of one block while it is simulated.

    Its parts, one module each: :mod:`~journeydsl.engine.montecarlo.contacts` (the state and
    the contacts), :mod:`~journeydsl.engine.montecarlo.firing` (triggers),
    :mod:`~journeydsl.engine.montecarlo.stays` (one stay in a stage); here, the passes over
    the stages, the LTV follow-up and the block's final tallies.
    """

    # --- the block -----------------------------------------------------------

    def now(self) -> float:
        """The earliest time a waiting customer enters a stage (the horizon when none waits)."""
        waiting = [float(c[1].min()) for chunks in self.pending for c in chunks if c[1].size]
        if self._staying is not None and self._staying.size:  # the group in a stay right now
            waiting.append(float(self._staying.min()))
        return min(waiting, default=self.plan.horizon)

    def run(self) -> Tally:
        return self._run()

    def _pass_done(self) -> None:
        """Tell ``on_pass`` how far simulated time has come, at most 4 times a second."""
        assert self.on_pass is not None
        t = time.monotonic()
        if t - self._told >= PROGRESS_SECONDS:
            self._told = t
            self.on_pass(min(1.0, self.now() / self.plan.horizon))

    def _run(self) -> Tally:
        plan, rng, n = self.plan, self.rng, self.n
        self._told = time.monotonic()
        if n == 0:
            return self.tally
        zeros, arange = self.ws["zeros"], self.ws["arange"]
        self.first = arange
        if plan.entry_stages.size == 1:
            self._enter(int(plan.entry_stages[0]), arange, zeros)
        else:
            e = self._pick(plan.entry_cum[:-1], rng.random(n))
            for k, s in enumerate(plan.entry_stages):
                ids = np.flatnonzero(e == k)
                if ids.size:
                    self._enter(int(s), ids, zeros[: ids.size])
        self._advance()
        return self.tally if plan.requests_only else self.finish()

    def _advance(self, first: Callable[[], None] | None = None) -> None:
        """Simulate stays, stage by stage, until nobody is left inside the horizon (after the
        stays ``first`` simulates, if given)."""
        try:
            if first is not None:
                first()
            self._advance_all()
        except OverBudget as exc:
            if exc.reached >= 0:  # located already (by a follow-up block inside this one)
                raise
            busy = tuple(sp.name for sp in self.plan.stages if sp.index in self._recent)
            raise OverBudget(max(0.0, min(1.0, self.now() / self.plan.horizon)), busy) from exc

    def _advance_all(self) -> None:
        """Passes over the busy stages in index order; a stage that customers enter during a pass
        is simulated in the same pass if it comes later, else in the next one (as a scan of every
        stage in order would, so the work list changes no number)."""
        plan = self.plan
        budget = self.budget
        stages = plan.stages
        pending = self.pending
        busy = self.busy
        passes = 0
        earliest = -_INF
        recent: set[int] = set()
        self._recent = recent  # for OverBudget
        while busy:
            passes += 1
            if passes % _CHECK_EVERY == 0:
                # a loop that takes no time would never reach the horizon: stop with a reason
                now = min((float(c[1].min()) for chunks in pending for c in chunks if c[1].size), default=_INF)
                if now <= earliest:
                    looping = [sp.name for sp in stages if sp.index in recent]
                    raise ValueError(
                        f"customers keep moving between {', '.join(repr(x) for x in looping)} without time "
                        "passing (a loop that takes no time)"
                    )
                earliest = now
                recent.clear()
            todo = sorted(busy)  # a sorted list is a heap
            queued = set(todo)
            busy.clear()
            while todo:
                s = heapq.heappop(todo)
                queued.discard(s)
                chunks = pending[s]
                if not chunks:
                    continue
                recent.add(s)
                if budget is not None:  # before the chunks leave `pending`, so that now() sees them
                    budget.spend(sum(c[0].size for c in chunks), 1)
                if len(chunks) == 1:
                    idx, t0, t0_zero = chunks[0]
                else:
                    idx = np.concatenate([c[0] for c in chunks])
                    t0 = np.concatenate([c[1] for c in chunks])
                    t0_zero = all(c[2] for c in chunks)
                chunks.clear()
                busy.discard(s)
                self._staying = t0
                self.stay(stages[s], idx, t0, t0_zero)
                for j in [j for j in busy if j > s]:  # entered during this pass, still ahead in it
                    busy.discard(j)
                    if j not in queued:
                        heapq.heappush(todo, j)
                        queued.add(j)
            if self.on_pass is not None:
                self._pass_done()

    def lifetime_values(self, ci: np.ndarray) -> np.ndarray:
        """LTV of the converters ``ci``: each followed afresh from the stage they converted in,
        for the LTV window, on the same plan; money discounted to the moment of conversion.

        What happens after conversion depends only on that stage (the engine keeps no
        other memory that changes money), so this is the same in distribution as following
        each customer on past the horizon, and it does not depend on when they converted.

        A converter who converted at day 0, when the window is the horizon, has already been
        followed for exactly the window from the moment of conversion, in this block: their
        LTV is what the block booked them after converting (their revenue and costs less
        those booked before), and they are not followed again.

        Where the stages after conversion have no triggers (:attr:`Plan.ltv_goes_on`), the
        converters are followed on from the horizon instead (:meth:`_resumed_values`).
        """
        plan = self.plan
        if self.goes_on:
            return self._resumed_values(ci)
        later: np.ndarray | None = None  # positions in ci of the converters to follow (None: all)
        ltv = np.zeros(0)
        if plan.ltv_window == plan.horizon:
            at0 = self.conv_t[ci] == 0.0
            if at0.any():
                ltv = np.empty(ci.size)
                now = ci[at0]
                ltv[at0] = (self.rev[now] - self.rev_pre[now]) - (self.cost[now] - self.cost_pre[now])
                later = np.flatnonzero(~at0)
                if not later.size:
                    return ltv
                ci = ci.take(later)
        fplan = plan.follow_up
        follow = _Block(fplan, ci.size, self.rng, follow_up=True, budget=self.budget)  # its work counts too
        if self.week is not None:  # the same week, from the moment of conversion on
            follow.week = (self.week[ci] + self.conv_t[ci]) % 7.0
        if self.gate is not None:  # the same customers held out, on the same clock, with their recent contacts
            ft = follow.tally
            follow.gate = self.gate.follow(ci, self.conv_t[ci], fplan.horizon, ft.tp_held, ft.tp_capped,
                                           ft.tp_delayed)
        if self.resp_at is not None and follow.resp_at is not None:  # responses before converting still count
            follow.resp_at[:] = self.resp_at[:, ci] - self.conv_t[ci]
            follow.reached_steps = set(self.reached_steps)
        where = self.conv_stage[ci]
        for g in np.unique(where):
            ids = np.flatnonzero(where == g)
            follow.pending[int(g)].append((ids, np.zeros(ids.size), True))
        follow._advance()
        if later is None:
            return follow.rev - follow.cost
        ltv[later] = follow.rev - follow.cost
        return ltv

    def _resumed_values(self, ci: np.ndarray) -> np.ndarray:
        """LTV of the converters ``ci`` when it goes on from the horizon (:attr:`Plan.ltv_goes_on`,
        the window is the horizon): what the block booked each one from conversion to the
        horizon, then the rest of the stay each one is in at the horizon and what follows, up
        to the end of the window, in a follow-up block; money discounted to the moment of
        conversion.

        This is following each converter on past the horizon, for the window: the same in
        distribution as following them afresh from conversion, with only the part of the
        window past the horizon simulated again. A stay at the horizon goes on with the exit
        drawn when it began (its triggers would have to go on too: stages with triggers are
        followed afresh instead). Converters who converted at day 0, or who are in no stage
        at the horizon (a terminal one), are not followed again.
        """
        plan = self.plan
        ct = self.conv_t[ci]
        ltv = (self.rev[ci] - self.rev_pre[ci]) - (self.cost[ci] - self.cost_pre[ci])
        if plan.delta:
            ltv *= np.exp(ct * plan.delta)  # to the moment of conversion (1 at day 0: exact)
        where = self.at_h[ci]
        go = np.flatnonzero((where >= 0) & (ct > 0.0))
        if not go.size:
            return ltv
        cg = ci.take(go)
        shift = ct.take(go)
        where = where.take(go)
        t0, te, slot = self.h_t0.take(cg), self.h_te.take(cg), self.h_slot.take(cg)
        follow = _Block(plan.follow_up, go.size, self.rng, follow_up=True, budget=self.budget)  # its work counts too
        if self.week is not None:  # the same week, from the moment of conversion on
            follow.week = (self.week[cg] + shift) % 7.0
        stages = plan.stages

        def stays() -> None:  # each converter's stay at the horizon, stage by stage
            for g in np.unique(where).tolist():
                ids = np.flatnonzero(where == g)
                if follow.budget is not None:
                    follow.budget.spend(ids.size, 1)
                follow.resume(stages[g], ids, shift.take(ids), t0.take(ids), te.take(ids), slot.take(ids))

        follow._advance(stays)
        ltv[go] += follow.rev - follow.cost
        return ltv

    def _enter(self, s: int, ids: np.ndarray, t0: np.ndarray) -> None:
        sp = self.plan.stages[s]
        if sp.sink:
            c = ids.size
            self.tally.visits[s] += c
            self.tally.reached[s] += c
            self.tally.at_horizon[s] += c
            self.tally.stage_days[s] += c * self.plan.horizon
            if sp.flag >= 0:
                self.phase_seen[sp.flag][ids] = True
        else:
            self.pending[s].append((ids, t0, True))

    def finish(self) -> Tally:
        """Per-customer totals into sums, quantile arrays and retention denominators.

        Every reported sum is accumulated from per-customer values (never as a
        difference of two totals), so arms that agree customer by customer agree
        exactly.
        """
        tal, H = self.tally, self.plan.horizon
        for s, seen in self.seen.items():  # the customers who stayed in a stage they may enter again
            tal.reached[s] += np.count_nonzero(seen)
        if self.km:
            tal.km_act += np.cumsum(self.km_diff[:-1])
        rev, cost = self.rev, self.cost
        # the converters in index order (each converts once: as flatnonzero(conv_t < inf))
        ci = np.sort(np.concatenate(self.converted)) if self.converted else np.zeros(0, np.intp)
        sums = tal.sums
        sums[K["rev"]] = rev.sum()
        sums[K["rev2"]] = _dot(rev, rev)
        sums[K["cost"]] = cost.sum()
        sums[K["cost2"]] = _dot(cost, cost)
        value = np.subtract(rev, cost, out=self.ws["value"])
        sums[K["value"]] = value.sum()
        sums[K["value2"]] = _dot(value, value)
        nconv = ci.size
        sums[K["conv"]] = nconv
        # acquisition cost: converters' cost before conversion, everyone else's whole cost
        acq = self.ws["acq"]
        np.copyto(acq, cost)
        if nconv:
            cp = self.cost_pre[ci]
            acq[ci] = cp
            # (calendar forecasts need no LTV: they skip following converters past the horizon)
            ltv = self.lifetime_values(ci) if self.ages is None else np.zeros(nconv)
            ct = self.conv_t[ci]
            sums[K["ltv"]] = ltv.sum()
            sums[K["ltv2"]] = _dot(ltv, ltv)
            sums[K["pre_conv"]] = cp.sum()
            sums[K["ltv_pre"]] = _dot(ltv, cp)
            sums[K["ttc"]] = ct.sum()
            sums[K["ttc2"]] = _dot(ct, ct)
            sums[K["churned"]] = nconv - np.count_nonzero(self.active_h[ci])
            cap = tal.shape.sample_cap
            if cap and nconv > cap:  # an evenly spaced sample of this block's converters, weighted
                keep = np.linspace(0, nconv - 1, cap).round().astype(np.int64)
                tal.conv_times.append(ct.take(keep).astype(np.float32))
                tal.ltv_values.append(ltv.take(keep).astype(np.float32))
                tal.sample_weights.append(nconv / cap)
            else:
                tal.conv_times.append(ct.astype(np.float32))
                tal.ltv_values.append(ltv.astype(np.float32))
                tal.sample_weights.append(1.0)
            # converters followed to each retention edge: those with that long left in the horizon
            edges = tal.shape.km_edges
            ne = edges.size
            last = _edges_upto(edges, self.km_unit, H - ct + 1e-9)  # edges 0 .. last-1 are followed
            tal.km_obs += np.cumsum(np.bincount(last, minlength=ne + 1)[::-1])[::-1][1:]
        sums[K["pre"]] = acq.sum()
        sums[K["pre2"]] = _dot(acq, acq)
        if self.paths and nconv:
            self._touch_credit(ci, value)
        self._phase_reach()
        if self.ages is not None:
            self.ages.finish(tal, self.conv_t, self.rng)
        return tal

    def _touch_credit(self, ci: np.ndarray, value: np.ndarray) -> None:
        """Converters (and their value) credited by first, last and linear touch before converting."""
        nt = len(self.plan.shape.touchpoints)
        credit = self.tally.touch_credit
        v = value[ci]
        for j, tp in enumerate((self.first_tp[ci], self.last_tp[ci])):
            has = tp >= 0
            credit[j * nt:(j + 1) * nt] += np.bincount(tp[has], minlength=nt)[:nt]
            credit[(3 + j) * nt:(4 + j) * nt] += np.bincount(tp[has], weights=v[has], minlength=nt)[:nt]
        counts = self.tp_counts[ci, :nt]
        total = counts.sum(axis=1)
        touched = total > 0
        share = counts[touched] / total[touched, None]
        credit[2 * nt:3 * nt] += share.sum(axis=0)
        credit[5 * nt:6 * nt] += (share * v[touched, None]).sum(axis=0)

    def _phase_reach(self) -> None:
        """Customers of this block who entered each phase (any of its stages, counted once)."""
        tal, pc = self.tally, self.plan.phase_counts
        reached = tal.phase_reached
        for p in pc.flag_phases:
            reached[p] = np.count_nonzero(self.phase_seen[p])
        if pc.stage_phases.size:
            reached[pc.stage_phases] = tal.reached[pc.stage_of]
        if pc.entry_phases.size:
            # never re-entered once left: its entrants are the visits to its stages that
            # did not come from one of them (the entries at day 0 and the moves from outside)
            nph = reached.size
            entered = np.bincount(pc.entry_stage_phase, weights=tal.visits[pc.entry_stages], minlength=nph)
            inner = np.bincount(pc.inner_edge_phase, weights=tal.exits[pc.inner_edges], minlength=nph)
            reached[pc.entry_phases] = (entered - inner)[pc.entry_phases]


def simulate_block(
    plan: Plan,
    n: int,
    rng: np.random.Generator,
    budget: WorkBudget | None = None,
    on_pass: Callable[[float], None] | None = None,
    draws: GateDraws | None = None,
) -> Tally:
    """Simulate ``n`` customers of ``plan`` with ``rng``; their sufficient statistics.

    ``budget`` counts the work and stops the block past its limit (:class:`OverBudget`);
    ``on_pass`` is told the share of the horizon reached as the block goes on. ``draws``
    (:func:`~journeydsl.engine.montecarlo.gate.gate_draws` of the block's seed) hold each
    customer's holdout, clock and rollout draws, for plans with a policy or a rollout.

    A plan rolled out to a share of the customers (``plan.rollout``) simulates the customers
    whose rollout draw falls under the share on it, the others on ``plan.rollout_base``,
    one after the other with the same ``rng``, and adds the two tallies.
    """
    if plan.rollout_base is not None and plan.rollout is not None:
        d = draws if draws is not None else gate_draws(None, n)
        on = d.roll < plan.rollout
        parts = [(replace(plan, rollout=None, rollout_base=None), np.flatnonzero(on)),
                 (replace(plan.rollout_base, touch_paths=plan.touch_paths), np.flatnonzero(~on))]
        tally = Tally(plan.shape)
        for p, ids in parts:
            tally.merge(_Block(p, ids.size, rng, budget=budget, on_pass=on_pass, draws=d.take(ids)).run())
        return tally
    return _Block(plan, n, rng, budget=budget, on_pass=on_pass, draws=draws).run()
