"""The engine block's data structures: queues of waiting customers, scratch arrays, and the
calendar-forecast log of money by age.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import numpy as np

from journeydsl.engine.results import Tally

_INF = math.inf


def _slot_dtype(slots: int) -> type[np.signedinteger]:
    """The smallest integer type for exit slots ``-1 .. slots`` (int8 for the usual few)."""
    return np.int8 if slots < 127 else np.int16


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


class _Queues:
    """The queues of a block's stages (``pending[s]``), each made when first asked for: a
    journey of a thousand stages whose customers see a few dozen of them makes a few dozen.
    Iterating gives the queues made so far."""

    __slots__ = ("busy", "queues")

    def __init__(self, busy: set[int]) -> None:
        self.busy = busy
        self.queues: dict[int, _Queue] = {}

    def __getitem__(self, stage: int) -> _Queue:
        q = self.queues.get(stage)
        if q is None:
            q = self.queues[stage] = _Queue(stage, self.busy)
        return q

    def __iter__(self) -> Iterator[_Queue]:
        return iter(self.queues.values())


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
                "rev_pre": np.empty(n),
                "conv_stage": np.empty(n, np.int64),
                "at_h": np.empty(n, np.int32),  # for the LTV of converters: see _Stays._at_horizon
                "h_t0": np.empty(n),
                "h_te": np.empty(n),
                "h_slot": np.empty(n, np.int16),
                "active_h": np.empty(n, bool),
                "value": np.empty(n),  # scratch of Block.finish
                "acq": np.empty(n),
                "zeros": np.zeros(n),  # never written: entry times of the first group
                "arange": np.arange(n),  # never written: the first group's indices
            }
            sets[key] = (size, arrays)
        out = {k: v[:n] for k, v in arrays.items()}
        # cost_pre, rev_pre, conv_stage and the h_ arrays are read only at converters, each written when its
        # customer converts: they keep what the last block left (no refill, as "value" and "acq")
        for k in ("rev", "cost"):
            out[k].fill(0.0)
        out["conv_t"].fill(_INF)
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
