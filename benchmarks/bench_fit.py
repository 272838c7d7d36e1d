"""Time ``journeydsl fit`` on large exports: 10^5 and 10^6 event rows.

    python benchmarks/bench_fit.py                 # 10^5 and 10^6 rows
    python benchmarks/bench_fit.py --rows 100000   # one size

The export is an ``entries`` CSV made from the known pipeline of
``examples/data/make_exports.py`` (about 3 rows per lead, many still open),
written to a temporary folder. Each fit runs in a subprocess so that its
peak resident memory (``ru_maxrss``) is its own; the time is the whole
``fit_export`` call (reading, parsing, stays, every estimator, writing and
formatting the journey), not the interpreter's start. Goal: 10^6 rows in
under 10 s and 1 GiB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from journeydsl.analysis.fit import fit_export
import scipy.stats  # imported before the clock starts: a one-off cost, not the fit's
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
t, c = time.perf_counter(), cpu()
r = fit_export(sys.argv[1])
seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "peak_mib": peak, "rows": r.events.rows,
                  "figures": len(r.written)}))
"""


def _maker():
    spec = importlib.util.spec_from_file_location("make_exports", ROOT / "examples" / "data" / "make_exports.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_exports"] = module
    spec.loader.exec_module(module)
    return module


def make_export(rows: int, folder: Path) -> Path:
    mk = _maker()
    truth = {
        "lead": ("branch", [("deal", 0.6, mk.gamma(2, 3.0)), ("lost", 0.4, mk.gamma(2, 3.0))]),
        "deal": ("branch", [("won", 0.25, mk.lognormal(30, 12)), ("lost", 0.75, mk.exponential(8))]),
    }
    cases = max(1, int(rows / 2.4))
    entries = mk.simulate(truth, "lead", cases, seed=1, start=mk.CUT - timedelta(days=365), cut=mk.CUT)
    path = folder / f"entries_{rows}.csv"
    path.write_text(mk.entries_csv(entries), encoding="utf-8")
    return path


def _load() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return fh.read().split()[0]
    except OSError:  # pragma: no cover - not Linux
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, action="append", help="event rows (repeatable; default 10^5 and 10^6)")
    args = ap.parse_args()
    sizes = args.rows or [100_000, 1_000_000]
    # the wall time counts waiting for a shared CPU; the CPU time is what the fit itself needs
    print(f"load average {_load()} on {__import__('os').cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            t = time.perf_counter()
            path = make_export(rows, Path(tmp))
            made = time.perf_counter() - t
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                                 check=True)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            ok = got["seconds"] < 10 and got["peak_mib"] < 1024
            print(f"{got['rows']:>10,} rows ({path.stat().st_size / 2**20:,.0f} MiB, made in {made:.1f} s): "
                  f"fit in {got['seconds']:.2f} s (CPU {got['cpu']:.2f} s), peak {got['peak_mib']:,.0f} MiB, "
                  f"{got['figures']} figures"
                  + ("" if rows < 1_000_000 else f"  [goal < 10 s and < 1 GiB: {'met' if ok else 'NOT met'}]"))


if __name__ == "__main__":
    main()
