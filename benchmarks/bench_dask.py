"""Throughput on a 2-worker Dask LocalCluster against one process, same run, same numbers.

    python benchmarks/bench_dask.py                 # 10^8 customers (about 10 s per side on an idle machine)
    python benchmarks/bench_dask.py --customers 20000000
    python benchmarks/bench_dask.py --dask-defaults # workers with Dask's default environment (see below)
    python benchmarks/bench_dask.py --malloc-only   # the malloc fix only, Dask's default clocks
    python benchmarks/bench_dask.py --no-nanny      # workers as threads of this process, no nanny

Prints the one-process time, the cluster time, their ratio (the speed-up), the
task size chosen (units per task, seconds per task), the per-task overhead
measured with empty tasks, the CPU seconds each process spent and its page
faults, how busy the machine was before the run (other programs' share of the
cores, from /proc/stat) and whether the JSON of both runs is byte-identical.
Not a test: run it by hand on an idle machine.

The workers are started the way docs/scaling.md recommends: by Dask's nanny,
but without the ``MALLOC_TRIM_THRESHOLD_`` the nanny sets by default. Setting
any glibc malloc threshold in the environment turns off glibc's sliding mmap
threshold, so every array of a block (2 MiB at 2^18 customers) is mapped fresh
and its pages faulted in and zeroed, then unmapped: the engine runs about 1.8
times slower in such a worker (``--dask-defaults`` shows it). The servers' clocks
are slowed down too (``executors.DASK_SETTINGS``: health tick, system monitor,
statistical profiler), which the scheduler and two nannies in this process and
the two workers would otherwise spend some 14% of a core on (``--malloc-only``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import journeydsl as jd
from journeydsl.engine import montecarlo
from journeydsl.engine.montecarlo.executors import DASK_SETTINGS

REFERENCE = Path(__file__).with_name("reference.journey")

#: docs/scaling.md's settings: the nanny's default worker environment less the malloc setting
#: that slows the engine down, and the servers' clocks (health tick, system monitor, profiler) slowed.
RECOMMENDED = DASK_SETTINGS
#: The malloc setting alone (``--malloc-only``), to see what the slower clocks save.
MALLOC_ONLY = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def _noop(x: int) -> int:
    return x


def _cpu() -> tuple[float, int]:
    """CPU seconds (user + system) and minor page faults of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_minflt


def _busy(seconds: float = 3.0) -> float | None:
    """The share of the machine's CPU time others used over ``seconds`` (Linux; None elsewhere)."""
    def snap() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]

    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
    except OSError:
        return None
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def _half(customers: int, seed: int) -> float:
    """One plain process's share of the ceiling measurement: seconds to simulate ``customers``."""
    journey = jd.load(REFERENCE)
    jd.simulate(journey, customers=400_000, seed=0)
    t0 = time.perf_counter()
    jd.simulate(journey, customers=customers, seed=seed, max_work=None)
    return time.perf_counter() - t0


def _ceiling(customers: int, seed: int) -> float:
    """Seconds for two plain processes (no Dask) to simulate half the customers each, side by side.

    What two workers could do at best on this machine: if the two cores share
    anything (a physical core, memory bandwidth, another program), it shows here.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        halves = pool.starmap(_half, [(customers // 2, seed), (customers - customers // 2, seed + 1)])
    return max(halves)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000_000)
    ap.add_argument("--seed", type=int, default=1)
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--dask-defaults", action="store_true",
                     help="start the workers with Dask's default nanny environment (MALLOC_TRIM_THRESHOLD_=65536)")
    how.add_argument("--malloc-only", action="store_true",
                     help="the recommended malloc setting only, Dask's default clocks (tick, monitor, profiler)")
    how.add_argument("--no-nanny", action="store_true",
                     help="run the workers inside this process (distributed.Worker), without a nanny")
    args = ap.parse_args()
    import dask
    from distributed import Client, LocalCluster

    journey = jd.load(REFERENCE)
    busy = _busy()
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.2f}"
          + (f", {100 * busy:.0f}% of the CPU time used by other programs over 3 s before" if busy is not None
             else ""))
    jd.simulate(journey, customers=400_000, seed=0)  # imports and first allocations, as for the cluster
    c0, f0 = _cpu()
    t0 = time.perf_counter()
    one = jd.simulate(journey, customers=args.customers, seed=args.seed, max_work=None)
    t_one = time.perf_counter() - t0
    c1, f1 = _cpu()

    t_two = _ceiling(args.customers, args.seed)
    extra = {"worker_class": "distributed.Worker"} if args.no_nanny else {}
    config = {} if args.dask_defaults or args.no_nanny else MALLOC_ONLY if args.malloc_only else RECOMMENDED
    with dask.config.set(config), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=40, **extra) as lc, \
            Client(lc) as client:
        ex = client.get_executor(pure=False)
        t0 = time.perf_counter()
        for f in [ex.submit(_noop, i) for i in range(200)]:
            f.result()
        overhead = (time.perf_counter() - t0) / 200
        # warm the workers (imports, first allocations), as a long-lived cluster would be
        jd.simulate(journey, customers=400_000, seed=0, executor=ex)
        w0 = client.run(_cpu)
        d0 = _cpu()[0]
        sizes: list[int] = []
        size_task = montecarlo.task_units

        def record(remaining: int, per_unit: float | None, parallel: int) -> int:
            sizes.append(size_task(remaining, per_unit, parallel))
            return sizes[-1]

        montecarlo.task_units = record  # type: ignore[assignment]
        t0 = time.perf_counter()
        try:
            dask_run = jd.simulate(journey, customers=args.customers, seed=args.seed, executor=ex, max_work=None)
        finally:
            montecarlo.task_units = size_task  # type: ignore[assignment]
        t_dask = time.perf_counter() - t0
        d1 = _cpu()[0]
        w1 = client.run(_cpu)
    same = json.dumps(one.to_dict(), sort_keys=True) == json.dumps(dask_run.to_dict(), sort_keys=True)
    blocks = len(montecarlo.block_sizes(args.customers))
    setup = ("Dask's default nanny environment" if args.dask_defaults else
             "no nanny (workers in this process)" if args.no_nanny else
             "nanny without MALLOC_TRIM_THRESHOLD_, Dask's default clocks" if args.malloc_only else
             "nanny without MALLOC_TRIM_THRESHOLD_, slower clocks (docs/scaling.md)")
    print(f"workers               2, {setup}")
    print(f"customers             {args.customers:,} ({blocks} blocks)")
    print(f"one process           {t_one:.2f} s ({c1 - c0:.2f} CPU s, {f1 - f0:,} page faults)")
    print(f"2-worker LocalCluster {t_dask:.2f} s")
    for addr in sorted(w0):
        cpu = w1[addr][0] - w0[addr][0]
        print(f"  worker              {cpu:.2f} CPU s, {w1[addr][1] - w0[addr][1]:,} page faults")
    print(f"  this process        {d1 - d0:.2f} CPU s (scheduler, handing out tasks, merging, results)")
    print(f"speed-up              {t_one / t_dask:.2f}x (goal >= 1.7x)")
    print(f"ceiling               {t_one / t_two:.2f}x: two plain processes, half the customers each side by side,"
          f" {t_two:.2f} s")
    print(f"per-task overhead     {1000 * overhead:.1f} ms (empty tasks, round trip)")
    print(f"tasks                 {len(sizes)}, of {min(sizes)} to {max(sizes)} blocks"
          f" ({t_one / blocks * max(sizes):.2f} s of one-process work at most): {' '.join(map(str, sizes))}")
    print(f"identical JSON        {same}")
    print(f"load average after    {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
