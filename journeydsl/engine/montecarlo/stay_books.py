"""What a stay books: the money of the stage (periods begun, purchases), retention, the
moves between stages, the stay's log, and the customers' leaving (``_leave``).

The engine's stay (:mod:`journeydsl.engine.montecarlo.stays`) calls these once it has
drawn where and when its customers leave.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from journeydsl.engine.montecarlo.blockdata import (
    _INF,
    _expand,
)
from journeydsl.engine.montecarlo.firing import _Firing
from journeydsl.engine.montecarlo.plan import StagePlan
from journeydsl.engine.montecarlo.sampling import Sampler


class _StayBooks(_Firing):
    """The bookkeeping of stays: money, retention, moves, leaving."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rev_pre = self.ws["rev_pre"]  # each customer's revenue before converting (see lifetime_values)
        edges = self.tally.shape.km_edges
        # retention edges 0, 1, ..., H (whole days): bins by arithmetic (see _edges_below)
        self.km_unit = self.km and unit_edges(edges) and float(edges[-1]) == self.plan.horizon
        # converters in an active stage, as a difference array over the edges (its running sum
        # goes into Tally.km_act when the block finishes)
        self.km_diff = np.zeros(edges.size + 1, np.int64)

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
