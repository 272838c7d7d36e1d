"""The work budget of a block: what the engine's steps cost (one per customer-stay, trigger
firing and purchase, and :data:`STAY_OVERHEAD` per group stay) and the stop when a pilot
block has spent its budget (:class:`OverBudget`).

A module of its own, below every layer of the block: the firings, stays and passes spend
it through ``self.budget``, the passes say where in the horizon it ran out, and the task
queue (:mod:`journeydsl.engine.montecarlo`) estimates a run's work from a pilot's spending.
"""

from __future__ import annotations

import math

__all__ = ["STAY_OVERHEAD", "OverBudget", "WorkBudget"]

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
