"""Time the outputs strategists wait for: `render` of big maps and `report` of an example.

    python benchmarks/bench_outputs.py                 # 10, 100 and 1,000 stages; report of saas_trial
    python benchmarks/bench_outputs.py --stages 100 --repeat 1

Every case is the whole command a user runs (interpreter start included), in a subprocess,
best of ``--repeat``. Times are given as ratios against references measured in the same run,
because the machine may be shared: `render` against `journeydsl check` on the same file (the
fixed cost of starting, parsing and checking) and the 10-stage map; `report` against `check` on
the same example. The load average is printed first and last: with a load above the number of
cores the wall times say little, the ratios a bit more. Goals (issue 16): a 1,000-stage journey
to SVG under 20 s; `report` of an example under 2 s. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from big_journey import big_journey  # noqa: E402

EXAMPLE = ROOT / "examples" / "journeys" / "saas_trial.journey"


def _run(args: list[str], repeat: int) -> float:
    """Best wall time of the command ``journeydsl ARGS`` over ``repeat`` runs (it must succeed)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "journeydsl", *args], capture_output=True, check=False)
        took = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"journeydsl {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
        best = min(best, took)
    return best


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts (default 3)")
    args = parser.parse_args(argv)
    print(_load())
    with tempfile.TemporaryDirectory(prefix="jd-bench-outputs-") as tmp:
        folder = Path(tmp)
        small = None
        print(f"{'case':<34}{'seconds':>9}{'/ check':>9}{'/ 10-stage map':>16}")
        for n in sorted(set(args.stages) | {10}):
            src = folder / f"big{n}.journey"
            src.write_text(big_journey(n), encoding="utf-8")
            check = _run(["check", str(src)], args.repeat)
            runs = 1 if n >= 1000 else args.repeat
            took = _run(["render", str(src), "-o", str(folder / f"big{n}.svg"), "--quiet"], runs)
            small = took if n == 10 else small
            goal = "  (goal < 20 s: " + ("met" if took < 20 else "NOT met") + ")" if n == 1000 else ""
            ratio = f"{took / small:>16.1f}" if small else f"{'':>16}"
            print(f"{f'render {n} stages to SVG':<34}{took:>9.2f}{took / check:>9.1f}{ratio}{goal}")
        check = _run(["check", str(EXAMPLE)], args.repeat)
        took = _run(["report", str(EXAMPLE), "-o", str(folder / "report.html"), "--quiet"], args.repeat)
        goal = "met" if took < 2 else "NOT met"
        print(f"{'report saas_trial (20,000 cust.)':<34}{took:>9.2f}{took / check:>9.1f}{'':>16}  (goal < 2 s: {goal})")
        print(f"{'check saas_trial (reference)':<34}{check:>9.2f}{1.0:>9.1f}")
    print(_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
