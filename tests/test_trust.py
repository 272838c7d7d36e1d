"""Figures a strategist can trust (issue 10): LTV window, censored retention, CAC, comparisons.

Each test is a case where an earlier version gave a wrong or misleading
figure. Statistical checks compare with exact answers within a tolerance of a
few standard errors, on fixed seeds.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import journeydsl as jd
from journeydsl.engine.montecarlo import _shape, run
from journeydsl.engine.montecarlo.engine import _Block
from journeydsl.engine.montecarlo.plan import compile_plan
from journeydsl.engine.montecarlo.sampling import make_rng

HERE = Path(__file__).parent
MONTH = 365.0 / 12.0
LAM = -math.log(0.95) / MONTH  # 5% per month as a daily hazard


def _arms(journey: jd.Journey) -> list[tuple[str, jd.Journey]]:
    return [("baseline", journey.with_scenario("baseline"))] + [
        (s.name, journey.with_scenario(s.name)) for s in journey.scenarios
    ]


def _se(figure: dict) -> float:
    lo, hi = figure["ci95"]
    return (hi - lo) / (2 * 1.959964)


def _close(value: float, exact: float, se: float, k: float = 4.5) -> None:
    assert abs(value - exact) <= k * se, f"{value} vs exact {exact} (se {se})"


def _monthly_ltv(window: float, revenue: float = 10.0) -> float:
    """Mean revenue of 'revenue every month' in a stage left at hazard LAM, over ``window`` days:
    a charge at k months for every month begun while the customer is still there."""
    charges = math.ceil(window / MONTH - 1e-9)
    return revenue * sum(math.exp(-LAM * k * MONTH) for k in range(charges))


# --- item 5: CAC without cancellation; exact zeros compare as exact zeros --------------

CAC_ROUNDOFF = """
journey "CAC round-off" {
    horizon 1 year
    stage trial { entry; dwell 10 days; touch ads on enter }
    stage customer { goal; active; cost 4 EUR every month }
    stage churned { terminal }
    stage lost { terminal }
    touchpoint ads { channel paid_social; cost 1.20 EUR }
    touchpoint nudge { channel email; response 50% }
    trial -> customer 25%
    trial -> lost otherwise
    customer -> churned 5% per month
    scenario noop { trigger nudge3 { when in trial for 3 days; send nudge } }
}
"""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "journeydsl", *args], capture_output=True, text=True, encoding="utf-8", check=False
    )


def test_cac_of_arms_that_differ_only_after_conversion_is_exactly_equal(tmp_path: Path) -> None:
    path = tmp_path / "cac_roundoff.journey"
    path.write_text(CAC_ROUNDOFF, encoding="utf-8")
    out = _cli("simulate", str(path), "-n", "3000", "--seed", "2", "-f", "json", "-q")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    base, noop = data["scenarios"]
    cac = noop["versus_baseline"]["cac"]
    assert cac["identical"] is True and cac["delta"] == 0.0 and cac["ci95"] == [0.0, 0.0]
    assert base["metrics"]["cac"]["mean"] == noop["metrics"]["cac"]["mean"]
    # what differs after conversion is still compared as a real difference
    assert noop["versus_baseline"]["cost_per_customer"]["identical"] is False
    table = _cli("simulate", str(path), "-n", "3000", "--seed", "2", "-q").stdout
    cac_row = next(line for line in table.splitlines() if line.startswith("noop") and " CAC " in f" {line} ")
    assert "no difference" in cac_row and "▲" not in cac_row and "▼" not in cac_row
    assert "e-1" not in table  # no 1.8e-15 anywhere


# --- item 4: the goal stage's own costs are cost to serve, not acquisition ----------------

GOAL_COSTS = """
journey "Goal costs" {
    horizon 1 year
    stage lead { entry; dwell 1 day; touch ads on enter }
    stage won  { goal; active; cost 100 EUR on enter; cost 5 EUR every month }
    stage lost { terminal }
    touchpoint ads  { channel paid_social; cost 1 EUR }
    touchpoint demo { channel sales; cost 3 EUR }
    lead -> won  40% via demo
    lead -> lost otherwise
}
"""


def test_goal_stage_costs_are_not_acquisition_cost() -> None:
    journey = jd.loads(GOAL_COSTS)
    r = jd.simulate(journey, customers=5_000, seed=4)
    m = r.baseline.metrics
    conv = round(m["conversion_rate"]["mean"] * 5_000)
    # acquisition: the click for everyone, the demo on the converting move; not the 100 EUR on 'won'
    assert m["cac"]["mean"] == pytest.approx((5_000 * 1.0 + conv * 3.0) / conv, rel=1e-12)
    # the delivery cost is in LTV instead: 100 EUR at conversion, 5 EUR a month
    assert m["ltv"]["mean"] == pytest.approx(-(100 + 5 * 12), rel=1e-12)


def test_ecommerce_example_cac_is_its_acquisition_cost() -> None:
    journey = jd.load(HERE.parent / "examples" / "journeys" / "ecommerce_cart.journey")
    m = jd.simulate(journey, customers=20_000, seed=1).baseline.metrics
    # clicks at 0.55 EUR and a 2-3% order rate: 15-40 EUR, not the 64 EUR that counted the goods
    assert 15 < m["cac"]["mean"] < 40


# --- item 2: LTV follows every converter for the same window -------------------------------

LATE = """
journey "Late converters" {
    horizon 1 year
    stage fast { entry 50%; dwell 0 days }
    stage slow { entry 50%; dwell 300 days }
    stage customer { goal; active; revenue 10 EUR every month }
    stage churned { terminal }
    fast -> customer 100%
    slow -> customer 100%
    customer -> churned 5% per month
}
"""


def test_ltv_does_not_depend_on_when_customers_convert() -> None:
    r = jd.simulate(jd.loads(LATE), customers=40_000, seed=3)
    m = r.baseline.metrics
    assert m["conversion_rate"]["mean"] == 1.0
    # half convert at day 300 with 65 days of horizon left; each is still followed a full year
    _close(m["ltv"]["mean"], _monthly_ltv(365.0), _se(m["ltv"]))
    # value per customer keeps the entry horizon: the late half earns 65 days' worth
    revenue = 0.5 * _monthly_ltv(365.0) + 0.5 * _monthly_ltv(65.0)
    _close(m["revenue_per_customer"]["mean"], revenue, _se(m["revenue_per_customer"]))


DAY0 = """
journey "Everyone converts on entry" {
    horizon 1 year
    discount 10% per year
    stage first {
        entry
        goal
        active
        revenue 20 EUR on enter
        cost 2 EUR on enter
        purchases 1 per month worth gamma(shape 2, mean 30 EUR)
    }
    stage member { active; revenue 5 EUR every month; cost 1 EUR every month }
    stage gone { terminal }
    touchpoint thanks { channel email; cost 0.10 EUR }
    first  -> first  20% after uniform(3 days, 30 days)
    first  -> member 30% after 30 days via thanks
    first  -> gone   otherwise after 30 days
    member -> gone   10% per month
}
"""


def test_ltv_of_customers_converting_at_day_0_is_their_value() -> None:
    """Converting on entry, with the LTV window the horizon: each converter's LTV is exactly
    its value in the run (nothing is booked before converting), with no second follow-up."""
    journey = jd.loads(DAY0)
    block = _Block(compile_plan(journey, _shape([journey], journey.horizon_days)), 3000, make_rng(2))
    block.run()
    ci = np.flatnonzero(block.conv_t < math.inf)
    assert ci.size == 3000
    np.testing.assert_array_equal(block.lifetime_values(ci), (block.rev - block.cost)[ci])
    m = jd.simulate(journey, customers=20_000, seed=4).baseline.metrics
    assert m["ltv"]["mean"] == pytest.approx(m["value_per_customer"]["mean"], rel=1e-12)


def test_ltv_of_customers_converting_at_day_0_in_closed_form() -> None:
    """A weekly charge for 100 days, discounted: 15 charges, the k-th at 7k days."""
    journey = jd.loads("""
journey "Weekly" {
    horizon 100 days
    discount 10% per year
    stage paying { entry; goal; active; revenue 10 EUR every week }
}
""")
    exact = sum(10.0 * 1.1 ** (-7.0 * k / 365.0) for k in range(15))
    ltv = jd.simulate(journey, customers=2_000, seed=1).baseline.metrics["ltv"]
    for key in ("mean", "p10", "p50", "p90"):
        assert ltv[key] == pytest.approx(exact, rel=1e-6), key


def test_ltv_window_setting_changes_ltv_only() -> None:
    base = jd.loads(LATE)
    longer = jd.loads(LATE.replace("horizon 1 year", "horizon 1 year\n    ltv window 2 years"))
    assert longer.ltv_window_days == 730.0
    a = jd.simulate(base, customers=20_000, seed=8).baseline.metrics
    b = jd.simulate(longer, customers=20_000, seed=8).baseline.metrics
    _close(b["ltv"]["mean"], _monthly_ltv(730.0), _se(b["ltv"]))
    assert b["ltv"]["mean"] > a["ltv"]["mean"]
    for key in ("revenue_per_customer", "value_per_customer", "conversion_rate", "cac"):
        assert a[key] == b[key]


def test_turning_win_back_off_does_not_raise_ltv() -> None:
    """Without win-back, converters lose the months it wins back: LTV must not rise (it did,
    by 4.7%, when LTV stopped at the horizon and win-back delayed nothing but conversions)."""
    journey = jd.load(HERE.parent / "examples" / "journeys" / "subscription_winback.journey")
    r = run(_arms(journey), 40_000, 5)
    vs = r.arm("no_winback").versus_baseline
    assert vs is not None
    assert vs["ltv"]["ci95"][1] < 0, vs["ltv"]


# --- item 3: retention by product-limit over all converters ------------------------------

WINBACK_CHAIN = """
journey "Active and lapsed" {
    horizon 2 years
    stage lead { entry; dwell exponential(mean 200 days) }
    stage customer { goal; active }
    stage lapsed { }
    lead -> customer 100%
    customer -> lapsed 10% per month
    lapsed -> customer 20% per month
}
"""


def test_retention_with_returns_and_censoring_matches_the_two_state_chain() -> None:
    """Converters move between an active and a lapsed stage at constant hazards, and
    conversions are spread over the horizon (heavy censoring): the share active d days
    after conversion is mu/(l+mu) + l/(l+mu) exp(-(l+mu) d)."""
    r = jd.simulate(jd.loads(WINBACK_CHAIN), customers=60_000, seed=11)
    m = r.baseline.metrics
    lam = -math.log(0.9) / MONTH
    mu = -math.log(0.8) / MONTH
    converters = m["conversion_rate"]["mean"] * 60_000
    for day in ("30", "90", "180", "365"):
        d = float(day)
        exact = mu / (lam + mu) + lam / (lam + mu) * math.exp(-(lam + mu) * d)
        fig = m["retention"][day]
        _close(fig["mean"], exact, _se(fig))
        # it rests on the converters still followed d days, and says how many
        assert 0 < fig["n"] < converters
    # the curve agrees with the figures where they meet
    curve = {d: s for d, s, _n in r.baseline.retention_curve()}
    assert curve[182.0] == pytest.approx(m["retention"]["180"]["mean"], abs=0.01)


def test_retention_uses_censored_converters_and_is_narrower_than_complete_cases() -> None:
    """With censoring, the product-limit estimate uses what is known of converters
    followed less than d days, so its interval is narrower than that of a share
    among only those followed d days."""
    journey = jd.load(HERE / "journeys" / "coverage.journey")
    r = jd.simulate(journey, customers=20_000, seed=2)
    fig = r.baseline.metrics["retention"]["180"]
    _close(fig["mean"], math.exp(-LAM * 180), _se(fig))
    n = fig["n"]
    p = fig["mean"]
    complete_case_halfwidth = 1.96 * math.sqrt(p * (1 - p) / n)
    assert fig["ci95"][1] - fig["ci95"][0] < 2 * complete_case_halfwidth


# --- items 5-7: interval coverage and the A/A false-positive rate -------------------------


def _coverage_truth() -> dict[str, float]:
    """Exact figures of tests/journeys/coverage.journey (visitor X ~ exp(2), a Y ~ exp(150))."""
    H = 365.0
    p_reach = 1.0 - (150 * math.exp(-H / 150) - 2 * math.exp(-H / 2)) / 148  # P(X + Y < H)
    conv = 0.25 * p_reach
    p_a = 1.0 - math.exp(-H / 2)  # reached 'a' before the horizon
    # weekly 0.10 EUR in 'a': one per week begun while there and before the horizon
    weeks = sum(math.exp(-7 * k / 150) * (1 - math.exp(-(H - 7 * k) / 2)) for k in range(math.ceil(H / 7)))
    cost = 1.2 * p_a + 0.1 * weeks
    cac = cost / conv
    ltv = _monthly_ltv(H)
    return {
        "conversion_rate": conv,
        "cac": cac,
        "ltv": ltv,
        "ltv_to_cac": ltv / cac,
        "retention.30": math.exp(-LAM * 30),
        "retention.90": math.exp(-LAM * 90),
        "retention.180": math.exp(-LAM * 180),
    }


@pytest.mark.slow
def test_interval_coverage_and_aa_false_positives_over_many_seeds() -> None:
    """Over 600 seeds of 1,000 customers: every figure's 95% interval holds the exact value
    93-97% of the time, and every comparison of two arms that differ only in their
    random stream is flagged (interval excludes zero) 5% +- 1.5% of the time, with
    P(better) beyond 2.5%/97.5% exactly when it is flagged."""
    journey = jd.load(HERE / "journeys" / "coverage.journey")
    arms = _arms(journey)
    truth = _coverage_truth()
    seeds = 600
    missed = dict.fromkeys(truth, 0)
    flagged: dict[str, int] = {}
    for seed in range(seeds):
        data = run(arms, 1_000, seed).to_dict()
        m = data["scenarios"][0]["metrics"]
        for key, exact in truth.items():
            fig = m["retention"][key.split(".")[1]] if key.startswith("retention.") else m[key]
            lo, hi = fig["ci95"]
            missed[key] += not (lo <= exact <= hi)
        for key, d in data["scenarios"][1]["versus_baseline"].items():
            lo, hi = d["ci95"]
            out = lo > 0 or hi < 0
            assert out == (d["p_better"] > 0.975 or d["p_better"] < 0.025), (seed, key, d)
            flagged[key] = flagged.get(key, 0) + out
    coverage = {k: 1 - v / seeds for k, v in missed.items()}
    assert all(0.93 <= c <= 0.97 for c in coverage.values()), coverage
    rates = {k: v / seeds for k, v in flagged.items()}
    assert set(rates) == {"conversion_rate", "value_per_customer", "revenue_per_customer", "cost_per_customer",
                          "ltv", "cac", "retention_90"}
    assert all(0.035 <= r <= 0.065 for r in rates.values()), rates


def test_customers_needed_gives_the_power_it_promises() -> None:
    """At the size a run recommends for a real difference, the difference shows (interval
    excludes zero) in about 80% of runs, not 72% as with normal quantiles beside t intervals."""
    journey = jd.loads(CAC_ROUNDOFF.replace(
        'scenario noop { trigger nudge3 { when in trial for 3 days; send nudge } }',
        "scenario better { trial -> customer 27% }",
    ))
    arms = _arms(journey)
    pilot = run(arms, 4_000, 999).arm("better").versus_baseline
    assert pilot is not None
    need = pilot["conversion_rate"]["customers_needed"]
    lo, hi = pilot["conversion_rate"]["customers_needed_range"]
    assert lo < need < hi
    shown = [run(arms, need, seed).arm("better").versus_baseline["conversion_rate"]["ci95"][0] > 0  # type: ignore[index]
             for seed in range(60)]
    # 80% power: 48 of 60 expected; the binomial spread (sd 3.1) and the pilot's own noise allow 38-58
    assert 38 <= sum(shown) <= 58, sum(shown)


def test_retention_estimate_is_kaplan_meier_with_greenwood_without_returns() -> None:
    from journeydsl.engine.results import retention_estimate

    # 10 followed; 2 leave in bin 1; of the 8 still active, 1 leaves in bin 2 and 4 are
    # censored before its end
    obs = np.array([10.0, 10.0, 5.0])
    act = np.array([10.0, 8.0, 3.0])
    out = np.array([0.0, 2.0, 1.0])
    p, v = retention_estimate(obs, act, out, np.zeros(3))
    s1, s2 = 0.8, 0.8 * (1 - 1 / 8)
    assert p.tolist() == pytest.approx([1.0, s1, s2])
    greenwood = s2 * s2 * (2 / (10 * 8) + 1 / (8 * 7))
    assert v[2] == pytest.approx(greenwood)


# --- hours and minutes (issue 14, durations) ---------------------------------------------

HOURS = """
journey "Call within an hour" {
    horizon 30 days
    stage lead { entry; dwell exponential(mean 2 hours) }
    stage called { goal; terminal }
    stage lost { terminal }
    touchpoint call { channel phone; cost 3 EUR }
    lead -> called 40%
    lead -> lost otherwise
    trigger quick { when in lead for 30 minutes; send call; then 50% -> called }
}
"""


def test_hours_and_minutes_are_durations() -> None:
    journey = jd.loads(HOURS)
    assert journey.stage("lead").dwell.expected() == pytest.approx(2 / 24)
    assert journey.trigger("quick").days == pytest.approx(30 / 1440)
    # the call fires for those still waiting at 30 minutes (exp(-0.25) of them): half of those move
    m = jd.simulate(journey, customers=40_000, seed=2).baseline.metrics
    still = math.exp(-0.5 / 2)
    exact = 0.4 + 0.6 * still * 0.5
    fig = m["conversion_rate"]
    _close(fig["mean"], exact, _se(fig))
    assert jd.solve_exact(journey).conversion == pytest.approx(exact, rel=1e-9)
    dot = jd.render(journey, format="dot")
    assert "stay ~2 hours" in dot and "after 30 minutes" in dot
