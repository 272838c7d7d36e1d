"""Task queues: manager work done at a fixed capacity a day, first come first served.

A ``task`` with ``capacity N per DURATION`` is done by a team that completes
one task every ``1 / c`` days (``c`` tasks a day, around the clock). Customers
are simulated one by one, independently; the queue couples them, so it is
simulated afterwards on the requests they made (:func:`simulate_queue`):

- the run's customers stand for a steady stream of ``arrivals`` a day: each is
  given an arrival time, uniform over a cycle of ``P = N / arrivals`` days
  (a Poisson stream given its count), from a seed of its own, the same for
  every scenario (common random numbers);
- each task request is put at ``arrival + age`` (its customer's age at the
  request), wrapped around the cycle, so the stream of requests is steady;
- the team works through the requests in order (Lindley's recursion
  ``W' = max(W + 1/c - gap, 0)``, solved at once as ``X - running min X``) for
  two cycles; the second cycle's waits are the answer (the first only fills
  the queue to its steady level).

The result depends only on the customers and the seed: never on blocks or
workers. The wait is reported (mean with a batch-means interval, 95th
percentile, share of tasks that wait, average backlog). ``montecarlo.run``
first runs the journey without waits (up to ``QUEUE_PILOT`` customers) and
draws each task's wait in the run itself from that queue's waits, so that a
task takes effect after its wait.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> q = simulate_queue(np.arange(1000), np.zeros(1000), 1000, 10.0, 20.0, rng)
>>> q is not None and 0.0 < q.mean_wait < 0.1 and abs(q.tasks_per_day - 10.0) < 1e-9
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["QueueFigures", "md1_mean_wait", "simulate_queue"]

#: Batches the second cycle's waits are cut into for the interval of the mean wait.
BATCHES = 20
_T19 = 2.093  # the 97.5% point of Student's t with 19 degrees of freedom


@dataclass(frozen=True)
class QueueFigures:
    """One task queue in steady state (days; tasks a day)."""

    tasks_per_day: float
    capacity_per_day: float
    mean_wait: float
    mean_wait_ci95: tuple[float, float]
    p95_wait: float
    share_waiting: float
    mean_backlog: float
    waits: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # the second cycle's, in time order

    @property
    def utilisation(self) -> float:
        return self.tasks_per_day / self.capacity_per_day

    @property
    def overloaded(self) -> bool:
        """More tasks than the capacity: the queue grows for as long as the stream lasts."""
        return self.utilisation >= 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "tasks_per_day": self.tasks_per_day,
            "capacity_per_day": self.capacity_per_day,
            "utilisation": self.utilisation,
            "overloaded": self.overloaded,
            "mean_wait_days": {
                "mean": self.mean_wait,
                "ci95": [x if math.isfinite(x) else None for x in self.mean_wait_ci95],
            },
            "p95_wait_days": self.p95_wait,
            "share_waiting": self.share_waiting,
            "mean_backlog": self.mean_backlog,
        }


def md1_mean_wait(arrivals_per_day: float, capacity_per_day: float) -> float:
    """Mean wait before service of a queue with Poisson arrivals and a fixed service time
    ``1 / c`` (M/D/1, Pollaczek-Khinchine): ``rho / (2 c (1 - rho))`` with ``rho = a / c``.

    >>> round(md1_mean_wait(5.0, 10.0), 6)
    0.05
    """
    rho = arrivals_per_day / capacity_per_day
    if rho >= 1:
        return math.inf
    return rho / (2.0 * capacity_per_day * (1.0 - rho))


def simulate_queue(
    customer: np.ndarray,
    age: np.ndarray,
    customers: int,
    arrivals_per_day: float,
    capacity_per_day: float,
    rng: np.random.Generator,
) -> QueueFigures | None:
    """The queue of the requests ``(customer, age)`` of ``customers`` customers arriving at
    ``arrivals_per_day``, served at ``capacity_per_day`` (see the module). ``None``: no request."""
    k = int(age.size)
    if k == 0 or customers <= 0:
        return None
    cycle = customers / arrivals_per_day
    arrive = rng.random(customers)
    arrive *= cycle
    t = arrive[customer]
    t += age
    np.mod(t, cycle, out=t)
    t.sort()
    both = np.concatenate([t, t + cycle])
    walk = np.empty(both.size)
    walk[0] = 0.0
    gaps = np.diff(both)
    np.subtract(1.0 / capacity_per_day, gaps, out=gaps)
    np.cumsum(gaps, out=walk[1:])
    low = np.minimum.accumulate(walk)
    waits = walk[k:]
    waits -= low[k:]
    mean = float(waits.mean())
    if k >= BATCHES:
        means = np.array([b.mean() for b in np.array_split(waits, BATCHES)])
        half = _T19 * float(means.std(ddof=1)) / math.sqrt(BATCHES)
    else:
        half = math.inf
    return QueueFigures(
        tasks_per_day=k / cycle,
        capacity_per_day=capacity_per_day,
        mean_wait=mean,
        mean_wait_ci95=(max(0.0, mean - half), mean + half),
        p95_wait=float(np.quantile(waits, 0.95)),
        share_waiting=float(np.count_nonzero(waits > 1e-12)) / k,
        mean_backlog=float(waits.sum()) / cycle,
        waits=waits,
    )
