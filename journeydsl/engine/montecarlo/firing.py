"""Firing a stay's triggers one customer group at a time (``_events``), where behaviour
conditions (``when response to``, ``when no response to``), ``unless``, several sends or
tasks need it: the queue of firings, the contacts each makes (through the contact policy),
who answered them and when, and the ``then`` moves that follow.

The other ways a stay's triggers fire are the layers below: in closed form
(:mod:`~journeydsl.engine.montecarlo.firing_closed`) and rerouting in time order
(:mod:`~journeydsl.engine.montecarlo.firing_reroutes`).
"""

from __future__ import annotations

import heapq

import numpy as np

from journeydsl.engine.montecarlo.blockdata import _INF
from journeydsl.engine.montecarlo.firing_reroutes import _add_at, _by_wait, _Reroutes
from journeydsl.engine.montecarlo.gate import _NONE
from journeydsl.engine.montecarlo.plan import StagePlan

#: The firing times of a firing that needs none (no `unless`, no contact made).
_NO_TIMES = np.zeros(0)
_NO_TIMES.flags.writeable = False


class _Firing(_Reroutes):
    """Triggers of a stay (in closed form and rerouting in time order: the layers below), fired
    one by one where behaviour triggers need it."""

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
