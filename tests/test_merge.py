"""How a segment's and a scenario's changes merge: base, then segment, then scenario.

A customer of segment S in scenario X meets the base journey with S's changes
and X's changes on top. Every combination of change, addition and removal of
stages, transitions, touchpoints and triggers either merges by that rule or is
a diagnostic at check time: a journey that ``check`` accepts always simulates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import journeydsl as jd
from journeydsl.cli import main
from journeydsl.language.errors import JourneyError
from journeydsl.language.model import Journey, apply_overrides

# --- the two reproducers of issue 10, through the command line -------------------

TRIGGER_CASE = """\
journey "Changed by a segment, removed by a scenario" {
    currency EUR
    horizon 60 days
    stage a { entry; dwell 5 days }
    stage b { goal; terminal }
    stage lost { terminal }
    touchpoint e { channel email; cost 0.10 EUR }
    touchpoint s { channel sms; cost 0.50 EUR }
    a -> b 10%
    a -> lost otherwise
    trigger t { when in a for 2 days; send e; then -> b }
    segment seg 50% { trigger t { send s } }
    scenario off { without trigger t }
}
"""

WINBACK_CASE = """\
journey "Win-back" {
    currency EUR
    horizon 1 year
    stage customer { entry; goal; active; dwell 30 days; revenue 20 EUR every month }
    stage lapsed { dwell 14 days }
    stage gone { terminal }
    customer -> lapsed 50%
    customer -> gone otherwise
    lapsed -> customer 40%
    lapsed -> gone otherwise
    segment vip "VIP" 50% { lapsed -> customer 20% }
    scenario no_winback "No win-back" { without lapsed -> customer }
}
"""


def _simulate_json(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    code = main(["simulate", str(path), "-n", "2000", "--seed", "3", "--format", "json", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "internal error" not in err and "Traceback" not in err
    return {a["name"]: a for a in json.loads(out)["scenarios"]}


def test_a_trigger_a_segment_changes_and_a_scenario_removes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "trigger.journey"
    path.write_text(TRIGGER_CASE, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().err == ""
    arms = _simulate_json(capsys, path)
    base, off = arms["baseline"], arms["off"]
    # in the baseline everyone is nudged on day 2: the segment by sms, the others by email
    assert base["triggers"]["t"]["fired_per_customer"] == 1.0
    assert base["touchpoints"]["s"]["contacts_per_customer"] > 0.4
    assert base["touchpoints"]["e"]["contacts_per_customer"] > 0.4
    # without the trigger nobody is nudged, in the segment either
    assert off["triggers"]["t"]["fired_per_customer"] == 0.0
    assert off["touchpoints"]["s"]["contacts_per_customer"] == 0.0
    assert off["touchpoints"]["e"]["contacts_per_customer"] == 0.0
    assert off["segments"]["seg"]["metrics"]["cost_per_customer"]["mean"] == 0.0
    # and the report, which crashed the same way, is written
    html = tmp_path / "report.html"
    assert main(["report", str(path), "-o", str(html), "-n", "500", "-q"]) == 0
    assert html.stat().st_size > 0


def test_a_scenario_without_an_arrow_removes_it_for_a_segment_that_changed_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "winback.journey"
    path.write_text(WINBACK_CASE, encoding="utf-8")
    arms = _simulate_json(capsys, path)
    lapsed_base = arms["baseline"]["stages"]["lapsed"]
    lapsed_off = arms["no_winback"]["stages"]["lapsed"]
    assert lapsed_base["traversals_per_customer"]["customer"] > 0.05  # win-back runs in the baseline
    # "no win-back" means none, VIPs included: nobody goes back from lapsed to customer
    assert lapsed_off["traversals_per_customer"].get("customer", 0.0) == 0.0
    assert "customer" not in lapsed_off["exits"]
    assert arms["no_winback"]["stages"]["customer"]["mean_visits"] == 1.0
    # the journey each customer of the scenario follows, VIPs included, has no such arrow
    journey = jd.loads(WINBACK_CASE)
    for name, _share, sj in journey.with_scenario("no_winback").segment_journeys():
        assert ("lapsed", "customer") not in {t.key for t in sj.transitions}, name


# --- the precedence, combination by combination -----------------------------------

ITEMS = """\
    currency EUR
    horizon 90 days
    stage a { entry; dwell 5 days }
    stage b { dwell 3 days }
    stage c { goal; active; revenue 10 EUR every month }
    stage lost { terminal }
    touchpoint e { channel email; cost 0.10 EUR; response 20% }
    touchpoint s { channel sms; cost 0.50 EUR }
    a -> b 30%
    a -> c 10%
    a -> lost otherwise
    b -> c 40%
    b -> lost otherwise
    c -> lost 5% per month
    trigger t { when in a for 2 days; send e; then 20% -> b }
"""

BASE = (
    'journey "Merge" {{\n'
    + ITEMS.replace("{", "{{").replace("}", "}}")
    + "    segment seg 50% {{\n        {seg}\n    }}\n"
    + "    scenario sc {{\n        {sc}\n    }}\n}}\n"
)


def merge(seg: str, sc: str) -> dict[str, Journey]:
    """The journeys of the default customers and of segment 'seg' in scenario 'sc'."""
    journey = jd.loads(BASE.format(seg=seg, sc=sc), "merge.journey")
    return {name: sj for name, _s, sj in journey.with_scenario("sc").segment_journeys()}


def look(j: Journey, what: str) -> Any:
    """One item of a merged journey, as a small tuple (None: it is not there)."""
    kind, _, name = what.partition(" ")
    if kind == "stage":
        st_ = j.stage(name)
        return (st_.dwell.value if st_.dwell else None, tuple(f.amount for f in st_.costs))
    if kind == "edge":
        src, dst = name.split("->")
        t = next((t for t in j.transitions if t.key == (src, dst)), None)
        return None if t is None else (t.share, t.rate, t.otherwise)
    if kind == "touchpoint":
        tp = next((t for t in j.touchpoints if t.name == name), None)
        return None if tp is None else (tp.channel, tp.cost, tp.response)
    tg = next((t for t in j.triggers if t.name == name), None)
    return None if tg is None else (tg.when, tg.stage, tg.days, ", ".join(tg.send))


# (what the segment writes, what the scenario writes, the item to look at,
#  it for the default customers in the scenario, it for the segment in the scenario)
PRECEDENCE = [
    # stages: properties merge, the scenario's win where both name one
    ("stage a { dwell 9 days; cost 2 EUR on enter }", "stage a { dwell 1 day }", "stage a",
     (1.0, ()), (1.0, (2.0,))),
    # transitions
    ("a -> b 20%", "without a -> b", "edge a->b", None, None),
    ("a -> b 20%", "a -> b 40%", "edge a->b", (0.4, None, False), (0.4, None, False)),
    ("a -> b 20%", "b -> c 50%", "edge a->b", (0.3, None, False), (0.2, None, False)),
    ("without a -> b", "a -> b 40%", "edge a->b", (0.4, None, False), None),
    ("without a -> b", "without a -> b", "edge a->b", None, None),
    ("b -> a 10%", "b -> a 5%", "edge b->a", (0.05, None, False), (0.05, None, False)),
    ("b -> a 10%", "without b -> a", "edge b->a", None, None),
    ("b -> a 10%", "stage a { dwell 1 day }", "edge b->a", None, (0.1, None, False)),
    # touchpoints
    ("touchpoint e { cost 1 EUR; response 50% }", "touchpoint e { cost 2 EUR }", "touchpoint e",
     ("email", 2.0, 0.2), ("email", 2.0, 0.5)),
    ("touchpoint p { channel push; cost 1 EUR; response 50% }",
     "touchpoint p { channel sms; cost 3 EUR }", "touchpoint p",
     ("sms", 3.0, None), ("sms", 3.0, 0.5)),
    ("touchpoint p { channel push; cost 1 EUR }", "touchpoint p { cost 3 EUR }", "touchpoint p",
     None, ("push", 3.0, None)),
    # triggers
    ("trigger t { send s }", "without trigger t", "trigger t", None, None),
    ("trigger t { send s }", "trigger t { when in a for 1 day }", "trigger t",
     ("in", "a", 1.0, "e"), ("in", "a", 1.0, "s")),
    ("without trigger t", "trigger t { send s }", "trigger t", ("in", "a", 2.0, "s"), None),
    ("without trigger t", "trigger t { when in b for 1 day; send s; then 10% -> c }", "trigger t",
     ("in", "b", 1.0, "s"), None),
    ("without trigger t", "without trigger t", "trigger t", None, None),
    ("trigger v { when enter b; send s }", "without trigger v", "trigger v", None, None),
    ("trigger v { when enter b; send s }", "trigger v { send e }", "trigger v",
     None, ("enter", "b", None, "e")),
    ("trigger v { when enter b; send s }", "trigger v { when in b for 1 day; send e }", "trigger v",
     ("in", "b", 1.0, "e"), ("in", "b", 1.0, "e")),
]


@pytest.mark.parametrize(("seg", "sc", "what", "default", "segment"), PRECEDENCE)
def test_the_scenario_applies_on_top_of_the_segment(
    seg: str, sc: str, what: str, default: Any, segment: Any
) -> None:
    merged = merge(seg, sc)
    assert look(merged["default"], what) == default
    assert look(merged["seg"], what) == segment


def test_the_segment_keeps_its_changes_the_scenario_does_not_touch() -> None:
    merged = merge("a -> b 20%\n        trigger t { send s }", "touchpoint e { cost 1 EUR }")
    seg = merged["seg"]
    assert look(seg, "edge a->b") == (0.2, None, False)
    assert look(seg, "trigger t") == ("in", "a", 2.0, "s")
    assert look(seg, "touchpoint e") == ("email", 1.0, 0.2)


def test_merged_journeys_are_what_the_layers_give_in_order() -> None:
    text = BASE.format(
        seg="a -> b 20%\n        trigger v { when enter b; send s }\n        without trigger t",
        sc="without a -> b\n        a -> c 60%\n        trigger v { send e }",
    )
    journey = jd.loads(text)
    plain = journey.model_copy(update={"segments": (), "scenarios": ()})
    seg, sc = journey.segments[0], journey.scenarios[0]
    direct = apply_overrides(apply_overrides(plain, seg.overrides), sc.overrides, baseline=plain)
    via = dict((n, j) for n, _s, j in journey.with_scenario("sc").segment_journeys())["seg"]
    assert _canon(via) == _canon(direct)


# --- what cannot merge is a diagnostic at check time --------------------------------

DIAGNOSED = [
    # each merge on its own is fine; together the shares out of 'a' pass 100%
    ("a -> c 50%", "a -> b 60%", "E302",
     "in segment 'seg' in scenario 'sc': shares out of 'a' add up to 110% (at most 100%)",
     "a -> b 60%"),
    # the segment makes 'b' a stage of rates, the scenario gives it a branch
    ("b -> c 5% per month\n        b -> lost 10% per month", "b -> c 50%", "E401",
     "in segment 'seg' in scenario 'sc': 'b' mixes branches and rates in its exits",
     "b -> lost 10% per month"),
    # the scenario sends a touchpoint only the segment has: the others have no 'p'
    ("touchpoint p { channel push }", "touchpoint p { cost 3 EUR }\n        trigger t { send p }",
     "E202", "in scenario 'sc': unknown touchpoint 'p'", "trigger t { send p }"),
    ("stage a { dwell 1 day }", "trigger v { send e }", "E310",
     "new trigger 'v' in scenario 'sc' has no 'when'", "trigger v { send e }"),
    ("stage a { dwell 1 day }", "without trigger v", "E203", "unknown trigger 'v'",
     "without trigger v"),
    ("without b -> a", "stage a { dwell 1 day }", "E204", "there is no transition 'b -> a'",
     "without b -> a"),
    ("trigger t { send s }\n        without trigger t", "stage a { dwell 1 day }", "E311",
     "segment 'seg' both changes and removes trigger 't'", "without trigger t"),
]


@pytest.mark.parametrize(("seg", "sc", "code", "message", "line"), DIAGNOSED)
def test_what_cannot_merge_is_reported_at_check_time(
    seg: str, sc: str, code: str, message: str, line: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = BASE.format(seg=seg, sc=sc)
    with pytest.raises(JourneyError) as info:
        jd.loads(text, "merge.journey")
    errors = [d for d in info.value.errors if d.code == code]
    assert [d.message for d in errors] == [message]
    span = errors[0].span
    assert span is not None and text.splitlines()[span.line - 1].strip() == line
    assert errors[0].hint  # says what to do
    # on the command line: file:line:col, the line, a caret, exit 1, no crash
    path = tmp_path / "merge.journey"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    _out, err = capsys.readouterr()
    assert f"merge.journey:{span.line}:{span.col}: error: {message}" in err
    assert "^" in err and "Traceback" not in err and "internal error" not in err


# --- property: whatever check accepts, simulate runs -------------------------------

# What a segment or a scenario may write about each item: change, add or remove a
# stage, transition, touchpoint or trigger. Every block says at most one thing
# about an item, and often the same items as another block, so that segments and
# scenarios overlap; some choices are only valid in a scenario over a segment
# that adds the item, some never (they must be diagnostics, not crashes).
ITEM_CHANGES: list[list[str]] = [
    ["stage a { dwell 3 days }", "stage a { dwell 1 day; cost 1 EUR on enter }"],
    ["stage b { touch e on enter }", "stage b { dwell 1 day }"],
    ["stage c { revenue 12 EUR every month }", "stage c { active }"],
    ["a -> b 50%", "a -> b 20% via s", "a -> c 70%", "without a -> b"],
    ["b -> c 30%", "b -> c 80%", "without b -> c"],
    ["b -> a 10%", "c -> b 2% per month", "!without b -> a"],
    ["touchpoint e { cost 1 EUR }", "touchpoint s { response 50% }"],
    ["touchpoint p { channel push; cost 0.05 EUR }", "!touchpoint p { cost 2 EUR }"],
    ["trigger t { send s }", "trigger t { when in b for 1 day }", "trigger t { then 50% -> c }",
     "without trigger t"],
    ["trigger v { when in b for 1 day; send e; then 10% -> c }", "!trigger v { send s }",
     "trigger v { when enter a; then 5% -> lost }", "!without trigger v"],
    ["trigger w { every 7 days in c; send s; limit 2 }", "!without trigger w"],
]
"""Choices marked ``!`` name what only a segment adds: a scenario may write them."""


@st.composite
def blocks(draw: st.DrawFn, scenario: bool) -> list[str]:
    out: list[str] = []
    for options in ITEM_CHANGES:
        usable = [o.lstrip("!") for o in options if scenario or not o.startswith("!")]
        if usable and draw(st.booleans()):
            out.append(draw(st.sampled_from(usable)))
    return out


@st.composite
def layered_journeys(draw: st.DrawFn) -> str:
    segs = draw(st.lists(blocks(scenario=False), min_size=1, max_size=2))
    scs = draw(st.lists(blocks(scenario=True), min_size=1, max_size=2))
    body = ['journey "Layers" {', ITEMS.rstrip("\n")]
    for kind, written in (("segment", segs), ("scenario", scs)):
        for i, block in enumerate(written):
            body.append(f"    {kind} {kind[:3]}{i}" + (" 30%" if kind == "segment" else "") + " {")
            body += [f"        {c}" for c in block]
            body.append("    }")
    return "\n".join(body) + "\n}\n"


def _canon(j: Journey) -> Any:
    """A journey's meaning with the order of transitions and triggers left out."""
    d = j.model_dump()
    d["transitions"] = sorted(d["transitions"], key=lambda t: (t["source"], t["target"]))
    d["triggers"] = sorted(d["triggers"], key=lambda t: t["name"])
    d["touchpoints"] = sorted(d["touchpoints"], key=lambda t: t["name"])
    d.pop("segments")
    return d


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layered_journeys(), st.integers(0, 2**16))
def test_every_journey_check_accepts_simulates(text: str, seed: int) -> None:
    try:
        journey = jd.loads(text, "layers.journey")
    except JourneyError as exc:  # rejected: with diagnostics that point somewhere
        assert exc.errors and all(d.span is not None for d in exc.errors), text
        return
    plain = journey.model_copy(update={"segments": (), "scenarios": ()})
    for sc in journey.scenarios:
        merged = dict((n, j) for n, _s, j in journey.with_scenario(sc.name).segment_journeys())
        for seg in journey.segments:  # the stored merge is the layers applied in order
            direct = apply_overrides(
                apply_overrides(plain, seg.overrides), sc.overrides, baseline=plain
            )
            assert _canon(merged[seg.name]) == _canon(direct)
    results = jd.simulate(journey, customers=200, seed=seed, scenarios=None, horizon_days=60)
    assert [a.name for a in results.arms] == ["baseline", *(s.name for s in journey.scenarios)]
