"""Stays taken short: a stage where nothing happens but the exit (its delays to a terminal
stage summed, not drawn), and a converter's stay taken up again from the horizon for the
LTV follow-up (``resume``). Both give the same distribution as the full stay
(:meth:`journeydsl.engine.montecarlo.stays._Stays.stay`); docs/metrics.md says when
each applies.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from journeydsl.engine.montecarlo.plan import StagePlan
from journeydsl.engine.montecarlo.stay_books import _StayBooks


class _StayShortcuts(_StayBooks):
    """Stays that need less than the full step."""

    def _quick_stay(self, sp: StagePlan, idx: np.ndarray, t0: np.ndarray, t0_zero: bool) -> bool:
        """A stay in a stage where nothing happens but the exit (:attr:`StagePlan.quick_skip`).

        Those leaving by a summed slot (to a terminal stage) need their delays only for sums:
        the stage's dwell and the terminal stage's days. When none of them can reach the
        horizon (a chance under :data:`~journeydsl.engine.montecarlo.sampling.NEGLIGIBLE`
        each), their delays are not drawn one by one: the exits are drawn, then each other
        slot's delays for its customers, then each summed slot's sum in one draw. Returns
        False, having drawn nothing, when one could reach the horizon (the stay is then
        simulated in full).
        """
        H = self.plan.horizon
        room = H if t0_zero else H - float(t0.max())
        skip, delays = sp.quick_skip, sp.delays
        if not all(d is None or d.below(room) for d, summed in zip(delays, skip, strict=True) if summed):
            return False
        rng, tal, s, m = self.rng, self.tally, sp.index, idx.size
        tal.visits[s] += m
        tal.reached[s] += m
        nb = sp.cum.size
        slot: np.ndarray | None = None  # each one's exit (None: all take the one, or see `counts`)
        counts: list[int] | None = None
        if nb > 1 and idx is self.first and t0_zero:
            # everyone of the block in index order, entering at 0: they are alike (nothing has
            # happened to them, and what is drawn per customer, such as a holdout, is drawn
            # alike for each), so which of them take which exit is immaterial: only how many
            # is drawn, and they take the exits in index order
            # (the last exit takes what the others leave, as in _pick: a cumulative share that
            # rounds past 1 is clipped, since multinomial checks every share)
            counts = rng.multinomial(m, np.diff(np.minimum(sp.cum, 1.0), prepend=0.0)).tolist()
            starts = [0, *itertools.accumulate(counts)]
        elif nb > 1:
            slot = self._pick(sp.cum[:-1], rng.random(m))
        t0_all = 0.0 if t0_zero else float(np.add.reduce(t0))
        nd = 0  # customers who leave inside the horizon,
        te_done = t0_done = 0.0  # their exit and entry times, summed
        drawn = 0  # customers of the slots drawn one by one, and their entry times, summed
        t0_drawn = 0.0
        for k, (j, edge, sink, _via, flag) in enumerate(sp.exit_slots):
            if skip[k]:
                continue
            if counts is not None:
                ids, t0_k = idx[starts[k]:starts[k + 1]], t0  # (entry times unread: all zero)
            elif slot is None:
                ids, t0_k = idx, t0
            else:
                sel = (slot == k).nonzero()[0]
                ids = idx.take(sel)
                t0_k = t0 if t0_zero else t0.take(sel)  # (unread when zero)
            c = ids.size
            drawn += c
            if not c:
                continue
            d = delays[k]
            te = np.zeros(c) if d is None else d.draw(rng, c)
            if not t0_zero:
                te += t0_k
                t0_drawn += float(np.add.reduce(t0_k))
            done = te < H
            c_done = int(np.count_nonzero(done))
            if c_done < c:
                keep = done.nonzero()[0]
                ids, te = ids.take(keep), te.take(keep)
                if not t0_zero:
                    t0_k = t0_k.take(keep)
            if not c_done:
                continue
            te_k = float(np.add.reduce(te))
            nd += c_done
            te_done += te_k
            t0_done += 0.0 if t0_zero else float(np.add.reduce(t0_k))
            tal.exits[edge] += c_done
            if sink:
                tal.visits[j] += c_done
                tal.reached[j] += c_done
                tal.at_horizon[j] += c_done
                tal.stage_days[j] += c_done * H - te_k
                if flag >= 0:
                    self.phase_seen[flag][ids] = True
            else:
                self.pending[j].append((ids, te, False))
        summed = [k for k in range(len(skip)) if skip[k]]
        for k in summed:
            j, edge = sp.exit_slots[k][:2]
            if counts is not None:
                c, t0_k_sum = counts[k], 0.0
            elif slot is None:
                c, t0_k_sum = m, t0_all
            elif len(summed) == 1:  # everyone else
                c, t0_k_sum = m - drawn, t0_all - t0_drawn
            else:
                mine = slot == k
                c = int(np.count_nonzero(mine))
                t0_k_sum = 0.0 if t0_zero else float(np.add.reduce(t0, where=mine))
            if not c:
                continue
            d = delays[k]
            te_k = t0_k_sum + (0.0 if d is None else d.draw_sum(rng, c))  # all inside the horizon
            nd += c
            te_done += te_k
            t0_done += t0_k_sum
            tal.exits[edge] += c
            tal.visits[j] += c
            tal.reached[j] += c
            tal.at_horizon[j] += c
            tal.stage_days[j] += c * H - te_k
        tal.completed[s] += nd
        tal.at_horizon[s] += m - nd
        tal.dwell_sum[s] += te_done - t0_done
        tal.stage_days[s] += te_done + (m - nd) * H - t0_all
        return True

    def _at_horizon(self, s: int, idx: np.ndarray, t0: np.ndarray, te: np.ndarray, slot: np.ndarray) -> None:
        """Remember the stays of customers ``idx`` in stage ``s`` that go on past the horizon:
        entered at ``t0``, leaving at ``te`` by ``slot`` (drawn when they entered). A converter's
        LTV goes on from there (``ltv._LifetimeValues._resumed_values``)."""
        self.at_h[idx] = s
        self.h_t0[idx] = t0
        self.h_te[idx] = te
        self.h_slot[idx] = slot

    def resume(self, sp: StagePlan, idx: np.ndarray, shift: np.ndarray, t0: np.ndarray, te: np.ndarray,
               slot: np.ndarray) -> None:
        """The LTV follow-up: the rest of stays in ``sp`` that went on past the horizon of the
        block the customers ``idx`` come from. They entered at ``t0`` and leave at ``te`` by exit
        ``slot`` (times in that block, where they converted at ``shift``; here time 0 is the
        moment of conversion, and the horizon is the LTV window, the same length). Books what
        comes after that block's horizon: the periodic flows of the periods begun from then
        until the stay ends (or the window does), the purchases, and the exit. The stage has no
        triggers (see :attr:`Plan.ltv_goes_on`); its money on entry was booked there.
        """
        plan = self.plan
        H, delta = plan.horizon, plan.delta
        start = H - shift  # the block's horizon, in days since conversion
        end = np.minimum(te - shift, H)
        r_add: np.ndarray | None = None
        c_add: np.ndarray | None = None
        if sp.periodic_cost or sp.periodic_revenue:
            # the periods the block charged, counted as it did (on its clock), and those begun by
            # the end of the stay or of the window, counted on the clock from conversion, as when
            # following afresh (for the stage converted in, entered at 0 exactly: a window of
            # whole periods ends after the same number whatever the day of conversion)
            lead = t0 - shift  # entry, in days since conversion (0 in the stage converted in)
            stayed = end - lead
            for kind, flows in ((0, sp.periodic_revenue), (1, sp.periodic_cost)):
                for amount, period in flows:
                    charged = np.maximum(np.ceil((H - t0) / period), 1.0)
                    due = np.maximum(np.ceil(stayed / period), 1.0) - charged
                    np.maximum(due, 0.0, out=due)
                    if delta:
                        lq = -delta * period
                        # sum over k = charged .. charged + due - 1 of exp(-delta (lead + k period))
                        val = np.expm1(due * lq) * np.exp(charged * lq - delta * lead) * (amount / math.expm1(lq))
                    else:
                        val = due * amount
                    if kind == 0:
                        r_add = val if r_add is None else r_add + val
                    else:
                        c_add = val if c_add is None else c_add + val
        for rate, worth in sp.purchases:
            self._stay_ids = idx
            bought = self._purchases(rate, worth, start, end - start, False)
            if bought is not None:
                r_add = bought if r_add is None else r_add + bought
        if r_add is not None:
            self.rev[idx] += r_add
        if c_add is not None:
            self.cost[idx] += c_add
        te = te - shift
        done = te < H
        nd = int(np.count_nonzero(done))
        if nd:
            sel = done.nonzero()[0]
            te_d = te.take(sel)
            self._leave(sp, idx.take(sel), te_d, slot.take(sel), nd, float(np.add.reduce(te_d)))
