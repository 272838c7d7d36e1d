"""Triggers with a ``then`` (and, under a contact policy, every trigger that sends), fired in
time order (``_reroute``): each firing contacts those still in the stage, through the policy
when there is one, and moves a share of the responders at once, changing their exit time and
slot in place.

A layer of its own because it is the stay's common path for such triggers: one draw per
firing, none of the behaviour triggers, ``unless`` or several sends that need
:meth:`~journeydsl.engine.montecarlo.firing._Firing._events`. The helpers that add costs
per customer and group business-days waits serve both.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from journeydsl.engine.montecarlo.firing_closed import _ClosedFirings
from journeydsl.engine.montecarlo.plan import TriggerPlan


def _add_at(buf: np.ndarray | None, m: int, alive: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """``vals`` added at positions ``alive`` of a per-customer buffer of ``m`` (made on first use).

    ``alive`` holds no position twice, in increasing order, so the fancy-index add is exact
    (and with every position, a plain add); into a new buffer, an assignment: the same values,
    without reading the zeros first."""
    if buf is None:
        buf = np.zeros(m)
        buf[alive] = vals
        return buf
    if alive.size == m:  # every position, in order
        buf += vals
    else:
        buf[alive] += vals
    return buf


def _by_wait(tr: TriggerPlan, wait: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """The distinct values of a business-days trigger's waits ``wait`` in increasing order, each
    with the positions that wait it: ``np.unique`` without sorting the customers (each wait is
    one of the trigger's few ``business`` values)."""
    assert tr.business is not None
    found = []
    for v in sorted(set(tr.business)):
        sel = np.flatnonzero(wait == v)
        if sel.size:
            found.append((v, sel))
    return found


class _Reroutes(_ClosedFirings):
    """Rerouting triggers fired in time order."""

    def _reroute(
        self,
        trigs: list[TriggerPlan],
        n_edges: int,
        t0: np.ndarray,
        d0: np.ndarray | None,
        te: np.ndarray,
        slot: np.ndarray,
        ids: np.ndarray | None = None,
        waits: dict[int, np.ndarray] | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Fire the rerouting triggers in time order, editing ``te`` and ``slot`` in place.

        Returns the per-customer discounted firing costs at entry and later.
        """
        tal, rng, H, delta = self.tally, self.rng, self.plan.horizon, self.plan.delta
        m = t0.size
        c_entry: np.ndarray | None = None
        c_later: np.ndarray | None = None
        latest = H - float(t0.min())
        heap: list[tuple[float, int, int]] = []  # (offset, order, firing number)
        waits = waits or {}
        for order, tr in enumerate(trigs):
            first = 0.0 if tr.when == "enter" else tr.days
            if tr.when == "every" and tr.limit == 0:
                continue
            if tr.index in waits:  # business days: one firing time per distinct wait, for its customers
                heap.extend((v, order, 1) for v, _who in _by_wait(tr, waits[tr.index]) if v < latest)
            elif first < latest:
                heap.append((first, order, 1))
        heapq.heapify(heap)
        # time each customer has left in the stage and the horizon (kept up to date on reroutes):
        # at offset `off` they are still there when room > off
        room = np.minimum(te, H) - t0
        while heap:
            off, order, k = heapq.heappop(heap)
            tr = trigs[order]
            # on entry: everyone not yet moved by an earlier trigger at entry; later: those still in
            # the stage (and inside the horizon) at the firing time
            alive = np.flatnonzero(slot < n_edges) if tr.when == "enter" else np.flatnonzero(room > off)
            if tr.index in waits and alive.size:  # business days: only those whose wait this is
                alive = alive[waits[tr.index][alive] == off]
            na = alive.size
            if na == 0:
                continue
            if tr.when == "every" and (tr.limit is None or k < tr.limit):
                nxt = (k + 1) * tr.days
                if nxt < latest:
                    heapq.heappush(heap, (nxt, order, k + 1))
            if self.budget is not None:
                self.budget.spend(na)
            tal.trig_fired[tr.index] += na
            when: np.ndarray | None = None  # send times, when the policy may move them
            if self.gate is not None and tr.touch >= 0 and ids is not None:
                # the contact policy (caps, quiet hours, holdout), asked as _events' contacts ask it
                (keep, when), = self._admit((tr.touch,), ids[alive], t0[alive] + off)
                if keep is not None:
                    alive = alive[keep]
                    na = alive.size
                    if na == 0:
                        continue
            if tr.cost:
                # added in place to one buffer per kind (see _add_at)
                if when is None:
                    vals = tr.cost * math.exp(-delta * off) * (d0[alive] if d0 is not None else np.ones(na))
                else:
                    vals = tr.cost * np.exp(-delta * when) if delta else np.full(na, tr.cost)
                if self.ages is not None:
                    sent_at = t0.take(alive) + off if when is None else when
                    self.ages.cost(self.conv_t, self._stay_ids.take(alive), sent_at, tr.cost)
                if off == 0 and when is None:
                    c_entry = _add_at(c_entry, m, alive, vals)
                else:
                    c_later = _add_at(c_later, m, alive, vals)
                cost_total = float(vals.sum())
            else:
                cost_total = 0.0
            u = rng.random(na)
            if self.paths and ids is not None:
                self.path(tr.touch, ids[alive], t0[alive] + off if when is None else when)
            responded = int(np.count_nonzero(u < tr.response))
            if tr.touch >= 0:
                tal.tp_contacts[tr.touch] += na
                tal.tp_cost[tr.touch] += cost_total
                tal.tp_responses[tr.touch] += responded
            if when is None:
                moved = alive[u < tr.response * tr.then_share]
                if moved.size:
                    te[moved] = t0[moved] + off
                    room[moved] = off
            else:  # a delayed contact moves only customers still in the stage when it goes out
                ok = (u < tr.response * tr.then_share) & (te[alive] > when)
                moved = alive[ok]
                if moved.size:
                    te[moved] = when[ok]
                    room[moved] = np.minimum(when[ok], H) - t0[moved]
            if moved.size:
                tal.trig_rerouted[tr.index] += moved.size
                slot[moved] = tr.slot
        return c_entry, c_later
