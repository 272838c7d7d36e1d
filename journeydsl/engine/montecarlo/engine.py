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

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from journeydsl.engine.montecarlo.budget import STAY_OVERHEAD, OverBudget, WorkBudget
from journeydsl.engine.montecarlo.gate import GateDraws, gate_draws
from journeydsl.engine.montecarlo.ltv import _LifetimeValues
from journeydsl.engine.montecarlo.plan import Plan
from journeydsl.engine.montecarlo.stay_books import _edges_upto
from journeydsl.engine.results import K, Tally

__all__ = ["STAY_OVERHEAD", "OverBudget", "WorkBudget", "simulate_block"]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS (its threads stall on a busy shared machine)."""
    return float(np.einsum("i,i->", a, b))


class _Block(_LifetimeValues):
    """Per-customer state of one block while it is simulated.

    Its parts, one module each, each layer built on the one before:
    :mod:`~journeydsl.engine.montecarlo.contacts` (the state and the contacts),
    :mod:`~journeydsl.engine.montecarlo.firing_closed`,
    :mod:`~journeydsl.engine.montecarlo.firing_reroutes` and
    :mod:`~journeydsl.engine.montecarlo.firing` (triggers),
    :mod:`~journeydsl.engine.montecarlo.stay_books`,
    :mod:`~journeydsl.engine.montecarlo.stay_shortcuts` and
    :mod:`~journeydsl.engine.montecarlo.stays` (one stay in a stage),
    :mod:`~journeydsl.engine.montecarlo.passes` (the passes over the stages),
    :mod:`~journeydsl.engine.montecarlo.ltv` (the LTV follow-up); here, the block's run
    and its final tallies.
    """

    # --- the block -----------------------------------------------------------

    def run(self) -> Tally:
        return self._run()

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
