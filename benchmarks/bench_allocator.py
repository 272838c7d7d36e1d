"""The simulate command with the C allocator's heap kept (the default) and left alone, beside the script.

    python benchmarks/bench_allocator.py 10000000 7     # N customers, rounds

Runs, in turn and ``rounds`` times, ``journeydsl simulate benchmarks/reference.journey -n N
--format json`` as it is (commands that simulate keep glibc's heap between blocks, see
journeydsl/engine/allocator.py), the same command with ``MALLOC_ARENA_MAX`` set (a ``MALLOC_``
variable makes journeydsl leave the allocator alone), and the hand-written script
(``benchmarks/handwritten.py``). Prints each one's median and best wall time, median CPU time and
median minor page faults (``ru_minflt``), and the commands' median wall time over the script's.
Alternating the three spreads the machine's changing load over all of them.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    n = sys.argv[1] if len(sys.argv) > 1 else "10000000"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    cmd = [sys.executable, "-m", "journeydsl", "simulate", "benchmarks/reference.journey", "-n", n, "--format", "json"]
    runs = {
        "heap kept": (cmd, None),
        "left alone": (cmd, {**os.environ, "MALLOC_ARENA_MAX": "8"}),
        "script": ([sys.executable, "benchmarks/handwritten.py", n, "1"], None),
    }
    got: dict[str, list[tuple[float, float, int]]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (argv, env) in runs.items():
            t = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
            _pid, _status, use = os.wait4(proc.pid, 0)
            got[name].append((time.perf_counter() - t, use.ru_utime + use.ru_stime, use.ru_minflt))
    wall = {name: statistics.median(x[0] for x in v) for name, v in got.items()}
    print(f"{int(n):,} customers, {rounds} rounds, load average {os.getloadavg()[0]:.2f}")
    for name, v in got.items():
        print(f"{name:11} wall median {wall[name]:.3f} s, best {min(x[0] for x in v):.3f} s;"
              f" CPU median {statistics.median(x[1] for x in v):.3f} s;"
              f" minor faults median {statistics.median(x[2] for x in v):,.0f}")
    print(f"command / script: heap kept {wall['heap kept'] / wall['script']:.2f}x,"
          f" left alone {wall['left alone'] / wall['script']:.2f}x")


if __name__ == "__main__":
    main()
