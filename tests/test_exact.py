"""Exact answers by absorbing-chain algebra, checked against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from journeydsl.engine.exact import ExactUnsupported, solve
from journeydsl.language.model import (
    CashFlow,
    Dist,
    Journey,
    Overrides,
    Segment,
    Stage,
    Touchpoint,
    Transition,
    Trigger,
)

WON = Stage(name="won", goal=True, terminal=True, revenue=(CashFlow(amount=100),))
LOST = Stage(name="lost", terminal=True)


def funnel() -> Journey:
    return Journey(
        name="funnel",
        stages=(
            Stage(name="a", entry=1.0, dwell=Dist(kind="fixed", value=2), touches=("ad",)),
            Stage(name="b", dwell=Dist(kind="uniform", low=4, high=6)),
            WON,
            LOST,
        ),
        transitions=(
            Transition(source="a", target="b", share=0.5),
            Transition(source="a", target="lost", otherwise=True),
            Transition(source="b", target="won", share=0.2, after=Dist(kind="fixed", value=10), via="demo"),
            Transition(source="b", target="lost", otherwise=True),
        ),
        touchpoints=(
            Touchpoint(name="ad", channel="ads", cost=1.0),
            Touchpoint(name="demo", channel="phone", cost=15.0),
        ),
    )  # fmt: skip


def test_funnel_by_hand() -> None:
    r = solve(funnel())
    assert r.conversion == pytest.approx(0.1)
    assert r.visits == pytest.approx({"a": 1.0, "b": 0.5, "won": 0.1, "lost": 0.9})
    assert r.time_to_convert_days == pytest.approx(2 + 10)  # the branch's own delay
    assert r.revenue_on_enter == pytest.approx(10.0)
    assert r.cost_on_enter == pytest.approx(1.0 + 0.1 * 15)
    assert r.by_segment == {}


def test_competing_rates_and_self_loop() -> None:
    j = Journey(
        name="rates",
        stages=(
            Stage(name="a", entry=1.0, revenue=(CashFlow(amount=1),)),
            WON,
            LOST,
        ),
        transitions=(
            Transition(source="a", target="won", rate=0.5, period_days=10),
            Transition(source="a", target="lost", rate=0.5, period_days=10),
        ),
    )
    r = solve(j)
    assert r.conversion == pytest.approx(0.5)
    hazard = 2 * j.transitions[0].hazard
    assert r.time_to_convert_days == pytest.approx(1 / hazard)
    # a self-loop re-enters: a -> a 50% gives two visits of a on average
    loop = Journey(
        name="loop",
        stages=(Stage(name="a", entry=1.0, dwell=Dist(kind="exponential", mean=1)), WON, LOST),
        transitions=(
            Transition(source="a", target="a", share=0.5),
            Transition(source="a", target="won", share=0.1),
            Transition(source="a", target="lost", otherwise=True),
        ),
    )
    r2 = solve(loop)
    assert r2.visits["a"] == pytest.approx(2.0)
    assert r2.conversion == pytest.approx(0.2)
    # converters spend on average 2 stays of mean 1 day (conditioning does not change the stays)
    assert r2.time_to_convert_days == pytest.approx(2.0)


def test_remainder_without_otherwise_stays_forever() -> None:
    j = Journey(
        name="stuck",
        stages=(Stage(name="a", entry=1.0), WON),
        transitions=(Transition(source="a", target="won", share=0.3),),
    )
    r = solve(j)
    assert r.conversion == pytest.approx(0.3)
    assert r.visits["a"] == pytest.approx(1.0)


def test_entry_on_a_goal_and_several_entries() -> None:
    j = Journey(
        name="entries",
        stages=(
            Stage(name="a", entry=0.25, goal=True, terminal=True),
            Stage(name="b", entry=0.75, dwell=Dist(kind="fixed", value=4)),
            LOST,
        ),
        transitions=(
            Transition(source="b", target="a", share=0.5),
            Transition(source="b", target="lost", otherwise=True),
        ),
    )
    r = solve(j)
    assert r.conversion == pytest.approx(0.25 + 0.75 * 0.5)
    assert r.time_to_convert_days == pytest.approx((0.75 * 0.5 * 4) / (0.25 + 0.375))


def test_segments_are_mixed_by_share() -> None:
    j = funnel().model_copy(
        update={
            "segments": (
                Segment(
                    name="vip",
                    share=0.4,
                    overrides=Overrides(transitions=(Transition(source="b", target="won", share=0.6),)),
                ),
            )
        }
    )
    r = solve(j)
    assert r.by_segment["default"].conversion == pytest.approx(0.1)
    assert r.by_segment["vip"].conversion == pytest.approx(0.3)
    assert r.conversion == pytest.approx(0.6 * 0.1 + 0.4 * 0.3)
    # the vip `b -> won` has no `after`, so it waits b's dwell (mean 5)
    expected_t = (0.6 * 0.1 * 12 + 0.4 * 0.3 * 7) / r.conversion
    assert r.time_to_convert_days == pytest.approx(expected_t)


def test_rerouting_triggers_by_hand() -> None:
    # b's stay is uniform(4, 6); a push on day 5 moves half the responders (response 100%) to won
    j = funnel().model_copy(
        update={"triggers": (Trigger(name="push", when="in", stage="b", days=5, then_share=0.5, then_stage="won"),)}
    )
    r = solve(j)
    # the 20% going to won after 10 days: half of them still there on day 5 move on day 5
    # the 80% going to lost after uniform(4, 6): half are still there on day 5, half of those move
    conv = 0.5 * (0.2 + 0.8 * 0.5 * 0.5)
    assert r.conversion == pytest.approx(conv)
    t_won = 0.2 * (0.5 * 5 + 0.5 * 10) + 0.8 * 0.5 * 0.5 * 5  # days in b of b's converters
    assert r.time_to_convert_days == pytest.approx(2 + t_won / (conv / 0.5))
    # an enter trigger moves its share at once; a later `in` trigger sees only the rest
    k = funnel().model_copy(
        update={
            "triggers": (
                Trigger(name="late", when="in", stage="a", days=1, then_share=1.0, then_stage="won"),
                Trigger(name="now", when="enter", stage="a", then_share=0.25, then_stage="won"),
            )
        }
    )
    r2 = solve(k)
    # a's dwell is a fixed 2 days, so everyone left after 'now' is moved on day 1
    assert r2.conversion == pytest.approx(1.0)
    assert r2.time_to_convert_days == pytest.approx(0.75 * 1.0)
    assert r2.visits["b"] == pytest.approx(0.0)


def test_every_trigger_on_a_terminal_stage_moves_everyone_eventually() -> None:
    j = Journey(
        name="parked",
        stages=(Stage(name="parked", entry=1.0, terminal=True), WON),
        triggers=(
            Trigger(name="ping", when="every", stage="parked", days=7, response=0.5, then_share=0.2, then_stage="won"),
        ),
    )
    r = solve(j)
    assert r.conversion == pytest.approx(1.0)
    # geometric number of firings with success 0.1, a week apart
    assert r.time_to_convert_days == pytest.approx(7 / 0.1)
    limited = j.model_copy(update={"triggers": (j.triggers[0].model_copy(update={"limit": 3}),)})
    assert solve(limited).conversion == pytest.approx(1 - 0.9**3)


def test_survival_and_partial_means_of_every_distribution() -> None:
    from journeydsl.engine.exact import _Law

    rng = np.random.default_rng(0)
    from journeydsl.engine.montecarlo.sampling import sampler

    for dist in (
        Dist(kind="fixed", value=3),
        Dist(kind="exponential", mean=3),
        Dist(kind="gamma", shape=2.5, mean=3),
        Dist(kind="lognormal", mean=3, sd=2),
        Dist(kind="uniform", low=1, high=5),
        Dist(kind="weibull", shape=1.7, scale=3),
        Dist(kind="normal", mean=2, sd=2),
    ):
        x = sampler(dist).draw(rng, 400_000)
        law = _Law(dist)
        assert law.mean == pytest.approx(x.mean(), rel=0.01), dist.kind
        for o in (0.5, 2.0, 4.5):
            assert law.survival(o) == pytest.approx((x > o).mean(), abs=0.003), (dist.kind, o)
            assert law.partial_mean(o) == pytest.approx((x * (x <= o)).mean(), abs=0.01), (dist.kind, o)


def test_unsupported_loops_are_named() -> None:
    trapped = Journey(
        name="trapped",
        stages=(
            Stage(name="a", entry=1.0, dwell=Dist(kind="fixed", value=1)),
            Stage(name="b", dwell=Dist(kind="fixed", value=1)),
        ),
        transitions=(
            Transition(source="a", target="b", otherwise=True),
            Transition(source="b", target="a", otherwise=True),
        ),
    )  # fmt: skip
    with pytest.raises(ExactUnsupported, match="loop forever among 'a', 'b'") as err:
        solve(trapped)
    assert "infinite" in err.value.reason


def test_triggers_without_then_leave_cost_unanswered() -> None:
    j = funnel().model_copy(update={"triggers": (Trigger(name="mail", when="enter", stage="b", send="ad"),)})
    r = solve(j)
    assert r.conversion == pytest.approx(0.1)
    assert r.cost_on_enter is None
