"""The LTV follow-up: each converter of a block followed on for the LTV window in a
follow-up block of its own (``lifetime_values``), afresh from the stage they converted in,
or, where the stages after conversion have no triggers, taken up again at the horizon
(``_resumed_values``).

A layer of its own because it is asked once, when a block's final tallies are made
(:meth:`journeydsl.engine.montecarlo.engine._Block.finish`), and runs whole blocks of its
own: the follow-up block is of the block's own class (``type(self)``: the engine's
``_Block``, defined above this layer), simulated by its passes
(:mod:`~journeydsl.engine.montecarlo.passes`).
"""

from __future__ import annotations

import numpy as np

from journeydsl.engine.montecarlo.passes import _Passes


class _LifetimeValues(_Passes):
    """The converters' lifetime values, from follow-up blocks."""

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
        follow = type(self)(fplan, ci.size, self.rng, follow_up=True, budget=self.budget)  # its work counts too
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
        follow = type(self)(plan.follow_up, go.size, self.rng, follow_up=True,
                            budget=self.budget)  # its work counts too
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
