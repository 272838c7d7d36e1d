"""Generated small journeys: the simulated conversion agrees with the exact answer."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from journeydsl.engine.exact import ExactUnsupported, solve
from journeydsl.engine.montecarlo import simulate
from journeydsl.language.model import Dist, Journey, Stage, Transition, Trigger

DISTS = st.sampled_from(
    [
        Dist(kind="exponential", mean=3),
        Dist(kind="gamma", shape=2, mean=4),
        Dist(kind="uniform", low=1, high=5),
        Dist(kind="lognormal", mean=2, sd=1),
        Dist(kind="weibull", shape=0.8, scale=2),
        Dist(kind="fixed", value=1.5),
    ]
)


@st.composite
def journeys(draw: st.DrawFn) -> Journey:
    k = draw(st.integers(2, 4))
    names = [f"s{i}" for i in range(k)]
    stages = [Stage(name=n, entry=1.0 if i == 0 else None, dwell=draw(DISTS)) for i, n in enumerate(names)]
    stages += [Stage(name="won", goal=True, terminal=True), Stage(name="lost", terminal=True)]
    transitions: list[Transition] = []
    for n in names:
        if draw(st.booleans()):  # rate form: competing exits, one of them out of the loop
            targets = draw(st.lists(st.sampled_from([*names, "won"]), min_size=1, max_size=2, unique=True))
            for t in [*targets, "lost"]:
                transitions.append(
                    Transition(
                        source=n,
                        target=t,
                        rate=draw(st.floats(0.1, 0.9)),
                        period_days=draw(st.sampled_from([7.0, 30.0])),
                    )
                )
        else:
            targets = draw(st.lists(st.sampled_from([*names, "won"]), min_size=1, max_size=3, unique=True))
            left = 0.9
            for t in targets:
                share = round(draw(st.floats(0.05, 0.45)) * left / 0.45, 3)
                share = min(share, left)
                left -= share
                transitions.append(Transition(source=n, target=t, share=share))
            transitions.append(Transition(source=n, target="lost", otherwise=True))
    triggers: list[Trigger] = []
    for i in range(draw(st.integers(0, 2))):  # automation that moves responders part-way through a stay
        when = draw(st.sampled_from(["enter", "in", "every"]))
        triggers.append(
            Trigger(
                name=f"t{i}",
                when=when,
                stage=draw(st.sampled_from(names)),
                days=None if when == "enter" else draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
                response=draw(st.sampled_from([0.3, 1.0])),
                then_share=draw(st.sampled_from([0.2, 0.5])),
                then_stage=draw(st.sampled_from([*names, "won", "lost"])),
                limit=draw(st.sampled_from([None, 2])) if when == "every" else None,
            )
        )
    return Journey(name="generated", stages=tuple(stages), transitions=tuple(transitions), triggers=tuple(triggers))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys(), st.integers(0, 2**31 - 1))
def test_generated_journeys_convert_at_the_exact_rate(j: Journey, seed: int) -> None:
    n = 4_000
    try:
        ex = solve(j)
    except ExactUnsupported:  # a reroute can close a loop with no way out
        assume(False)
        return
    r = simulate(j, customers=n, seed=seed, horizon_days=1e7)
    p = ex.conversion
    se = math.sqrt(max(p * (1 - p), 1e-4) / n)
    sim = r.baseline.metrics["conversion_rate"]["mean"]
    assert abs(sim - p) <= 4.5 * se, (sim, p)
    if ex.time_to_convert_days is not None and p > 0.05:
        fig = r.baseline.metrics["time_to_convert_days"]
        se = (fig["ci95"][1] - fig["ci95"][0]) / 2 / 1.96
        assert abs(fig["mean"] - ex.time_to_convert_days) <= 4.5 * se + 1e-9, (fig["mean"], ex.time_to_convert_days)
    for name, visits in ex.visits.items():
        got = r.baseline.stages[name]["mean_visits"]
        assert got >= 0
        if visits == 0:
            assert got == 0
