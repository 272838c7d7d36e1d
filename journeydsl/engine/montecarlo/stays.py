"""One stay of a group of customers in a stage: exits, money, triggers, retention, moves.

``stay`` is the engine's inner step: it draws where and when the customers
leave, books the stage's revenue, costs and purchases, fires its triggers and
sends the customers on (``_leave``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from journeydsl.engine.montecarlo.blockdata import (
    _INF,
    _expand,
    _slot_dtype,
)
from journeydsl.engine.montecarlo.firing import _Firing
from journeydsl.engine.montecarlo.plan import StagePlan
from journeydsl.engine.montecarlo.sampling import Sampler


class _Stays(_Firing):
    """Stays in a stage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rev_pre = self.ws["rev_pre"]  # each customer's revenue before converting (see lifetime_values)
        edges = self.tally.shape.km_edges
        # retention edges 0, 1, ..., H (whole days): bins by arithmetic (see _edges_below)
        self.km_unit = self.km and unit_edges(edges) and float(edges[-1]) == self.plan.horizon
        # converters in an active stage, as a difference array over the edges (its running sum
        # goes into Tally.km_act when the block finishes)
        self.km_diff = np.zeros(edges.size + 1, np.int64)

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
        LTV goes on from there (``engine._Block._resumed_values``)."""
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

    def _log_stay(self, sp: StagePlan, idx: np.ndarray, t0: np.ndarray, te: np.ndarray, span: np.ndarray) -> None:
        """Calendar forecasts: this stay's on-enter and periodic flows and its active days, by age."""
        ages = self.ages
        assert ages is not None
        if sp.enter_revenue:
            ages.log(0, idx, t0, sp.enter_revenue)
        if sp.enter_cost:
            ages.cost(self.conv_t, idx, t0, sp.enter_cost)
        if sp.refers:
            ages.referrals.append((t0.copy(), sp.refers))
        for kind, flows in ((0, sp.periodic_revenue), (1, sp.periodic_cost)):
            for amount, period in flows:
                owner, k = _expand(np.maximum(np.ceil(span / period), 1.0))
                when = t0.take(owner) + k * period
                if kind == 0:
                    ages.log(0, idx.take(owner), when, amount)
                else:
                    ages.cost(self.conv_t, idx.take(owner), when, amount)
        if sp.active:
            ages.active(t0, np.minimum(te, self.plan.horizon))  # after `then` reroutes: te is final

    def _leave(self, sp: StagePlan, ids: np.ndarray, te: np.ndarray, slot: np.ndarray, nd: int, te_sum: float) -> None:
        """Count the exits by slot, charge ``via`` contacts, push customers to their next stage.

        ``te_sum`` is ``te.sum()``. Customers moving to a sink stay there to the
        horizon: its days are ``H - te`` each; the sum of ``te`` over one slot
        left ungathered is what the gathered slots leave of ``te_sum``.
        """
        plan, tal = self.plan, self.tally
        s = sp.index
        H = plan.horizon
        delta = plan.delta
        nslots = len(sp.exit_slots)
        te_left = te_sum  # sum of te over the slots not gathered
        to_sink = sp.to_sink
        ungathered: list[tuple[int, int, int]] = []  # (slot, sink stage, customers)
        for k, (j, edge, sink, via_tp, flag) in enumerate(sp.exit_slots):
            has_via = via_tp >= 0
            ids_k: np.ndarray | None
            te_k: np.ndarray | None
            if nslots == 1:
                c = nd
                ids_k, te_k = ids, te
            elif sink and not has_via and flag < 0:
                c = int(np.count_nonzero(slot == k))  # only counted there: no need to gather
                ids_k = te_k = None
            else:
                sel = (slot == k).nonzero()[0]  # then take: faster than a boolean gather
                c = sel.size
                ids_k, te_k = ids.take(sel), te.take(sel)
            if c == 0:
                continue
            tal.exits[edge] += c
            if sink:
                tal.visits[j] += c
                tal.reached[j] += c
                tal.at_horizon[j] += c
            if ids_k is None or te_k is None:
                ungathered.append((k, j, c))
                continue
            te_k_sum = te_sum if nslots == 1 else float(np.add.reduce(te_k)) if to_sink else 0.0
            te_left -= te_k_sum
            if has_via and plan.tp_rich[via_tp]:
                cv, _u, _s, _at = self.send(via_tp, ids_k, te_k)
                self.cost[ids_k] += cv
                tal.stage_cost[s] += float(cv.sum())
            elif has_via:
                tp = via_tp
                cost = float(plan.tp_cost[tp])
                cv = np.exp(te_k * -delta) * cost if delta else np.full(c, cost)
                self.cost[ids_k] += cv
                if self.ages is not None:
                    self.ages.cost(self.conv_t, ids_k, te_k, cost)
                via_cost = float(cv.sum())
                tal.stage_cost[s] += via_cost  # a `via` cost belongs to the stage left
                self.contact(tp, c, via_cost)
                if self.paths:
                    self.path(tp, ids_k, te_k)
            if sink:
                tal.stage_days[j] += c * H - te_k_sum
                if flag >= 0:
                    self.phase_seen[flag][ids_k] = True
            else:
                self.pending[j].append((ids_k, te_k, False))
        if len(ungathered) == 1:
            _k, j, c = ungathered[0]
            tal.stage_days[j] += c * H - te_left
        elif ungathered:
            by_slot = np.bincount(slot, weights=te, minlength=nslots)
            for k, j, c in ungathered:
                tal.stage_days[j] += c * H - float(by_slot[k])

    def _periodic(
        self, amount: float, period: float, span: np.ndarray, d0: np.ndarray | None, *, skip_first: bool
    ) -> np.ndarray:
        """Discounted sum of ``amount`` charged at the start of each period begun in the stay."""
        count = np.maximum(np.ceil(span / period), 1.0)
        if skip_first:
            count -= 1.0
        if not self.plan.delta:
            return count * amount
        lq = -self.plan.delta * period  # log q
        first = math.exp(lq) if skip_first else 1.0
        # sum_{k<count} first * q^k = first * (1 - q^count) / (1 - q), in expm1 form: exact
        # even when q rounds to 1 (a tiny discount), where 1 - q would be 0
        geo = np.expm1(count * lq) * (first / math.expm1(lq) * amount)
        return geo if d0 is None else geo * d0

    def _purchases(
        self, rate: float, worth: Sampler, t0: np.ndarray, span: np.ndarray, t0_zero: bool
    ) -> np.ndarray | None:
        """Discounted value of a Poisson process of purchases over each stay."""
        rng = self.rng
        counts = rng.poisson(span * rate)
        total = int(counts.sum())
        if total == 0:
            return None
        if self.budget is not None:
            self.budget.spend(total)
        owner = np.repeat(np.arange(t0.size), counts)
        delta = self.plan.delta
        fused = delta and worth.kind == "lognormal"
        # a lognormal worth and its discount factor share one exp: exp(mu + sigma z - delta t)
        values = rng.normal(worth.a, worth.b, total) if fused else worth.draw(rng, total)
        if self.ages is not None:  # no discount here (checked when the block is made)
            when = rng.random(total)
            when *= span.take(owner)
            if not t0_zero:
                when += t0.take(owner)
            self.ages.log(0, self._stay_ids.take(owner), when, values)
        if delta:
            when = rng.random(total)
            when *= span.take(owner)
            if not t0_zero:
                when += t0.take(owner)
            if fused:
                when *= delta
                values -= when
                np.exp(values, out=values)
            else:
                when *= -delta
                values *= np.exp(when)
        return np.bincount(owner, weights=values, minlength=t0.size)

    def _retention(
        self, idx: np.ndarray, t0: np.ndarray, te: np.ndarray, done: np.ndarray, nd: int, conv: np.ndarray
    ) -> None:
        """Converters in an active stage at each retention edge during this stay (while followed).

        ``nd`` customers are ``done`` (leave inside the horizon); ``conv`` are the customers'
        conversion times.
        """
        H = self.plan.horizon
        m = idx.size
        if nd < m:
            self.active_h[idx[~done]] = True
        before = conv <= t0
        nc = int(np.count_nonzero(before))
        if not nc:
            return
        if nc == m:
            c, a, b = conv, t0 - conv, te - conv
            if nd < m:
                b[~done] = _INF
        else:
            cm = before.nonzero()[0]
            c = conv.take(cm)
            a = t0.take(cm) - c
            b = np.where(done.take(cm), te.take(cm) - c, _INF)
        edges = self.tally.shape.km_edges
        ne = edges.size
        lim = H - c + 1e-9  # followed up to here
        if self.km_unit:
            # the edges are 0, 1, ..., H: a searchsorted to the left is a ceil, to the right a floor
            # plus one, clipped to 0 .. ne. No clipping is needed: 0 <= a <= H (t0 >= c, t0 <= H),
            # and floor(lim) + 1 lies in 1 .. ne (0 <= c <= H), which bounds the minimum.
            k0 = np.ceil(a)  # first edge in the stay
            k1 = np.ceil(b)  # first edge after it
            np.floor(lim, out=lim)
            lim += 1.0  # first edge no longer followed
            np.minimum(k1, lim, out=k1)
        else:
            k0 = np.searchsorted(edges, a, side="left")
            k1 = np.minimum(np.searchsorted(edges, b, side="left"), np.searchsorted(edges, lim, side="right"))
        ok = k1 > k0
        n_ok = int(np.count_nonzero(ok))
        if not n_ok:
            return
        if n_ok < k0.size:
            k0, k1 = k0[ok], k1[ok]
        if self.km_unit:
            k0, k1 = k0.astype(np.intp), k1.astype(np.intp)
        diff = self.km_diff
        diff += np.bincount(k0, minlength=ne + 1)
        diff -= np.bincount(k1, minlength=ne + 1)

    def _moves(self, sp: StagePlan, t0: np.ndarray, te: np.ndarray, slot: np.ndarray, done: np.ndarray,
               conv: np.ndarray) -> None:
        """Converters moving out of the active stages (from an active stage) or back into them
        (from an inactive one), by the retention bin of their days since conversion."""
        sel = (done & (conv <= t0)).nonzero()[0]
        if not sel.size:
            return
        crossing = sel[sp.out_active[slot.take(sel)] != sp.active]
        if not crossing.size:
            return
        edges = self.tally.shape.km_edges
        # days since conversion: 0 <= te - conv < H (a move inside the horizon, after converting)
        k = _edges_below(edges, self.km_unit, te.take(crossing) - conv.take(crossing))
        counts = np.bincount(k, minlength=edges.size)[: edges.size]
        counts[0] = 0  # a move at the moment of conversion is already in the state at day 0
        if sp.active:
            self.tally.km_out += counts
        else:
            self.tally.km_back += counts


def unit_edges(edges: np.ndarray) -> bool:
    """Whether the retention edges are the whole days ``0, 1, ..., size - 1`` (horizons of whole
    days up to ten years): then :func:`_edges_below` and :func:`_edges_upto` need no search."""
    return bool(edges.size) and bool(np.array_equal(edges, np.arange(edges.size, dtype=edges.dtype)))


def _edges_below(edges: np.ndarray, unit: bool, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(edges, x, side="left")``: how many edges are below each ``x``.

    With whole-day edges ``0 .. E-1`` (``unit``) that is ``ceil(x)`` clipped to ``0 .. E``,
    exactly (``ceil`` is exact in floating point, and infinities clip to the ends).
    """
    if not unit:
        return np.searchsorted(edges, x, side="left")
    k = np.ceil(x)
    np.maximum(k, 0.0, out=k)
    np.minimum(k, float(edges.size), out=k)
    return k.astype(np.intp)


def _edges_upto(edges: np.ndarray, unit: bool, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(edges, x, side="right")``: how many edges are at or below each ``x``
    (with whole-day edges, ``floor(x) + 1`` clipped to ``0 .. E``)."""
    if not unit:
        return np.searchsorted(edges, x, side="right")
    k = np.floor(x)
    k += 1.0
    np.maximum(k, 0.0, out=k)
    np.minimum(k, float(edges.size), out=k)
    return k.astype(np.intp)
