"""`plan` and `targets` blocks: what they parse to, their checks, and their canonical layout."""

from __future__ import annotations

import pytest

from journeydsl.language.compile import compile_text
from journeydsl.language.errors import JourneyError
from journeydsl.language.fmt import format_source

BASE = """journey "Sub" {
    currency EUR
    stage customer { entry; goal; active; revenue 10 EUR every month }
    stage churned { terminal }
    customer -> churned 10% per month
    scenario cheaper { customer { revenue 8 EUR every month } }
"""


def _load(extra: str):  # type: ignore[no-untyped-def]
    journey, _warnings = compile_text(BASE + extra + "\n}\n")
    return journey


def _errors(extra: str) -> list[str]:
    with pytest.raises(JourneyError) as info:
        compile_text(BASE + extra + "\n}\n")
    return [d.message for d in info.value.diagnostics]


def test_plan_block_as_in_the_design() -> None:
    j = _load(
        """plan launch "2027 launch" {
        start 2027-01
        months 24
        arrivals 2000 per month growing 5% per month
        arrivals 3000 in 2027-03
        seasonality dec 130%, jan 80%
        budget 25000 EUR per month
        scenario cheaper
    }"""
    )
    (p,) = j.plans
    assert (p.name, p.title, p.start, p.months) == ("launch", "2027 launch", "2027-01", 24)
    assert p.arrivals == 2000 and p.growth == pytest.approx(0.05)
    assert p.one_offs == (("2027-03", 3000.0),)
    assert p.seasonality == ((1, 0.8), (12, 1.3))
    assert p.budget == 25000 and p.scenario == "cheaper"
    assert j.plan() is p and j.plan("launch") is p


def test_arrivals_and_growth_per_other_periods_are_monthly() -> None:
    j = _load("plan q { start 2027-01; months 3; arrivals 700 per week growing 10% per year }")
    p = j.plans[0]
    assert p.arrivals == pytest.approx(700 * (365 / 12) / 7)
    assert p.growth == pytest.approx(1.1 ** (1 / 12) - 1)


def test_targets_block_defaults_and_bounds() -> None:
    j = _load(
        """targets "KPI 2027" {
        conversion_rate 3.5%
        retention 90 days 28%
        ltv 1200 EUR
        cac at most 90 EUR
        churn 30%
        value_per_customer at least 5 EUR
    }"""
    )
    t = j.targets
    assert t is not None and t.label == "KPI 2027"
    got = {(x.kpi, x.days): (x.bound, x.value) for x in t.targets}
    assert got == {
        ("conversion_rate", None): ("least", 0.035),
        ("retention", 90.0): ("least", 0.28),
        ("ltv", None): ("least", 1200.0),
        ("cac", None): ("most", 90.0),
        ("churn", None): ("most", 0.30),
        ("value_per_customer", None): ("least", 5.0),
    }


def test_stage_called_start_still_works_as_a_transition_source() -> None:
    journey, _ = compile_text(
        'journey "J" { stage start { entry }; stage done { terminal; goal }; start -> done 100% }'
    )
    assert journey.transitions[0].source == "start"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("plan p { start 2027-00; months 3; arrivals 1 per month }", "'2027-0' is not a calendar month"),
        ("plan p { start 2027-01; months 0; arrivals 1 per month }", "'months' is a whole number from 1 to 600, got 0"),
        ("plan p { start 2027-01; months 3; arrivals 1 per month; seasonality foo 10% }", "'foo' is not a month name"),
        (
            "plan p { start 2027-01; months 3; arrivals 1 per month; arrivals 5 in 2026-12 }",
            "2026-12 is outside plan 'p'",
        ),
        ("plan p { start 2027-01; months 3; arrivals 1 per month; scenario nope }", "unknown scenario 'nope'"),
        ("plan p { start 2027-01; months 3; arrivals 1 per month; start 2027-02 }", "'start' is set twice in plan 'p'"),
        ("plan p { start 2027-01; weeks 3; arrivals 1 per month }", "a plan runs for a number of months, not 'weeks'"),
        ("targets { ltv 5 EUR }\n    targets { ltv 6 EUR }", "'targets' is given twice"),
        ("targets { retention 90 days 20%; retention 90 days 30% }", "the target for 'retention 90 days' is set twice"),
        ("targets { cac 10 USD }", "currency mismatch: 'USD' here, but the journey uses 'EUR'"),
        # found by fuzzing the second wave's commands: each of these checked clean, then forecast
        # wrote an infinity that JSON cannot hold (exit 3)
        ("targets { value_per_customer 1" + "0" * 400 + " EUR }",
         "the target for 'value_per_customer' is too large to count"),
        ("targets { ltv 2_000_000_000_000 EUR }",
         "the target for 'ltv' is 2e+12, more than the 1e+12 an amount can be"),
        ("plan p { start 2027-01; months 3; arrivals 1 per month; seasonality jan 1" + "0" * 400 + "% }",
         "seasonality is from 0% to 10000%, got a number too large to count"),
        ("plan p { start 2027-01; months 600; arrivals 1000 per month growing 100% per month }",
         "plan 'p' would bring 2.07476e+183 arrivals in its busiest month (growth compounded over 600 months,"
         " times the largest seasonality), more than the 1e+12 a month can have"),
        ("plan p { start 2027-01; months 3; arrivals 1 per month; arrivals 10_000_000_000_000 in 2027-02 }",
         "1e+13 arrivals in a month is more than the 1e+12 a month can have"),
    ],
)
def test_plan_and_target_errors(extra: str, message: str) -> None:
    assert message in _errors(extra)


def test_fmt_round_trips_plans_and_targets() -> None:
    text = BASE + """    targets "KPI" { cac at most 90 EUR; retention 3 months 28% }   # the board's table
    plan launch "Launch" {
        # when it starts
        start 2027-1
        months 24
        arrivals 2000 per month growing 5% per month
        arrivals 3000 in 2027-03
        seasonality Dec 130%, jan 0.8
        budget 25000 EUR per month
        scenario cheaper
    }
}
"""
    once = format_source(text)
    assert format_source(once) == once
    assert "        start 2027-01\n" in once
    assert "        arrivals 2_000 per month growing 5% per month\n" in once
    assert "        seasonality dec 130%, jan 80%\n" in once
    assert "        # when it starts\n" in once
    assert '    targets "KPI" {  # the board\'s table\n        cac at most 90 EUR\n' in once
    assert "        retention 3 months 28%\n" in once
    a, _ = compile_text(text)
    b, _ = compile_text(once)
    assert [p.model_dump(exclude={"span"}) for p in a.plans] == [p.model_dump(exclude={"span"}) for p in b.plans]
    drop = {"span": True, "targets": {"__all__": {"span"}}}
    assert a.targets is not None and b.targets is not None
    assert a.targets.model_dump(exclude=drop) == b.targets.model_dump(exclude=drop)
