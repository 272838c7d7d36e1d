"""The engine against exact answers: fixed seeds, tolerances from standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from journeydsl.engine.exact import solve
from journeydsl.engine.montecarlo import block_sizes, run, simulate
from journeydsl.language.model import (
    DAYS,
    CashFlow,
    Dist,
    Journey,
    Overrides,
    Purchases,
    Segment,
    Stage,
    StagePatch,
    Touchpoint,
    Transition,
    Trigger,
)

Z = 4.5  # tolerance in standard errors
MONTH = DAYS["month"]
FAR = 1e6  # a horizon no customer of these journeys reaches


def close(sim: float, exact: float, se: float) -> None:
    assert abs(sim - exact) <= Z * se, f"simulated {sim} vs exact {exact} (se {se})"


def se_from(fig: dict) -> float:
    lo, hi = fig["ci95"]
    return (hi - lo) / 2 / 1.959963984540054


def looping_journey() -> Journey:
    return Journey(
        name="loops",
        stages=(
            Stage(name="a", entry=1.0, dwell=Dist(kind="exponential", mean=2)),
            Stage(
                name="b",
                dwell=Dist(kind="gamma", shape=2, mean=3),
                revenue=(CashFlow(amount=5),),
            ),
            Stage(name="won", goal=True, terminal=True, revenue=(CashFlow(amount=100),)),
            Stage(name="lost", terminal=True),
        ),
        transitions=(
            Transition(source="a", target="b", share=0.5),
            Transition(source="a", target="a", share=0.2),
            Transition(source="a", target="lost", otherwise=True),
            Transition(source="b", target="a", share=0.3, after=Dist(kind="fixed", value=1)),
            Transition(source="b", target="won", share=0.4),
            Transition(source="b", target="lost", otherwise=True),
        ),
    )


def visit_variance(j: Journey, stage: str) -> float:
    """Variance of the number of visits to ``stage`` from the entry (Kemeny-Snell)."""
    names = ["a", "b"]
    P = np.zeros((2, 2))
    for t in j.transitions:
        if t.source in names and t.target in names:
            P[names.index(t.source), names.index(t.target)] = t.share or 0.0
    N = np.linalg.inv(np.eye(2) - P)
    N2 = N @ (2 * np.diag(np.diag(N)) - np.eye(2)) - N * N
    return float(N2[0, names.index(stage)])


def test_branching_with_loops_matches_exact() -> None:
    j = looping_journey()
    ex = solve(j)
    n = 100_000
    r = simulate(j, customers=n, seed=11, horizon_days=FAR)
    m = r.baseline.metrics
    p = ex.conversion
    close(m["conversion_rate"]["mean"], p, math.sqrt(p * (1 - p) / n))
    assert ex.time_to_convert_days is not None
    close(m["time_to_convert_days"]["mean"], ex.time_to_convert_days, se_from(m["time_to_convert_days"]))
    close(m["revenue_per_customer"]["mean"], ex.revenue_on_enter, se_from(m["revenue_per_customer"]))
    stages = r.baseline.stages
    for s in ("a", "b"):
        close(stages[s]["mean_visits"], ex.visits[s], math.sqrt(visit_variance(j, s) / n))
    # every stay ends in the far horizon; exits are shares of completed stays
    assert stages["a"]["in_stage_at_horizon"] == 0
    ex_a = stages["a"]["exits"]
    assert set(ex_a) == {"a", "b", "lost"}
    close(ex_a["a"], 0.2, math.sqrt(0.2 * 0.8 / (n * ex.visits["a"])))
    # the mean dwell in b mixes the gamma (mean 3) and the fixed 1-day `after`
    assert abs(stages["b"]["mean_dwell_days"] - (0.3 * 1 + 0.7 * 3)) < 0.05
    # reached <= mean visits, and equal for the goal (entered once)
    assert stages["a"]["reached"] == 1.0
    assert stages["won"]["reached"] == pytest.approx(stages["won"]["mean_visits"])


GAMMA_WORTH = Dist(kind="gamma", shape=3, mean=20)


def churn_journey(discount: float = 0.10, worth: Dist = GAMMA_WORTH) -> Journey:
    return Journey(
        name="churn",
        horizon_days=365,
        discount=discount,
        stages=(
            Stage(
                name="customer",
                entry=1.0,
                goal=True,
                active=True,
                revenue=(CashFlow(amount=10), CashFlow(amount=30, period_days=MONTH)),
                costs=(CashFlow(amount=2, period_days=7),),
                purchases=(Purchases(rate=2, per_days=MONTH, worth=Dist(kind="gamma", shape=3, mean=20)),),
            ),
            Stage(name="churned", terminal=True),
        ),
        transitions=(Transition(source="customer", target="churned", rate=0.05, period_days=MONTH),),
    )


def _geometric(step: float, decay: float, horizon: float) -> float:
    """sum over k >= 0 with k * step < horizon of exp(-decay * k * step)."""
    count = math.ceil(horizon / step)
    q = math.exp(-decay * step)
    return (1 - q**count) / (1 - q)


@pytest.mark.parametrize("worth", [GAMMA_WORTH, Dist(kind="lognormal", mean=20, sd=8)], ids=["gamma", "lognormal"])
def test_rate_churn_with_discounting_closed_form(worth: Dist) -> None:
    j = churn_journey(worth=worth)
    n = 100_000
    H = 365.0
    r = simulate(j, customers=n, seed=5)
    m = r.baseline.metrics
    lam = -math.log(0.95) / MONTH
    delta = math.log(1.10) / 365
    d = lam + delta
    # a charge at k*P happens when the customer is still there (k = 0 always)
    revenue = 10 + 30 * _geometric(MONTH, d, H) + (2 / MONTH) * 20 * (1 - math.exp(-d * H)) / d
    cost = 2 * _geometric(7, d, H)
    close(m["revenue_per_customer"]["mean"], revenue, se_from(m["revenue_per_customer"]))
    close(m["cost_per_customer"]["mean"], cost, se_from(m["cost_per_customer"]))
    close(m["value_per_customer"]["mean"], revenue - cost, se_from(m["value_per_customer"]))
    # everyone converts at day 0 in the goal stage: its own costs (the weekly charge, the first
    # one included) are cost to serve, so acquisition costs nothing and LTV is the whole value
    assert m["conversion_rate"]["mean"] == 1.0
    assert m["cac"]["mean"] == 0.0
    close(m["ltv"]["mean"], revenue - cost, se_from(m["ltv"]))
    for day in ("30", "90", "180"):
        p = math.exp(-lam * float(day))
        close(m["retention"][day]["mean"], p, math.sqrt(p * (1 - p) / n))
        assert m["retention"][day]["n"] == n
    p_churn = 1 - math.exp(-lam * H)
    close(m["churn_rate"]["mean"], p_churn, math.sqrt(p_churn * (1 - p_churn) / n))
    # retention at the horizon: nobody converted late enough to be censored... all at t=0
    assert m["retention"]["365"]["n"] == n
    curve = r.baseline.retention_curve()
    assert curve[0] == (0.0, 1.0, n)
    day, share, cnt = curve[13]
    assert day == 91.0 and cnt == n
    close(share, math.exp(-lam * 91), math.sqrt(0.3 / n))


def test_undiscounted_churn_value() -> None:
    j = churn_journey(discount=0.0).model_copy(update={"horizon_days": 200.0})
    n = 60_000
    r = simulate(j, customers=n, seed=8)
    lam = -math.log(0.95) / MONTH
    mean_stay = (1 - math.exp(-lam * 200)) / lam
    revenue = 10 + 30 * _geometric(MONTH, lam, 200) + (2 / MONTH) * 20 * mean_stay
    m = r.baseline.metrics
    close(m["revenue_per_customer"]["mean"], revenue, se_from(m["revenue_per_customer"]))
    # retention points past the horizon are left out; the horizon itself is listed
    assert set(m["retention"]) == {"30", "90", "180", "200"}


def trigger_journey(**trigger: object) -> Journey:
    return Journey(
        name="trigger",
        stages=(
            Stage(name="trial", entry=1.0, dwell=Dist(kind="exponential", mean=10)),
            Stage(name="customer", goal=True, terminal=True),
            Stage(name="lost", terminal=True),
        ),
        transitions=(
            Transition(source="trial", target="customer", share=0.2),
            Transition(source="trial", target="lost", otherwise=True),
        ),
        touchpoints=(Touchpoint(name="mail", channel="email", cost=1.0, response=0.5),),
        triggers=(Trigger(name="nudge", stage="trial", send="mail", **trigger),),  # type: ignore[arg-type]
    )


def test_timed_trigger_reroutes_responders() -> None:
    j = trigger_journey(when="in", days=7, then_share=0.4, then_stage="customer")
    n = 200_000
    r = simulate(j, customers=n, seed=3, horizon_days=FAR)
    m = r.baseline.metrics
    s7 = math.exp(-0.7)  # still in trial on day 7
    conv = 0.2 + 0.8 * s7 * 0.5 * 0.4
    close(m["conversion_rate"]["mean"], conv, math.sqrt(conv * (1 - conv) / n))
    # E[T 1{convert}]: the customer branch, some of it cut short at day 7, plus the rerouted
    t_conv = 0.2 * (10 - 0.5 * 0.4 * 10 * s7) + 0.8 * s7 * 0.5 * 0.4 * 7
    close(m["time_to_convert_days"]["mean"], t_conv / conv, se_from(m["time_to_convert_days"]))
    close(m["cost_per_customer"]["mean"], s7, math.sqrt(s7 * (1 - s7) / n))
    tp = r.baseline.touchpoints["mail"]
    close(tp["contacts_per_customer"], s7, math.sqrt(s7 * (1 - s7) / n))
    close(tp["responses_per_customer"], 0.5 * s7, math.sqrt(0.5 * s7 / n))
    tg = r.baseline.triggers["nudge"]
    close(tg["rerouted_per_customer"], 0.2 * s7, math.sqrt(0.2 * s7 / n))
    # the reroute shows as an exit of trial to customer
    close(r.baseline.stages["trial"]["exits"]["customer"], conv, math.sqrt(conv / n))
    # and the exact algebra agrees with the hand calculation
    ex = solve(j)
    assert ex.conversion == pytest.approx(conv)
    assert ex.time_to_convert_days == pytest.approx(t_conv / conv)


def test_every_trigger_with_limit_and_discount() -> None:
    j = trigger_journey(when="every", days=3, limit=2).model_copy(update={"discount": 0.5})
    n = 100_000
    r = simulate(j, customers=n, seed=4, horizon_days=FAR)
    delta = math.log(1.5) / 365
    firings = math.exp(-0.3) + math.exp(-0.6)
    cost = math.exp(-0.3 - 3 * delta) + math.exp(-0.6 - 6 * delta)
    m = r.baseline.metrics
    close(m["cost_per_customer"]["mean"], cost, se_from(m["cost_per_customer"]))
    close(r.baseline.triggers["nudge"]["fired_per_customer"], firings, math.sqrt(1.0 / n))
    # no `then`: conversion is untouched
    close(m["conversion_rate"]["mean"], 0.2, math.sqrt(0.16 / n))


def test_enter_trigger_and_via_cost_count_towards_cac() -> None:
    base = trigger_journey(when="enter")
    j = base.model_copy(
        update={
            "touchpoints": (
                *base.touchpoints,
                Touchpoint(name="demo", channel="phone", cost=15.0),
            ),
            "transitions": (
                Transition(source="trial", target="customer", share=0.2, via="demo"),
                Transition(source="trial", target="lost", otherwise=True),
            ),
        }
    )
    n = 50_000
    r = simulate(j, customers=n, seed=9, horizon_days=FAR)
    m = r.baseline.metrics
    # every customer costs 1 (the mail on enter); converters also 15 for the demo
    conv = m["conversion_rate"]["mean"]
    assert m["cost_per_customer"]["mean"] == pytest.approx(1 + 15 * conv)
    assert m["cac"]["mean"] == pytest.approx((1 + 15 * conv) / conv)
    assert m["ltv"]["mean"] == pytest.approx(0.0)
    assert r.baseline.touchpoints["demo"]["contacts_per_customer"] == pytest.approx(conv)


def segmented_journey() -> Journey:
    j = looping_journey()
    return j.model_copy(
        update={
            "segments": (
                Segment(
                    name="vip",
                    label="VIP",
                    share=0.25,
                    overrides=Overrides(
                        transitions=(Transition(source="b", target="won", share=0.6),),
                        stages=(StagePatch(name="won", revenue=(CashFlow(amount=300),)),),
                    ),
                ),
            )
        }
    )


def test_segments_match_exact_overall_and_each() -> None:
    j = segmented_journey()
    ex = solve(j)
    n = 120_000
    r = simulate(j, customers=n, seed=21, horizon_days=FAR)
    segs = r.baseline.segments
    assert set(segs) == {"default", "vip"}
    assert segs["vip"]["label"] == "VIP"
    n_vip = segs["vip"]["customers"]
    close(n_vip, 0.25 * n, math.sqrt(0.25 * 0.75 * n))
    assert n_vip + segs["default"]["customers"] == n
    for name, seg in segs.items():
        p = ex.by_segment[name].conversion
        close(seg["metrics"]["conversion_rate"]["mean"], p, math.sqrt(p * (1 - p) / seg["customers"]))
        fig = seg["metrics"]["revenue_per_customer"]
        close(fig["mean"], ex.by_segment[name].revenue_on_enter, se_from(fig))
    p = ex.conversion
    close(r.baseline.metrics["conversion_rate"]["mean"], p, math.sqrt(p * (1 - p) / n))


def test_same_arm_twice_has_zero_difference() -> None:
    j = looping_journey()
    r = run([("baseline", j), ("copy", j)], 20_000, 2, horizon_days=FAR)
    vs = r.arms[1].versus_baseline
    assert vs is not None
    for key, fig in vs.items():
        if fig.get("delta") is None:
            continue
        assert fig["delta"] == 0.0, key
        assert fig["ci95"] == [0.0, 0.0], key


def test_versus_baseline_finds_a_real_improvement() -> None:
    j = looping_journey()
    better = j.model_copy(
        update={
            "transitions": tuple(
                Transition(source="b", target="won", share=0.5) if t.key == ("b", "won") else t for t in j.transitions
            )
        }
    )
    n = 100_000
    r = run([("baseline", j), ("better", better)], n, 7, horizon_days=FAR)
    vs = r.arms[1].versus_baseline
    assert vs is not None
    true_delta = solve(better).conversion - solve(j).conversion
    cr = vs["conversion_rate"]
    se = (cr["ci95"][1] - cr["ci95"][0]) / 2 / 2.093
    close(cr["delta"], true_delta, se)
    assert cr["p_better"] > 0.99
    assert cr["relative"] == pytest.approx(cr["delta"] / r.arms[0].metrics["conversion_rate"]["mean"])
    # common random numbers make the paired interval narrower than two independent ones
    m0, m1 = r.arms[0].metrics["conversion_rate"], r.arms[1].metrics["conversion_rate"]
    indep = math.hypot(se_from(m0), se_from(m1))
    assert se < indep
    # cost is "lower is better": no cost in this journey, so no difference
    assert vs["cost_per_customer"]["better"] == "lower"


def test_block_sizes() -> None:
    assert block_sizes(1) == [1] + [0] * 19
    sizes = block_sizes(10**7)
    assert len(sizes) == 39 and sum(sizes) == 10**7 and max(sizes) - min(sizes) <= 1
    assert max(block_sizes(2**18 * 25)) == 2**18


def test_a_loop_that_takes_no_time_stops_with_a_reason() -> None:
    j = Journey(
        name="spin",
        stages=(Stage(name="a", entry=1.0), Stage(name="b")),
        transitions=(
            Transition(source="a", target="b", otherwise=True),
            Transition(source="b", target="a", otherwise=True),
        ),
    )
    with pytest.raises(ValueError, match="'a', 'b' without time passing"):
        simulate(j, customers=50, seed=1)
