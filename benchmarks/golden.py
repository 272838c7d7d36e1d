"""Check that a change leaves every number byte-identical (a pure speed-up).

    python benchmarks/golden.py save /tmp/golden      # before the change
    python benchmarks/golden.py check /tmp/golden     # after: exit 1 on any difference

    git worktree add /tmp/base main                   # or: against another commit's code
    python benchmarks/golden.py save /tmp/golden --code /tmp/base
    python benchmarks/golden.py check /tmp/golden

Runs, in this process, the commands a user runs with a pinned seed and writes
their JSON: `journeydsl simulate FILE --customers 20000 --seed 3 --format json`
for every examples/journeys, benchmarks and tests/journeys file, `plan-test`
for the first scenario of files that have scenarios, `forecast` for files with
a plan, `compare` of the three benchmark journeys, `attribute --by channel` of
the automation benchmarks, and the journeys written inline in the policy and
automation tests (their placeholders filled with several policies). A few
runs use 300,000 customers so that blocks past the first and the task queue's
pilot run are covered too; and ``simulate`` and ``compare FILE FILE`` of journeys
of 40, 120 and 300 stages written by ``big_journey.py`` (segments, many
scenarios). ``--only SUBSTRING`` runs the matching cases; ``--code DIR`` runs the
package found in DIR (another checkout) instead of this one. Not part of the
test suite: it takes a few minutes.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"


def _code_dir(argv: list[str]) -> Path:
    """The checkout whose package is run (``--code DIR``), read before journeydsl is imported."""
    for i, a in enumerate(argv):
        if a == "--code" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
        if a.startswith("--code="):
            return Path(a.split("=", 1)[1]).resolve()
    return ROOT


sys.path[:0] = [str(_code_dir(sys.argv)), str(HERE)]

from big_journey import big_journey  # noqa: E402

from journeydsl.api import loads  # noqa: E402
from journeydsl.cli import main as cli  # noqa: E402

N = 20_000
#: Big journeys written by big_journey.py: (stages, scenarios, segments).
BIG = {"big40": (40, 3, 2), "big120": (120, 5, 4), "big300": (300, 16, 5)}

#: Placeholders of the tests' inline journeys and what they are filled with (one case each).
FILLS = {
    "EXTRA": [
        "policy { cap email 1 per week }",
        "policy { cap any 2 per week; on cap delay; quiet hours 21:00-08:00; holdout 20% }",
        "policy { quiet hours 22:00-06:00 skip }",
        "policy { cap email 3 per week; cap any 1 per day; on cap skip; holdout 10% }",
        "policy { cap email 2 per week; on cap delay; quiet hours 21:00-08:00 delay }",
        "policy { holdout 100% }\ntrigger r { every 1 day in a; send receipt, mail }",
    ],
    "POLICY": ["policy { holdout 10% }", "policy { holdout 30%; cap email 1 per week; on cap delay }"],
    "THEN": ["then 50% -> won", "response 100%"],
}
#: Test modules whose inline journeys are checked, and the customers each runs (some fire daily).
TEST_SOURCES = {"test_automation.py": N, "test_policy.py": 2_000, "test_attribution.py": N}


def _inline_journeys() -> list[tuple[str, str, int]]:
    """(name, text, customers) for the module-level journey strings of the test modules."""
    found = []
    for module, n in TEST_SOURCES.items():
        tree = ast.parse((ROOT / "tests" / module).read_text())
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str) and "journey" in node.value.value
                    and isinstance(node.targets[0], ast.Name)):
                continue
            text, name = node.value.value, node.targets[0].id
            variants = [text]
            for key, fills in FILLS.items():
                if key in text:
                    variants = [v.replace(key, f) for v in variants for f in fills]
            for i, v in enumerate(variants):
                try:
                    loads(v)
                except Exception:  # templates filled in by the test itself
                    continue
                found.append((f"{module[:-3]}.{name}.{i}", v, n))
    return found


def _variants_of_every_feature() -> list[tuple[str, str, int]]:
    text = (ROOT / "benchmarks" / "every_feature.journey").read_text()
    return [
        ("every_feature.skip", text.replace("on cap delay", "on cap skip"), N),
        ("every_feature.quiet_skip", text.replace("21:00-08:00 delay", "21:00-08:00 skip"), N),
        ("every_feature.no_holdout", text.replace("holdout 10%", ""), N),
        ("every_feature.segments", text.replace("    visitor  -> lead     30%",
                                                "    segment vip 30% { lead -> trial 60% }\n"
                                                "    segment big 20% { customer -> churned 2% per month }\n"
                                                "    visitor  -> lead     30%"), N),
        ("every_feature.plan", text.replace("    discount 10% per year\n", "").replace(
            "    calendar {", "    plan p { start 2027-01; months 12; arrivals 2000 per day }\n    calendar {"), N),
        ("every_feature.scenario", text.replace("    calendar {", "    scenario half 50% { trigger remind { when no "
                                                "response to welcome.clicks within 2 days; send sms } }\n"
                                                "    scenario less { without trigger monthly }\n    calendar {"), N),
    ]


def _same_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by renaming a finished file over it: another golden.py run
    reading the same inline journey never sees it half-written."""
    part = path.with_name(f"{path.name}.{os.getpid()}")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def cases(workdir: Path) -> list[tuple[str, list[str]]]:
    """(name, CLI arguments) of every run."""
    files: list[tuple[str, Path, int]] = []
    for folder in ("examples/journeys", "benchmarks", "tests/journeys"):
        for p in sorted((ROOT / folder).glob("*.journey")):
            files.append((f"{folder}/{p.name}", p, N))
    for name, text, n in _inline_journeys() + _variants_of_every_feature():
        p = workdir / f"{name}.journey"
        _same_text(p, text)
        files.append((name, p, n))
    big = []
    for name, (stages, scenarios, segments) in BIG.items():
        p = workdir / f"{name}.journey"
        _same_text(p, big_journey(stages, scenarios=scenarios, segments=segments))
        files.append((name, p, N))
        big.append((name, p))
    out: list[tuple[str, list[str]]] = []
    common = ["--seed", "3", "--quiet"]
    for name, p, n in files:
        j = loads(p.read_text())
        size = ["--customers", str(n)]
        out.append((f"simulate {name}", ["simulate", str(p), *size, *common, "--format", "json"]))
        if j.scenarios:
            out.append((f"plan-test {name}", ["plan-test", str(p), "--scenario", j.scenarios[0].name, *size,
                                              *common, "--format", "json"]))
        if j.plans:
            out.append((f"forecast {name}", ["forecast", str(p), *size, *common, "--format", "json"]))
    for name, p in big:
        out.append((f"compare {name} {name}", ["compare", str(p), str(p), "--customers", str(N), *common,
                                                "--format", "json"]))
    bench = [str(ROOT / "benchmarks" / f) for f in ("reference.journey", "automation.journey",
                                                     "every_feature.journey")]
    out.append(("compare benchmarks", ["compare", *bench, "--customers", str(N), *common, "--format", "json"]))
    for f in bench[1:]:
        out.append((f"attribute {f}", ["attribute", f, "--by", "channel", "--customers", "5000", *common,
                                       "--format", "json"]))
        out.append((f"simulate-300k {f}", ["simulate", f, "--customers", "300000", *common, "--format", "json"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("mode", choices=["save", "check"])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--only", default="")
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose package is run")
    args = ap.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    bad = 0
    # the inline journeys are written to one fixed folder: their path is part of the output
    tmp = Path(tempfile.gettempdir()) / "journeydsl-golden-journeys"
    tmp.mkdir(exist_ok=True)
    todo = [c for c in cases(tmp) if args.only in c[0]]
    # each run's outputs in a folder of its own: runs side by side must not delete each other's
    own = Path(tempfile.mkdtemp(prefix="journeydsl-golden-out-"))
    for name, argv in todo:
        # named without the checkout's path, so that a baseline saved in one work tree checks in another
        key = name.replace(str(ROOT) + "/", "").replace("/", "_").replace(" ", "__")
        target = args.folder / f"{key}.json"
        got = own / "out.json"
        t = time.perf_counter()
        code = cli([*argv, "--output", str(got)])
        took = time.perf_counter() - t
        # the checkout's own path reads <repo>: a baseline saved in one work tree checks in another
        text = (f"exit {code}\n" + (got.read_text() if got.exists() else "")).replace(str(ROOT), "<repo>")
        got.unlink(missing_ok=True)
        if args.mode == "save":
            target.write_text(text)
            print(f"saved   {name} ({took:.1f} s)")
            continue
        want = target.read_text() if target.exists() else "(missing)\n"
        if want == text:
            print(f"same    {name} ({took:.1f} s)")
            continue
        bad += 1
        print(f"DIFFERS {name}")
        diff = difflib.unified_diff(want.splitlines(), text.splitlines(), "before", "after", lineterm="", n=1)
        for line in list(diff)[:40]:
            print("   ", line)
    own.rmdir()
    if args.mode == "check":
        print(f"{len(todo) - bad} of {len(todo)} the same" + ("" if not bad else f"; {bad} DIFFER"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
