"""Scenarios: what an override means, and how precisely a comparison measures it.

The deltas are checked against exact algebra with a tolerance of a few
standard errors of the paired comparison itself (fixed seeds, so they
never flake).
"""

from __future__ import annotations

import math

import jsonschema
import pytest

import journeydsl as jd
from journeydsl.engine.montecarlo import run
from journeydsl.engine.results import load_schema, t_quantile
from journeydsl.language.errors import JourneyError

FUNNEL = """
journey "Funnel" {
    currency EUR
    horizon 1 year
    stage visitor { entry; dwell 1 day }
    stage trial { dwell 5 days }
    stage customer { goal; terminal; revenue 100 EUR on enter }
    stage lost { terminal }
    touchpoint nudge { channel email; cost 0.50 EUR; response 40% }
    touchpoint demo { channel phone; cost 10 EUR }
    visitor -> trial 50%
    visitor -> lost otherwise
    trial -> customer 20% via demo
    trial -> lost otherwise

    scenario better_trial { trial -> customer 25% via demo }
    scenario nudge_day_2 {
        trigger nudge_2 {
            when in trial for 2 days
            send nudge
            then 50% -> customer
        }
    }
    scenario cheap_demo { touchpoint demo { cost 4 EUR } }
}
"""

N = 40_000


def _se(cmp: dict[str, float | list[float]], batches: int) -> float:
    lo, hi = cmp["ci95"]  # type: ignore[misc]
    return (hi - lo) / (2 * t_quantile(0.975, batches - 1))


@pytest.fixture(scope="module")
def results() -> dict:
    journey = jd.loads(FUNNEL, "funnel.journey")
    return jd.simulate(journey, customers=N, seed=11, scenarios=None).to_dict()


def _vs(results: dict, name: str) -> dict:
    return next(a for a in results["scenarios"] if a["name"] == name)["versus_baseline"]


def test_a_share_change_moves_conversion_and_value_by_the_exact_amount(results: dict) -> None:
    vs = _vs(results, "better_trial")
    b = results["batches"]
    # reach trial 50%; 20% -> 25% of them convert: +2.5 pp, and each conversion is worth 100 - 10 EUR
    assert abs(vs["conversion_rate"]["delta"] - 0.025) < 4.5 * _se(vs["conversion_rate"], b)
    assert abs(vs["value_per_customer"]["delta"] - 0.025 * 90) < 4.5 * _se(vs["value_per_customer"], b)
    assert vs["conversion_rate"]["ci95"][0] > 0 and vs["conversion_rate"]["p_better"] > 0.99


def test_an_added_trigger_reroutes_responders(results: dict) -> None:
    vs = _vs(results, "nudge_day_2")
    b = results["batches"]
    # every trial customer is nudged on day 2 (the stay is 5 days): 40% respond, half of them convert now
    # (0.2), the other 0.8 keep their 20% branch: 0.36 of trials convert instead of 0.20.
    exact_conv = 0.5 * (0.36 - 0.20)
    assert abs(vs["conversion_rate"]["delta"] - exact_conv) < 4.5 * _se(vs["conversion_rate"], b)
    # cost: 0.50 EUR per nudge for every trial customer; the rerouted skip the demo (10 EUR on the branch)
    exact_cost = 0.5 * (0.50 + 10 * (0.8 * 0.2) - 10 * 0.2)
    assert abs(vs["cost_per_customer"]["delta"] - exact_cost) < 4.5 * _se(vs["cost_per_customer"], b)


def test_a_touchpoint_cost_override_changes_only_cost(results: dict) -> None:
    vs = _vs(results, "cheap_demo")
    # the demo is paid by the 10% who convert: 6 EUR less each, exactly, since nothing random changes
    assert vs["cost_per_customer"]["delta"] == pytest.approx(-0.6, abs=4.5 * _se(vs["cost_per_customer"], 20))
    assert vs["conversion_rate"]["delta"] == 0.0
    assert vs["cost_per_customer"]["p_better"] > 0.99  # lower cost is better
    assert vs["cac"]["p_better"] > 0.99


def test_versus_baseline_follows_the_schema(results: dict) -> None:
    jsonschema.validate(results, load_schema())
    assert "versus_baseline" not in results["scenarios"][0]
    for arm in results["scenarios"][1:]:
        keys = set(arm["versus_baseline"])
        assert {"conversion_rate", "value_per_customer", "revenue_per_customer", "cost_per_customer",
                "ltv", "cac", "retention_90"} <= keys  # fmt: skip
        for cmp in arm["versus_baseline"].values():
            assert set(cmp) >= {"delta", "ci95", "p_better"} or cmp.get("delta") is None


def test_common_random_numbers_beat_independent_runs() -> None:
    journey = jd.loads(FUNNEL, "funnel.journey")
    base, better = journey.with_scenario("baseline"), journey.with_scenario("better_trial")
    paired = run([("baseline", base), ("better_trial", better)], N, 5).to_dict()
    width_crn = float(math.fsum(x * s for x, s in zip(
        paired["scenarios"][1]["versus_baseline"]["conversion_rate"]["ci95"], (-1, 1), strict=True)))
    # two independent runs: the interval of a difference of independent means
    a = run([("baseline", base)], N, 6).to_dict()["scenarios"][0]["metrics"]["conversion_rate"]
    b = run([("baseline", better)], N, 7).to_dict()["scenarios"][0]["metrics"]["conversion_rate"]
    half = [(m["ci95"][1] - m["ci95"][0]) / 2 for m in (a, b)]
    width_independent = 2 * math.hypot(*half)
    assert width_crn < 0.6 * width_independent


# --- merge rules ----------------------------------------------------------

MERGE = """
journey "Merge" {
    currency EUR
    stage a { entry; dwell 2 days; revenue 5 EUR on enter; cost 1 EUR on enter }
    stage b { goal; active; revenue 10 EUR every month }
    stage c { terminal }
    touchpoint mail "Mail" { channel email; cost 0.10 EUR; response 30% }
    a -> b 40% via mail
    a -> c otherwise
    b -> c 5% per month
    trigger remind { when in a for 1 day; send mail }

    scenario s {
        stage a { revenue 7 EUR on enter }
        a -> b 50%
        without trigger remind
        touchpoint mail { cost 0.20 EUR }
        trigger welcome { when enter b; send mail }
    }
    scenario drop_edge {
        without b -> c
        stage b { terminal }
    }
}
"""


def test_scenario_merge_rules() -> None:
    journey = jd.loads(MERGE, "merge.journey")
    s = journey.with_scenario("s")
    a = s.stage("a")
    assert [f.amount for f in a.revenue] == [7.0]  # the property named is replaced
    assert [f.amount for f in a.costs] == [1.0] and a.dwell is not None  # the others are kept
    edge = next(t for t in s.transitions if t.key == ("a", "b"))
    assert edge.share == 0.5 and edge.via is None  # a transition is replaced whole
    assert [t.name for t in s.triggers] == ["welcome"]  # removed one, added one
    mail = s.touchpoint("mail")
    assert (mail.cost, mail.channel, mail.response) == (0.20, "email", 0.30)
    assert s.scenarios == () and journey.with_scenario("baseline").scenarios == ()
    d = journey.with_scenario("drop_edge")
    assert ("b", "c") not in {t.key for t in d.transitions} and d.stage("b").terminal
    # the base journey is untouched
    assert journey.stage("a").revenue[0].amount == 5.0 and len(journey.triggers) == 1


@pytest.mark.parametrize(
    ("override", "message", "hint"),
    [
        ("stage aa { goal }", "'aa'", "did you mean 'a'?"),
        ("touchpoint mial { cost 1 EUR }", "'mial'", "did you mean 'mail'?"),
        ("without trigger remnd", "'remnd'", "did you mean 'remind'?"),
        ("without a -> cc", "'cc'", "did you mean 'c'?"),
    ],
)
def test_an_override_of_something_missing_is_a_diagnostic(override: str, message: str, hint: str) -> None:
    typo = f"    scenario typo {{\n        {override}\n    }}\n"
    text = MERGE.replace("    scenario drop_edge {", typo + "    scenario drop_edge {")
    with pytest.raises(JourneyError) as info:
        jd.loads(text, "merge.journey")
    errors = info.value.errors
    assert len(errors) == 1, [e.message for e in errors]
    assert message in errors[0].message
    assert errors[0].hint is not None and hint in errors[0].hint
    assert errors[0].span is not None and errors[0].span.line == text.splitlines().index(f"        {override}") + 1


def test_a_scenario_that_breaks_the_journey_is_reported_at_the_override() -> None:
    text = MERGE.replace("        a -> b 50%\n", "        a -> b 120%\n")
    with pytest.raises(JourneyError) as info:
        jd.loads(text, "merge.journey")
    err = info.value.errors[0]
    assert err.span is not None and text.splitlines()[err.span.line - 1].strip() == "a -> b 120%"
