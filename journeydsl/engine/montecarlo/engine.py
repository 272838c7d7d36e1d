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

import heapq
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from journeydsl.engine.montecarlo.gate import ContactGate, GateDraws, gate_draws
from journeydsl.engine.montecarlo.plan import Plan, StagePlan, TriggerPlan
from journeydsl.engine.montecarlo.sampling import Sampler
from journeydsl.engine.results import K, Tally

__all__ = ["STAY_OVERHEAD", "OverBudget", "WorkBudget", "simulate_block"]

#: Steps a group's stay costs besides one per customer (the Python work of one stay() call,
#: about 70 microseconds, as much as a thousand customer-stays in numpy).
STAY_OVERHEAD = 1_000


class OverBudget(Exception):
    """A pilot block spent its :class:`WorkBudget`; ``reached`` is the share of the horizon its
    slowest customers had reached (0 when simulated time did not move)."""

    def __init__(self, reached: float, stages: tuple[str, ...] = ()) -> None:
        super().__init__(f"work budget spent at {reached:.3%} of the horizon")
        self.reached = reached
        self.stages = stages  # the stages customers were moving through when it ran out


class WorkBudget:
    """Counts the engine's steps: one per customer-stay, trigger firing and purchase, and
    :data:`STAY_OVERHEAD` per group stay. Past ``limit`` steps the block stops (OverBudget)."""

    def __init__(self, limit: float = math.inf) -> None:
        self.limit = limit
        self.units = 0  # customer-stays, firings, purchases
        self.calls = 0  # group stays

    @property
    def steps(self) -> float:
        return self.units + STAY_OVERHEAD * self.calls

    def spend(self, units: int, calls: int = 0) -> None:
        self.units += units
        self.calls += calls
        if self.steps > self.limit:
            raise OverBudget(-1.0)  # where in the horizon is filled in by the block

_INF = math.inf
#: Least seconds between two reports of progress within a block (a terminal redraws no faster).
PROGRESS_SECONDS = 0.25
_CHECK_EVERY = 10_000  # passes between checks that simulated time moves on


def _slot_dtype(slots: int) -> type[np.signedinteger]:
    """The smallest integer type for exit slots ``-1 .. slots`` (int8 for the usual few)."""
    return np.int8 if slots < 127 else np.int16


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS (its threads stall on a busy shared machine)."""
    return float(np.einsum("i,i->", a, b))


_Chunk = tuple[np.ndarray, np.ndarray, bool]  # customer indices, entry times, times all zero


class _Queue(list[_Chunk]):
    """The customers waiting to enter one stage (chunks); adding one marks the stage as busy.

    The block keeps the set of busy stages (its work list), so a pass visits only the
    stages with someone waiting instead of scanning every stage of the journey.
    """

    __slots__ = ("busy", "stage")

    def __init__(self, stage: int, busy: set[int]) -> None:
        super().__init__()
        self.stage = stage
        self.busy = busy

    def append(self, chunk: _Chunk) -> None:
        super().append(chunk)
        self.busy.add(self.stage)


class _Workspace:
    """Per-thread scratch arrays reused across blocks (fresh large arrays cost page faults).

    One set per ``key``: the block itself, and the follow-up of its converters for LTV.
    Per thread, because an executor may run several blocks of one process at once
    (a thread pool, or a Dask worker with several threads).
    """

    local = threading.local()

    @classmethod
    def get(cls, n: int, key: str = "block") -> dict[str, np.ndarray]:
        if not hasattr(cls.local, "sets"):
            cls.local.sets = {}
        sets: dict[str, tuple[int, dict[str, np.ndarray]]] = cls.local.sets
        size, arrays = sets.get(key, (0, {}))
        if n > size:
            size = n
            arrays = {
                "rev": np.empty(n),
                "cost": np.empty(n),
                "conv_t": np.empty(n),
                "cost_pre": np.empty(n),
                "conv_stage": np.empty(n, np.int64),
                "active_h": np.empty(n, bool),
                "zeros": np.zeros(n),  # never written: entry times of the first group
                "arange": np.arange(n),  # never written: the first group's indices
            }
            sets[key] = (size, arrays)
        out = {k: v[:n] for k, v in arrays.items()}
        for k in ("rev", "cost", "cost_pre"):
            out[k].fill(0.0)
        out["conv_t"].fill(_INF)
        out["conv_stage"].fill(-1)
        out["active_h"].fill(False)
        return out


_MONTH = 365.0 / 12.0


class _AgeLog:
    """Cash flows of one block by age since entry, for calendar forecasts.

    Each flow is logged with its customer, its time since entry and its amount (not
    discounted: the forecast runs plans with no discount); a cost is acquisition
    when the customer had not converted yet when it was booked (so the cost of the
    ``via`` move into the goal stage is, the goal stage's own costs are not). The
    active stays go straight into a difference array. :meth:`finish` bins them.
    """

    def __init__(self, n: int, days: int) -> None:
        self.n = n
        self.days = days
        self.flows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | float]] = []  # kind, ids, t, amount
        self.steps = np.zeros(days + 2)  # active stays by age, see active()
        self.referrals: list[tuple[np.ndarray, float]] = []  # (entry times, arrivals each brings)
        self.corr = np.zeros(days + 2)

    def log(self, kind: int, ids: np.ndarray, t: np.ndarray, amount: np.ndarray | float) -> None:
        """``kind``: 0 revenue, 1 cost after conversion, 2 cost before it."""
        if ids.size:
            self.flows.append((kind, ids, t, amount))

    def cost(self, conv_t: np.ndarray, ids: np.ndarray, t: np.ndarray, amount: np.ndarray | float) -> None:
        if not ids.size:
            return
        pre = conv_t[ids] == _INF
        if pre.all():
            self.log(2, ids, t, amount)
        elif not pre.any():
            self.log(1, ids, t, amount)
        else:
            for kind, sel in ((2, pre), (1, ~pre)):
                a = amount[sel] if isinstance(amount, np.ndarray) else amount
                self.log(kind, ids[sel], t[sel], a)

    def active(self, t0: np.ndarray, t1: np.ndarray) -> None:
        """Stays in an active stage from ``t0`` to ``t1`` (finite): the time they cover of each day of age.

        The time covered up to a whole age ``K`` is ``max(K - t0, 0) - max(K - t1, 0)``; each
        ``max(K - t, 0)`` rises by ``K - t`` clipped to 0..1 from ``K - 1`` to ``K``, i.e. a step
        of 1 at ``floor(t) + 1`` less the part of a day ``t - floor(t)`` there. Steps and
        corrections go into difference arrays; :meth:`finish` sums them up twice.
        """
        size = self.days + 2
        for t, sign in ((t0, 1.0), (t1, -1.0)):
            whole = np.floor(t)
            at = np.minimum(whole + 1, size - 1).astype(np.int64)
            self.steps += sign * np.bincount(at, minlength=size)
            self.corr -= sign * np.bincount(at, weights=t - whole, minlength=size)

    def finish(self, tal: Tally, conv_t: np.ndarray, rng: np.random.Generator) -> None:
        """Bin the logged flows into ``tal``'s age tallies.

        The second moments are by calendar month after the arrival month, for an arrival at
        a random moment of its month: each customer gets a phase ``u`` (even in [0, 1)) and
        a flow at age ``t`` counts in month ``floor(u + t / (365/12))`` of their life. So
        ``age_m_rev2[k]`` is the sum over customers of the square of what each pays in the
        ``k``-th calendar month after the one they arrived in (months of equal length).
        """
        a, nm = self.days, tal.shape.age_months
        for t, r in self.referrals:
            tal.age_ref += _by_offset(t, np.full(t.size, r), a)
        phase = rng.random(self.n)
        covered = np.cumsum(np.cumsum(self.steps) + self.corr)  # active time up to each whole age
        tal.age_active += np.diff(covered)[:a]
        ct = conv_t[conv_t < _INF]
        if ct.size:
            tal.age_conv += _by_offset(ct, np.ones(ct.size), a)
        # gather each kind's flows once: one pass per kind, not one per logged stay
        by_kind: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {0: [], 1: [], 2: []}
        for kind, ids, t, amount in self.flows:
            by_kind[kind].append((ids, t, np.broadcast_to(np.asarray(amount, float), t.shape)))
        keys: dict[int, np.ndarray] = {}
        amounts: dict[int, np.ndarray] = {}
        for kind, parts in by_kind.items():
            if not parts:
                keys[kind], amounts[kind] = np.zeros(0, np.int64), np.zeros(0)
                continue
            ids = np.concatenate([p[0] for p in parts])
            t = np.concatenate([p[1] for p in parts])
            w = np.concatenate([p[2] for p in parts])
            by_day = _by_offset(t, w, a)
            if kind == 0:
                tal.age_rev += by_day
            else:
                tal.age_cost += by_day
                if kind == 2:
                    tal.age_acq += by_day
            month = (phase.take(ids) + t / _MONTH).astype(np.int64)  # calendar months after arrival
            keys[kind] = ids * nm + np.minimum(month, nm - 1)
            amounts[kind] = w
        # one sort of all (customer, month) keys; each kind's sums per key from it
        all_keys = np.concatenate([keys[0], keys[1], keys[2]])
        if not all_keys.size:
            return
        uniq, inverse = np.unique(all_keys, return_inverse=True)
        cuts = np.cumsum([keys[0].size, keys[1].size])
        per_key = [
            np.bincount(part, weights=amounts[k], minlength=uniq.size)
            for k, part in enumerate(np.split(inverse, cuts))
        ]
        rev, acq = per_key[0], per_key[2]
        cost = per_key[1] + acq
        value = rev - cost
        month = uniq % nm
        tal.age_m_rev2 += _by_month(month, rev, nm)
        tal.age_m_acq2 += _by_month(month, acq, nm)
        tal.age_m_cost2 += _by_month(month, cost, nm)
        tal.age_m_val2 += _by_month(month, value, nm)
        tal.age_m_cum2 += _running_by_month(uniq, value, nm)


def _by_month(month: np.ndarray, sums: np.ndarray, nm: int) -> np.ndarray:
    """The squares of per-(customer, month) sums, added up by month."""
    out: np.ndarray = np.bincount(month, weights=sums * sums, minlength=nm)[:nm]
    return out


def _running_by_month(uniq: np.ndarray, sums: np.ndarray, nm: int) -> np.ndarray:
    """Per month, the sum over customers of the square of each one's running total to that month's end.

    ``uniq`` are the sorted ``customer * nm + month`` keys and ``sums`` their amounts; a
    running total at a key holds until the customer's next key (or the last month).
    """
    month = uniq % nm
    who = uniq // nm
    running = np.cumsum(sums)
    first = np.ones(uniq.size, bool)
    first[1:] = who[1:] != who[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(uniq.size), 0))  # each key's customer's first key
    running -= (running - sums)[start]  # the total from the customer's first key on
    last = np.ones(uniq.size, bool)
    last[:-1] = who[:-1] != who[1:]
    until = np.where(last, nm, np.roll(month, -1))  # the running total holds from month to until - 1
    sq = running * running
    diff = np.bincount(month, weights=sq, minlength=nm + 1) - np.bincount(until, weights=sq, minlength=nm + 1)
    out: np.ndarray = np.cumsum(diff)[:nm]
    return out


def _squares_by_month(keys: np.ndarray, w: np.ndarray, nm: int, *, cumulative: bool = False) -> np.ndarray:
    """Per month, the sum over customers of the square of each one's amount in that month.

    ``keys`` are ``customer * nm + month``; ``w`` the amounts (several per key add up). With
    ``cumulative``, the amount from entry to the end of each month instead. Sparse: only the
    (customer, month) pairs with money are touched.
    """
    if keys.size == 0:
        return np.zeros(nm)
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=w, minlength=uniq.size)
    return _running_by_month(uniq, sums, nm) if cumulative else _by_month(uniq % nm, sums, nm)


def _by_offset(t: np.ndarray, w: np.ndarray, a: int) -> np.ndarray:
    """Amounts ``w`` at ages ``t`` by day offset ``0 .. a-1`` from the arrival day.

    A flow at age ``t = k + f`` of a customer who arrived at day ``d + u`` (``u``
    even in [0, 1)) falls on calendar day ``d + k`` with chance ``1 - f`` and on
    ``d + k + 1`` with chance ``f``: it is booked so, split between offsets k and k + 1.
    """
    day = np.minimum(t, a - 1).astype(np.int64)
    frac = np.clip(t - day, 0.0, 1.0) * w
    out: np.ndarray = (np.bincount(day, weights=w - frac, minlength=a + 1)
                       + np.bincount(day + 1, weights=frac, minlength=a + 1))[:a]  # fmt: skip
    return out


def _expand(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For whole counts per customer: the owner and the number ``0 .. count-1`` of each item."""
    c = count.astype(np.int64)
    owner = np.repeat(np.arange(c.size), c)
    starts = np.cumsum(c) - c
    k = np.arange(owner.size) - np.repeat(starts, c)
    return owner, k


class _Block:
    """Per-customer state of one block while it is simulated."""

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
        self.seen: dict[int, np.ndarray] = {s.index: np.zeros(n, bool) for s in plan.stages if s.revisitable}
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
        self.busy: set[int] = set()  # stages with customers waiting (the work list)
        self.pending: list[_Queue] = [_Queue(k, self.busy) for k in range(ns)]
        self._stay_ids: np.ndarray = np.zeros(0, np.int64)  # the customers of the stay being simulated
        self.ages: _AgeLog | None = None
        if plan.shape.age_days and not follow_up:
            if plan.delta:
                raise ValueError("age tallies are kept for plans without discount only")
            self.ages = _AgeLog(n, plan.shape.age_days)
        # retention by days since conversion (not for the LTV follow-up, nor for calendar forecasts,
        # which read the active time by age instead)
        self.km = not follow_up and self.ages is None
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

    # --- helpers -----------------------------------------------------------

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
        waits = plan.tp_waits[touch] if touch < len(plan.tp_waits) else None
        if waits is not None and waits.size:
            done = when + waits[self.rng.integers(0, waits.size, m)]
            when = done
        resp = u < shares[-1]
        nresp = int(np.count_nonzero(resp))
        tal.tp_contacts[touch] += m
        tal.tp_responses[touch] += nresp
        pos = plan.tp_step_pos[touch] if touch < len(plan.tp_step_pos) else np.zeros(0, np.int64)
        for k, at in enumerate(pos):
            if at >= 0:
                tal.tp_steps[at] += int(np.count_nonzero(u < shares[k]))
        base, extra = float(plan.tp_cost[touch]), float(plan.tp_resp_cost[touch])
        if base or extra:
            disc = np.exp(when * -plan.delta) if plan.delta else np.ones(m)
            cost = disc * base
            if extra:
                on_resp = disc * (resp * extra)
                cost += on_resp
                tal.tp_resp_cost[touch] += float(on_resp.sum())
            tal.tp_cost[touch] += float(cost.sum())
        else:
            cost = np.zeros(m)
        if self.resp_at is not None:
            for slot, (tp, k) in enumerate(plan.tracked):
                if tp == touch:
                    hit = u < shares[k]
                    ids, t = who[hit], when[hit]
                    self.resp_at[slot, ids] = np.minimum(self.resp_at[slot, ids], t)
        if plan.tp_queue[touch] and not self.follow_up:
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

    def _send_gated(self, touch: int, who: np.ndarray, when: np.ndarray, shares: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`send` for a trigger's contact, through the contact policy (caps, quiet hours, holdout).

        A contact the policy holds out or skips is not made: no cost and no response (its
        ``u`` is 1), so a ``when no response`` trigger answering it still fires. A delayed
        contact is made when the policy lets it go, and takes effect then (returned as its
        moment, like a task's wait). Without a policy this is :meth:`send`.
        """
        if self.gate is None:
            return self.send(touch, who, when, shares)
        keep, at = self.gate.admit(touch, who, when)
        if keep is None and at is when:
            return self.send(touch, who, when, shares)
        m = who.size
        sent = slice(None) if keep is None else keep
        cv, u, sh, done = self.send(touch, who[sent], at, shares)
        cost, u_all, moment = np.zeros(m), np.ones(m), np.array(when, dtype=float)
        cost[sent], u_all[sent], moment[sent] = cv, u, at if done is None else done
        return cost, u_all, sh, moment

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

    # --- the stay ------------------------------------------------------------

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
            else:
                te = np.zeros(m)
                for k, d in enumerate(sp.delays):
                    if d is None:
                        continue
                    sel = np.flatnonzero(slot == k)
                    if sel.size:
                        te[sel] = d.draw(rng, sel.size)
            if sp.stay_forever:
                stuck = slot >= nb
                te[stuck] = _INF
                slot[stuck] = -1
        if not t0_zero:
            te += t0
        wide = _slot_dtype(sp.out_targets.size)
        if slot.dtype != wide:  # room for the reroute slots a trigger may write
            slot = slot.astype(wide)
        return te, slot

    def stay(self, sp: StagePlan, idx: np.ndarray, t0: np.ndarray, t0_zero: bool) -> None:
        """Simulate one stay in ``sp`` for customers ``idx`` entering at times ``t0``."""
        plan, tal = self.plan, self.tally
        H = plan.horizon
        delta = plan.delta
        s = sp.index
        m = idx.size
        tal.visits[s] += m
        if sp.revisitable:
            seen = self.seen[s]
            tal.reached[s] += m - int(np.count_nonzero(seen[idx]))
            seen[idx] = True
        else:
            tal.reached[s] += m
        if sp.flag >= 0:
            self.phase_seen[sp.flag][idx] = True
        # discount factors at entry (None: all ones)
        d0 = np.exp(t0 * -delta) if (sp.needs_d0 and delta and not t0_zero) else None

        if sp.goal and not self.follow_up:
            conv = self.conv_t[idx]
            newc = np.flatnonzero(conv == _INF)
            if newc.size:
                # acquisition cost: everything before this stage, `via` on the move here included,
                # but not this stage's own costs (cost to serve)
                ci = idx[newc]
                self.conv_t[ci] = t0[newc]
                self.conv_stage[ci] = s
                self.cost_pre[ci] = self.cost[ci]

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
            ce, c_later = self._events(sp, t0, te, slot, idx)
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
        track = self.km
        if sp.mode == "none" and not then_trigs:
            tal.at_horizon[s] += m
            tal.stage_days[s] += m * H - (0.0 if t0_zero else float(t0.sum()))
            if sp.active and track:
                self._retention(idx, t0, te, np.zeros(m, bool))
            return
        done = te < H
        nd = int(np.count_nonzero(done))
        tal.completed[s] += nd
        tal.at_horizon[s] += m - nd
        if sp.active and track:
            self._retention(idx, t0, te, done)
        if sp.km_moves and track and nd:
            self._moves(sp, idx, t0, te, slot, done)
        if nd == 0:
            tal.stage_days[s] += m * H - (0.0 if t0_zero else float(t0.sum()))
            return
        if nd == m:
            ids, te_d, sl_d = idx, te, slot
            t0_sum = t0_all = 0.0 if t0_zero else float(t0.sum())
        else:
            sel = np.flatnonzero(done)
            ids, te_d, sl_d = idx.take(sel), te.take(sel), slot.take(sel)
            t0_sum = 0.0 if t0_zero else float(t0.take(sel).sum())
            t0_all = 0.0 if t0_zero else float(t0.sum())
        te_sum = float(te_d.sum())
        tal.dwell_sum[s] += te_sum - t0_sum
        # days in the stage: to the exit for those who left, to the horizon for the others
        tal.stage_days[s] += te_sum + (m - nd) * H - t0_all
        self._leave(sp, ids, te_d, sl_d, nd, te_sum)

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
                sel = np.flatnonzero(slot == k)  # then take: faster than a boolean gather
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
            te_k_sum = te_sum if nslots == 1 else float(te_k.sum()) if to_sink else 0.0
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
                heap.extend((float(v), order, 1) for v in np.unique(waits[tr.index]) if v < latest)
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
                # the contact gate (caps, quiet hours, holdout): the one place a send is decided
                keep, when = self.gate.admit(tr.touch, ids[alive], t0[alive] + off)
                if keep is not None:
                    alive = alive[keep]
                    na = alive.size
                    if na == 0:
                        continue
            if tr.cost:
                # added in place to one buffer per kind (alive is unique: fancy-index add is exact)
                if when is None:
                    vals = tr.cost * math.exp(-delta * off) * (d0[alive] if d0 is not None else np.ones(na))
                else:
                    vals = tr.cost * np.exp(-delta * when) if delta else np.full(na, tr.cost)
                if self.ages is not None:
                    sent_at = t0.take(alive) + off if when is None else when
                    self.ages.cost(self.conv_t, self._stay_ids.take(alive), sent_at, tr.cost)
                if off == 0 and when is None:
                    if c_entry is None:
                        c_entry = np.zeros(m)
                    c_entry[alive] += vals
                else:
                    if c_later is None:
                        c_later = np.zeros(m)
                    c_later[alive] += vals
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
        self, sp: StagePlan, t0: np.ndarray, te: np.ndarray, slot: np.ndarray, ids: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Fire every trigger of the stay in time order, one customer at a time where it matters.

        Triggers on time in the stage (``enter``, ``in``, ``every``) start the queue of firings;
        each firing contacts those still in the stage (less those an ``unless`` leaves out)
        with every touchpoint it sends (:meth:`send`), moves a share of those who responded to
        any of them (``then``), and queues the behaviour triggers that answer its contacts:
        ``when response to T`` at once, for those who reached the step, and ``when no
        response to T within D`` D later, for the others. ``te`` and ``slot`` are edited in
        place; returns the per-customer discounted costs at entry and later.
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
            if tr.business is not None:  # business days: each customer's wait by the weekday they entered on
                wait = self._business_wait(tr, ids, t0)
                for v in np.unique(wait):
                    if v < latest:
                        heap.append((float(v), order, 1, len(heap), np.flatnonzero(wait == v)))
                continue
            first = 0.0 if tr.when == "enter" else tr.days
            if tr.when == "every" and tr.limit == 0:
                continue
            if first < latest:
                heap.append((first, order, 1, len(heap), None))
        heapq.heapify(heap)
        seq = len(heap)
        while heap:
            off, order, k, _seq, subset = heapq.heappop(heap)
            tr = trigs[order]
            if subset is None and tr.when == "enter":  # everyone not yet moved by an earlier trigger at entry
                alive = np.flatnonzero(slot < n_edges)
            elif subset is None:  # still in the stage (and inside the horizon) at the firing time
                alive = np.flatnonzero((te - t0 > off) & (t0 + off < H))
            elif off == 0:
                alive = subset[slot[subset] < n_edges]
            else:
                alive = subset[(te[subset] - t0[subset] > off) & (t0[subset] + off < H)]
            if tr.unless and alive.size and self.resp_at is not None:
                when = t0[alive] + off
                keep = np.ones(alive.size, bool)
                for s in tr.unless:
                    keep &= self.resp_at[s, ids[alive]] > when
                alive = alive[keep]
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
            when = t0[alive] + off
            responded = np.zeros(na, bool)
            answered: np.ndarray | None = None  # the first response's moment, when a task waited
            cost = np.zeros(na)
            for touch, shares in zip(tr.sends, tr.send_steps, strict=True):
                cv, u, sh, done = self._send_gated(touch, ids[alive], when, shares)
                cost += cv
                resp = u < sh[-1]
                if done is not None or answered is not None:
                    if answered is None:
                        answered = np.where(responded, when, _INF)
                    np.minimum(answered, np.where(resp, when if done is None else done, _INF), out=answered)
                responded |= resp
                for child in answers.get(touch, ()):
                    ctr = trigs[child]
                    reached = u < sh[ctr.parent[1]]
                    if ctr.behaviour == "response":
                        heapq.heappush(heap, (off, child, 1, seq, alive[reached]))
                    elif off + ctr.days < latest:
                        heapq.heappush(heap, (off + ctr.days, child, 1, seq, alive[~reached]))
                    seq += 1
            if cost.any():
                cv_full = np.zeros(m)
                cv_full[alive] = cost
                if off == 0:
                    c_entry = cv_full if c_entry is None else c_entry + cv_full
                else:
                    c_later = cv_full if c_later is None else c_later + cv_full
            if tr.then_target >= 0:
                draw = rng.random(na)
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
                if tr.sends:
                    moved = alive[responded & (draw < tr.then_share)]
                else:
                    moved = alive[draw < tr.response * tr.then_share]
                if moved.size:
                    tal.trig_rerouted[tr.index] += moved.size
                    te[moved] = t0[moved] + off
                    slot[moved] = tr.slot
        return c_entry, c_later

    def _retention(self, idx: np.ndarray, t0: np.ndarray, te: np.ndarray, done: np.ndarray) -> None:
        """Converters in an active stage at each retention edge during this stay (while followed)."""
        tal, H = self.tally, self.plan.horizon
        conv = self.conv_t[idx]
        still = ~done
        if still.any():
            self.active_h[idx[still]] = True
        cm = np.flatnonzero(conv <= t0)
        if not cm.size:
            return
        c = conv[cm]
        a = t0[cm] - c
        b = np.where(still[cm], _INF, te[cm] - c)
        edges = tal.shape.km_edges
        ne = edges.size
        k0 = np.searchsorted(edges, a, side="left")  # first edge in the stay
        k1 = np.minimum(
            np.searchsorted(edges, b, side="left"),  # first edge after it
            np.searchsorted(edges, H - c + 1e-9, side="right"),  # first edge no longer followed
        )
        ok = k1 > k0
        if ok.any():
            tal.km_act += np.cumsum(
                np.bincount(k0[ok], minlength=ne + 1)[:ne] - np.bincount(k1[ok], minlength=ne + 1)[:ne]
            )

    def _moves(
        self, sp: StagePlan, idx: np.ndarray, t0: np.ndarray, te: np.ndarray, slot: np.ndarray, done: np.ndarray
    ) -> None:
        """Converters moving out of the active stages (from an active stage) or back into them
        (from an inactive one), by the retention bin of their days since conversion."""
        conv = self.conv_t[idx]
        sel = np.flatnonzero(done & (conv <= t0))
        if not sel.size:
            return
        crossing = sel[sp.out_active[slot[sel]] != sp.active]
        if not crossing.size:
            return
        edges = self.tally.shape.km_edges
        k = np.searchsorted(edges, te[crossing] - conv[crossing], side="left")
        counts = np.bincount(k, minlength=edges.size)[: edges.size]
        counts[0] = 0  # a move at the moment of conversion is already in the state at day 0
        if sp.active:
            self.tally.km_out += counts
        else:
            self.tally.km_back += counts

    # --- the block -----------------------------------------------------------

    def now(self) -> float:
        """The earliest time a waiting customer enters a stage (the horizon when none waits)."""
        waiting = [float(c[1].min()) for chunks in self.pending for c in chunks if c[1].size]
        if self._staying is not None and self._staying.size:  # the group in a stay right now
            waiting.append(float(self._staying.min()))
        return min(waiting, default=self.plan.horizon)

    def run(self) -> Tally:
        return self._run()

    def _pass_done(self) -> None:
        """Tell ``on_pass`` how far simulated time has come, at most 4 times a second."""
        assert self.on_pass is not None
        t = time.monotonic()
        if t - self._told >= PROGRESS_SECONDS:
            self._told = t
            self.on_pass(min(1.0, self.now() / self.plan.horizon))

    def _run(self) -> Tally:
        plan, rng, n = self.plan, self.rng, self.n
        self._told = time.monotonic()
        if n == 0:
            return self.tally
        zeros, arange = self.ws["zeros"], self.ws["arange"]
        if plan.entry_stages.size == 1:
            self._enter(int(plan.entry_stages[0]), arange, zeros)
        else:
            e = self._pick(plan.entry_cum[:-1], rng.random(n))
            for k, s in enumerate(plan.entry_stages):
                ids = np.flatnonzero(e == k)
                if ids.size:
                    self._enter(int(s), ids, zeros[: ids.size])
        self._advance()
        return self.finish()

    def _advance(self) -> None:
        """Simulate stays, stage by stage, until nobody is left inside the horizon."""
        try:
            self._advance_all()
        except OverBudget as exc:
            if exc.reached >= 0:  # located already (by a follow-up block inside this one)
                raise
            busy = tuple(sp.name for sp in self.plan.stages if sp.index in self._recent)
            raise OverBudget(max(0.0, min(1.0, self.now() / self.plan.horizon)), busy) from exc

    def _advance_all(self) -> None:
        """Passes over the busy stages in index order; a stage that customers enter during a pass
        is simulated in the same pass if it comes later, else in the next one (as a scan of every
        stage in order would, so the work list changes no number)."""
        plan = self.plan
        budget = self.budget
        stages = plan.stages
        pending = self.pending
        busy = self.busy
        passes = 0
        earliest = -_INF
        recent: set[int] = set()
        self._recent = recent  # for OverBudget
        while busy:
            passes += 1
            if passes % _CHECK_EVERY == 0:
                # a loop that takes no time would never reach the horizon: stop with a reason
                now = min((float(c[1].min()) for chunks in pending for c in chunks if c[1].size), default=_INF)
                if now <= earliest:
                    looping = [sp.name for sp in stages if sp.index in recent]
                    raise ValueError(
                        f"customers keep moving between {', '.join(repr(x) for x in looping)} without time "
                        "passing (a loop that takes no time)"
                    )
                earliest = now
                recent.clear()
            todo = sorted(busy)  # a sorted list is a heap
            queued = set(todo)
            busy.clear()
            while todo:
                s = heapq.heappop(todo)
                queued.discard(s)
                chunks = pending[s]
                if not chunks:
                    continue
                recent.add(s)
                if budget is not None:  # before the chunks leave `pending`, so that now() sees them
                    budget.spend(sum(c[0].size for c in chunks), 1)
                if len(chunks) == 1:
                    idx, t0, t0_zero = chunks[0]
                else:
                    idx = np.concatenate([c[0] for c in chunks])
                    t0 = np.concatenate([c[1] for c in chunks])
                    t0_zero = all(c[2] for c in chunks)
                chunks.clear()
                busy.discard(s)
                self._staying = t0
                self.stay(stages[s], idx, t0, t0_zero)
                for j in [j for j in busy if j > s]:  # entered during this pass, still ahead in it
                    busy.discard(j)
                    if j not in queued:
                        heapq.heappush(todo, j)
                        queued.add(j)
            if self.on_pass is not None:
                self._pass_done()

    def lifetime_values(self, ci: np.ndarray) -> np.ndarray:
        """LTV of the converters ``ci``: each followed afresh from the stage they converted in,
        for the LTV window, on the same plan; money discounted to the moment of conversion.

        What happens after conversion depends only on that stage (the engine keeps no
        other memory that changes money), so this is the same in distribution as following
        each customer on past the horizon, and it does not depend on when they converted.
        """
        plan = self.plan
        fplan = replace(plan, horizon=plan.ltv_window)
        follow = _Block(fplan, ci.size, self.rng, follow_up=True, budget=self.budget)  # its work counts too
        if self.week is not None:  # the same week, from the moment of conversion on
            follow.week = (self.week[ci] + self.conv_t[ci]) % 7.0
        if self.gate is not None:  # the same customers held out, on the same clock, with their recent contacts
            ft = follow.tally
            follow.gate = self.gate.follow(ci, self.conv_t[ci], fplan.horizon, ft.tp_held, ft.tp_capped,
                                           ft.tp_delayed)
        if self.resp_at is not None and follow.resp_at is not None:  # responses before converting still count
            follow.resp_at[:] = self.resp_at[:, ci] - self.conv_t[ci]
        where = self.conv_stage[ci]
        for g in np.unique(where):
            ids = np.flatnonzero(where == g)
            follow.pending[int(g)].append((ids, np.zeros(ids.size), True))
        follow._advance()
        return follow.rev - follow.cost

    def _enter(self, s: int, ids: np.ndarray, t0: np.ndarray) -> None:
        sp = self.plan.stages[s]
        if sp.sink:
            c = ids.size
            self.tally.visits[s] += c
            self.tally.reached[s] += c
            self.tally.at_horizon[s] += c
            self.tally.stage_days[s] += c * self.plan.horizon
            if sp.flag >= 0:
                self.phase_seen[sp.flag][ids] = True
        else:
            self.pending[s].append((ids, t0, True))

    def finish(self) -> Tally:
        """Per-customer totals into sums, quantile arrays and retention denominators.

        Every reported sum is accumulated from per-customer values (never as a
        difference of two totals), so arms that agree customer by customer agree
        exactly.
        """
        tal, H = self.tally, self.plan.horizon
        rev, cost = self.rev, self.cost
        ci = np.flatnonzero(self.conv_t < _INF)
        sums = tal.sums
        sums[K["rev"]] = rev.sum()
        sums[K["rev2"]] = _dot(rev, rev)
        sums[K["cost"]] = cost.sum()
        sums[K["cost2"]] = _dot(cost, cost)
        value = rev - cost
        sums[K["value"]] = value.sum()
        sums[K["value2"]] = _dot(value, value)
        nconv = ci.size
        sums[K["conv"]] = nconv
        # acquisition cost: converters' cost before conversion, everyone else's whole cost
        acq = cost.copy()
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
            last = np.searchsorted(edges, H - ct + 1e-9, side="right")  # edges 0 .. last-1 are followed
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
        tal, plan = self.tally, self.plan
        for p, how in enumerate(plan.phase_method):
            members = plan.phase_members[p]
            if how == "flags":
                tal.phase_reached[p] = np.count_nonzero(self.phase_seen[p])
            elif members.size == 0:
                continue
            elif how == "stage":
                tal.phase_reached[p] = tal.reached[int(members[0])]
            else:
                # never re-entered once left: its entrants are the visits to its stages that
                # did not come from one of them (the entries at day 0 and the moves from outside)
                inner = float(sum(tal.exits[k] for k in plan.phase_inner[p]))
                tal.phase_reached[p] = float(tal.visits[members].sum()) - inner


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
