"""The validation checks as pure functions over models, and how variants are checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from journeydsl.language import checks
from journeydsl.language.checks import CHECKS, CODES, check_all
from journeydsl.language.compile import compile_text
from journeydsl.language.errors import JourneyError
from journeydsl.language.graph import zero_time_cycles
from journeydsl.language.model import Dist, Journey, Scenario, Stage, Touchpoint, Transition, Trigger
from journeydsl.language.model import Overrides as Ov
from journeydsl.language.source import Span

ROOT = Path(__file__).resolve().parent.parent


def journey(*transitions: Transition, stages: tuple[Stage, ...] | None = None,
            **kw: object) -> Journey:
    """a (entry, dwell 1 day) -> b (goal, active) -> c (terminal), plus the given edges."""
    if stages is None:
        stages = (
            Stage(name="a", entry=1.0, dwell=Dist(kind="fixed", value=1)),
            Stage(name="b", goal=True, active=True),
            Stage(name="c", terminal=True),
        )
    return Journey(name="j", stages=stages, transitions=transitions, **kw)  # type: ignore[arg-type]


def br(src: str, dst: str, share: float | None = None, **kw: object) -> Transition:
    if share is None:
        return Transition(source=src, target=dst, otherwise=True, **kw)  # type: ignore[arg-type]
    return Transition(source=src, target=dst, share=share, **kw)  # type: ignore[arg-type]


def rate(src: str, dst: str, p: float, days: float = 30) -> Transition:
    return Transition(source=src, target=dst, rate=p, period_days=days)


GOOD = (br("a", "b", 0.3), br("a", "c"), rate("b", "c", 0.05))


def codes(diags: list) -> list[str]:
    return [d.code for d in diags]


def test_a_good_journey_passes_every_check() -> None:
    j = journey(*GOOD)
    for check in CHECKS:
        assert check(j) == [], check.__name__
    assert check_all(j) == []


def test_checks_are_listed_once_and_documented() -> None:
    assert len(set(CHECKS)) == len(CHECKS)
    assert all(c.__doc__ for c in CHECKS)
    assert set(CHECKS) == {getattr(checks, n) for n in checks.__all__ if n.startswith("check_")
                           and n != "check_all"}


def test_every_code_used_is_in_the_table_and_the_docs() -> None:
    used: set[str] = set()
    for path in (ROOT / "journeydsl" / "language").glob("*.py"):
        used |= set(re.findall(r'"([EW]\d{3})"', path.read_text(encoding="utf-8")))
    assert len(used) > 50 and used <= set(CODES)
    docs = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    for code, slug in CODES.items():
        assert f"`{code}`" in docs and slug in docs, code


def test_duplicate_names() -> None:
    j = journey(*GOOD, touchpoints=(Touchpoint(name="t", channel="sms"),
                                    Touchpoint(name="t", channel="sms")))
    assert codes(checks.check_names(j)) == ["E210"]
    j2 = journey(*GOOD, br("a", "b", 0.1))
    assert codes(checks.check_names(j2)) == ["E210"]


def test_unknown_references_with_did_you_mean() -> None:
    j = journey(br("a", "bb", 0.3), br("a", "c", via="dmo"), rate("b", "c", 0.05),
                touchpoints=(Touchpoint(name="demo", channel="phone"),),
                triggers=(Trigger(name="g", when="enter", stage="x", then_share=1,
                                  then_stage="cc", send="demo"),))
    diags = checks.check_references(j)
    assert [(d.code, d.message, d.hint) for d in diags] == [
        ("E201", "unknown stage 'bb'", "did you mean 'b'?"),
        ("E202", "unknown touchpoint 'dmo'", "did you mean 'demo'?"),
        ("E201", "unknown stage 'x'", "the stages here are 'a', 'b', 'c'"),
        ("E201", "unknown stage 'cc'", "did you mean 'c'?"),
    ]


@pytest.mark.parametrize("share", [-0.1, 1.2, float("nan")])
def test_share_out_of_range(share: float) -> None:
    j = journey(br("a", "b", share), br("a", "c"), rate("b", "c", 0.05))
    assert codes(checks.check_share_ranges(j)) == ["E301"]


def test_branch_sum_over_100_states_the_sum_and_the_edges() -> None:
    span = Span(5, 5, 5, 15)
    j = journey(br("a", "b", 0.7, span=span), br("a", "c", 0.45), rate("b", "c", 0.05))
    (d,) = checks.check_branch_shares(j)
    assert d.code == "E302" and d.span == span
    assert d.message == "shares out of 'a' add up to 115% (at most 100%)"
    assert d.hint == "the branches are: b 70% (line 5), c 45%"


def test_remainder_without_otherwise_warns() -> None:
    j = journey(br("a", "b", 0.3), rate("b", "c", 0.05))
    (d,) = checks.check_branch_shares(j)
    assert d.code == "W503" and d.severity == "warning" and "70%" in d.message


def test_several_otherwise_and_useless_otherwise() -> None:
    j = journey(br("a", "b"), br("a", "c"), rate("b", "c", 0.05))
    assert codes(checks.check_branch_shares(j)) == ["E405"]
    j2 = journey(br("a", "b", 1.0), br("a", "c"), rate("b", "c", 0.05))
    assert codes(checks.check_branch_shares(j2)) == ["W508"]


def test_mixed_forms() -> None:
    j = journey(br("a", "b", 0.3), rate("a", "c", 0.1), rate("b", "c", 0.05))
    assert codes(checks.check_mixed_forms(j)) == ["E401"]


def test_instant_rate_warns() -> None:
    assert codes(checks.check_rates(journey(br("a", "b"), rate("b", "c", 1.0)))) == ["W505"]


def test_exit_from_terminal() -> None:
    j = journey(*GOOD, br("c", "a"))
    assert codes(checks.check_exits_of_terminal(j)) == ["E402"]
    j2 = journey(*GOOD, triggers=(Trigger(name="g", when="enter", stage="c", then_share=1,
                                          then_stage="a"),))
    assert codes(checks.check_exits_of_terminal(j2)) == ["E402"]


def test_entries() -> None:
    no_entry = (Stage(name="a"), Stage(name="b", goal=True, terminal=True))
    assert codes(checks.check_entries(journey(br("a", "b"), stages=no_entry))) == ["E403"]
    split = (Stage(name="a", entry=0.6), Stage(name="b", entry=0.3, goal=True, terminal=True))
    (d,) = checks.check_entries(journey(br("a", "b"), stages=split))
    assert d.code == "E312" and "90%" in d.message


def test_zero_time_loops_agree_with_the_graph_module() -> None:
    stages = (Stage(name="a", entry=1.0), Stage(name="b"), Stage(name="c", goal=True,
                                                                 terminal=True))
    j = journey(br("a", "b", 0.5), br("a", "c"), br("b", "a"), stages=stages)
    (d,) = checks.check_zero_time_loops(j)
    assert d.code == "E404" and "a -> b -> a" in d.message
    assert len(zero_time_cycles(j)) == 1
    delayed = journey(br("a", "b", 0.5), br("a", "c"),
                      br("b", "a", after=Dist(kind="fixed", value=1)), stages=stages)
    assert checks.check_zero_time_loops(delayed) == [] and zero_time_cycles(delayed) == []
    self_loop = journey(br("a", "a", 0.5), br("a", "c"), stages=stages)
    assert codes(checks.check_zero_time_loops(self_loop)) == ["E404"]
    zero_delay = journey(br("a", "a", 0.5, after=Dist(kind="uniform", low=0, high=0)),
                         br("a", "c"), stages=stages)
    assert codes(checks.check_zero_time_loops(zero_delay)) == ["E404"]


def test_rate_loops_take_time() -> None:
    stages = (Stage(name="a", entry=1.0, goal=True, active=True), Stage(name="b"))
    j = journey(rate("a", "b", 0.1), rate("b", "a", 0.5), stages=stages)
    assert checks.check_zero_time_loops(j) == []


def test_trigger_reroute_on_enter_can_close_a_zero_time_loop() -> None:
    stages = (Stage(name="a", entry=1.0, dwell=Dist(kind="fixed", value=1)), Stage(name="b"),
              Stage(name="c", goal=True, terminal=True))
    j = journey(br("a", "c"), br("b", "a", 1.0), stages=stages,
                triggers=(Trigger(name="g", when="enter", stage="a", then_share=0.1,
                                  then_stage="b"),))
    assert codes(checks.check_zero_time_loops(j)) == ["E404"]


def test_reachability_warnings() -> None:
    stages = (Stage(name="a", entry=1.0, dwell=Dist(kind="fixed", value=1)),
              Stage(name="b", goal=True, active=True), Stage(name="c", terminal=True),
              Stage(name="orphan"), Stage(name="limbo", dwell=Dist(kind="fixed", value=1)))
    j = journey(br("a", "b", 0.5), br("a", "limbo"), rate("b", "c", 0.1), br("orphan", "c"),
                stages=stages)
    diags = checks.check_reachability(j)
    assert [(d.code, d.message.split("'")[1]) for d in diags] == [
        ("W501", "orphan"), ("W502", "limbo")]


def test_trigger_reroutes_count_for_reachability() -> None:
    j = journey(br("a", "c"), rate("b", "c", 0.1),
                triggers=(Trigger(name="g", when="in", stage="a", days=1, then_share=0.5,
                                  then_stage="b"),))
    assert checks.check_reachability(j) == [] and checks.check_goals(j) == []


def test_goal_warnings() -> None:
    j = journey(br("a", "c"), rate("b", "c", 0.1))
    (d,) = checks.check_goals(j)
    assert d.code == "W504" and "'b'" in d.message
    no_goal = (Stage(name="a", entry=1.0), Stage(name="c", terminal=True))
    assert codes(checks.check_goals(journey(br("a", "c"), stages=no_goal))) == ["W507"]


def test_trigger_warnings() -> None:
    j = journey(*GOOD, horizon_days=100, touchpoints=(Touchpoint(name="t", channel="sms"),),
                triggers=(
        Trigger(name="g", when="in", stage="b", days=200, send="t"),
        Trigger(name="h", when="enter", stage="b", limit=2, send="t"),
        Trigger(name="k", when="every", stage="b", days=7, send="t"),  # no limit is fine
        Trigger(name="m", when="enter", stage="b"),
    ))
    assert codes(checks.check_triggers(j)) == ["W509", "W506", "W510"]


def test_unused_touchpoints() -> None:
    from journeydsl.language.model import TouchpointPatch

    tps = (Touchpoint(name="t", channel="sms"), Touchpoint(name="u", channel="sms"),
           Touchpoint(name="v", channel="sms"))
    sc = Scenario(name="s", overrides=Ov(transitions=(br("a", "b", 0.3, via="v"),),
                                         touchpoints=(TouchpointPatch(name="u", cost=1),)))
    j = journey(br("a", "b", 0.3, via="t"), br("a", "c"), rate("b", "c", 0.05),
                touchpoints=tps, scenarios=(sc,))
    assert [d.message for d in checks.check_unused_touchpoints(j)] == [
        "touchpoint 'u' is never used"]


def test_segment_shares() -> None:
    from journeydsl.language.model import Segment

    j = journey(*GOOD, segments=(Segment(name="x", share=0.7), Segment(name="y", share=0.5)))
    (d,) = checks.check_segment_shares(j)
    assert d.code == "E314" and "120%" in d.message


def test_check_all_reports_a_scenarios_problem_at_the_override() -> None:
    span = Span(9, 5, 9, 20)
    sc = Scenario(name="push", span=Span(8, 1, 10, 2),
                  overrides=Ov(transitions=(br("a", "b", 0.9, span=span),)))
    j = journey(br("a", "b", 0.3), br("a", "c", 0.7), rate("b", "c", 0.05), scenarios=(sc,))
    (d,) = check_all(j)
    assert d.code == "E302" and d.span == span
    assert d.message == "in scenario 'push': shares out of 'a' add up to 160% (at most 100%)"


def test_check_all_points_at_the_scenario_when_the_cause_is_in_the_base() -> None:
    sc = Scenario(name="slow", span=Span(8, 5, 10, 6),
                  overrides=Ov(transitions=(rate("a", "b", 0.2),)))
    j = journey(br("a", "c", 0.5), rate("b", "c", 0.05), scenarios=(sc,))
    diags = check_all(j)
    mixed = [d for d in diags if d.code == "E401"]
    assert mixed and mixed[0].span is not None and mixed[0].message.startswith("in scenario 'slow'")


def test_scenario_problems_are_reported_through_compile() -> None:
    text = ('journey "T" {\n stage a { entry; dwell 1 day }\n stage b { goal; terminal }\n'
            " a -> b 40%\n a -> a otherwise\n"
            " scenario fast {\n  stage a { dwell 0 days }\n }\n}\n")
    with pytest.raises(JourneyError) as info:
        compile_text(text, "t.journey")
    (d,) = info.value.errors
    assert d.code == "E404" and d.message.startswith("in scenario 'fast': the loop a -> a")


def test_segment_problems_are_reported_through_compile() -> None:
    text = ('journey "T" {\n stage a { entry; dwell 1 day }\n stage b { goal; terminal }\n'
            " a -> b 40%\n a -> a otherwise\n"
            " segment vip 10% {\n  a -> b 70%\n  a -> a 50%\n }\n}\n")
    with pytest.raises(JourneyError) as info:
        compile_text(text, "t.journey")
    msgs = [d.message for d in info.value.errors]
    assert msgs == ["in segment 'vip': shares out of 'a' add up to 120% (at most 100%)"]
    assert info.value.errors[0].span is not None and info.value.errors[0].span.line == 7
