"""Triggers that only send, in closed form (``_fire_closed``): how many firings each
customer's stay holds and what they cost, from the stay's final exit times, with no draw.

A layer of its own because it needs no time order: the stay calls it after the exits are
final, for triggers without a ``then`` when there is no contact policy
(:mod:`~journeydsl.engine.montecarlo.firing_reroutes` and
:mod:`~journeydsl.engine.montecarlo.firing` fire the others, changing exits).
"""

from __future__ import annotations

import math

import numpy as np

from journeydsl.engine.montecarlo.blockdata import _expand
from journeydsl.engine.montecarlo.contacts import _BlockState
from journeydsl.engine.montecarlo.plan import TriggerPlan


class _ClosedFirings(_BlockState):
    """Firings of triggers without ``then``, counted and costed in closed form."""

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
