"""Per-stage money and days, and per-phase figures: exact answers, identities, reports."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest

from journeydsl.api import load, loads
from journeydsl.engine.montecarlo import _shape, run, simulate
from journeydsl.engine.montecarlo.plan import compile_plan
from journeydsl.engine.results import ArmResult, load_schema
from journeydsl.language.model import DAYS, Journey
from journeydsl.outputs.htmlreport import build_report
from journeydsl.outputs.report import format_markdown, format_table

Z = 4.5  # tolerance in standard errors
N = 200_000
EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "journeys").glob("*.journey"))

CLOSED = """
journey "Closed form" {
    currency EUR
    horizon 100 days
    discount 10% per year
    phase "Start" {
        stage a { entry; dwell 10 days; touch mail on enter; cost 2 EUR on enter }
    }
    phase "Paid" {
        stage b { active; revenue 30 EUR every month }
    }
    stage churned { terminal }
    stage lost { terminal }
    touchpoint mail { channel email; cost 0.5 EUR }
    touchpoint call { channel phone; cost 1 EUR }
    a -> b 60% via call
    a -> lost otherwise
    b -> churned 20% per month
    trigger check { when in b for 20 days; send mail }
}
"""


def close(sim: float, exact: float, se: float) -> None:
    assert abs(sim - exact) <= Z * se, f"simulated {sim} vs exact {exact} (se {se})"


@pytest.fixture(scope="module")
def closed() -> ArmResult:
    return simulate(loads(CLOSED), customers=N, seed=3).baseline


def test_days_money_and_reach_match_closed_forms(closed: ArmResult) -> None:
    st, ph = closed.stages, closed.phases
    month = DAYS["month"]
    delta = math.log(1.1) / 365
    lam = -math.log(0.8) / month  # hazard of b -> churned
    p = 0.6
    window = 100.0 - 10.0  # days of horizon left on entering b

    # a: every customer stays exactly 10 days and pays 2 + 0.5 at entry; the `via` call on a -> b is a's
    assert st["a"]["days_per_customer"] == pytest.approx(10.0, rel=1e-12)
    assert st["a"]["days_per_entrant"] == pytest.approx(10.0, rel=1e-12)
    assert st["a"]["revenue_per_customer"] == 0.0
    via = math.exp(-10 * delta)
    close(st["a"]["cost_per_customer"], 2.5 + p * via, via * math.sqrt(p * (1 - p) / N))

    # b: 30 EUR at entry (day 10) and at the start of every month begun before churn or the horizon
    q = math.exp(-delta * month)
    kmax = math.ceil(window / month)  # charges possible before the horizon (3)
    survive = [math.exp(-lam * k * month) for k in range(kmax)]  # P(still in b at charge k)
    worth = [30 * math.exp(-10 * delta) * sum(q**i for i in range(k + 1)) for k in range(kmax)]
    p_count = [survive[k] - (survive[k + 1] if k + 1 < kmax else 0.0) for k in range(kmax)]
    mean = p * sum(pc * w for pc, w in zip(p_count, worth, strict=True))
    second = p * sum(pc * w * w for pc, w in zip(p_count, worth, strict=True))
    close(st["b"]["revenue_per_customer"], mean, math.sqrt((second - mean**2) / N))

    # b's cost: the day-20 mail for those still there (discounted from day 30)
    reach = p * math.exp(-20 * lam)
    mail = 0.5 * math.exp(-30 * delta)
    close(st["b"]["cost_per_customer"], reach * mail, mail * math.sqrt(reach * (1 - reach) / N))

    # days in b: min(T, 90) for the 60% who enter, T exponential
    m1 = (1 - math.exp(-lam * window)) / lam
    m2 = 2 / lam**2 * (1 - math.exp(-lam * window) * (1 + lam * window))
    close(st["b"]["days_per_customer"], p * m1, math.sqrt((p * m2 - (p * m1) ** 2) / N))

    # phases: one stage each, so their figures are that stage's
    assert list(ph) == ["Start", "Paid"]
    assert ph["Start"]["reached"] == 1.0
    assert ph["Start"]["stages"] == ["a"]
    assert ph["Start"]["days_per_customer"] == st["a"]["days_per_customer"]
    close(ph["Paid"]["reached"], p, math.sqrt(p * (1 - p) / N))
    assert ph["Paid"]["reached"] == st["b"]["reached"]
    assert ph["Paid"]["revenue_per_customer"] == st["b"]["revenue_per_customer"]
    assert ph["Paid"]["value_per_customer"] == pytest.approx(
        st["b"]["revenue_per_customer"] - st["b"]["cost_per_customer"], rel=1e-12
    )


def _check_identities(arm: dict, horizon: float) -> None:
    """Stage money adds up to the headline money; stage days to the horizon; phases to their stages."""
    st = arm["stages"]
    for key in ("revenue_per_customer", "cost_per_customer"):
        head = arm["metrics"][key]["mean"]
        total = math.fsum(s[key] for s in st.values())
        assert total == pytest.approx(head, rel=1e-9, abs=1e-9), key
    assert math.fsum(s["days_per_customer"] for s in st.values()) == pytest.approx(horizon, rel=1e-9)
    for label, phase in arm["phases"].items():
        members = [n for n, s in st.items() if s["phase"] == label]
        assert phase["stages"] == sorted(members, key=list(st).index)
        for key in ("revenue_per_customer", "cost_per_customer", "days_per_customer"):
            assert phase[key] == pytest.approx(math.fsum(st[n][key] for n in members), rel=1e-9, abs=1e-12)
        # a phase is reached at least as often as its most reached stage, at most as their sum
        reach = [st[n]["reached"] for n in members]
        assert max(reach, default=0) - 1e-12 <= phase["reached"] <= sum(reach) + 1e-12


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_sums_over_stages_equal_the_headline(path: Path) -> None:
    journey = load(path)
    arms = [("baseline", journey.with_scenario("baseline"))]
    arms += [(s.name, journey.with_scenario(s.name)) for s in journey.scenarios]
    data = run(arms, 20_000, seed=5).to_dict()
    jsonschema.validate(data, load_schema())
    for arm in data["scenarios"]:
        _check_identities(arm, data["horizon_days"])
        assert list(arm["phases"]) == list(journey.phases)
        for seg in arm["segments"].values():
            assert list(seg["phases"]) == list(journey.phases)


def test_segment_phase_figures_add_up_to_the_arm() -> None:
    journey = load(next(p for p in EXAMPLES if p.stem == "b2b_pipeline"))
    assert journey.segments and journey.phases
    arm = simulate(journey, customers=20_000, seed=2).baseline
    segs = arm.segments
    n = sum(s["customers"] for s in segs.values())
    for label, phase in arm.phases.items():
        for key in ("reached", "revenue_per_customer", "cost_per_customer", "days_per_customer"):
            weighted = math.fsum(s["customers"] * s["phases"][label][key] for s in segs.values()) / n
            assert weighted == pytest.approx(phase[key], rel=1e-9, abs=1e-12), (label, key)


ALTERNATIVES = """
journey "Alternatives" {
    horizon 1 year
    stage s { entry; dwell 1 day }
    phase "Mid" {
        stage x { dwell 2 days }
        stage y { dwell 3 days }
    }
    stage lost { terminal }
    stage lost2 { terminal }
    s -> x 30%
    s -> y 50%
    s -> lost otherwise
    x -> lost 50%
    x -> lost2 otherwise
    y -> lost2 100%
}
"""

UNION = """
journey "Union" {
    horizon 1 year
    stage s { entry; dwell 1 day }
    phase "Mid" {
        stage x { dwell 2 days }
        stage y { dwell 3 days }
    }
    stage lost { terminal }
    s -> x 30%
    s -> y 20%
    s -> lost otherwise
    x -> y 50%
    x -> lost otherwise
    y -> lost 100%
}
"""

# Mid can be left (to z) and entered again; Out holds a plain terminal stage (a sink) and z
LOOP = """
journey "Loop" {
    horizon 1000 days
    stage s { entry; dwell 1 day }
    phase "Mid" {
        stage x { dwell 1 day }
        stage y { dwell 1 day }
    }
    phase "Out" {
        stage z { dwell 1 day }
        stage lost { terminal }
    }
    s -> x 40%
    s -> lost otherwise
    x -> y 100%
    y -> z 50%
    y -> lost otherwise
    z -> x 50%
    z -> lost otherwise
}
"""


def _methods(journey: Journey) -> dict[str, str]:
    shape = _shape([journey], journey.horizon_days)
    plan = compile_plan(journey, shape)
    return dict(zip(shape.phases, plan.phase_method, strict=True))


def test_phase_of_alternatives_is_reached_by_the_sum() -> None:
    journey = loads(ALTERNATIVES)
    assert _methods(journey) == {"Mid": "entries"}
    arm = simulate(journey, customers=N, seed=4).baseline
    st, mid = arm.stages, arm.phases["Mid"]
    assert mid["reached"] == pytest.approx(st["x"]["reached"] + st["y"]["reached"], rel=1e-12)
    close(mid["reached"], 0.8, math.sqrt(0.8 * 0.2 / N))
    close(mid["days_per_customer"], 0.3 * 2 + 0.5 * 3, 1e-9 + 3 * math.sqrt(0.25 / N))
    # two plain terminal stages left from x: their days come from one bincount
    _check_identities(arm.to_dict(), 365.0)


def test_phase_of_a_path_through_both_is_reached_by_the_union() -> None:
    journey = loads(UNION)
    arm = simulate(journey, customers=N, seed=6).baseline
    st, mid = arm.stages, arm.phases["Mid"]
    close(st["x"]["reached"], 0.3, math.sqrt(0.21 / N))
    close(st["y"]["reached"], 0.35, math.sqrt(0.35 * 0.65 / N))
    close(mid["reached"], 0.5, math.sqrt(0.25 / N))  # not 0.65: x then y counts once
    assert mid["reached"] < st["x"]["reached"] + st["y"]["reached"] - 0.1
    _check_identities(arm.to_dict(), 365.0)


def test_a_phase_left_and_entered_again_counts_each_customer_once() -> None:
    journey = loads(LOOP)
    assert _methods(journey) == {"Mid": "flags", "Out": "flags"}
    arm = simulate(journey, customers=N, seed=7).baseline
    st, ph = arm.stages, arm.phases
    # x is entered 0.4 * (1 + 1/4 + 1/16 + ...) times per customer, but by 40% of them
    close(st["x"]["mean_visits"], 0.4 / (1 - 0.25), 3 * math.sqrt(1.0 / N))
    close(ph["Mid"]["reached"], 0.4, math.sqrt(0.24 / N))
    assert ph["Mid"]["reached"] == st["x"]["reached"]
    # everyone ends in lost (a sink of Out) or passes through z: Out is reached by all
    assert ph["Out"]["reached"] == 1.0
    _check_identities(arm.to_dict(), 1000.0)
    one = run([("baseline", journey)], 20_000, seed=1, workers=1).to_dict()
    two = run([("baseline", journey)], 20_000, seed=1, workers=2).to_dict()
    assert one == two


def test_no_phases_gives_an_empty_object() -> None:
    journey = loads(CLOSED.replace('phase "Start" {', "").replace('phase "Paid" {', "").replace("}\n    }", "}"))
    assert not journey.phases
    data = simulate(journey, customers=2_000, seed=1).to_dict()
    jsonschema.validate(data, load_schema())
    assert data["scenarios"][0]["phases"] == {}
    assert "Phases" not in format_table(data)
    assert "### Phases" not in format_markdown(data)
    assert "has no phases" in build_report(journey, simulate(journey, customers=500, seed=1))


def test_reports_show_stage_money_and_phases() -> None:
    journey = loads(CLOSED)
    results = simulate(journey, customers=5_000, seed=1)
    data = results.to_dict()
    table = format_table(data)
    assert table.index("Stages") < table.index("Phases") < table.index("Touchpoints")
    stage_head = next(line for line in table.splitlines() if line.startswith("stage "))
    assert stage_head.split() == ["stage", "reached", "visits", "dwell", "revenue", "cost", "exits"]
    phase_head = next(line for line in table.splitlines() if line.startswith("phase "))
    assert phase_head.split() == ["phase", "reached", "days", "revenue", "cost", "value"]
    start = next(line for line in table.splitlines() if line.startswith("Start "))
    assert "100.0%" in start and "10.0 d" in start
    md = format_markdown(data)
    assert "### Phases" in md and "| Paid |" in md
    html = build_report(journey, results)
    section = html[html.index('<section id="phases">') : html.index("</section>", html.index('<section id="phases">'))]
    assert "<svg" in section and "Value by phase" in section
    assert "Paid" in section and "revenue per customer" in section


def test_reach_is_counted_the_cheapest_exact_way() -> None:
    """One stage: its reach; never re-entered: entries from visits and exits; else per-customer flags."""
    assert _methods(loads(CLOSED)) == {"Start": "stage", "Paid": "stage"}
    assert _methods(loads(UNION)) == {"Mid": "entries"}
    assert _methods(loads(LOOP)) == {"Mid": "flags", "Out": "flags"}
