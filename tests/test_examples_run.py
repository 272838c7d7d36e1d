"""Every example journey simulates, agrees with exact algebra, draws, and runs in every command.

Each example and each of its scenarios is simulated with a pinned seed over a
very long horizon; where the algebra has an answer, the simulated conversion
must match it within 4.5 standard errors. Then every example renders, and goes
through every command that applies to it.
"""

from __future__ import annotations

import math
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

import journeydsl as jd
from journeydsl.engine.exact import ExactUnsupported, solve
from journeydsl.engine.results import load_schema
from journeydsl.language.model import Journey
from journeydsl.outputs.maps import render, to_dot, to_mermaid

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "journeys").glob("*.journey"))
CUSTOMERS = 20_000
Cli = Callable[..., tuple[int, str, str]]  # the ``cli`` fixture of conftest.py
LONG = 100 * 365.0  # long enough that every conversion the algebra counts has happened


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_simulates_in_line_with_exact_answers(path: Path) -> None:
    journey = jd.load(path)
    results = jd.simulate(journey, customers=CUSTOMERS, seed=2026, scenarios=None, horizon_days=LONG)
    data = results.to_dict()
    jsonschema.validate(data, load_schema())
    assert [a["name"] for a in data["scenarios"]] == ["baseline", *[s.name for s in journey.scenarios]]
    compared = 0
    for arm in data["scenarios"]:
        conv = arm["metrics"]["conversion_rate"]["mean"]
        assert conv is not None and 0 < conv <= 1, arm["name"]  # retail_recency starts at the first order
        try:
            exact = solve(journey.with_scenario(arm["name"]))
        except ExactUnsupported:
            continue
        se = math.sqrt(exact.conversion * (1 - exact.conversion) / CUSTOMERS)
        assert abs(conv - exact.conversion) < 4.5 * se + 1e-9, (arm["name"], conv, exact.conversion)
        compared += 1
    assert compared >= 1, "the algebra should answer at least the baseline of every example"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_renders(path: Path) -> None:
    journey = jd.load(path)
    dot = to_dot(journey)
    mermaid = to_mermaid(journey)
    for stage in journey.stages:
        assert f'"{stage.name}"' in dot or f" {stage.name} " in dot
    assert mermaid.lstrip().startswith(("---", "flowchart"))
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed; DOT and Mermaid were checked")
    svg = render(journey, format="svg")
    assert isinstance(svg, bytes)
    root = ET.fromstring(svg)
    text = " ".join(t for t in root.itertext())
    for stage in journey.stages:
        assert stage.title.split()[0] in text, stage.title


def _commands(journey: Journey, path: Path, out: Path) -> list[list[str]]:
    """Every command a strategist could run on ``path``, small, with what the journey has for it."""
    f, n = str(path), ["--customers", "400", "-q"]
    cmds = [["check", f], ["fmt", "--check", f], ["simulate", f, *n, "--format", "json"],
            ["simulate", f, "--exact", "-q"], ["compare", f, f, *n], ["render", f, "--format", "dot", "-o",
            str(out / "map.dot"), "-q"], ["attribute", f, *n, "--by", "channel"]]
    scenario = journey.scenarios[0].name if journey.scenarios else None
    if scenario:
        cmds.append(["plan-test", f, "--scenario", scenario, *n])
    params = [p.name for p in journey.params if p.distribution().interval95()[0] != p.distribution().interval95()[1]]
    if params:
        cmds += [["simulate", f, *n, "--draws", "3"], ["sensitivity", f, *n]]
        if scenario:
            cmds.append(["breakeven", f, "--param", params[0], "--scenario", scenario, "--customers", "2000", "-q"])
    if journey.plans:
        cmds.append(["forecast", f, *n, "--format", "json"])
    return cmds


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_command_runs_on_every_example(path: Path, cli: Cli, tmp_path: Path) -> None:
    # "every file that check accepts runs in every command": the examples, through each command
    # that applies to them (plan-test needs a scenario, sensitivity an uncertain parameter,
    # forecast a plan), end with exit 0 and no traceback (the cli fixture checks that)
    journey = jd.load(path)
    for argv in _commands(journey, path, tmp_path):
        code, _out, err = cli(*argv)
        assert code == 0, (argv, err)


def test_an_example_shows_the_second_waves_features() -> None:
    # a strategist starting from `init` must find uncertain guesses, a plan, targets and a live test
    journeys = [jd.load(p) for p in EXAMPLES]
    assert any(j.params for j in journeys), "no example has an uncertain parameter"
    assert any(j.plans for j in journeys), "no example has a calendar plan"
    assert any(j.targets for j in journeys), "no example has KPI targets"
    assert any(s.rollout for j in journeys for s in j.scenarios), "no example has a live split test"
