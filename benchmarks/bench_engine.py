"""Time the engine against a hand-written numpy model and a SimPy model of the same journey.

Run by hand from the repository root (not part of the test suite)::

    python benchmarks/bench_engine.py                 # 10^7 customers, one worker
    python benchmarks/bench_engine.py --customers 2000000 --simpy 2000

It prints customers per second for: a minimal hand-written numpy version of
the reference journey (``benchmarks/reference.py``), the engine on one worker
(run in a subprocess so its peak RSS can be read from ``ru_maxrss``), and a
SimPy process-per-customer version on a small N, extrapolated per customer.
It also checks that the three agree on conversion and value per customer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from handwritten import BUY, CHURN, DELTA, MU, SIGMA2, H, handwritten  # noqa: E402
from handwritten import block_sizes as handwritten_blocks  # noqa: E402
from reference import reference_journey  # noqa: E402

from journeydsl.engine.montecarlo import block_sizes, simulate  # noqa: E402


def simpy_model(customers: int, seed: int) -> dict[str, float]:
    """The reference journey as one SimPy process per customer (the classic way)."""
    import simpy

    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    tally = {"conv": 0, "revenue": 0.0, "cost": 0.0}

    def purchases(env: simpy.Environment, state: dict[str, bool]) -> object:
        while True:
            yield env.timeout(rng.exponential(1.0 / BUY))
            if state["gone"]:
                return
            tally["revenue"] += rng.lognormal(MU, math.sqrt(SIGMA2)) * math.exp(-DELTA * env.now)

    def customer(env: simpy.Environment) -> object:
        yield env.timeout(rng.exponential(2.0))
        if rng.random() >= 0.3:
            return
        yield env.timeout(rng.gamma(2.0, 2.5))
        if rng.random() >= 0.4:
            return
        dwell = rng.uniform(7.0, 14.0)
        to_customer = rng.random() < 0.25
        yield env.timeout(7.0)
        tally["cost"] += 0.02 * math.exp(-DELTA * env.now)
        if rng.random() < 0.2 * 0.3:
            to_customer = True
        else:
            yield env.timeout(dwell - 7.0)
        if not to_customer:
            return
        tally["conv"] += 1
        state = {"gone": False}
        env.process(purchases(env, state))
        yield env.timeout(rng.exponential(1.0 / CHURN))
        state["gone"] = True

    for _ in range(customers):
        env.process(customer(env))
    env.run(until=H)
    return {
        "conversion_rate": tally["conv"] / customers,
        "value_per_customer": (tally["revenue"] - tally["cost"]) / customers,
    }


def engine_child(customers: int, seed: int, workers: int, repeat: int) -> None:
    """Run the engine and print the best time and the peak RSS as JSON (the subprocess side)."""
    j = reference_journey()
    simulate(j, customers=min(customers, 300_000), seed=seed + 1)  # warm up imports and caches
    dt = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        r = simulate(j, customers=customers, seed=seed, workers=workers)
        dt = min(dt, time.perf_counter() - t)
    m = r.baseline.metrics
    print(
        json.dumps(
            {
                "seconds": dt,
                "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "conversion_rate": m["conversion_rate"]["mean"],
                "value_per_customer": m["value_per_customer"]["mean"],
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--simpy", type=int, default=3_000, help="customers for the SimPy model")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings (the machine may be shared)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        engine_child(args.customers, args.seed, args.workers, args.repeat)
        return
    n = args.customers
    print(f"reference journey, {n:,} customers, seed {args.seed}, {args.workers} worker(s), {os.cpu_count()} cpus")

    assert handwritten_blocks(n) == block_sizes(n), "the hand-written version must use the engine's blocks"
    handwritten(min(n, 300_000), args.seed + 1)  # warm up
    hw_s = math.inf
    for _ in range(args.repeat):
        t = time.perf_counter()
        hw = handwritten(n, args.seed)
        hw_s = min(hw_s, time.perf_counter() - t)

    # the whole command a user runs (interpreter start, parse, simulate, JSON out), in a child of its
    # own first, so that the children's peak RSS read now is the command's alone
    journey_file = Path(__file__).with_name("reference.journey")
    cli_s = math.inf
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "journeydsl", "simulate", str(journey_file), "--customers", str(n),
                 "--seed", str(args.seed), "--workers", str(args.workers), "--quiet", "--format", "json",
                 "--output", str(Path(tmp) / "out.json")],
                check=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)},
            )  # fmt: skip
            cli_s = min(cli_s, time.perf_counter() - t)
    cli_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # the hand-written model as a script of its own, like for like with the command
    hw_script_s = math.inf
    for _ in range(args.repeat):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / "handwritten.py"), str(n), str(args.seed)],
            check=True,
        )  # fmt: skip
        hw_script_s = min(hw_script_s, time.perf_counter() - t)

    out = subprocess.run(
        [sys.executable, __file__, "--child", "--customers", str(n), "--seed", str(args.seed),
         "--workers", str(args.workers), "--repeat", str(args.repeat)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    eng = json.loads(out.stdout)

    t = time.perf_counter()
    sp = simpy_model(args.simpy, args.seed)
    sp_s = time.perf_counter() - t

    rows = [
        ("hand-written numpy", n / hw_s, hw_s, hw),
        ("engine", n / eng["seconds"], eng["seconds"], eng),
        (f"SimPy (N={args.simpy:,})", args.simpy / sp_s, sp_s * n / args.simpy, sp),
    ]
    print(f"(best of {args.repeat} timings)")
    print(f"{'':22s} {'customers/s':>14s} {'seconds at N':>13s} {'conversion':>11s} {'value/cust':>11s}")
    for name, rate, secs, res in rows:
        print(f"{name:22s} {rate:14,.0f} {secs:13.2f} {res['conversion_rate']:11.5f} {res['value_per_customer']:11.4f}")
    print(f"engine / hand-written speed: {hw_s / eng['seconds']:.2f}")
    print(f"engine / SimPy speed:        {(n / eng['seconds']) / (args.simpy / sp_s):,.0f}x")
    print(f"engine peak RSS:             {eng['maxrss_mib']:.0f} MiB")
    print(f"journeydsl simulate command: {cli_s:.2f} s wall, peak RSS {cli_rss:.0f} MiB (target: < 2x hand-written)")
    print(f"  / hand-written script run the same way ({hw_script_s:.2f} s wall): {cli_s / hw_script_s:.2f}x")
    print(f"  / hand-written function alone ({hw_s:.2f} s, no interpreter start or imports): {cli_s / hw_s:.2f}x")
    target = "met" if n / eng["seconds"] >= 15e6 and eng["maxrss_mib"] <= 200 else "NOT met"
    print(f"targets (>= 15M customers/s on one core, <= 200 MiB): {target}")


if __name__ == "__main__":
    main()
