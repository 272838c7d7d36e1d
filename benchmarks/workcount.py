"""How much work a journey is per customer, counted exactly: what a time ratio should be read against.

The engine counts its work in steps (:class:`journeydsl.engine.montecarlo.engine.WorkBudget`):
one per customer-stay, trigger firing and purchase. Its pilot block counts them on 256
customers to refuse runs that would take hours; here every block of a real run is counted,
so two journeys' times can be compared per step of work as well as per customer. A journey
whose customers make six times the stays of another's cannot run within three times its
time per customer however fast each step is; its time per step says whether the engine is
slower at the work itself.

    >>> from journeydsl.api import loads
    >>> j = loads('journey "w" { stage a { entry; dwell 2 days }; stage b { terminal }; a -> b 100% }')
    >>> work_per_customer(j, 1_000)
    Work(steps=1.0, passes=1.0, blocks=20)
"""

from __future__ import annotations

from dataclasses import dataclass

from journeydsl.engine.montecarlo import _arm_plan, _run_block, _shape, _with_waits, block_seed, block_sizes
from journeydsl.engine.montecarlo.engine import WorkBudget
from journeydsl.language.model import Journey


@dataclass(frozen=True)
class Work:
    steps: float  # customer-stays, trigger firings and purchases per customer
    passes: float  # group stays (one Python-level pass over the customers in one stage) per block
    blocks: int


def work_per_customer(journey: Journey, customers: int, seed: int = 1) -> Work:
    """The baseline's work at ``customers`` customers, over the same blocks and seeds as a run."""
    arms = [("baseline", journey.with_scenario("baseline"))]
    sizes = block_sizes(customers)
    shape = _shape([arms[0][1]], float(journey.horizon_days), len(sizes))
    plans = _with_waits(arms, [_arm_plan(arms[0][1], shape, {})], shape, customers, seed)
    budget = WorkBudget()
    for b, size in enumerate(sizes):
        _run_block(plans, size, block_seed(seed, b), [budget])
    return Work(steps=budget.units / customers, passes=budget.calls / len(sizes), blocks=len(sizes))
