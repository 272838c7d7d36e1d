"""Time `simulate --draws` and the tornado on the reference journey with uncertain parameters.

Run by hand from the repository root (not part of the test suite)::

    python benchmarks/bench_draws.py                          # 200 draws at 10^5, tornado at 10^6
    python benchmarks/bench_draws.py --draws 20 --customers 20000 --tornado-customers 100000

Prints:

- **draws**: ``simulate_draws`` with N draws of 10 uncertain parameters against
  N plain runs of the same journey at its means (``api.simulate``, the same
  customers and seed each time) — the ratio is the cost of drawing, compiling
  each draw and collecting its figures on top of the simulation; goal: at most 1.5;
- **tornado**: ``sensitivity.tornado`` of the 10 parameters (21 variants on
  common random numbers) at 10^6 customers each; goal: under 30 s.

Timings are wall-clock on one worker; the machine may be shared, so run it
when it is quiet.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from journeydsl import api  # noqa: E402
from journeydsl.analysis.sensitivity import tornado  # noqa: E402
from journeydsl.analysis.uncertainty import simulate_draws, uncertain_params  # noqa: E402

#: The reference journey's numbers, each given a plausible spread (10 parameters).
SPREADS = [
    ("stage visitor { entry; dwell exponential(mean 2 days) }",
     "stage visitor { entry; dwell exponential(mean 2 days ± 0.5 days) }"),
    ("purchases 1 per month worth lognormal(mean 49 EUR, sd 20 EUR)",
     "purchases 1 ± 0.2 per month worth lognormal(mean 49 EUR ± 5 EUR, sd 20 EUR)"),
    ("touchpoint email { channel email; cost 0.02 EUR; response 20% }",
     "touchpoint email { channel email; cost 0.02 EUR ± 0.005 EUR; response 20% ± 5% }"),
    ("visitor -> lead 30%", "visitor -> lead 30% ± 5%"),
    ("lead -> trial 40%", "lead -> trial 40% ± 5%"),
    ("trial -> customer 25%", "trial -> customer 25% ± 5%"),
    ("customer -> churned 5% per month", "customer -> churned 5% ± 1% per month"),
    ("then 30% -> customer", "then 30% ± 5% -> customer"),
]


def uncertain_reference() -> str:
    text = (HERE / "reference.journey").read_text(encoding="utf-8")
    for old, new in SPREADS:
        assert old in text, old
        text = text.replace(old, new)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--tornado-customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    uncertain = api.loads(uncertain_reference(), "reference_uncertain.journey")
    plain = api.loads((HERE / "reference.journey").read_text(encoding="utf-8"), "reference.journey")
    n_params = len(uncertain_params(uncertain))
    print(f"reference journey with {n_params} uncertain parameters")

    api.simulate(plain, customers=2000, seed=args.seed)  # warm up imports and caches
    t0 = time.perf_counter()
    for _ in range(args.draws):
        api.simulate(plain, customers=args.customers, seed=args.seed)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = simulate_draws(uncertain, args.draws, customers=args.customers, seed=args.seed)
    t_draws = time.perf_counter() - t0
    conv = res.to_dict()["scenarios"][0]["metrics"]["conversion_rate"]
    ratio = t_draws / t_plain
    print(f"draws:   {args.draws} plain runs of {args.customers:,}: {t_plain:6.1f} s;"
          f" --draws {args.draws}: {t_draws:6.1f} s (includes the run at the means);"
          f" ratio {ratio:.2f} (goal <= 1.5) {'ok' if ratio <= 1.5 else 'MISSED'}")
    print(f"         conversion {conv['mean']:.4f}, 95% range over draws {conv['uncertainty']['interval95']}")

    t0 = time.perf_counter()
    t = tornado(uncertain, customers=args.tornado_customers, seed=args.seed)
    t_tornado = time.perf_counter() - t0
    top = t.parameters[0]
    print(f"tornado: {n_params} parameters ({2 * n_params + 1} variants) at {args.tornado_customers:,}"
          f" customers: {t_tornado:6.1f} s (goal < 30 s) {'ok' if t_tornado < 30 else 'MISSED'};"
          f" largest swing: {top['label']} ({top['swing']:.2f})")


if __name__ == "__main__":
    main()
