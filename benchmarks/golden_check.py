"""Check that a speed-up changes no number: the JSON results before and after, byte for byte.

Run by hand from the repository root (not part of the test suite)::

    python benchmarks/golden_check.py                 # working tree against HEAD
    python benchmarks/golden_check.py --base main     # ... against another commit
    python benchmarks/golden_check.py --save DIR      # keep this tree's results in DIR
    python benchmarks/golden_check.py --against DIR   # compare with results kept earlier
    python benchmarks/golden_check.py tests/journeys/*.journey   # and more journeys

For every ``examples/journeys/*.journey`` and ``benchmarks/*.journey`` it runs
``journeydsl simulate FILE --customers 20000 --seed 3 --format json`` with this
tree's code and with the base's (``git archive`` of ``--base`` into a temporary
folder with its grammar, run with the same interpreter), and lists the files whose output differs.
Exit code 1 when one does.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ("--customers", "20000", "--seed", "3", "--format", "json")


def journeys(extra: list[Path]) -> list[Path]:
    return (sorted((ROOT / "examples" / "journeys").glob("*.journey")) + sorted((ROOT / "benchmarks").glob("*.journey"))
            + [p.resolve() for p in extra])


def results(code: Path, extra: list[Path]) -> dict[str, str]:
    """Each journey's JSON, simulated with the package found in ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = {}
    for path in journeys(extra):
        rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        # -P: the package comes from PYTHONPATH, not from the current folder
        proc = subprocess.run([sys.executable, "-P", "-m", "journeydsl", "simulate", rel, *ARGS],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit(f"{rel} with the code in {code}: exit {proc.returncode}\n{proc.stderr}")
        out[rel] = proc.stdout
    return out


def base_results(ref: str, extra: list[Path]) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "archive", "-o", str(archive), ref, "journeydsl", "grammars"], cwd=ROOT, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        return results(Path(tmp), extra)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    ap.add_argument("--save", type=Path, help="write this tree's results to this folder and stop")
    ap.add_argument("--against", type=Path, help="compare with the results saved in this folder")
    ap.add_argument("extra", nargs="*", type=Path, help="more journeys to compare (with --base only)")
    a = ap.parse_args()
    now = results(ROOT, a.extra)
    if a.save:
        for rel, text in now.items():
            dest = a.save / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        print(f"saved {len(now)} results in {a.save}")
        return 0
    saved = a.against
    before = ({rel: (saved / rel).read_text(encoding="utf-8") for rel in now} if saved
              else base_results(a.base, a.extra))
    bad = 0
    for rel, text in now.items():
        if text == before[rel]:
            print(f"same     {rel}")
            continue
        bad += 1
        diff = list(difflib.unified_diff(before[rel].splitlines(), text.splitlines(), "before", "after", n=1,
                                         lineterm=""))
        print(f"DIFFERS  {rel} ({len(diff)} diff lines)")
        print("\n".join(diff[:12]))
    print(f"{len(now) - bad} of {len(now)} identical")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
