"""Throughput on a 2-worker Dask LocalCluster against one process, same run, same numbers.

    python benchmarks/bench_dask.py                 # 10^8 customers (about a minute per side)
    python benchmarks/bench_dask.py --customers 20000000

Prints the one-process time, the cluster time, their ratio (the speed-up), the
task size chosen (blocks per task, seconds per task), the per-task overhead
measured with empty tasks, the machine's load, and whether the JSON of both
runs is byte-identical. Not a test: run it by hand on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import journeydsl as jd
from journeydsl.engine import montecarlo

REFERENCE = Path(__file__).with_name("reference.journey")


def _noop(x: int) -> int:
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=100_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-nanny", action="store_true",
                    help="start the workers without Dask's nanny process (see docs/scaling.md: nanny-spawned "
                         "workers ran the engine about 1.8x slower on the development machine)")
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    journey = jd.load(REFERENCE)
    print(f"load average before: {os.getloadavg()}")
    t0 = time.perf_counter()
    one = jd.simulate(journey, customers=args.customers, seed=args.seed)
    t_one = time.perf_counter() - t0

    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)

    extra = {"worker_class": "distributed.Worker"} if args.no_nanny else {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40, **extra) as lc, Client(lc) as client:
        ex = client.get_executor(pure=False)
        t0 = time.perf_counter()
        for f in [ex.submit(_noop, i) for i in range(200)]:
            f.result()
        overhead = (time.perf_counter() - t0) / 200
        # warm the workers (imports, first allocations), as a long-lived cluster would be
        jd.simulate(journey, customers=400_000, seed=0, executor=ex)
        t0 = time.perf_counter()
        dask = jd.simulate(journey, customers=args.customers, seed=args.seed, executor=ex, progress=progress)
        t_dask = time.perf_counter() - t0
    tasks = max(len(calls) - 1, 1)  # block 0 runs in this process first, to size the tasks
    same = json.dumps(one.to_dict(), sort_keys=True) == json.dumps(dask.to_dict(), sort_keys=True)
    blocks = len(montecarlo.block_sizes(args.customers))
    print(f"customers            {args.customers:,} ({blocks} blocks)")
    print(f"one process          {t_one:.2f} s")
    print(f"2-worker LocalCluster {t_dask:.2f} s")
    print(f"speed-up             {t_one / t_dask:.2f}x (goal >= 1.7x)")
    print(f"per-task overhead    {1000 * overhead:.1f} ms (empty tasks, round trip)")
    per_task = (blocks - 1) / tasks
    print(f"tasks submitted      {tasks}, about {per_task:.1f} blocks each, "
          f"about {t_one / blocks * per_task:.2f} s of one-process work each")
    print(f"identical JSON       {same}")
    print(f"load average after:  {os.getloadavg()}")


if __name__ == "__main__":
    main()
