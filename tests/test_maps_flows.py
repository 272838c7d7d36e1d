"""Maps for a page: trigger arrows with their own per-1,000 numbers, and the layout chosen by shape."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from journeydsl.api import flows_from, load, loads, simulate
from journeydsl.outputs.maps import AUTO_ASPECT, _aspect, render, to_dot

HAS_DOT = shutil.which("dot") is not None
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "journeys"

NUDGED = """
journey "Nudged" {
    stage lead "Lead" { entry; dwell 10 days }
    stage won "Won" { goal; terminal }
    stage lost "Lost" { terminal }
    touchpoint mail "Mail" { channel email; response 50% }
    lead -> won 40%
    lead -> lost otherwise
    trigger nudge "Nudge" { when in lead for 2 days; send mail; then 100% -> won }
}
"""


def _per_1000(line: str) -> float:
    found = re.search(r"([\d,.]+) per 1,000", line)
    assert found, line
    return float(found.group(1).replace(",", ""))


def test_trigger_arrow_carries_its_own_number_and_the_transition_does_not_fold_it_in() -> None:
    journey = loads(NUDGED)
    results = simulate(journey, customers=20_000, seed=4)
    flows = flows_from(results)
    dot = to_dot(journey, flows=flows)
    edges = [line for line in dot.splitlines() if line.startswith('  "lead" -> "won"')]
    plain = next(line for line in edges if "dashed" not in line)
    dashed = next(line for line in edges if "dashed" in line)
    together = flows.per_1000_edges[("lead", "won")]
    rerouted = 1000 * results.arms[0].triggers["nudge"]["rerouted_per_customer"]
    assert rerouted > 100  # half the leads respond on day 2 and are rerouted
    assert _per_1000(dashed) == pytest.approx(rerouted, abs=0.5)
    assert _per_1000(plain) == pytest.approx(together - rerouted, abs=0.5)
    # the 40% arrow carries about 40% of those left after the nudge, not the nudge's customers too
    assert _per_1000(plain) == pytest.approx(0.4 * (1000 - rerouted), rel=0.05)


def _chain(n: int) -> str:
    stages = "\n".join(f'    stage s{i} "Stage number {i}" {{ {"entry" if i == 0 else ""} }}' for i in range(n))
    moves = "\n".join(f"    s{i} -> s{i + 1} 50%\n    s{i} -> gone otherwise" for i in range(n - 1))
    return f'journey "Chain" {{\n{stages}\n    stage gone "Gone" {{ terminal }}\n{moves}\n}}\n'


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")
def test_auto_direction_turns_a_long_map_top_to_bottom() -> None:
    long = loads(_chain(12))
    lr = render(long, format="svg", direction="LR")
    assert isinstance(lr, bytes) and _aspect(lr) > AUTO_ASPECT
    auto = render(long, format="svg", direction="auto")
    assert auto == render(long, format="svg", direction="TB")
    for path in sorted(EXAMPLES.glob("*.journey"))[:4]:
        journey = load(path)
        lr = render(journey, format="svg", direction="LR")
        chosen = "LR" if _aspect(lr) <= AUTO_ASPECT else "TB"  # type: ignore[arg-type]
        assert render(journey, format="svg", direction="auto") == render(journey, format="svg", direction=chosen)


def _bezier_points(pos: str) -> list[tuple[float, float]]:
    """Points along a Graphviz edge spline (``pos`` of -Tjson: optional end points, then cubic Béziers)."""
    pts = [tuple(float(v) for v in p.split(",")) for p in pos.split() if not p.startswith(("e,", "s,"))]
    out: list[tuple[float, float]] = []
    for k in range(0, len(pts) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts[k], pts[k + 1], pts[k + 2], pts[k + 3]
        for i in range(21):
            t = i / 20
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_no_edge_crosses_a_phase_title(direction: str) -> None:
    import json
    import subprocess

    for path in sorted(EXAMPLES.glob("*.journey")):
        journey = load(path)
        flows = flows_from(simulate(journey, customers=1000, seed=1))
        layout = json.loads(subprocess.run(["dot", "-Tjson"], input=to_dot(journey, flows=flows, direction=direction),
                                           capture_output=True, text=True, check=True).stdout)
        titles = []
        for obj in layout.get("objects", []):
            if str(obj.get("name", "")).startswith("phase title"):
                x, y = (float(v) for v in obj["pos"].split(","))
                w, h = 72 * float(obj["width"]) / 2, 72 * float(obj["height"]) / 2
                titles.append((obj["name"], x - w + 2, x + w - 2, y - h + 2, y + h - 2))
        assert titles or not journey.phases, path.name
        for edge in layout.get("edges", []):
            if "pos" not in edge or edge.get("style") == "invis":
                continue
            for px, py in _bezier_points(edge["pos"]):
                for name, x0, x1, y0, y1 in titles:
                    assert not (x0 < px < x1 and y0 < py < y1), f"{path.name}: an edge crosses {name}"


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")
def test_every_edge_number_is_drawn_above_every_line() -> None:
    """A thick flow drawn after an edge used to run over that edge's '75% / 750 per 1,000': the SVG
    now draws every line first and every edge label (with its white box) after them."""
    import xml.etree.ElementTree as ET

    journey = load(EXAMPLES / "ru_onlineshkola.journey")
    svg = render(journey, format="svg", flows=flows_from(simulate(journey, customers=2000, seed=1)))
    assert isinstance(svg, bytes)
    ET.fromstring(svg)  # still well-formed
    text = svg.decode("utf-8")
    last_line = max(m.start() for m in re.finditer(r'<g id="edge\d+" class="edge">', text))
    labels = text.index('<g class="edge-labels">')
    assert labels > last_line
    edges = re.findall(r'<g id="edge\d+" class="edge">(.*?)</g>', text, re.S)
    assert edges and all("<text" not in e for e in edges)  # no label left under a line
    assert "на 1 000" in text[labels:] and "остальные" in text[labels:]
