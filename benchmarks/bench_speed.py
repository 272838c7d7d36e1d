"""Where strategists feel speed: start-up, loops, big journeys, maps, reports, two workers.

Run by hand from the repository root (not part of the test suite)::

    python benchmarks/bench_speed.py                  # every case, one line each
    python benchmarks/bench_speed.py --only loops render
    python benchmarks/bench_speed.py --quick          # smaller runs, for a first look
    python benchmarks/bench_speed.py --only loops --cpu   # engine cases by CPU time

Every figure is a ratio against a reference measured in the same run, on the
same machine and under the same load (printed first and last: a ratio says
little when the load average is above the number of cores). Each case is the
best of ``--repeat`` runs. Commands run in a fresh interpreter (what a user
waits for); the engine cases run in this process after a warm-up.

The package is byte-compiled first (``--no-compile`` leaves it as it is), so that
commands start as they do from an installed copy.

Cases (goal in brackets):

- ``startup``: ``journeydsl --help`` against ``python -c pass`` [under 0.15 s],
  and ``journeydsl check`` on an example [under 0.35 s];
- ``loops``: engine time per customer of the loop-heavy examples (re-entry by
  recency, referrals) against the reference journey, at 20,000 customers
  [within 3x]; beside it, the work each journey is (workcount.py: steps, that is
  customer-stays, firings and purchases, per customer, and passes per block)
  against the reference's, and so the time per step of work;
- ``growth``: a 1,000-stage journey with 16 scenarios and 5 segments against
  the reference journey with as many arms, time and peak memory
  [under 15 s and 400 MiB at 10^6 customers];
- ``render``: the SVG map of a 1,000-stage journey against that of an example
  [under 20 s];
- ``report``: the HTML report of an example against its ``simulate`` [under 2 s];
- ``workers``: ``simulate --workers 2`` against one worker, 10^7 and 10^8
  customers [at least 1.7x on an idle two-core machine]; at 10^7 the command's
  fixed part (about 0.4 s of start-up, loading and writing, which two workers
  cannot share) caps the speed-up near 1.45x whatever the engine does; also the same command at 1,000
  customers (start-up, loading and writing, which two workers cannot share) and
  the engine alone, in this process, with two workers against one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from big_journey import big_journey  # noqa: E402

PY = sys.executable
EXAMPLES = ROOT / "examples" / "journeys"
REFERENCE = HERE / "reference.journey"


def best(fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """The least time of ``repeat`` calls of ``fn`` (wall time unless another ``clock`` is given)."""
    out = float("inf")
    for _ in range(repeat):
        t = clock()
        fn()
        out = min(out, clock() - t)
    return out


def command(args: Sequence[str], repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Best wall time of a command in a fresh interpreter, and its peak RSS in MiB."""
    wall = float("inf")
    peak = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = min(wall, time.perf_counter() - t)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited with {proc.returncode}")
        peak = max(peak, usage.ru_maxrss / 1024)
    return wall, peak


def compile_package() -> None:
    """Byte-compile the package, as installing it does (pip writes the ``.pyc`` files).

    A work tree run with ``PYTHONDONTWRITEBYTECODE`` set (or from a read-only folder) has none, and
    every command then compiles the modules it imports from source, about a tenth of a second of
    start-up that no installed copy pays.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "journeydsl"), quiet=1)


def jd(*args: str) -> list[str]:
    return [PY, "-m", "journeydsl", *args]


def case_startup(a: argparse.Namespace) -> list[str]:
    bare, _ = command([PY, "-c", "pass"], a.repeat)
    helped, _ = command(jd("--help"), a.repeat)
    check, _ = command(jd("check", str(EXAMPLES / "saas_trial.journey")), a.repeat)
    return [
        row("startup: journeydsl --help", helped, bare, "python -c pass", goal=f"{helped:.2f} s (< 0.15 s)"),
        row("startup: check saas_trial", check, bare, "python -c pass", goal=f"{check:.2f} s (< 0.35 s)"),
    ]


def _engine_seconds(path: Path, customers: int, repeat: int, cpu: bool = False) -> float:
    from journeydsl import api
    from journeydsl.engine.montecarlo import simulate

    j = api.load(path)
    simulate(j, min(customers, 2000), seed=1, max_work=None)  # warm-up
    return best(lambda: simulate(j, customers, seed=1, max_work=None), repeat,
                time.process_time if cpu else time.perf_counter)


def case_loops(a: argparse.Namespace) -> list[str]:
    """Each loop journey's time against the reference's, and the work behind it (workcount.py):
    its steps per customer and passes per block against the reference's, and so its time per step."""
    from workcount import work_per_customer

    from journeydsl import api

    n = 20_000
    ref = _engine_seconds(REFERENCE, n, a.repeat, a.cpu)
    ref_work = work_per_customer(api.load(REFERENCE), n)
    rows = []
    for name in ("retail_recency", "loyalty_referral", "subscription_winback"):
        path = EXAMPLES / f"{name}.journey"
        t = _engine_seconds(path, n, a.repeat, a.cpu)
        work = work_per_customer(api.load(path), n)
        steps = work.steps / ref_work.steps
        rows.append(row(f"loops: {name}, 20,000 customers", t, ref, "reference.journey",
                        goal=f"ratio < 3; work {steps:.1f}x the reference's ({work.steps:.1f} steps a customer,"
                             f" {work.passes:.0f} passes a block against {ref_work.passes:.0f}),"
                             f" so {t / ref / steps:.2f}x its time per step"))
    return rows


def case_growth(a: argparse.Namespace) -> list[str]:
    n = 100_000 if a.quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.journey"
        big.write_text(big_journey(1000, scenarios=16, segments=5), encoding="utf-8")
        ref_arms = Path(tmp) / "ref.journey"
        text = REFERENCE.read_text(encoding="utf-8").rstrip().rstrip("}")
        scen = "".join(f'    scenario s{k} "S{k}" {{ visitor -> lead {30 + k % 5}% }}\n' for k in range(16))
        ref_arms.write_text(text + scen + "}\n", encoding="utf-8")
        args = ["simulate", "-q", "-f", "json", "-o", os.devnull, "-n", str(n), "--force"]
        ref, _ = command(jd(*args, str(ref_arms)), 1)
        t, peak = command(jd(*args, str(big)), 1)
    return [row(f"growth: 1,000 stages x 17 arms x 6 segments, {n:,} customers", t, ref,
                "reference, 17 arms", goal=f"{t:.1f} s, {peak:.0f} MiB (< 15 s, 400 MiB at 10^6)")]


def case_render(a: argparse.Namespace) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.journey"
        big.write_text(big_journey(1000), encoding="utf-8")
        ref, _ = command(jd("render", "-q", str(EXAMPLES / "saas_trial.journey"), "-o", f"{tmp}/s.svg"), a.repeat)
        t, _ = command(jd("render", "-q", str(big), "-o", f"{tmp}/big.svg"), 1)
    return [row("render: 1,000-stage journey to SVG", t, ref, "render saas_trial", goal=f"{t:.1f} s (< 20 s)")]


def case_report(a: argparse.Namespace) -> list[str]:
    path = str(EXAMPLES / "saas_trial.journey")
    with tempfile.TemporaryDirectory() as tmp:
        ref, _ = command(jd("simulate", "-q", path, "-o", f"{tmp}/s.txt"), a.repeat)
        t, _ = command(jd("report", "-q", path, "-o", f"{tmp}/r.html"), a.repeat)
    return [row("report: saas_trial to HTML", t, ref, "simulate saas_trial", goal=f"{t:.2f} s (< 2 s)")]


def case_workers(a: argparse.Namespace) -> list[str]:
    """Two workers against one: the whole command, its fixed part, and the engine alone.

    Runs alternate (one worker, two workers, ...) so that a change in the machine's
    load falls on both sides; each side is the best of ``--repeat``.
    """
    n = 1_000_000 if a.quick else 10_000_000
    big = 10 * n
    args = ["simulate", "-q", "-f", "json", "-o", os.devnull, str(REFERENCE)]
    one = two = fixed = big_one = big_two = float("inf")
    for _ in range(a.repeat):
        one = min(one, command(jd(*args, "-n", str(n), "--workers", "1"), 1)[0])
        two = min(two, command(jd(*args, "-n", str(n), "--workers", "2"), 1)[0])
        fixed = min(fixed, command(jd(*args, "-n", "1000"), 1)[0])  # start-up, loading, writing
        big_one = min(big_one, command(jd(*args, "-n", str(big), "--workers", "1"), 1)[0])
        big_two = min(big_two, command(jd(*args, "-n", str(big), "--workers", "2"), 1)[0])
    from journeydsl import api
    from journeydsl.engine.montecarlo import simulate

    j = api.load(REFERENCE)
    simulate(j, 400_000, seed=1, max_work=None, workers=2)  # warm-up: imports, first allocations
    e_one = e_two = float("inf")
    for _ in range(a.repeat):
        e_one = min(e_one, best(lambda: simulate(j, n, seed=1, max_work=None), 1))
        e_two = min(e_two, best(lambda: simulate(j, n, seed=1, max_work=None, workers=2), 1))
    return [
        row(f"workers: --workers 2, {n:,} customers", two, one, "--workers 1", goal="speed-up >= 1.7x",
            speedup=True),
        row(f"workers: --workers 2, {big:,} customers", big_two, big_one, "--workers 1", goal="speed-up >= 1.7x",
            speedup=True),
        row("workers: the same command at 1,000 customers (the part two workers cannot share)", fixed, one,
            "--workers 1", goal=f"{fixed:.2f} s of {one:.2f} s"),
        row(f"workers: engine alone (simulate(..., workers=2) in this process), {n:,} customers", e_two, e_one,
            "workers=1", goal="speed-up", speedup=True),
    ]


def row(name: str, t: float, ref: float, ref_name: str, *, goal: str, speedup: bool = False) -> str:
    ratio = f"{ref / t:.2f}x faster" if speedup else f"{t / ref:.2f}x"
    return f"| {name} | {t:.3f} s | {ref_name} {ref:.3f} s | {ratio} | {goal} |"


CASES: dict[str, Callable[[argparse.Namespace], list[str]]] = {
    "startup": case_startup,
    "loops": case_loops,
    "growth": case_growth,
    "render": case_render,
    "report": case_report,
    "workers": case_workers,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(CASES), help="run only these cases")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    ap.add_argument("--quick", action="store_true", help="smaller runs (10^5 and 10^6 customers)")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not byte-compile the package first (time compiling it from source on every run)")
    ap.add_argument("--cpu", action="store_true",
                    help="time the engine cases by the process's CPU time (steadier on a loaded machine)")
    a = ap.parse_args()
    if not a.no_compile:
        compile_package()
    load0 = os.getloadavg()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} cores")
    print("| case | time | reference (same run) | ratio | figure (goal) |")
    print("| --- | --- | --- | --- | --- |")
    for name in a.only or CASES:
        for line in CASES[name](a):
            print(line, flush=True)
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
