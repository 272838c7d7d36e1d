"""Check that a speed-up leaves every result byte-identical.

    python benchmarks/same_results.py save /tmp/before     # on the commit before the change
    python benchmarks/same_results.py check /tmp/before    # on the commit after it

Runs ``journeydsl simulate FILE --customers N --seed S --format json`` for every
journey of ``examples/journeys/``, ``benchmarks/`` and ``tests/journeys/``, for a
few journeys written by ``big_journey.py`` (many stages, segments and scenarios),
and ``journeydsl compare`` of each example with the next one that has the same
stages (and of each file with itself), and saves the JSON (``save``) or compares
it byte for byte with what was saved (``check``, exit 1 on any difference).
Not part of the test suite: it takes about a minute. The runs are ``python -m
journeydsl`` in the current folder, which Python searches first: run it from the
work tree whose code is to be compared (``cd /other/tree && python
/this/tree/benchmarks/same_results.py save DIR`` saves that tree's results).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE)]

from big_journey import big_journey  # noqa: E402

BIG = {"big40": (40, 3, 2), "big120": (120, 5, 4), "big300": (300, 16, 5)}


def runs(tmp: Path, customers: int, seed: int) -> dict[str, list[str]]:
    """The name and the command line of every run."""
    files = sorted((ROOT / "examples" / "journeys").glob("*.journey"))
    files += sorted(HERE.glob("*.journey")) + sorted((ROOT / "tests" / "journeys").glob("*.journey"))
    for name, (stages, scenarios, segments) in BIG.items():
        path = tmp / f"{name}.journey"
        path.write_text(big_journey(stages, scenarios=scenarios, segments=segments), encoding="utf-8")
        files.append(path)
    common = ["--customers", str(customers), "--seed", str(seed), "--format", "json", "-q"]
    out = {f"simulate {f.stem}": ["simulate", str(f), *common] for f in files}
    for f in files:
        out[f"compare {f.stem} {f.stem}"] = ["compare", str(f), str(f), *common]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("verb", choices=["save", "check"])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    a.folder.mkdir(parents=True, exist_ok=True)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in runs(Path(tmp), a.customers, a.seed).items():
            proc = subprocess.run([sys.executable, "-m", "journeydsl", *argv], capture_output=True, check=False)
            text = (proc.stdout + f"\nexit {proc.returncode}\n".encode() + proc.stderr).replace(tmp.encode(), b"TMP")
            saved = a.folder / (name.replace(" ", "__") + ".json")
            if a.verb == "save":
                saved.write_bytes(text)
            elif not saved.exists() or saved.read_bytes() != text:
                bad += 1
                print(f"DIFFERENT: {name}", flush=True)
            else:
                print(f"same: {name}", flush=True)
    print(f"{bad} different" if a.verb == "check" else f"saved in {a.folder}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
