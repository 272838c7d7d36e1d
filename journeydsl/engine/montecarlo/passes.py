"""The passes of a block over its stages: customers entering a stage (``_enter``), then
stays simulated stage by stage, pass after pass, until nobody is left inside the horizon
(``_advance``), with the progress told as simulated time moves on and the loops that take
no time stopped with a reason.

A layer of its own because it is the block's outer loop, shared by a block and by the
follow-up blocks of the LTV (:mod:`~journeydsl.engine.montecarlo.ltv`); each stay is left to the
layers below (:mod:`~journeydsl.engine.montecarlo.stays`).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

import numpy as np

from journeydsl.engine.montecarlo.blockdata import _INF
from journeydsl.engine.montecarlo.budget import OverBudget
from journeydsl.engine.montecarlo.stays import _Stays

#: Least seconds between two reports of progress within a block (a terminal redraws no faster).
PROGRESS_SECONDS = 0.25
_CHECK_EVERY = 10_000  # passes between checks that simulated time moves on


class _Passes(_Stays):
    """The block's passes over its stages."""

    def now(self) -> float:
        """The earliest time a waiting customer enters a stage (the horizon when none waits)."""
        waiting = [float(c[1].min()) for chunks in self.pending for c in chunks if c[1].size]
        if self._staying is not None and self._staying.size:  # the group in a stay right now
            waiting.append(float(self._staying.min()))
        return min(waiting, default=self.plan.horizon)

    def _pass_done(self) -> None:
        """Tell ``on_pass`` how far simulated time has come, at most 4 times a second."""
        assert self.on_pass is not None
        t = time.monotonic()
        if t - self._told >= PROGRESS_SECONDS:
            self._told = t
            self.on_pass(min(1.0, self.now() / self.plan.horizon))

    def _advance(self, first: Callable[[], None] | None = None) -> None:
        """Simulate stays, stage by stage, until nobody is left inside the horizon (after the
        stays ``first`` simulates, if given)."""
        try:
            if first is not None:
                first()
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
