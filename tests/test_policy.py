"""The contact policy (caps, quiet hours, transactional touchpoints, holdout) and rollouts.

Each simulated figure is checked against its closed form: exactly where the
policy makes it deterministic, within a few standard errors where it is a share
of customers drawn at random (fixed seeds: these tests never flake).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from journeydsl.engine.exact import ExactUnsupported, held_out, solve
from journeydsl.engine.montecarlo import run, simulate
from journeydsl.language.compile import compile_text
from journeydsl.language.errors import JourneyError

DAILY = """
journey t {
    horizon 700 days
    stage a { entry }
    touchpoint mail { channel email; cost 1 EUR }
    touchpoint receipt { channel email; cost 1 EUR; transactional }
    trigger daily { every 1 day in a; send mail }
    EXTRA
}
"""
FIRINGS = 699  # every 1 day in a 700-day stay: days 1 .. 699


def _daily(policy: str, extra: str = ""):
    journey, _ = compile_text(DAILY.replace("EXTRA", policy + "\n" + extra))
    return journey


def _per_customer(journey, n: int = 400, seed: int = 1):
    tally = simulate(journey, customers=n, seed=seed).baseline.tally
    return {k: getattr(tally, k) / n for k in ("tp_contacts", "tp_capped", "tp_delayed", "tp_held", "tp_cost")}


def test_a_cap_of_one_a_week_on_a_daily_trigger_sends_exactly_one_a_week() -> None:
    got = _per_customer(_daily("policy { cap email 1 per week }"))
    # sends on days 1, 8, 15, ... 694: a rolling 7-day window lets the next one out 7 days on
    assert got["tp_contacts"][0] == math.ceil(FIRINGS / 7) == 100
    assert got["tp_capped"][0] == FIRINGS - 100
    assert got["tp_cost"][0] == 100.0  # skipped contacts cost nothing
    assert got["tp_delayed"][0] == 0


def test_delay_queues_behind_the_cap_and_drops_what_the_horizon_cuts_off() -> None:
    got = _per_customer(_daily("policy { cap email 1 per week; on cap delay }"))
    # firing k goes out on day 1 + 7 (k - 1); those before day 700 are sent, 99 of them late
    assert got["tp_contacts"][0] == 100
    assert got["tp_delayed"][0] == 99
    assert got["tp_capped"][0] == FIRINGS - 100


def test_a_cap_of_three_a_week_sends_three_in_every_seven_days() -> None:
    got = _per_customer(_daily("policy { cap email 3 per week }"))
    # days 1, 2, 3, then 8, 9, 10, ...: 3 in each run of 7 days
    full, rest = divmod(FIRINGS, 7)
    assert got["tp_contacts"][0] == 3 * full + min(rest, 3)


def test_transactional_contacts_pass_every_cap_and_count_toward_none() -> None:
    extra = "trigger r { every 1 day in a; send receipt }"
    got = _per_customer(_daily("policy { cap any 1 per week }", extra))
    assert got["tp_contacts"][1] == FIRINGS  # the receipt: never capped
    assert got["tp_contacts"][0] == 100  # the marketing mail: capped as if the receipts were not there


def test_quiet_hours_delay_the_share_of_the_day_they_cover() -> None:
    n = 20_000
    journey = _daily("policy { quiet hours 21:00-08:00 delay }").model_copy(update={"horizon_days": 70.0})
    tally = simulate(journey, customers=n, seed=3).baseline.tally
    share = tally.tp_delayed[0] / n / 69  # each customer's daily contact falls at one time of day
    p = 11 / 24
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert tally.tp_contacts[0] == 69 * n  # delayed to 08:00, never lost


def test_quiet_hours_skip_drops_the_contacts_in_them() -> None:
    n = 20_000
    journey = _daily("policy { quiet hours 22:00-06:00 skip }").model_copy(update={"horizon_days": 70.0})
    tally = simulate(journey, customers=n, seed=5).baseline.tally
    p = 8 / 24
    assert abs(tally.tp_capped[0] / n / 69 - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert tally.tp_contacts[0] + tally.tp_capped[0] == 69 * n


JOURNEY = """
journey "Holdout" {
    currency EUR
    horizon 365 days
    stage trial { entry; dwell uniform(7 days, 14 days) }
    stage customer { goal; active; revenue 49 EUR every month }
    stage lost { terminal }
    stage churned { terminal }
    touchpoint nudge { channel email; cost 0.02 EUR; response 20% }
    touchpoint receipt { channel email; cost 0.01 EUR; transactional }
    trial -> customer 25%
    trial -> lost otherwise
    customer -> churned 5% per month
    trigger n { when in trial for 3 days; send nudge; then 30% -> customer }
    trigger r { when enter customer; send receipt }
    POLICY
    scenario everyone_out { policy { holdout 100% } }
    scenario no_marketing { without trigger n }
}
"""


def _holdout(share: str):
    journey, _ = compile_text(JOURNEY.replace("POLICY", f"policy {{ holdout {share} }}"))
    return journey


def test_a_full_holdout_is_the_journey_without_its_marketing_triggers() -> None:
    journey = _holdout("10%")
    res = run([(name, journey.with_scenario(name)) for name in ("everyone_out", "no_marketing")], 4000, 7)
    a, b = res.arms
    for key in ("conversion_rate", "value_per_customer", "revenue_per_customer", "cost_per_customer", "ltv", "cac"):
        assert a.metrics[key] == b.metrics[key], key  # byte for byte: the same draws, no contact made
    assert a.touchpoints["receipt"]["contacts_per_customer"] == b.touchpoints["receipt"]["contacts_per_customer"] > 0
    assert a.touchpoints["nudge"]["held_out_per_customer"] == 1.0


def test_holdout_uplift_matches_the_exact_difference() -> None:
    journey = _holdout("10%")
    res = simulate(journey, customers=20_000, seed=4)
    uplift = res.baseline.holdout
    assert uplift is not None and uplift["share"] == 0.1
    base, out = solve(journey.with_scenario("baseline")), solve(journey.with_scenario("everyone_out"))
    exact = base.conversion - out.conversion
    up = uplift["uplift"]["conversion_rate"]
    # 90% treated: 0.9 * 0.75 * 0.2 * 0.3 = 4.05 points
    assert exact == pytest.approx(0.9 * 0.75 * 0.2 * 0.3)
    assert up["ci95"][0] < exact < up["ci95"][1]
    assert up["delta"] > 0


def test_exact_mixes_treated_and_held_out_customers() -> None:
    journey = _holdout("25%").with_scenario("baseline")
    plain = solve(journey.model_copy(update={"policy": None}))
    held = solve(held_out(journey))
    mixed = solve(journey)
    assert mixed.conversion == pytest.approx(0.75 * plain.conversion + 0.25 * held.conversion)
    assert held.conversion == pytest.approx(0.25)


def test_exact_refuses_caps_and_quiet_hours() -> None:
    with pytest.raises(ExactUnsupported, match="frequency caps"):
        solve(_daily("policy { cap email 1 per week }"))
    with pytest.raises(ExactUnsupported, match="quiet hours"):
        solve(_daily("policy { quiet hours 21:00-08:00 }"))


def test_results_do_not_depend_on_workers() -> None:
    journey = _daily("policy { cap any 2 per week; on cap delay; quiet hours 21:00-08:00; holdout 20% }")
    journey = journey.model_copy(update={"horizon_days": 60.0})
    one = simulate(journey, customers=3000, seed=9).to_dict()
    two = simulate(journey, customers=3000, seed=9, workers=2).to_dict()
    assert one == two


ROLLOUT = """
journey r {
    stage a { entry; dwell 1 day }
    stage won { goal; terminal }
    stage lost { terminal }
    a -> won 20%
    a -> lost otherwise
    scenario better 50% { a -> won 30% }
    scenario all_in { a -> won 30% }
}
"""


def test_a_rolled_out_scenario_mixes_its_customers_with_the_base() -> None:
    journey, _ = compile_text(ROLLOUT)
    half = journey.with_scenario("better")
    assert half.rollout == 0.5
    assert solve(half).conversion == pytest.approx(0.25)
    n = 40_000
    res = run([("baseline", journey.with_scenario("baseline")), ("better", half)], n, 2)
    conv = res.arms[1].metrics["conversion_rate"]["mean"]
    assert abs(conv - 0.25) < 4 * math.sqrt(0.25 * 0.75 / n)
    # the base's own customers are the baseline's, draw for draw: the difference is tight
    assert res.arms[1].versus_baseline["conversion_rate"]["ci95"][0] > 0


@pytest.mark.parametrize(("text", "code", "message"), [
    ("policy { cap emial 1 per week }", "E330", "no touchpoint uses channel 'emial'"),
    ("policy { cap email 0 per week }", "E309", "whole number"),
    ("policy { quiet hours 25:00-08:00 }", "E331", "'25:00' is not a time of day"),
    ("policy { quiet hours 08:00-08:00 }", "E331", "start and end at the same time"),
    ("policy { holdout 120% }", "E301", "holdout"),
    ("policy { cap email 1 per week; cap email 2 per week }", "E211", "capped twice"),
    ("policy { on cap skip }\npolicy { on cap delay }", "E211", "a second 'policy'"),
    ("segment s 10% { policy { holdout 5% } }", "E311", "the policy is the same for every customer"),
])
def test_bad_policies_are_pointed_at(text: str, code: str, message: str) -> None:
    with pytest.raises(JourneyError) as info:
        compile_text(DAILY.replace("EXTRA", text))
    found = [d for d in info.value.diagnostics if d.code == code]
    assert found and message in found[0].message, [(d.code, d.message) for d in info.value.diagnostics]
    if code == "E330":
        assert found[0].hint == "did you mean 'email'?"


def test_the_cli_shows_the_policy_counts_and_the_uplift(tmp_path) -> None:
    path = tmp_path / "h.journey"
    path.write_text(JOURNEY.replace("POLICY", "policy { holdout 10% }"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "journeydsl", "simulate", str(path), "--customers", "2000",
                          "--no-scenarios"], capture_output=True, text=True, check=True).stdout
    assert "held out" in out and "Holdout 10% (Baseline): marketing adds" in out
    data = json.loads(subprocess.run([sys.executable, "-m", "journeydsl", "simulate", str(path), "--customers",
                                      "2000", "--format", "json"], capture_output=True, text=True, check=True).stdout)
    base = data["scenarios"][0]
    assert base["holdout"]["share"] == 0.1
    assert base["touchpoints"]["nudge"]["held_out_per_customer"] > 0
    assert base["touchpoints"]["receipt"]["held_out_per_customer"] == 0


PLAN_TEST = """
journey ab {
    horizon 30 days
    stage a { entry; dwell 1 day }
    stage won { goal; terminal }
    stage lost { terminal }
    a -> won 20%
    a -> lost otherwise
    scenario better 50% { a -> won 25% }
    scenario same { a -> won 20% }
    PLAN
}
"""


def _plan_test(tmp_path, *args: str, plan: str = "") -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ab.journey"
    path.write_text(PLAN_TEST.replace("PLAN", plan), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "journeydsl", "plan-test", str(path), *args],
                          capture_output=True, text=True)


def test_plan_test_sizes_a_two_proportion_test(tmp_path) -> None:
    done = _plan_test(tmp_path, "--scenario", "better", "-n", "40000", "--format", "json",
                      plan="plan p { start 2027-01; months 12; arrivals 310 per month }")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # closed form: (z.975 + z.80)^2 (p1 q1 + p2 q2) / d^2 per arm at a 50/50 split, p1 = 20%, p2 = 25%
    z = 1.959964 + 0.841621
    exact = z * z * (0.2 * 0.8 + 0.25 * 0.75) / 0.05 ** 2
    per_arm = data["customers"]["baseline"]
    assert data["split"] == 0.5  # the scenario's own rollout share
    # the simulated proportions carry a standard error of about 0.002 each: the size within ~10%
    assert abs(per_arm - exact) / exact < 0.1, (per_arm, exact)
    assert data["customers"]["scenario"] == per_arm
    # 310 arrivals in each calendar month of 2027 (28 to 31 days), even within a month
    need, day = 2 * per_arm, 0.0
    for days in (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31):
        if need <= 310:
            day += days * need / 310
            break
        need, day = need - 310, day + days
    assert data["enrol_days"] == pytest.approx(day)
    assert data["duration_days"] == pytest.approx(data["enrol_days"] + 30)


def test_plan_test_without_arrivals_says_what_it_needs(tmp_path) -> None:
    done = _plan_test(tmp_path, "--scenario", "better", "-n", "2000")
    assert done.returncode == 0, done.stderr
    assert "customers needed" in done.stdout and "add a 'plan' to the journey, or give --arrivals" in done.stdout
    done = _plan_test(tmp_path, "--scenario", "better", "-n", "2000", "--arrivals", "70 per week", "--split", "20%")
    assert "10.0 a day (--arrivals)" in done.stdout and "20.0% of the test's customers" in done.stdout


def test_plan_test_with_no_difference_and_bad_options(tmp_path) -> None:
    done = _plan_test(tmp_path, "--scenario", "same", "-n", "2000", "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["customers"]["total"] is None
    assert "no difference to detect" in json.loads(done.stdout)["reason"]
    done = _plan_test(tmp_path, "--scenario", "beter")
    assert done.returncode == 2 and "did you mean 'better'?" in done.stderr
    done = _plan_test(tmp_path, "--scenario", "better", "--power", "120%")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_plan_test_too_small_to_see_anything_says_so(tmp_path) -> None:
    # a 0.01% close rate: 50 customers see no converter in either arm; the reason must not claim that
    # the scenario changes nothing (it doubles the rate), only that this run cannot see it
    path = tmp_path / "rare.journey"
    path.write_text(PLAN_TEST.replace("PLAN", "").replace("20%", "0.01%").replace("25%", "0.02%"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "journeydsl", "plan-test", str(path), "--scenario", "better",
                           "-n", "50", "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["customers"]["total"] is None and data["sd_per_customer"] == {"baseline": 0.0, "scenario": 0.0}
    assert "all 50 simulated customers have the same figure" in data["reason"]
    assert "run more customers" in data["reason"] and "does not change this figure" not in data["reason"]


def test_the_map_states_the_policy(tmp_path) -> None:
    from journeydsl.outputs.maps import to_dot

    journey = _daily("policy { cap email 1 per week; cap any 2 per day; on cap delay; quiet hours 21:00-8:00 skip;"
                     " holdout 10% }")
    dot = to_dot(journey)
    assert "contact policy: caps: email ≤ 1/week, any channel ≤ 2/day (over a cap: delayed)" in dot
    assert "quiet hours 21:00–08:00 (skipped)" in dot and "holdout 10% (no marketing contacts)" in dot
    assert "exempt: receipt" in dot
    assert "contact policy" not in to_dot(_daily(""))


REFERRALS = """
journey ref {
    horizon 1 year
    stage lead { entry; dwell 10 days }
    stage customer { goal; terminal; refers 0.5 per customer }
    stage lost { terminal }
    lead -> customer 40%
    lead -> lost otherwise
    plan p { start 2027-01; months 8; arrivals 1000 per month }
}
"""


def test_referrals_add_arrivals_that_refer_in_turn() -> None:
    from journeydsl.analysis.forecast import forecast

    journey, _ = compile_text(REFERRALS)
    fc = forecast(journey, customers=40_000, seed=3)
    data = fc.to_dict()
    referred = data["referrals"]["per_month"]
    conversions = [m["conversions"]["mean"] for m in data["months"]]
    arrivals = [m["arrivals"]["mean"] for m in data["months"]]
    for j in range(8):
        # every conversion refers 0.5 at that moment, in the month it happens
        assert referred[j] == pytest.approx(0.5 * conversions[j], rel=1e-9)
        assert arrivals[j] == pytest.approx(1000 + referred[j], rel=1e-9)
    # in steady state A = 1000 + 0.5 * 0.4 * A: 1,250 a month (months of 28-31 days: within 3%)
    for j in (4, 6, 7):
        assert arrivals[j] == pytest.approx(1250, rel=0.03)
    assert data["referrals"]["total"] == pytest.approx(sum(referred))
    assert any("referrals ('refers') bring" in n for n in data["notes"])
    # simulate's per-customer figures do not change with referrals
    plain, _ = compile_text(REFERRALS.replace("; refers 0.5 per customer", ""))
    assert forecast(plain, customers=40_000, seed=3).to_dict().get("referrals") is None


def test_refers_needs_a_count_per_customer() -> None:
    with pytest.raises(JourneyError) as info:
        compile_text(REFERRALS.replace("0.5 per customer", "0.5 per lead"))
    assert "expected 'customer' after 'per'" in info.value.diagnostics[0].message


BUSINESS = """
journey bd {
    horizon 60 days
    calendar { weekends sat, sun }
    stage lead { entry; dwell 2 days }
    stage won { goal; terminal }
    stage lost { terminal }
    touchpoint call { channel phone; cost 5 EUR }
    lead -> won 10%
    lead -> lost otherwise
    trigger follow { when in lead for 1 business day; send call; THEN }
}
"""


@pytest.mark.parametrize("then", ["then 50% -> won", "response 100%"])
def test_one_business_day_falls_inside_a_two_day_stay_unless_a_weekend_is_in_the_way(then: str) -> None:
    journey, _ = compile_text(BUSINESS.replace("THEN", then))
    n = 70_000
    res = simulate(journey, customers=n, seed=11).baseline
    # entering Mon-Thu or Sun: the next business day is 1 day on; Fri: 3, Sat: 2 (not inside 2 days)
    p = 5 / 7
    fired = res.triggers["follow"]["fired_per_customer"]
    assert abs(fired - p) < 4 * math.sqrt(p * (1 - p) / n)
    if "then" in then:
        conv = res.metrics["conversion_rate"]["mean"]
        exact = p * 0.5 + (1 - p * 0.5) * 0.1
        assert abs(conv - exact) < 4 * math.sqrt(exact * (1 - exact) / n)


def test_business_days_are_counted_on_the_calendar() -> None:
    from journeydsl.language.model import Calendar

    cal = Calendar(weekends=(4, 5))  # Friday and Saturday off
    assert [cal.business_wait(1, d) for d in range(7)] == [1, 1, 1, 3, 2, 1, 1]
    assert Calendar().business_wait(5, 0) == 7  # a working week from Monday: next Monday
    with pytest.raises(ExactUnsupported, match="business days"):
        solve(compile_text(BUSINESS.replace("THEN", "then -> won"))[0])


@pytest.mark.parametrize(("text", "code", "message"), [
    ("trigger t { when in a for 2 business days; send mail }", "E332", "business days need a calendar"),
    ("calendar { weekends sat, sun }\ntrigger t { every 2 business days in a; send mail }", "E332",
     "business days count only in a trigger's wait"),
    ("calendar { weekends sat, sunday, sn }", "E333", "'sn' is not a day of the week"),
    ("calendar { weekends sat, sun }\ntrigger t { when in a for 1.5 business days; send mail }", "E309",
     "whole number"),
])
def test_business_day_mistakes(text: str, code: str, message: str) -> None:
    with pytest.raises(JourneyError) as info:
        compile_text(DAILY.replace("EXTRA", text))
    found = [d for d in info.value.diagnostics if d.code == code]
    assert found and message in found[0].message, [(d.code, d.message) for d in info.value.diagnostics]


def test_rollouts_business_days_and_segments_do_not_depend_on_workers() -> None:
    extra = "\n    policy { holdout 20%; quiet hours 22:00-07:00 }\n    scenario half 40% { lead -> won 15% }\n}\n"
    text = BUSINESS.replace("THEN", "then 50% -> won").replace(
        "    lead -> won 10%", "    segment vip 30% { lead -> won 20% }\n    lead -> won 10%").replace("\n}\n", extra)
    journey, _ = compile_text(text)
    arms = [(name, journey.with_scenario(name)) for name in ("baseline", "half")]
    one = run(arms, 6000, 5).to_dict()
    two = run(arms, 6000, 5, workers=2).to_dict()
    assert one == two
    assert one["scenarios"][1]["holdout"]["share"] == 0.2


# --- the policy on the trigger features' event path (several sends, behaviour conditions) ---------

EVENTS = """
journey t {
    horizon 700 days
    stage a { entry }
    stage b { terminal }
    touchpoint mail { channel email; cost 1 EUR }
    touchpoint text { channel sms; cost 1 EUR; response 0% }
    touchpoint receipt { channel email; cost 1 EUR; transactional }
    trigger daily { every 1 day in a; send mail, text }
    EXTRA
}
"""


def _events(policy: str, extra: str = ""):
    journey, _ = compile_text(EVENTS.replace("EXTRA", policy + "\n" + extra))
    return journey


def test_a_cap_holds_on_a_trigger_that_sends_several_touchpoints() -> None:
    # two sends make the trigger fire on the event path (one customer at a time), through the gate
    got = _per_customer(_events("policy { cap email 1 per week }"))
    assert got["tp_contacts"][0] == 100 and got["tp_capped"][0] == FIRINGS - 100  # mail: as on the plain path
    assert got["tp_contacts"][1] == FIRINGS and got["tp_capped"][1] == 0  # the SMS is not capped
    assert got["tp_cost"][0] == 100.0


def test_a_whole_holdout_on_the_event_path_sends_only_transactional_contacts() -> None:
    extra = "trigger r { every 1 day in a; send receipt, mail }"
    got = _per_customer(_events("policy { holdout 100% }", extra))
    assert got["tp_contacts"][2] == FIRINGS  # the receipt still goes out
    assert got["tp_contacts"][0] == 0 and got["tp_contacts"][1] == 0
    assert got["tp_held"][0] == 2 * FIRINGS and got["tp_held"][1] == FIRINGS


def test_a_capped_contact_gets_no_response_so_no_response_triggers_answer_it() -> None:
    # the mail always gets a response when sent; capped, it is not sent, so nobody responds to it
    journey, _ = compile_text("""
journey t {
    horizon 30 days
    stage a { entry }
    stage b { terminal }
    touchpoint mail { channel email; response 100% }
    touchpoint text { channel sms }
    trigger first { when enter a; send mail, text }
    trigger again { when in a for 1 day; send mail }
    trigger chase { when no response to mail within 2 days; send text }
    policy { cap email 1 per week }
}
""")
    tally = simulate(journey, customers=200, seed=2).baseline.tally
    assert tally.tp_contacts[0] == 200 and tally.tp_capped[0] == 200  # day 0 sent, day 1 capped
    assert tally.tp_contacts[1] == 400  # day 0 with the mail, and the chase of the capped day-1 mail


@pytest.mark.parametrize("lang", ["ru", "bg"])
def test_plan_test_speaks_the_journeys_language(tmp_path, lang: str) -> None:
    import re

    for plan, reason in (("plan p { start 2027-01; months 12; arrivals 310 per month }", None),
                         ("", "no_arrivals"), ("plan p { start 2027-01; months 2; arrivals 50 per month }", "small")):
        done = _plan_test(tmp_path, "--scenario", "better", "-n", "20000", "--lang", lang, plan=plan)
        assert done.returncode == 0, done.stderr
        # Latin words left: the names the author wrote, the option a user types, and 'A/B'
        latin = set(re.findall(r"[A-Za-z][A-Za-z_]*", done.stdout)) - {"better", "p", "A", "B", "plan",
                                                                        "arrivals", "N", "per", "day", "week",
                                                                        "month", "n", "window", "days"}
        assert latin == set(), (reason, latin, done.stdout)
    assert "Live A/B test" in _plan_test(tmp_path, "--scenario", "better", "-n", "2000").stdout


def test_plan_test_says_how_soon_a_conversion_test_could_be_read(tmp_path) -> None:
    # a trial of uniform(7, 14) days: conversions come at the trial's end, so 99% of them within
    # 7 + 0.99 x 7 = 13.93 days; a test read after the 365-day horizon waits 351 days for nothing
    text = """journey t {
        horizon 365 days
        stage trial { entry; dwell uniform(7 days, 14 days) }
        stage paid { goal; terminal }
        stage lost { terminal }
        trial -> paid 25%
        trial -> lost otherwise
        scenario better { trial -> paid 30% }
    }"""
    path = tmp_path / "t.journey"
    path.write_text(text, encoding="utf-8")
    run = [sys.executable, "-m", "journeydsl", "plan-test", str(path), "--scenario", "better", "-n", "20000",
           "--arrivals", "100 per day"]
    data = json.loads(subprocess.run([*run, "--format", "json"], capture_output=True, text=True).stdout)
    assert data["window_hint_days"] == 14.0 and data["window_days"] == 365.0
    text_out = subprocess.run(run, capture_output=True, text=True).stdout
    assert "99% of this run's conversions came within 14 days of entry; --window '14 days'" in text_out
    # given a window, or a money figure (which keeps accruing after conversion), no hint
    for extra in (["--window", "14 days"], ["--metric", "value_per_customer"]):
        got = json.loads(subprocess.run([*run, *extra, "--format", "json"], capture_output=True, text=True).stdout)
        assert got["window_hint_days"] is None
