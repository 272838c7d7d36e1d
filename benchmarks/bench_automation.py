"""Time the engine on a journey using every trigger feature against the reference journey.

    python benchmarks/bench_automation.py                     # 5 x 10^6 customers, best of 3
    python benchmarks/bench_automation.py --customers 200000 --repeat 1
    python benchmarks/bench_automation.py --every-feature    # also every_feature.journey (+ the policy)

benchmarks/automation.journey is benchmarks/reference.journey (the journey
bench_engine.py times) with, on top, a welcome email with a funnel and a cost on
response, a reminder SMS to those who did not click, then an SMS and a manager
call (a task with a capacity and its queue) to those who answered neither, with
`unless`. Both run in this process, one worker, after a warm-up; the best of
--repeat runs is kept because the machine may be shared. Goal: at most 3x the
reference's time per customer. Part of the automation journey's time does not
grow with N (a first run of 50,000 customers that gives the task waits, and
the queue, kept to the first million customers' requests), so the ratio is
higher at small N.

--every-feature also times benchmarks/every_feature.journey: the automation
journey with the contact policy on top (caps with delay, quiet hours, a 10%
holdout, a transactional receipt, a business-days trigger, referrals), as the
arm alone and as `simulate` runs it (the arm beside its everyone-held-out twin,
which the holdout's uplift needs: about twice the work).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))

from journeydsl.api import load  # noqa: E402
from journeydsl.engine.montecarlo import simulate  # noqa: E402
from journeydsl.language.model import Journey  # noqa: E402

GOAL = 3.0


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--customers", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--every-feature", action="store_true",
                    help="also time every_feature.journey (every trigger and policy feature)")
    args = ap.parse_args()
    ref = load(ROOT / "benchmarks" / "reference.journey")
    auto = load(ROOT / "benchmarks" / "automation.journey")
    n = args.customers
    for j in (ref, auto):  # warm up imports and scratch arrays
        simulate(j, customers=20_000, seed=args.seed)
    t_ref = best(lambda: simulate(ref, customers=n, seed=args.seed), args.repeat)
    t_auto = best(lambda: simulate(auto, customers=n, seed=args.seed), args.repeat)
    queue = simulate(auto, customers=n, seed=args.seed).to_dict()["scenarios"][0]["touchpoints"]["call"]["queue"]
    print(f"{n:,} customers per run, seed {args.seed}, one worker, best of {args.repeat}")
    print(f"reference journey:   {t_ref:7.2f} s  ({n / t_ref:12,.0f} customers/s)")
    print(f"automation journey:  {t_auto:7.2f} s  ({n / t_auto:12,.0f} customers/s)")
    ratio = t_auto / t_ref
    print(f"ratio automation / reference per customer: {ratio:.2f}x (goal <= {GOAL:g}x): "
          f"{'met' if ratio <= GOAL else 'NOT met'}")
    every_arm: Journey | None = None
    if args.every_feature:
        every = load(ROOT / "benchmarks" / "every_feature.journey")
        assert every.policy is not None
        every_arm = arm = every.model_copy(update={"policy": every.policy.model_copy(update={"holdout": 0.0})})
        simulate(every, customers=20_000, seed=args.seed)
        t_arm = best(lambda: simulate(arm, customers=n, seed=args.seed), args.repeat)
        t_all = best(lambda: simulate(every, customers=n, seed=args.seed), args.repeat)
        print(f"every feature, the arm:      {t_arm:7.2f} s  ratio {t_arm / t_ref:.2f}x "
              f"(goal <= {GOAL:g}x): {'met' if t_arm / t_ref <= GOAL else 'NOT met'}")
        print(f"every feature, with holdout: {t_all:7.2f} s  ratio {t_all / t_ref:.2f}x "
              "(the arm and its everyone-held-out twin)")
    _work_lines(ref, auto, every_arm, args.seed)
    print(f"call queue: {queue['tasks_per_day']:,.0f} tasks a day for {queue['capacity_per_day']:,.0f}, "
          f"mean wait {queue['mean_wait_days']['mean']:.3f} d, 95% within {queue['p95_wait_days']:.3f} d, "
          f"backlog {queue['mean_backlog']:,.1f}")


def _work_lines(ref: Journey, auto: Journey, every: Journey | None, seed: int) -> None:
    """What each journey asks of the engine per customer (workcount.py), at 20,000 customers:
    steps (stays, firings, purchases) and contacts. A ratio of times per customer is bounded
    below by these ratios unless each step or contact costs less than the reference's."""
    from workcount import work_per_customer

    n = 20_000
    rows = [("reference", ref), ("automation", auto)] + ([("every feature, the arm", every)] if every else [])
    base = None
    for name, j in rows:
        work = work_per_customer(j, n, seed)
        contacts = float(simulate(j, customers=n, seed=seed).baseline.tally.tp_contacts.sum()) / n
        base = base or (work.steps, contacts)
        print(f"work per customer, {name + ':':24} {work.steps:5.2f} steps ({work.steps / base[0]:4.1f}x),"
              f" {contacts:5.2f} contacts ({contacts / base[1]:5.1f}x the reference's)")


if __name__ == "__main__":
    main()
