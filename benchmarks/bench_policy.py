"""Time the engine on a journey with a contact policy against the reference journey, in one run.

Run by hand from the repository root (not part of the test suite)::

    python benchmarks/bench_policy.py                  # 10^7 customers, best of 3
    python benchmarks/bench_policy.py --customers 1000000 --repeat 1

The policy journey is ``benchmarks/reference.journey`` with what the contact
policy adds: a daily SMS reminder and a weekly e-mail to customers (so caps
have contacts to hold back), a transactional receipt on conversion, and
``policy { cap email 1 per week; cap any 2 per day; on cap delay; quiet hours
21:00-08:00 delay; holdout 10% }``. Both are simulated in this process, one
after the other and repeated, and the best time of each is kept (the machine
may be shared). It prints seconds per million customers and the ratio policy
/ reference, twice: for the policy arm alone (the engine's cost of the gate)
and for ``simulate`` as a user runs it, which also runs the holdout's twin
arm (everyone held out) to report the uplift. Goal: the arm alone at most 3x
the reference per customer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from journeydsl.engine.montecarlo import run  # noqa: E402
from journeydsl.language.compile import compile_text  # noqa: E402

POLICY = """
    touchpoint sms { channel sms; cost 0.05 EUR; response 5% }
    touchpoint keep { channel email; cost 0.01 EUR; response 2% }
    touchpoint receipt { channel email; cost 0.001 EUR; transactional }
    trigger remind { every 1 day in trial; send sms; then 10% -> customer }
    trigger weekly { every 1 week in customer; send keep }
    trigger welcome { when enter customer; send receipt }
    policy {
        cap email 1 per week
        cap any 2 per day
        on cap delay
        quiet hours 21:00-08:00 delay
        holdout 10%
    }
"""


def journeys() -> tuple[object, object]:
    text = (HERE / "reference.journey").read_text(encoding="utf-8")
    reference, _ = compile_text(text, "reference.journey")
    cut = text.rstrip().rindex("}")
    policy, _ = compile_text(text[:cut] + POLICY + "}\n", "policy.journey")
    return reference, policy


def best_time(arms: list[tuple[str, object]], customers: int, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run(arms, customers, 1, max_work=None)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    reference, policy = journeys()
    n = args.customers
    arm_only = policy.model_copy(update={"policy": policy.policy.model_copy(update={"holdout": 0.0})})
    t_ref, r_ref = best_time([("baseline", reference)], n, args.repeat)
    t_arm, r_arm = best_time([("baseline", arm_only)], n, args.repeat)
    t_sim, r_sim = best_time([("baseline", policy)], n, args.repeat)
    per = 1e6 / n
    print(f"{n:,} customers, best of {args.repeat}")
    print(f"reference journey            {t_ref * per:7.2f} s per million customers")
    print(f"policy arm (caps, quiet)     {t_arm * per:7.2f} s per million   ratio {t_arm / t_ref:.2f}x")
    print(f"simulate with holdout 10%    {t_sim * per:7.2f} s per million   ratio {t_sim / t_ref:.2f}x"
          "  (arm + its everyone-held-out twin)")
    tp = r_arm.baseline.touchpoints  # type: ignore[attr-defined]
    print("policy arm per customer: " + ", ".join(
        f"{k} sent {v['contacts_per_customer']:.2f} capped {v['capped_per_customer']:.2f}"
        f" delayed {v['delayed_per_customer']:.2f}" for k, v in tp.items()))
    goal = t_arm / t_ref <= 3.0
    print(f"goal (policy arm at most 3x the reference per customer): {'met' if goal else 'NOT met'}")
    del r_ref, r_sim


if __name__ == "__main__":
    main()
