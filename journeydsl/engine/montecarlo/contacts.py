"""The state of one engine block and the contacts it makes.

The base of :class:`journeydsl.engine.montecarlo.engine._Block`: the block's
arrays and tallies (``__init__``), contacts counted in aggregate (``contact``,
``_sent``) or one customer at a time (``send``, through the contact policy in
``_send_gated``), and the record of each customer's contacts (``path``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from journeydsl.engine.montecarlo.blockdata import (
    _INF,
    _AgeLog,
    _Queues,
    _slot_dtype,
    _Workspace,
)
from journeydsl.engine.montecarlo.budget import WorkBudget
from journeydsl.engine.montecarlo.gate import ContactGate, Decision, GateDraws, StayGate, gate_draws
from journeydsl.engine.montecarlo.plan import Plan, TriggerPlan
from journeydsl.engine.results import Tally


class _BlockState:
    """The block's state and its contacts."""

    def __init__(
        self,
        plan: Plan,
        n: int,
        rng: np.random.Generator,
        *,
        follow_up: bool = False,
        budget: WorkBudget | None = None,
        on_pass: Callable[[float], None] | None = None,
        draws: GateDraws | None = None,
    ) -> None:
        self.plan = plan
        self.rng = rng
        self.n = n
        self.follow_up = follow_up  # following converters for LTV only: no retention, no conversions
        self.budget = budget
        self.on_pass = on_pass  # told the share of the horizon reached, at most 4 times a second
        self._told = 0.0
        self._staying: np.ndarray | None = None  # entry times of the group whose stay is being simulated
        self._recent: set[int] = set()  # stages simulated since the last check that time moves on
        ws = _Workspace.get(n, "follow_up" if follow_up else "block")
        self.ws = ws
        self.rev = ws["rev"]
        self.cost = ws["cost"]
        self.conv_t = ws["conv_t"]
        self.cost_pre = ws["cost_pre"]
        self.conv_stage = ws["conv_stage"]
        self.active_h = ws["active_h"]
        if follow_up:
            self.conv_t.fill(0.0)  # converted at the start: nothing converts again
        self.seen: dict[int, np.ndarray] = {s: np.zeros(n, bool) for s in plan.revisitable_stages}
        # phases a customer may leave and re-enter: who has entered them, per customer
        self.phase_seen: dict[int, np.ndarray] = {
            p: np.zeros(n, bool) for p, how in enumerate(plan.phase_method) if how == "flags"
        }
        self.tally = Tally(plan.shape, n=n)
        # each customer's contacts before converting (only when attribution asks for them)
        self.paths = plan.touch_paths and not follow_up
        if self.paths:
            nt = len(plan.shape.touchpoints)
            self.first_tp = np.full(n, -1, np.int64)
            self.first_t = np.full(n, _INF)
            self.last_tp = np.full(n, -1, np.int64)
            self.last_t = np.full(n, -_INF)
            self.tp_counts = np.zeros((n, max(nt, 1)))
        ns = len(plan.stages)
        self.ns = ns
        self.converted: list[np.ndarray] = []  # the customers who converted, group by group
        self.first: np.ndarray | None = None  # the indices 0 .. n-1 of the first group (see _run)
        self.busy: set[int] = set()  # stages with customers waiting (the work list)
        self.pending = _Queues(self.busy)
        self._stay_ids: np.ndarray = np.zeros(0, np.int64)  # the customers of the stay being simulated
        self.ages: _AgeLog | None = None
        if plan.shape.age_days and not follow_up:
            if plan.delta:
                raise ValueError("age tallies are kept for plans without discount only")
            self.ages = _AgeLog(n, plan.shape.age_days)
        # retention by days since conversion (not for the LTV follow-up, nor for calendar forecasts,
        # which read the active time by age instead)
        self.km = not follow_up and self.ages is None
        # converters' LTV goes on from where they are at the horizon (Plan.ltv_goes_on): keep
        # each converter's stay at the horizon (stage, entry, exit and its slot; stage -1: none)
        self.goes_on = plan.ltv_goes_on and not follow_up and self.ages is None
        self.at_h, self.h_t0, self.h_te, self.h_slot = ws["at_h"], ws["h_t0"], ws["h_te"], ws["h_slot"]
        # each customer's time of week at time 0, for business days (None until needed)
        self.week: np.ndarray | None = draws.week if draws is not None else None
        # the contact policy (the LTV follow-up gets its block's gate, see lifetime_values)
        self.gate: ContactGate | None = None
        if plan.gate is not None and not follow_up:
            t = self.tally
            self.gate = ContactGate(plan.gate, draws if draws is not None else gate_draws(None, n), plan.horizon,
                                    t.tp_held, t.tp_capped, t.tp_delayed)
        # per remembered (touchpoint, step): each customer's first response, in days since entry
        self.resp_at = np.full((len(plan.tracked), n), _INF) if plan.tracked else None
        # the remembered steps some contact of the block has reached (the others' rows are all inf)
        self.reached_steps: set[int] = set()
        # per touchpoint, for send: its counted steps (step, counter), cost and cost on response,
        # remembered steps (slot, step), the waits of its task (None: done at once) and whether
        # its requests are logged (plain Python values: send runs once per firing)
        nt = int(plan.tp_cost.size)
        self._steps_at = [[(k, int(at)) for k, at in enumerate(plan.tp_step_pos[t].tolist()) if at >= 0]
                          if t < len(plan.tp_step_pos) else [] for t in range(nt)]
        self._money = [(float(plan.tp_cost[t]), float(plan.tp_resp_cost[t]) if t < plan.tp_resp_cost.size else 0.0)
                       for t in range(nt)]
        self._tracked = [[(slot, k) for slot, (tp, k) in enumerate(plan.tracked) if tp == t] for t in range(nt)]
        self._waits = [plan.tp_waits[t] if t < len(plan.tp_waits) and plan.tp_waits[t].size else None
                       for t in range(nt)]
        self._logged = [t < plan.tp_queue.size and bool(plan.tp_queue[t]) and not follow_up for t in range(nt)]

    def contact(self, touch: int, count: int, cost: float) -> None:
        """Count ``count`` contacts of a touchpoint and their discounted cost;
        responses are drawn in aggregate (only their total is reported)."""
        if touch < 0 or count == 0:
            return
        t = self.tally
        t.tp_contacts[touch] += count
        t.tp_cost[touch] += cost
        r = float(self.plan.tp_response[touch])
        responded = count if r >= 1 else self.rng.binomial(count, r)
        t.tp_responses[touch] += responded
        self._steps(touch, count, responded, self.plan.tp_steps[touch])

    def _steps(self, touch: int, count: int, responded: int, shares: np.ndarray) -> None:
        """Contacts reaching each earlier step of a funnel, given the ``responded`` who reached
        its last: drawn from the last step back, so that the counts nest."""
        if touch >= len(self.plan.tp_step_pos) or not self.plan.tp_step_pos[touch].size:
            return
        pos = self.plan.tp_step_pos[touch]
        below, reached = float(shares[-1]), int(responded)
        steps = self.tally.tp_steps
        if pos[-1] >= 0:
            steps[pos[-1]] += reached
        for k in range(len(shares) - 2, -1, -1):
            gap = float(shares[k]) - below
            if gap > 0 and count > reached:
                reached += int(self.rng.binomial(count - reached, min(1.0, gap / (1.0 - below))))
            below = float(shares[k])
            if pos[k] >= 0:
                steps[pos[k]] += reached

    def send(self, touch: int, who: np.ndarray, when: np.ndarray, shares: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Contact the customers ``who`` with touchpoint ``touch`` at times ``when`` (days since entry).

        The one place a contact is made one customer at a time: counts the contacts, draws each
        customer's response (``u < shares[k]``: reached step k; the last step is the response),
        charges the cost per contact and the cost on response, remembers responses that an
        ``unless`` asks about, logs a task's requests for its queue, and keeps the contact for
        first/last touch and calendar forecasts. ``shares`` (default: the touchpoint's) are the
        steps' shares. A task with a queue is done after a wait drawn from its queue's waits
        (:attr:`Plan.tp_waits`): its cost, response and memory are at that later moment.
        Returns each contact's discounted cost, its uniform draw ``u``, the shares, and the
        moments the contacts take effect (None: at ``when``).
        """
        plan, tal = self.plan, self.tally
        if shares is None:
            shares = plan.tp_steps[touch]
        m = who.size
        u = self.rng.random(m)
        if m == 0:
            return np.zeros(0), u, shares, None
        request = when
        done: np.ndarray | None = None
        waits = self._waits[touch]
        if waits is not None:
            done = when + waits[self.rng.integers(0, waits.size, m)]
            when = done
        resp = u < shares[-1]
        nresp = int(np.count_nonzero(resp))
        tal.tp_contacts[touch] += m
        tal.tp_responses[touch] += nresp
        for k, at in self._steps_at[touch]:
            tal.tp_steps[at] += int(np.count_nonzero(u < shares[k]))
        base, extra = self._money[touch]
        if base or extra:
            if plan.delta:
                disc = when * -plan.delta
                np.exp(disc, out=disc)
            else:
                disc = np.ones(m)
            on_resp = disc * (resp * extra) if extra else None
            cost = disc  # (scaled in place: disc is read above only)
            cost *= base
            if on_resp is not None:
                cost += on_resp
                tal.tp_resp_cost[touch] += float(on_resp.sum())
            tal.tp_cost[touch] += float(cost.sum())
        else:
            cost = np.zeros(m)
        if self.resp_at is not None:
            for slot, k in self._tracked[touch]:
                self.reached_steps.add(slot)
                hit = u < shares[k]
                ids, t = who[hit], when[hit]
                self.resp_at[slot, ids] = np.minimum(self.resp_at[slot, ids], t)
        if self._logged[touch]:
            tal.task_tp.append(np.full(m, touch, np.int32))
            tal.task_who.append(who)
            tal.task_base.append(0)
            tal.task_age.append(request)  # callers pass times they never write to again
        if self.paths:
            self.path(touch, who, when)
        if self.ages is not None:
            if base:
                self.ages.cost(self.conv_t, who, when, base)
            if extra and nresp:
                self.ages.cost(self.conv_t, who[resp], when[resp], extra)
        return cost, u, shares, done

    def _send_gated(self, touch: int, who: np.ndarray, when: np.ndarray, shares: np.ndarray,
                    decision: Decision | None = None,
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`send` for a trigger's contact, through the contact policy (caps, quiet hours, holdout).

        A contact the policy holds out or skips is not made: no cost and no response, so a
        ``when no response`` trigger answering it still fires. A delayed contact is made when
        the policy lets it go, and takes effect then (returned as its moment, like a task's
        wait). Without a policy this is :meth:`send`. ``decision``: the policy's on these
        contacts when asked already (:meth:`_admit`, for all the contacts of a firing at once).

        Returns the positions (into ``who``) of the contacts made (None: all of them) and, for
        those alone, :meth:`send`'s cost, uniform draw ``u``, shares and moments (None: at
        ``when``; never None when the policy decided something): the caller works on the
        contacts made only, without arrays the size of ``who``.
        """
        if self.gate is None:
            return None, *self.send(touch, who, when, shares)
        keep, at = decision if decision is not None else self._admit((touch,), who, when)[0]
        if keep is None and at is when:
            return None, *self.send(touch, who, when, shares)
        if keep is not None and keep.size == 0:  # nothing sent (held out or capped): no draw either
            return keep, np.zeros(0), np.zeros(0), shares, at
        cv, u, sh, done = self.send(touch, who if keep is None else who[keep], at, shares)
        return keep, cv, u, sh, at if done is None else done

    def _admit(self, touches: tuple[int, ...], who: np.ndarray, when: np.ndarray, stay: StayGate | None = None,
               pos: np.ndarray | None = None) -> list[Decision]:
        """The contact policy's decisions on contacts of each of ``touches`` (in that order) falling
        due together for customers ``who`` at times ``when``: the one place a trigger's contacts ask
        the gate (see :meth:`ContactGate.admit`). ``stay``: the gate's state of the stay's
        customers, ``who`` being those at positions ``pos`` of the stay."""
        assert self.gate is not None
        if stay is not None and pos is not None:
            return stay.admit(touches, pos, when)
        return self.gate.admit(touches, who, when)

    def path(self, touch: int, ids: np.ndarray, t: np.ndarray, k: np.ndarray | None = None,
             t_last: np.ndarray | None = None) -> None:
        """Contacts of ``touch`` with customers ``ids`` at times ``t`` (``k`` each, the last at
        ``t_last``), kept for first/last/linear touch when made before the customer converted."""
        if not self.paths or touch < 0 or ids.size == 0:
            return
        before = t < self.conv_t[ids]
        if k is not None:
            before &= k > 0
        if not before.all():
            ids, t = ids[before], t[before]
            k = None if k is None else k[before]
            t_last = None if t_last is None else t_last[before]
        if ids.size == 0:
            return
        tl = t if t_last is None else t_last
        first = t < self.first_t[ids]
        self.first_t[ids[first]] = t[first]
        self.first_tp[ids[first]] = touch
        last = tl >= self.last_t[ids]
        self.last_t[ids[last]] = tl[last]
        self.last_tp[ids[last]] = touch
        self.tp_counts[ids, touch] += 1.0 if k is None else k

    def _business_wait(self, tr: TriggerPlan, idx: np.ndarray, t0: np.ndarray) -> np.ndarray:
        """Days each customer ``idx`` entering at ``t0`` waits for ``tr``'s business days: by the
        weekday of the entry on the customer's own week (see :class:`GateDraws`)."""
        assert tr.business is not None
        if self.week is None:
            self.week = gate_draws(None, self.n).week
        day = np.floor(self.week[idx] + t0).astype(np.int64) % 7
        return np.asarray(tr.business, float)[day]

    @staticmethod
    def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Slot of each uniform ``u`` among cumulative shares ``cum`` (len(cum) if past the end).

        int8 while the slots fit in it, else int16 (``checks.MAX_EXITS`` keeps them in it).
        """
        if cum.size <= 6:
            slot = (u >= cum[0]).view(np.int8)
            for c in cum[1:]:
                slot = slot + (u >= c).view(np.int8)
            return slot
        return np.searchsorted(cum, u, side="right").astype(_slot_dtype(cum.size + 1))

    def _sent(self, tr: TriggerPlan, count: int, cost: float) -> None:
        """Book ``count`` firings of a sending trigger (responses drawn in aggregate)."""
        if tr.touch < 0 or count == 0:
            return
        t = self.tally
        t.tp_contacts[tr.touch] += count
        t.tp_cost[tr.touch] += cost
        responded = count if tr.response >= 1 else self.rng.binomial(count, tr.response)
        t.tp_responses[tr.touch] += responded
        if tr.send_steps:
            self._steps(tr.touch, count, responded, tr.send_steps[0])
