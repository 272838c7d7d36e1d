"""Write a big journey file: N stages in phases, with branches, rates, triggers, segments and scenarios.

    python benchmarks/big_journey.py 1000 > /tmp/big.journey
    python benchmarks/big_journey.py 100 --scenarios 16 --segments 5 -o /tmp/big100.journey

The journey is a long funnel: stage ``s0`` is the entry, every stage ``s{i}`` sends a share
to ``s{i+1}``, some to a skip-ahead stage ``s{i+3}``, and the rest to the terminal ``lost``;
every tenth stage is a goal with revenue and a monthly churn rate to ``churned``, and every
fifth stage has a day-7 trigger sending a touchpoint. Stages come in phases of 10. The same
N, scenarios and segments always give the same text, so runs are comparable.
Used by ``bench_outputs.py`` (render and report); check it with ``journeydsl check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["big_journey"]


def big_journey(stages: int = 1000, *, scenarios: int = 4, segments: int = 2, phase_size: int = 10) -> str:
    """The text of a journey with ``stages`` stages (at least 2) besides its two terminal stages."""
    if stages < 2:
        raise ValueError("a big journey needs at least 2 stages")
    out = [
        f'journey "Big journey ({stages} stages)" {{',
        "    currency EUR",
        "    horizon 365 days",
        "    customers 20_000",
        "",
    ]
    for first in range(0, stages, phase_size):
        out.append(f'    phase "Phase {first // phase_size + 1}" {{')
        for i in range(first, min(first + phase_size, stages)):
            body = []
            if i == 0:
                body.append("entry")
            body.append(f"dwell exponential(mean {1 + i % 7} days)")
            if i % 10 == 9 or i == stages - 1:
                body += ["goal", "active", f"revenue {10 + i % 40} EUR every month"]
            out.append(f'        stage s{i} "Stage {i}" {{ {"; ".join(body)} }}')
        out.append("    }")
    out += ['    stage churned "Churned" { terminal }', "    stage lost { terminal }", ""]
    out += [
        '    touchpoint mail "Reminder" { channel email; cost 0.02 EUR; response 20% }',
        '    touchpoint call "Call" { channel phone; cost 5 EUR }',
        "",
    ]
    for i in range(stages):
        if i == stages - 1:
            out.append(f"    s{i} -> churned 5% per month")
            continue
        if i % 10 == 9:  # a goal stage: customers stay, move on at a rate, or churn
            out.append(f"    s{i} -> s{i + 1} 10% per month")
            out.append(f"    s{i} -> churned 3% per month")
            continue
        out.append(f"    s{i} -> s{i + 1} {60 + i % 30}%")
        if i + 3 < stages and i % 4 == 1:
            out.append(f"    s{i} -> s{i + 3} 5% via call")
        out.append(f"    s{i} -> lost otherwise")
    out.append("")
    for i in range(0, stages - 1, 5):
        if i % 10 == 9:
            continue
        out += [
            f"    trigger t{i} {{",
            f"        when in s{i} for 7 days",
            "        send mail",
            f"        then 30% -> s{i + 1}",
            "    }",
        ]
    for k in range(segments):
        out.append(f'    segment g{k} "Segment {k}" {max(1, 20 // max(segments, 1))}% {{')
        i = (k * 7) % (stages - 1)
        if i % 10 != 9:
            out.append(f"        s{i} -> s{i + 1} {50 + k}%")
        out.append("    }")
    for k in range(scenarios):
        out.append(f'    scenario x{k} "Scenario {k}" {{')
        out.append(f"        touchpoint mail {{ cost {0.01 * (k + 1):.2f} EUR }}")
        out.append("    }")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stages", type=int, nargs="?", default=1000)
    parser.add_argument("--scenarios", type=int, default=4)
    parser.add_argument("--segments", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    text = big_journey(args.stages, scenarios=args.scenarios, segments=args.segments)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
