"""The engine's stays: retention bins found by arithmetic are those a search finds; the shortcuts
(delays summed, exits counted, LTV going on from the horizon) give the exact figures."""

from __future__ import annotations

import math

import numpy as np

from journeydsl.engine.montecarlo import _shape as _shape_of
from journeydsl.engine.montecarlo import compile_plan, simulate
from journeydsl.engine.montecarlo.sampling import sampler
from journeydsl.engine.montecarlo.stay_books import _edges_below, _edges_upto, unit_edges
from journeydsl.engine.results import TallyShape
from journeydsl.language.model import DAYS, CashFlow, Dist, Journey, Stage, Transition


def _shape(horizon: float) -> TallyShape:
    return TallyShape(stages=("a",), touchpoints=(), triggers=(), retention_days=(30.0, 90.0),
                      horizon_days=horizon)


def test_whole_day_edges_are_found_by_arithmetic_exactly_as_by_search() -> None:
    edges = _shape(730.0).km_edges
    assert unit_edges(edges)
    rng = np.random.default_rng(5)
    whole = np.arange(-3.0, 735.0)
    x = np.concatenate([
        whole, whole + 1e-9, whole - 1e-9, np.nextafter(whole, np.inf), np.nextafter(whole, -np.inf),
        730.0 - rng.uniform(0, 730, 10_000) + 1e-9, rng.uniform(-5, 740, 10_000),
        [np.inf, -np.inf, 0.0, -0.0, 729.0, 730.0, 731.0, 1e300, -1e300],
    ])
    np.testing.assert_array_equal(_edges_below(edges, True, x), np.searchsorted(edges, x, side="left"))
    np.testing.assert_array_equal(_edges_upto(edges, True, x), np.searchsorted(edges, x, side="right"))


def test_other_edges_are_searched() -> None:
    assert not unit_edges(_shape(100.5).km_edges)  # the horizon is not a whole day
    assert not unit_edges(_shape(20 * 365.0).km_edges)  # past ten years: 3,650 equal steps
    edges = _shape(100.5).km_edges
    x = np.array([-1.0, 0.0, 0.5, 100.0, 100.25, 100.5, 101.0, np.inf])
    np.testing.assert_array_equal(_edges_below(edges, False, x), np.searchsorted(edges, x, side="left"))
    np.testing.assert_array_equal(_edges_upto(edges, False, x), np.searchsorted(edges, x, side="right"))


def _funnel(horizon: float, dwell: Dist) -> Journey:
    """visitor -> lead 30% / lost, lead -> won 50% / lost (no money: stays that are only exits)."""
    return Journey(
        name="funnel", horizon_days=horizon,
        stages=(Stage(name="visitor", entry=1.0, dwell=dwell), Stage(name="lead", dwell=Dist(kind="fixed", value=1)),
                Stage(name="won", goal=True, terminal=True), Stage(name="lost", terminal=True)),
        transitions=(Transition(source="visitor", target="lead", share=0.3),
                     Transition(source="visitor", target="lost", otherwise=True),
                     Transition(source="lead", target="won", share=0.5),
                     Transition(source="lead", target="lost", otherwise=True)),
    )


def test_summed_delays_give_the_dwell_and_days_of_drawn_ones() -> None:
    # the lost visitors' delays are summed in one draw (horizon far past the delays), or drawn one
    # by one (a horizon they may reach: Sampler.below says no); either way the exact figures
    n = 200_000
    for horizon, summed in ((365.0, True), (6.0, False)):
        dist = Dist(kind="gamma", shape=2, mean=2)
        assert sampler(dist).below(horizon) is summed
        st = simulate(_funnel(horizon, dist), customers=n, seed=4).to_dict()["scenarios"][0]["stages"]
        visitor, lost = st["visitor"], st["lost"]
        assert abs(visitor["exits"]["lead"] - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)
        if summed:  # everyone leaves inside the horizon: the mean dwell is the delay's mean
            assert abs(visitor["mean_dwell_days"] - 2.0) < 4 * math.sqrt(2.0) / math.sqrt(n)
        else:  # leaving before the horizon: a gamma(2, scale 1) below 6 days
            below = 1 - math.exp(-6) * 7  # P(X < 6)
            mean_below = (2 - math.exp(-6) * (36 + 2 * 6 + 2)) / below  # E[X | X < 6]
            assert abs(visitor["mean_dwell_days"] - mean_below) < 0.02
        # every customer's days add up to the horizon, the lost ones' included
        days = sum(s["days_per_customer"] for s in st.values())
        assert abs(days - horizon) < 1e-6 * horizon
        assert lost["reached"] > 0.8


def test_a_cumulative_share_past_one_counts_as_the_last_exit() -> None:
    j = _funnel(365.0, Dist(kind="exponential", mean=2))
    r = simulate(j.model_copy(update={"transitions": (
        Transition(source="visitor", target="lead", share=0.0),
        Transition(source="visitor", target="lost", otherwise=True), *j.transitions[2:])}), customers=1000, seed=1)
    exits = r.to_dict()["scenarios"][0]["stages"]["visitor"]["exits"]
    assert exits.get("lead", 0.0) == 0.0 and exits["lost"] == 1.0


def test_ltv_going_on_from_the_horizon_has_the_exact_mean() -> None:
    # converters spread over the year, a monthly fee and churn of 5% a month, no discount: the LTV
    # over a window of the horizon is 45 EUR times the months begun before churning or the window's end
    j = Journey(
        name="fees", horizon_days=730.0,
        stages=(Stage(name="visitor", entry=1.0, dwell=Dist(kind="uniform", low=0, high=700)),
                Stage(name="customer", goal=True, active=True,
                      revenue=(CashFlow(amount=45.0, period_days=DAYS["month"]),)),
                Stage(name="churned", terminal=True)),
        transitions=(Transition(source="visitor", target="customer", share=1.0),
                     Transition(source="customer", target="churned", rate=0.05, period_days=DAYS["month"])),
    )
    shape = _shape_of([j], 730.0)
    assert compile_plan(j, shape).ltv_goes_on
    n = 100_000
    ltv = simulate(j, customers=n, seed=2).baseline.metrics["ltv"]
    exact = 45 * sum(0.95**k for k in range(24))  # 24 months in the window
    se = (ltv["ci95"][1] - ltv["ci95"][0]) / (2 * 1.96)
    assert abs(ltv["mean"] - exact) < 4 * se
