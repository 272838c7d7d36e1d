"""Firing a stay's triggers: in closed form, rerouting in time order, or one by one.

``_fire_closed`` books triggers that only send, on the stay's final exit times;
``_reroute`` fires triggers with a ``then`` in time order, changing exits;
``_events`` fires every trigger of a stay one customer group at a time, where
behaviour conditions, several sends or tasks need it.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from journeydsl.engine.montecarlo.blockdata import (
    _INF,
    _expand,
)
from journeydsl.engine.montecarlo.contacts import _BlockState
from journeydsl.engine.montecarlo.gate import _NONE
from journeydsl.engine.montecarlo.plan import StagePlan, TriggerPlan


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


#: The firing times of a firing that needs none (no `unless`, no contact made).
_NO_TIMES = np.zeros(0)
_NO_TIMES.flags.writeable = False


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


class _Firing(_BlockState):
    """Triggers of a stay."""

    def _fire_closed(
        self, tr: TriggerPlan, t0: np.ndarray, te: np.ndarray, span: np.ndarray, d0: np.ndarray | None,
        ids: np.ndarray | None = None, wait: np.ndarray | None = None,
    ) -> tuple[np.ndarray | None, bool]:
        """Firings of a trigger without ``then``: counts and discounted cost, in closed form.

        Returns the per-customer cost (None when it costs nothing) and whether
        it is all charged at the moment of entry.
        """
        tal, delta = self.tally, self.plan.delta
        m = t0.size
        if tr.when == "every":
            # firings at t0 + k*P, k >= 1, while inside the stay and the horizon
            count = np.maximum(np.ceil(span / tr.days) - 1.0, 0.0)
            if tr.limit is not None:
                np.minimum(count, float(tr.limit), out=count)
            fired = float(count.sum())
            tal.trig_fired[tr.index] += fired
            if self.paths and ids is not None:
                self.path(tr.touch, ids, t0 + tr.days, count, t0 + count * tr.days)
            if tr.cost == 0:
                self._sent(tr, int(fired), 0.0)
                return None, False
            if not delta:
                cost = count * tr.cost
            else:
                lq = -delta * tr.days  # log q; expm1 form as in _periodic
                cost = np.expm1(count * lq) * (math.exp(lq) / math.expm1(lq) * tr.cost)
                if d0 is not None:
                    cost *= d0
            self._sent(tr, int(fired), float(cost.sum()))
            if self.ages is not None:
                owner, nth = _expand(count)
                self.ages.cost(self.conv_t, self._stay_ids.take(owner), t0.take(owner) + (nth + 1) * tr.days, tr.cost)
            return cost, False
        off: float | np.ndarray = 0.0 if tr.when == "enter" else tr.days
        if wait is not None:  # business days: each customer's own wait
            off = wait
        at_entry = wait is None and off == 0
        if tr.when == "enter":
            mask = None
            k = m
        else:
            # still in the stage (and inside the horizon) when the time comes
            mask = span > off
            k = int(np.count_nonzero(mask))
        tal.trig_fired[tr.index] += k
        if self.paths and ids is not None and k:
            hit = np.arange(m) if mask is None else np.flatnonzero(mask)
            self.path(tr.touch, ids[hit], t0[hit] + (off[hit] if isinstance(off, np.ndarray) else off))
        if k == 0:
            return None, at_entry
        if tr.cost == 0:
            self._sent(tr, k, 0.0)
            return None, at_entry
        if isinstance(off, np.ndarray):
            cost = np.exp(off * -delta) * tr.cost if delta else np.full(m, tr.cost)
            if d0 is not None:
                cost *= d0
        else:
            factor = math.exp(-delta * off) * tr.cost
            cost = np.full(m, factor) if d0 is None else d0 * factor
        if mask is not None:
            cost *= mask
        if self.ages is not None:
            sel = np.arange(m) if mask is None else np.flatnonzero(mask)
            sent_at = t0.take(sel) + (off.take(sel) if isinstance(off, np.ndarray) else off)
            self.ages.cost(self.conv_t, self._stay_ids.take(sel), sent_at, tr.cost)
        self._sent(tr, k, float(cost.sum()))
        return cost, at_entry

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

    def _events(
        self, sp: StagePlan, t0: np.ndarray, te: np.ndarray, slot: np.ndarray, ids: np.ndarray,
        waits: dict[int, np.ndarray] | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Fire every trigger of the stay in time order, one customer at a time where it matters.

        Triggers on time in the stage (``enter``, ``in``, ``every``) start the queue of firings;
        each firing contacts those still in the stage (less those an ``unless`` leaves out)
        with every touchpoint it sends (:meth:`send`), moves a share of those who responded to
        any of them (``then``), and queues the behaviour triggers that answer its contacts:
        ``when response to T`` at once, for those who reached the step, and ``when no
        response to T within D`` D later, for the others. ``te`` and ``slot`` are edited in
        place; returns the per-customer discounted costs at entry and later. ``waits``: per
        business-days trigger, each customer's wait (worked out once per stay, as for
        :meth:`_reroute`); such a trigger fires once per distinct wait, for its customers.
        """
        tal, rng, H = self.tally, self.rng, self.plan.horizon
        trigs = sp.triggers
        n_edges = int(sp.targets.size)
        m = t0.size
        c_entry: np.ndarray | None = None
        c_later: np.ndarray | None = None
        latest = H - float(t0.min())
        answers: dict[int, list[int]] = {}  # touchpoint -> the behaviour triggers answering it
        heap: list[tuple[float, int, int, int, np.ndarray | None]] = []  # (offset, order, k, seq, who)
        for order, tr in enumerate(trigs):
            if tr.behaviour:
                answers.setdefault(tr.parent[0], []).append(order)
                continue
            if waits and tr.index in waits:  # business days: one firing time per distinct wait, for its customers
                for v, sel in _by_wait(tr, waits[tr.index]):
                    if v < latest:
                        heap.append((v, order, 1, len(heap), sel))
                continue
            first = 0.0 if tr.when == "enter" else tr.days
            if tr.when == "every" and tr.limit == 0:
                continue
            if first < latest:
                heap.append((first, order, 1, len(heap), None))
        heapq.heapify(heap)
        seq = len(heap)
        # the policy's state of this stay's customers, by position (`alive`), while it lasts
        stay = self.gate.for_stay(ids) if self.gate is not None else None
        while heap:
            off, order, k, _seq, subset = heapq.heappop(heap)
            tr = trigs[order]
            # the customers and their firing times matter to `unless` and to contacts made: under a
            # whole holdout (silent) no contact is made
            silent = stay is not None and stay.silences(tr.sends)
            timed = bool(tr.unless) or (bool(tr.sends) and not silent)
            # alive: positions in the stay of those it fires for; when: their firing times (if timed)
            when = _NO_TIMES
            if subset is None and tr.when == "enter":  # everyone not yet moved by an earlier trigger at entry
                alive = np.flatnonzero(slot < n_edges)
                if timed:
                    when = t0 + off if alive.size == m else t0[alive] + off
            elif subset is None:  # still in the stage (and inside the horizon) at the firing time
                at = t0 + off
                alive = np.flatnonzero((te - t0 > off) & (at < H))
                if timed:
                    when = at if alive.size == m else at[alive]
            elif off == 0:
                alive = subset[slot[subset] < n_edges]
                if timed:
                    when = t0[alive] + off
            else:
                t0s = t0.take(subset)
                at = t0s + off
                still = np.flatnonzero((te.take(subset) - t0s > off) & (at < H))
                alive = subset.take(still)
                if timed:
                    when = at.take(still)
            who = ids.take(alive) if timed else alive[:0]
            # (a step no contact of the block has reached yet leaves everyone in)
            unless = [s for s in tr.unless if s in self.reached_steps]
            if unless and alive.size and self.resp_at is not None:
                keep = self.resp_at[unless[0]].take(who) > when
                for s in unless[1:]:
                    keep &= self.resp_at[s].take(who) > when
                if not keep.all():
                    sel = np.flatnonzero(keep)
                    alive, who, when = alive.take(sel), who.take(sel), when.take(sel)
            na = alive.size
            if na == 0:  # nobody is left for this trigger's later firings either
                continue
            if tr.when == "every" and (tr.limit is None or k < tr.limit):
                nxt = (k + 1) * tr.days
                if nxt < latest:
                    heapq.heappush(heap, (nxt, order, k + 1, seq, None))
                    seq += 1
            if self.budget is not None:
                self.budget.spend(na)
            tal.trig_fired[tr.index] += na
            # who answered (and when) matters only to a `then` after contacts: else only the costs
            track = tr.then_target >= 0 and bool(tr.sends)
            responded = np.zeros(na, bool) if track else None
            answered: np.ndarray | None = None  # the first response's moment, when a task waited
            pending = False  # answered is due (from `responded` as it is now) but not made yet
            cost: np.ndarray | None = None  # the contacts' costs (None: no contact made)
            answering = False  # whether any contact was answered yet
            # the policy's decisions on the firing's contacts, made together (they share the customers)
            decided = self._admit(tr.sends, who, when, stay, alive) if stay is not None and not silent else None
            for n_send, (touch, shares) in enumerate(zip(tr.sends, tr.send_steps, strict=True)):
                # the contacts made (positions `sent` into alive, None: all) and theirs alone
                sent: np.ndarray | None
                moment: np.ndarray | None
                if silent:  # all held out: none made, no draw
                    assert stay is not None
                    sent, cv, u, sh, moment = stay.held(touch, na), _NONE, _NONE, shares, None
                else:
                    sent, cv, u, sh, moment = self._send_gated(touch, who, when, shares,
                                                               None if decided is None else decided[n_send])
                if sent is None:
                    if cost is None:
                        cost = cv  # (send's own array: added to below, never read by send again)
                    else:
                        cost += cv
                    if responded is not None:
                        resp = u < sh[-1]
                        if moment is not None or answered is not None or pending:
                            these = np.where(resp, when if moment is None else moment, _INF)
                            if answered is None and not answering:  # min(inf, x) is x: these answers alone
                                answered = these
                            else:
                                if answered is None:
                                    answered = np.where(responded, when, _INF)
                                np.minimum(answered, these, out=answered)
                            pending = False
                        responded |= resp
                    answering = True
                else:  # the policy decided: only `sent` were contacted, at `moment`
                    if responded is not None and answered is None:
                        if sent.size:
                            answered = np.where(responded, when, _INF) if answering else np.full(na, _INF)
                            pending = False
                        else:
                            pending = True
                    if sent.size:
                        assert moment is not None
                        if cost is None:
                            cost = np.zeros(na)
                        cost[sent] += cv
                        if responded is not None:
                            assert answered is not None
                            resp = u < sh[-1]
                            hit = sent[resp]
                            if hit.size:
                                answered[hit] = np.minimum(answered[hit], moment[resp])
                                responded[hit] = True
                                answering = True
                for child in answers.get(touch, ()):
                    ctr = trigs[child]
                    if sent is not None and sent.size == 0:  # nobody contacted: nobody reached any step
                        if ctr.behaviour == "response":
                            heapq.heappush(heap, (off, child, 1, seq, alive[:0]))
                        elif off + ctr.days < latest:
                            heapq.heappush(heap, (off + ctr.days, child, 1, seq, alive))
                        seq += 1
                        continue
                    if sent is None:
                        reached = u < sh[ctr.parent[1]]
                    else:
                        reached = np.zeros(na, bool)
                        reached[sent[u < sh[ctr.parent[1]]]] = True
                    if ctr.behaviour == "response":
                        heapq.heappush(heap, (off, child, 1, seq, alive[reached]))
                    elif off + ctr.days < latest:
                        heapq.heappush(heap, (off + ctr.days, child, 1, seq, alive[~reached]))
                    seq += 1
            if cost is not None and cost.any():
                if off == 0:
                    c_entry = _add_at(c_entry, m, alive, cost)
                else:
                    c_later = _add_at(c_later, m, alive, cost)
            if tr.then_target >= 0:
                draw = rng.random(na)
                if not tr.sends:
                    moved = alive[draw < tr.response * tr.then_share]
                else:
                    assert responded is not None  # (tracked: a `then` after contacts)
                    if not answering or not responded.any():  # nobody answered: nobody moves
                        continue
                    if answered is None and pending:
                        answered = np.where(responded, when, _INF)  # (answering: see above)
                    if answered is not None:
                        # moved when the first answer comes (after a task's wait), if still here then;
                        # an earlier move found later in time order still wins (te only comes closer)
                        go = responded & (draw < tr.then_share) & (answered < te[alive]) & (answered < H)
                        moved = alive[go]
                        if moved.size:
                            tal.trig_rerouted[tr.index] += moved.size
                            te[moved] = answered[go]
                            slot[moved] = tr.slot
                        continue
                    moved = alive[responded & (draw < tr.then_share)]
                if moved.size:
                    tal.trig_rerouted[tr.index] += moved.size
                    te[moved] = t0[moved] + off
                    slot[moved] = tr.slot
        if stay is not None:
            stay.close()
        return c_entry, c_later
