"""Time `journeydsl forecast` against one plain `simulate` of the same size.

    python benchmarks/bench_forecast.py                      # 10^6 customers, best of 3
    python benchmarks/bench_forecast.py --customers 200000 --repeat 1

The reference journey (benchmarks/reference.journey) with a 36-month plan added
(arrivals growing 2% a month, a December peak): the forecast simulates ONE cohort
of N customers, followed for the plan's 36 months and tallied by age, then
convolves it with the arrivals. The plain simulate follows N customers for the
journey's own horizon (365 days). Goal: the forecast in under 3x the simulate.
Both run in this process after a warm-up; the best of --repeat runs is kept
because the machine may be shared.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from journeydsl.analysis.forecast import forecast  # noqa: E402
from journeydsl.api import loads, simulate  # noqa: E402

PLAN = """
    plan three_years "36 months" {
        start 2027-01
        months 36
        arrivals 10000 per month growing 2% per month
        seasonality dec 130%
    }
"""


def journey_text() -> str:
    text = (ROOT / "benchmarks" / "reference.journey").read_text(encoding="utf-8").rstrip()
    assert text.endswith("}")
    return text[:-1] + PLAN + "}\n"


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    j = loads(journey_text(), "reference+plan.journey")
    n = args.customers
    simulate(j, customers=20_000, seed=args.seed)  # warm up imports and scratch arrays
    forecast(j, customers=20_000, seed=args.seed)
    t_sim = best(lambda: simulate(j, customers=n, seed=args.seed), args.repeat)
    t_fc = best(lambda: forecast(j, customers=n, seed=args.seed), args.repeat)
    fc = forecast(j, customers=n, seed=args.seed)
    last = fc.row(len(fc.months) - 1)
    print(f"reference journey + 36-month plan, {n:,} customers per run, seed {args.seed}, best of {args.repeat}")
    print(f"plain simulate (365-day horizon):          {t_sim:7.2f} s")
    print(f"forecast (one cohort followed 36 months):  {t_fc:7.2f} s")
    ratio = t_fc / t_sim
    print(f"ratio forecast / simulate: {ratio:.2f}x (goal < 3x): {'met' if ratio < 3 else 'NOT met'}")
    print(f"last month {last['month']}: active at end {last['active_end']['mean']:,.0f}, "
          f"revenue {last['revenue']['mean']:,.0f} EUR")


if __name__ == "__main__":
    main()
