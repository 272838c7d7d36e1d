"""One stay of a group of customers in a stage: exits, money, triggers, retention, moves.

``stay`` is the engine's inner step: it draws where and when the customers
leave, books the stage's revenue, costs and purchases, fires its triggers and
sends the customers on (``_leave``).
"""

from __future__ import annotations

import math

import numpy as np

from journeydsl.engine.montecarlo.blockdata import (
    _INF,
    _slot_dtype,
)
from journeydsl.engine.montecarlo.plan import StagePlan
from journeydsl.engine.montecarlo.stay_shortcuts import _StayShortcuts


class _Stays(_StayShortcuts):
    """Stays in a stage: the full step (its bookkeeping in :mod:`~journeydsl.engine.montecarlo.stay_books`,
    its short forms in :mod:`~journeydsl.engine.montecarlo.stay_shortcuts`)."""

    def draw_exits(self, sp: StagePlan, t0: np.ndarray, t0_zero: bool) -> tuple[np.ndarray, np.ndarray]:
        """Exit time and exit slot (int8) of each customer (slot -1: never leaves)."""
        rng = self.rng
        m = t0.size
        if sp.mode == "none":
            return np.full(m, _INF), np.full(m, -1, np.int8)
        if sp.mode == "rate":
            te = np.zeros(m) if math.isinf(sp.hazard) else rng.exponential(1.0 / sp.hazard, m)
            slot = np.zeros(m, np.int8) if sp.rate_cum.size == 1 else self._pick(sp.rate_cum[:-1], rng.random(m))
        else:
            nb = sp.cum.size
            if nb == 1 and not sp.stay_forever:
                slot = np.zeros(m, np.int8)
            else:
                slot = self._pick(sp.cum if sp.stay_forever else sp.cum[:-1], rng.random(m))
            first = sp.delays[0]
            if all(d is first for d in sp.delays):
                te = first.draw(rng, m) if first is not None else np.zeros(m)
                if sp.stay_forever:
                    stuck = slot >= nb
                    te[stuck] = _INF
                    slot[stuck] = -1
            else:
                # the same delays as drawing slot by slot: the fixed ones (and "forever") from a
                # table, then the drawn ones in slot order, as many as each slot has
                table, drawn = sp.delay_table
                te = table.take(slot)
                for k, d in drawn:
                    sel = (slot == k).nonzero()[0]
                    if sel.size:
                        te[sel] = d.draw(rng, sel.size)
                if sp.stay_forever:
                    slot[slot >= nb] = -1
        if not t0_zero:
            te += t0
        wide = _slot_dtype(sp.out_targets.size)
        if slot.dtype != wide:  # room for the reroute slots a trigger may write
            slot = slot.astype(wide)
        return te, slot

    def stay(self, sp: StagePlan, idx: np.ndarray, t0: np.ndarray, t0_zero: bool) -> None:
        """Simulate one stay in ``sp`` for customers ``idx`` entering at times ``t0``."""
        if sp.quick_skip and self.ages is None and self._quick_stay(sp, idx, t0, t0_zero):
            return
        plan, tal = self.plan, self.tally
        H = plan.horizon
        delta = plan.delta
        s = sp.index
        m = idx.size
        tal.visits[s] += m
        if sp.revisitable:
            self.seen[s][idx] = True  # its customers are counted once, when the block finishes
        else:
            tal.reached[s] += m
        if sp.flag >= 0:
            self.phase_seen[sp.flag][idx] = True
        # discount factors at entry (None: all ones)
        d0 = np.exp(t0 * -delta) if (sp.needs_d0 and delta and not t0_zero) else None

        # the customers' conversion times, for retention (None: not needed)
        track = self.km
        conv: np.ndarray | None = None
        if sp.goal and not self.follow_up:
            conv = self.conv_t[idx]
            newc = (conv == _INF).nonzero()[0]
            if newc.size:
                # acquisition cost: everything before this stage, `via` on the move here included,
                # but not this stage's own costs (cost to serve)
                ci = idx.take(newc)
                conv[newc] = self.conv_t[ci] = t0.take(newc)
                self.converted.append(ci)
                if not self.goes_on:  # (where the follow-up starts afresh)
                    self.conv_stage[ci] = s
                self.cost_pre[ci] = self.cost[ci]
                self.rev_pre[ci] = self.rev[ci]  # (for LTV: what they earn from here on)
                if self.goes_on:
                    self.at_h[ci] = -1  # until they stay in a stage to the horizon
        elif track and (sp.active or sp.km_moves):
            conv = self.conv_t[idx]

        te, slot = self.draw_exits(sp, t0, t0_zero)

        # money at the moment of entry (part of the acquisition cost when converting here)
        c_entry = sp.enter_cost
        c_entry_vec: np.ndarray | None = None
        c_later: np.ndarray | None = None
        r_add: np.ndarray | None = None
        for tp in sp.touches:
            self.contact(tp, m, float(plan.tp_cost[tp]) * (float(d0.sum()) if d0 is not None else m))
            if self.paths:
                self.path(tp, idx, t0)
        for tp in sp.rich_touches:  # contacts made one by one (a cost on response, a task, ...)
            cv, _u, _s, _at = self.send(tp, idx, t0)
            c_entry_vec = cv if c_entry_vec is None else c_entry_vec + cv
        for amount, _period in sp.periodic_cost:
            c_entry += amount

        # triggers that reroute: fired in the order of their times, changing exits; with a
        # contact policy every sending trigger fires here, in time order, through the gate
        then_trigs = [tr for tr in sp.triggers if tr.then_target >= 0]
        fired = then_trigs if self.gate is None else [tr for tr in sp.triggers if tr.then_target >= 0 or tr.touch >= 0]
        # `when in S for N business days`: each customer's wait from the weekday they entered on
        waits = {tr.index: self._business_wait(tr, idx, t0) for tr in sp.triggers if tr.business is not None}
        if sp.events:  # every trigger one by one, in time order (behaviour conditions, several sends, ...)
            self._stay_ids = idx
            ce, c_later = self._events(sp, t0, te, slot, idx, waits)
            if ce is not None:
                c_entry_vec = ce if c_entry_vec is None else c_entry_vec + ce
        elif fired:
            self._stay_ids = idx
            c_entry_vec, c_later = self._reroute(fired, int(sp.targets.size), t0, d0, te, slot, ids=idx,
                                                 waits=waits)

        span: np.ndarray | None = None
        if sp.triggers or sp.periodic_cost or sp.periodic_revenue or sp.purchases or self.ages is not None:
            span = np.minimum(te, H)
            if not t0_zero:
                span -= t0
        if self.ages is not None:
            assert span is not None
            self._log_stay(sp, idx, t0, te, span)

        # triggers that only send: closed form on the final exit times
        for tr in sp.triggers:
            if tr.then_target >= 0 or sp.events or (self.gate is not None and tr.touch >= 0):
                continue
            assert span is not None
            self._stay_ids = idx
            cost_vec, at_entry = self._fire_closed(tr, t0, te, span, d0, ids=idx, wait=waits.get(tr.index))
            if cost_vec is None:
                continue
            if at_entry:
                c_entry_vec = cost_vec if c_entry_vec is None else c_entry_vec + cost_vec
            else:
                c_later = cost_vec if c_later is None else c_later + cost_vec

        # periodic flows after the first charge, and purchases
        for amount, period in sp.periodic_cost:
            assert span is not None
            extra = self._periodic(amount, period, span, d0, skip_first=True)
            c_later = extra if c_later is None else c_later + extra
        if sp.enter_revenue:
            r_add = np.full(m, sp.enter_revenue) if d0 is None else d0 * sp.enter_revenue
        for amount, period in sp.periodic_revenue:
            assert span is not None
            extra = self._periodic(amount, period, span, d0, skip_first=False)
            r_add = extra if r_add is None else r_add + extra
        for rate, worth in sp.purchases:
            assert span is not None
            self._stay_ids = idx
            bought = self._purchases(rate, worth, t0, span, t0_zero)
            if bought is not None:
                r_add = bought if r_add is None else r_add + bought

        # book the money (idx is unique within a group, so fancy-index add is exact)
        entry_total: np.ndarray | float = 0.0
        if c_entry:
            entry_total = np.full(m, c_entry) if d0 is None else d0 * c_entry
        if c_entry_vec is not None:
            entry_total = entry_total + c_entry_vec
        add_cost: np.ndarray | float = entry_total
        if c_later is not None:
            add_cost = add_cost + c_later
        if isinstance(add_cost, np.ndarray):
            self.cost[idx] += add_cost
            tal.stage_cost[s] += float(add_cost.sum())
        if r_add is not None:
            self.rev[idx] += r_add
            tal.stage_rev[s] += float(r_add.sum())

        # exits that happen inside the horizon
        if sp.mode == "none" and not then_trigs:
            if self.goes_on and sp.after_conv:
                self._at_horizon(s, idx, t0, te, slot)
            tal.at_horizon[s] += m
            tal.stage_days[s] += m * H - (0.0 if t0_zero else float(np.add.reduce(t0)))
            if sp.active and track:
                assert conv is not None
                self._retention(idx, t0, te, np.zeros(m, bool), 0, conv)
            return
        done = te < H
        nd = int(np.count_nonzero(done))
        tal.completed[s] += nd
        tal.at_horizon[s] += m - nd
        if self.goes_on and sp.after_conv and nd < m:
            left = (~done).nonzero()[0]
            self._at_horizon(s, idx.take(left), t0.take(left), te.take(left), slot.take(left))
        if sp.active and track:
            assert conv is not None
            self._retention(idx, t0, te, done, nd, conv)
        if sp.km_moves and track and nd:
            assert conv is not None
            self._moves(sp, t0, te, slot, done, conv)
        if nd == 0:
            tal.stage_days[s] += m * H - (0.0 if t0_zero else float(np.add.reduce(t0)))
            return
        if nd == m:
            ids, te_d, sl_d = idx, te, slot
            t0_sum = t0_all = 0.0 if t0_zero else float(np.add.reduce(t0))
        else:
            sel = done.nonzero()[0]
            ids, te_d, sl_d = idx.take(sel), te.take(sel), slot.take(sel)
            t0_sum = 0.0 if t0_zero else float(np.add.reduce(t0.take(sel)))
            t0_all = 0.0 if t0_zero else float(np.add.reduce(t0))
        te_sum = float(np.add.reduce(te_d))
        tal.dwell_sum[s] += te_sum - t0_sum
        # days in the stage: to the exit for those who left, to the horizon for the others
        tal.stage_days[s] += te_sum + (m - nd) * H - t0_all
        self._leave(sp, ids, te_d, sl_d, nd, te_sum)

