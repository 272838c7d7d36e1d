"""`journeydsl forecast`: calendar months, arrivals, closed forms, budget, the JSON contract."""

from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pytest

from journeydsl.analysis.forecast import (
    _flow_weights,
    _occupancy_weights,
    calendar_months,
    flow_months,
    forecast,
    load_schema,
    occupancy_months,
    plan_arrivals,
)
from journeydsl.language.compile import compile_text
from journeydsl.outputs.forecast_report import format_forecast

MONTH = 365 / 12


def _journey(body: str, plan: str, customers: int = 20_000):  # type: ignore[no-untyped-def]
    journey, _ = compile_text(f'journey "F" {{\n    currency EUR\n    customers {customers}\n{body}\n{plan}\n}}\n')
    return journey


SUBSCRIPTION = """
    stage customer { entry; goal; active; revenue 10 EUR every month }
    stage churned { terminal }
    customer -> churned 10% per month
"""


def _active_closed_form(start: str, months: int, arrivals: np.ndarray, hazard: float) -> np.ndarray:
    """Customers still subscribed at each month's end: arrivals even over their month, exponential lifetimes."""
    cal = calendar_months(start, months)
    out = np.zeros(months)
    for j, (_l, dj, lj) in enumerate(cal):
        end = dj + lj
        for m, (_lm, dm, lm) in enumerate(cal[: j + 1]):
            gone = math.exp(-hazard * (end - dm - lm)) - math.exp(-hazard * (end - dm))
            out[j] += arrivals[m] / (lm * hazard) * gone
    return out


# --- calendar and arrivals --------------------------------------------------------------


def test_calendar_months_use_real_lengths_and_leap_years() -> None:
    assert [c[2] for c in calendar_months("2027-01", 3)] == [31, 28, 31]
    assert [c[2] for c in calendar_months("2028-01", 3)] == [31, 29, 31]
    cal = calendar_months("2027-11", 4)
    assert [c[0] for c in cal] == ["2027-11", "2027-12", "2028-01", "2028-02"]
    assert [c[1] for c in cal] == [0, 30, 61, 92]


def test_arrivals_growth_seasonality_and_one_off_month() -> None:
    j = _journey(
        SUBSCRIPTION,
        "plan p { start 2027-11; months 5; arrivals 1000 per month growing 10% per month;"
        " seasonality dec 150%, jan 50%; arrivals 4000 in 2028-02 }",
    )
    got = plan_arrivals(j.plan())
    assert got == pytest.approx([1000, 1100 * 1.5, 1210 * 0.5, 4000, 1464.1])


def test_fast_sums_equal_the_weight_matrices() -> None:
    """The cumulative-sum convolution equals the rule spelt out as matrices, cohort by cohort."""
    cal = calendar_months("2027-11", 7)
    starts = np.array([c[1] for c in cal])
    lengths = np.array([c[2] for c in cal])
    ages = int(starts[-1] + lengths[-1]) + 1
    curves = np.random.default_rng(1).random((3, ages))
    fm = flow_months(curves, starts, lengths)
    om = occupancy_months(curves, starts, lengths)
    for m in range(7):
        assert np.allclose(fm[:, m, :], curves @ _flow_weights(starts, lengths, ages, m))
        assert np.allclose(om[:, m, :], curves @ _occupancy_weights(starts, lengths, ages, m))


# --- closed forms ---------------------------------------------------------------------------


def test_entry_goal_converts_every_arrival_in_its_month_and_on_enter_money_follows() -> None:
    j = _journey(
        """
    stage customer { entry; goal; active; revenue 10 EUR on enter; cost 4 EUR on enter }
    stage churned { terminal }
    customer -> churned 10% per month
""",
        "plan p { start 2028-01; months 6; arrivals 1000 per month growing 5% per month }",
        customers=2_000,
    )
    fc = forecast(j, seed=3)
    arrivals = 1000 * 1.05 ** np.arange(6)
    assert fc.mean["conversions"] == pytest.approx(arrivals, rel=1e-12)
    assert fc.mean["revenue"] == pytest.approx(10 * arrivals, rel=1e-12)
    assert fc.mean["cost"] == pytest.approx(4 * arrivals, rel=1e-12)
    assert fc.mean["cac"] == pytest.approx(np.zeros(6), abs=1e-12)  # the cost is the goal stage's own: service
    assert fc.mean["cumulative_value"] == pytest.approx(np.cumsum(6 * arrivals), rel=1e-12)
    # no simulation noise here: the interval is the arrivals' Poisson noise alone
    row = fc.row(2)
    half = row["conversions"]["ci95"][1] - row["conversions"]["mean"]
    assert half == pytest.approx(1.959963984540054 * math.sqrt(arrivals[2]))


@pytest.mark.parametrize("growth", [0.0, 0.08])
def test_active_customers_match_the_closed_form(growth: float) -> None:
    """Constant-hazard churn, constant or growing arrivals: z-scores against the exact count
    (simulation variance only: the closed form has no arrival noise)."""
    plan = f"plan p {{ start 2028-01; months 14; arrivals 1000 per month growing {growth * 100:g}% per month }}"
    j = _journey(SUBSCRIPTION, plan, customers=100_000)
    fc = forecast(j, seed=5)
    hazard = -math.log(0.9) / MONTH
    exact = _active_closed_form("2028-01", 14, 1000 * (1 + growth) ** np.arange(14), hazard)
    sim_var = fc.var["active_end"] - fc.mean["active_end"]  # less the Poisson part (= the mean)
    z = (fc.mean["active_end"] - exact) / np.sqrt(sim_var)
    assert np.all(np.abs(z) < 4), z
    assert fc.mean["active_end"] == pytest.approx(exact, rel=0.01)


def test_fixed_four_week_trial_counts_february_right() -> None:
    """Active for exactly 28 days: at a month's end, the arrivals of its last 28 days (exact)."""
    body = """
    stage trial { entry; goal; active; dwell 28 days }
    stage done { terminal }
    trial -> done 100%
"""
    for start, feb in (("2027-01", 3100.0), ("2028-01", 3100 * 28 / 29)):
        j = _journey(body, f"plan p {{ start {start}; months 4; arrivals 3100 per month }}", customers=500)
        fc = forecast(j)
        assert fc.mean["active_end"] == pytest.approx([2800, feb, 2800, 3100 * 28 / 30], rel=1e-12)


def test_monthly_revenue_of_subscribers_who_never_leave() -> None:
    """10 EUR at entry and every 365/12 days: per calendar month, the charges that fall in it."""
    body = "    stage customer { entry; goal; active; revenue 10 EUR every month }"
    j = _journey(body, "plan p { start 2027-01; months 12; arrivals 310 per month }", customers=1_000)
    fc = forecast(j)
    cal = calendar_months("2027-01", 12)
    exact = np.zeros(12)
    for _lm, dm, lm in cal:  # arrival at dm + x, x even in [0, lm): charges at dm + x + k * MONTH
        for k in range(13):
            for j2, (_l, dj, lj) in enumerate(cal):
                lo, hi = max(dm + k * MONTH, dj), min(dm + lm + k * MONTH, dj + lj)
                exact[j2] += 310 * 10 * max(hi - lo, 0.0) / lm
    assert fc.mean["revenue"] == pytest.approx(exact, rel=1e-9)


def test_seasonality_and_one_off_month_scale_that_month_only() -> None:
    base = "plan p { start 2027-01; months 6; arrivals 1000 per month }"
    busy = "plan p { start 2027-01; months 6; arrivals 1000 per month; seasonality mar 150%; arrivals 200 in 2027-05 }"
    body = """
    stage customer { entry; goal; active; revenue 10 EUR on enter }
    stage churned { terminal }
    customer -> churned 10% per month
"""
    a = forecast(_journey(body, base, 5_000), seed=1)
    b = forecast(_journey(body, busy, 5_000), seed=1)
    assert b.arrivals == pytest.approx([1000, 1000, 1500, 1000, 200, 1000])
    assert b.mean["revenue"] == pytest.approx(10 * b.arrivals, rel=1e-12)
    # cohorts are the same simulated customers: March's extra 500 arrivals add half a cohort's layer
    diff = b.cohort_active - a.cohort_active
    assert np.allclose(diff[2], 0.5 * a.cohort_active[2])
    assert np.allclose(diff[4], -0.8 * a.cohort_active[4])
    assert np.allclose(np.delete(diff, [2, 4], axis=0), 0.0)


def test_budget_scales_arrivals_down_in_months_over_the_cap() -> None:
    """The cap is on acquisition spending: each month that would pass it meets it exactly."""
    body = """
    stage lead { entry; cost 5 EUR on enter; dwell 3 days }
    stage customer { goal; active; cost 1 EUR every month }
    stage lost { terminal }
    lead -> customer 50%
    lead -> lost otherwise
"""
    plan = (
        "plan p { start 2027-01; months 6; arrivals 1000 per month growing 20% per month;"
        " budget 9000 EUR per month }"
    )
    fc = forecast(_journey(body, plan, 20_000), seed=2)
    planned = 1000 * 1.2 ** np.arange(6)
    assert fc.planned == pytest.approx(planned)
    assert np.all(fc.mean["acq"] <= 9000 * (1 + 1e-9))
    # 5 EUR per lead at entry, all before conversion: 9,000 EUR buys 1,800 leads a month
    assert fc.arrivals == pytest.approx(np.minimum(planned, 1800), rel=1e-9)
    capped = fc.capped
    assert capped == [k for k in range(6) if planned[k] > 1800]
    assert fc.mean["cost"][capped[-1]] > 9000  # serving converted customers is not capped
    data = fc.to_dict()
    assert [c["month"] for c in data["budget"]["capped"]] == [fc.months[k] for k in capped]
    assert any("to keep acquisition spending within the budget" in n for n in data["notes"])


# --- the contract -----------------------------------------------------------------------------


def test_json_follows_the_schema_and_the_design_keys() -> None:
    j = _journey(SUBSCRIPTION, 'plan launch "Launch" { start 2027-01; months 3; arrivals 2000 per month }', 5_000)
    fc = forecast(j, seed=0)
    data = json.loads(format_forecast(fc, "json"))
    jsonschema.validate(data, load_schema())
    assert data["schema"] == "journeydsl.forecast/1"
    assert (data["plan"], data["currency"]) == ("launch", "EUR")
    row = data["months"][0]
    assert list(row) == ["month", "arrivals", "conversions", "active_end", "revenue", "cost", "value",
                         "cumulative_value", "cac"]  # fmt: skip
    assert row["month"] == "2027-01"
    assert row["arrivals"]["mean"] == 2000
    assert [round(x) for x in row["arrivals"]["ci95"]] == [1912, 2088]  # the design's example
    assert row["cac"] == {"mean": None, "reason": "no conversions this month"} or row["cac"]["mean"] == 0


def test_same_seed_same_forecast() -> None:
    j = _journey(SUBSCRIPTION, "plan p { start 2027-01; months 4; arrivals 100 per month }", 3_000)
    assert format_forecast(forecast(j, seed=7), "json") == format_forecast(forecast(j, seed=7), "json")


def test_plan_scenario_runs_the_scenario() -> None:
    body = SUBSCRIPTION + "    scenario pricey { customer { revenue 20 EUR every month } }\n"
    j = _journey(body, "plan p { start 2027-01; months 3; arrivals 100 per month; scenario pricey }", 3_000)
    k = _journey(body, "plan p { start 2027-01; months 3; arrivals 100 per month }", 3_000)
    assert forecast(j, seed=1).mean["revenue"] == pytest.approx(2 * forecast(k, seed=1).mean["revenue"])


def test_plain_simulate_keeps_no_age_tallies() -> None:
    """The age tallies are the forecast's alone: `simulate` neither fills nor carries them."""
    from journeydsl.api import simulate

    j = _journey(SUBSCRIPTION, "plan p { start 2027-01; months 3; arrivals 100 per month }", 2_000)
    tal = simulate(j, seed=1).baseline.tally
    assert tal.shape.age_days == 0
    assert tal.age_rev.size == tal.age_active.size == tal.age_m_cum2.size == 0


def test_sparse_second_moments_equal_the_dense_ones() -> None:
    """The per-month sums of squares the intervals use, against a customer x month matrix."""
    from journeydsl.engine.montecarlo.blockdata import _squares_by_month

    rng = np.random.default_rng(0)
    n, nm = 50, 7
    ids, mon, w = rng.integers(0, n, 400), rng.integers(0, nm, 400), rng.normal(size=400)
    dense = np.zeros((n, nm))
    np.add.at(dense, (ids, mon), w)
    assert _squares_by_month(ids * nm + mon, w, nm) == pytest.approx((dense**2).sum(0))
    running = np.cumsum(dense, axis=1)
    assert _squares_by_month(ids * nm + mon, w, nm, cumulative=True) == pytest.approx((running**2).sum(0))


def test_money_intervals_match_a_brute_force_of_poisson_cohorts() -> None:
    """Revenue's and cumulative value's spread against 600 plans drawn in full: Poisson arrivals
    at random moments of their month, exponential lifetimes, a charge every 365/12 days."""
    j = _journey(SUBSCRIPTION, "plan p { start 2027-01; months 6; arrivals 300 per month }", 100_000)
    fc = forecast(j, seed=3)
    cal = calendar_months("2027-01", 6)
    hazard = -math.log(0.9) / MONTH
    ends = np.array([d + n for _l, d, n in cal])
    rng = np.random.default_rng(5)
    revenue = np.zeros((600, 6))
    for r in range(600):
        arrive = np.concatenate([d + rng.random(rng.poisson(300)) * n for _l, d, n in cal])
        charges = np.maximum(np.ceil(rng.exponential(1 / hazard, arrive.size) / MONTH), 1).astype(int)
        owner = np.repeat(np.arange(arrive.size), charges)
        k = np.arange(owner.size) - np.repeat(np.cumsum(charges) - charges, charges)
        month = np.searchsorted(ends, arrive[owner] + k * MONTH, side="right")
        revenue[r] = 10 * np.bincount(month[month < 6], minlength=6)
    for key, drawn in (("revenue", revenue), ("cumulative_value", np.cumsum(revenue, axis=1))):
        ratio = np.sqrt(fc.var[key]) / drawn.std(axis=0)
        assert np.all(np.abs(ratio - 1) < 0.15), (key, ratio)  # the sd of 600 draws is good to about 3%
        assert fc.mean[key] == pytest.approx(drawn.mean(axis=0), rel=0.02)
