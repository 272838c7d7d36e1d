"""The benchmark's reference journey written by hand in numpy: the speed a specialised script gets.

It imports nothing but numpy, so that running it as a script (``python
benchmarks/handwritten.py N SEED``) is like for like with running
``journeydsl simulate``. Customers go in the engine's blocks and seeds.
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["block_sizes", "handwritten"]


def block_sizes(customers: int) -> list[int]:
    """The engine's blocks: at least 20, about 2^18 customers each, as equal as possible."""
    nb = max(20, math.ceil(customers / 2**18))
    q, r = divmod(customers, nb)
    return [q + (1 if b < r else 0) for b in range(nb)]


H = 365.0
DELTA = math.log1p(0.10) / 365.0
MONTH = 365.0 / 12.0
CHURN = -math.log1p(-0.05) / MONTH  # hazard of 5% a month
BUY = 1.0 / MONTH  # purchases per day
SIGMA2 = math.log1p((20 / 49) ** 2)
MU = math.log(49) - SIGMA2 / 2


def handwritten(customers: int, seed: int) -> dict[str, float]:
    """The reference journey written directly in numpy, in the engine's blocks."""
    conv = 0
    revenue = 0.0
    cost = 0.0
    sizes = block_sizes(customers)
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    for m, ss in zip(sizes, seeds, strict=True):
        rng = np.random.default_rng(ss)
        # visitor: 30% to lead after exponential(mean 2)
        t = rng.exponential(2.0, m)[rng.random(m) < 0.3]
        # lead: 40% to trial after gamma(shape 2, mean 5)
        k = t.size
        t = t + rng.gamma(2.0, 2.5, k)
        t = t[(rng.random(k) < 0.4) & (t < H)]
        # trial: 25% to customer after uniform(7, 14); the day-7 nudge moves 20% * 30%
        k = t.size
        te = t + rng.uniform(7.0, 14.0, k)
        to_customer = rng.random(k) < 0.25
        fire = t + 7.0 < H
        cost += 0.02 * float(np.exp(-DELTA * (t[fire] + 7.0)).sum())
        moved = fire & (rng.random(k) < 0.2 * 0.3)
        te = np.where(moved, t + 7.0, te)
        tc = te[(to_customer | moved) & (te < H)]
        conv += tc.size
        # customer: churn 5% a month; purchases 1 a month worth lognormal(49, 20)
        span = np.minimum(rng.exponential(1.0 / CHURN, tc.size), H - tc)
        counts = rng.poisson(span * BUY)
        owner = np.repeat(np.arange(tc.size), counts)
        when = tc[owner] + rng.random(owner.size) * span[owner]
        revenue += float((rng.lognormal(MU, math.sqrt(SIGMA2), owner.size) * np.exp(-DELTA * when)).sum())
    return {
        "conversion_rate": conv / customers,
        "value_per_customer": (revenue - cost) / customers,
    }




if __name__ == "__main__":
    print(handwritten(int(sys.argv[1]), int(sys.argv[2])))
