"""The reference journey of the engine benchmark, built with the model constructors."""

from __future__ import annotations

from journeydsl.language.model import DAYS, Dist, Journey, Purchases, Stage, Touchpoint, Transition, Trigger

__all__ = ["reference_journey"]


def reference_journey() -> Journey:
    """visitor -> lead -> trial -> customer, with a day-7 nudge in trial and monthly purchases."""
    month = DAYS["month"]
    return Journey(
        name="Benchmark reference",
        currency="EUR",
        horizon_days=365,
        discount=0.10,
        stages=(
            Stage(name="visitor", entry=1.0, dwell=Dist(kind="exponential", mean=2)),
            Stage(name="lead", dwell=Dist(kind="gamma", shape=2, mean=5)),
            Stage(name="trial", dwell=Dist(kind="uniform", low=7, high=14)),
            Stage(
                name="customer",
                goal=True,
                active=True,
                purchases=(Purchases(rate=1, per_days=month, worth=Dist(kind="lognormal", mean=49, sd=20)),),
            ),
            Stage(name="churned", terminal=True),
            Stage(name="lost", terminal=True),
        ),
        transitions=(
            Transition(source="visitor", target="lead", share=0.30),
            Transition(source="visitor", target="lost", otherwise=True),
            Transition(source="lead", target="trial", share=0.40),
            Transition(source="lead", target="lost", otherwise=True),
            Transition(source="trial", target="customer", share=0.25),
            Transition(source="trial", target="lost", otherwise=True),
            Transition(source="customer", target="churned", rate=0.05, period_days=month),
        ),
        touchpoints=(Touchpoint(name="email", channel="email", cost=0.02, response=0.20),),
        triggers=(
            Trigger(
                name="nudge",
                when="in",
                stage="trial",
                days=7,
                send="email",
                then_share=0.30,
                then_stage="customer",
            ),
        ),
    )
