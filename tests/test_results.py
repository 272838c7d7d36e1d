"""The results contract: schema, no NaN, nulls with reasons, independence from workers."""

from __future__ import annotations

import json
import math
import sys

import jsonschema
import numpy as np
import pytest

from journeydsl import api
from journeydsl.engine.montecarlo import _arm_plan, _collect, _Merger, _run_block, _shape, block_sizes, run, simulate
from journeydsl.engine.results import (
    HEADLINE,
    Tally,
    compare,
    load_schema,
    t_quantile,
    wilson,
)
from journeydsl.language.model import (
    CashFlow,
    Dist,
    Journey,
    Overrides,
    Segment,
    Stage,
    StagePatch,
    Touchpoint,
    Transition,
    Trigger,
)


def rich_journey() -> Journey:
    """Segments, a scenario-ready trigger, touches, periodic money and purchases."""
    return Journey(
        name="Rich — «кириллица»",
        currency="EUR",
        horizon_days=400,
        discount=0.08,
        stages=(
            Stage(
                name="visitor",
                label="Посетител",
                phase="Acquisition",
                entry=1.0,
                dwell=Dist(kind="weibull", shape=1.5, scale=3),
                touches=("ads",),
            ),
            Stage(name="trial", dwell=Dist(kind="normal", mean=10, sd=4)),
            Stage(
                name="customer",
                goal=True,
                active=True,
                revenue=(CashFlow(amount=49, period_days=30),),
                costs=(CashFlow(amount=4, period_days=30),),
            ),
            Stage(name="dormant", dwell=Dist(kind="lognormal", mean=20, sd=10)),
            Stage(name="churned", terminal=True),
            Stage(name="lost", terminal=True),
        ),
        transitions=(
            Transition(source="visitor", target="trial", share=0.3),
            Transition(source="visitor", target="lost", otherwise=True),
            Transition(source="trial", target="customer", share=0.25, via="demo"),
            Transition(source="trial", target="lost", otherwise=True),
            Transition(source="customer", target="dormant", rate=0.1, period_days=30),
            Transition(source="customer", target="churned", rate=0.03, period_days=30),
            Transition(source="dormant", target="customer", share=0.4),
            Transition(source="dormant", target="churned", otherwise=True),
        ),
        touchpoints=(
            Touchpoint(name="ads", channel="paid_social", cost=1.2),
            Touchpoint(name="nudge", channel="email", cost=0.02, response=0.2),
            Touchpoint(name="demo", channel="phone", cost=15),
        ),
        triggers=(
            Trigger(
                name="trial_nudge", when="in", stage="trial", days=7, send="nudge",
                then_share=0.3, then_stage="customer",
            ),
            Trigger(name="winback", when="every", stage="dormant", days=5, send="nudge", limit=3),
        ),
        segments=(
            Segment(
                name="enterprise",
                share=0.2,
                overrides=Overrides(
                    transitions=(Transition(source="trial", target="customer", share=0.4),),
                    stages=(
                        StagePatch(name="customer", revenue=(CashFlow(amount=499, period_days=30),)),
                    ),
                ),
            ),
        ),
    )  # fmt: skip


def arms() -> list[tuple[str, Journey]]:
    j = rich_journey()
    faster = j.model_copy(
        update={
            "triggers": tuple(t.model_copy(update={"days": 3.0}) if t.name == "trial_nudge" else t for t in j.triggers)
        }
    )
    return [("baseline", j), ("faster", faster)]


def test_json_validates_and_has_no_nan() -> None:
    r = run(arms(), 30_000, 42)
    d = r.to_dict()
    jsonschema.validate(d, load_schema())
    text = json.dumps(d, allow_nan=False, ensure_ascii=False)
    assert "кириллица" in text
    assert d["batches"] == 20 and d["customers"] == 30_000
    base, other = d["scenarios"]
    assert "versus_baseline" not in base
    assert set(other["versus_baseline"]) == set(HEADLINE)
    assert set(base["segments"]) == {"default", "enterprise"}
    assert base["stages"]["visitor"]["label"] == "Посетител"
    assert base["stages"]["visitor"]["phase"] == "Acquisition"
    # the earlier nudge moves more trial customers on
    assert other["versus_baseline"]["conversion_rate"]["delta"] > 0
    # the winback trigger fires at most 3 times a stay
    trig = base["triggers"]["winback"]
    visits = base["stages"]["dormant"]["mean_visits"]
    assert 0 < trig["fired_per_customer"] <= 3 * visits
    # customers return from dormant, so reached < mean visits there
    assert base["stages"]["customer"]["reached"] < base["stages"]["customer"]["mean_visits"]


def test_no_converters_gives_null_with_reasons() -> None:
    j = Journey(
        name="nobody",
        stages=(
            Stage(name="a", entry=1.0, dwell=Dist(kind="fixed", value=1)),
            Stage(name="won", goal=True, active=True),
            Stage(name="lost", terminal=True),
        ),
        transitions=(
            Transition(source="a", target="won", share=0.0),
            Transition(source="a", target="lost", otherwise=True),
        ),
    )
    r = simulate(j, customers=500, seed=1)
    d = r.to_dict()
    jsonschema.validate(d, load_schema())
    json.dumps(d, allow_nan=False)
    m = d["scenarios"][0]["metrics"]
    assert m["conversion_rate"]["mean"] == 0.0
    for key in ("ltv", "cac", "ltv_to_cac", "time_to_convert_days", "churn_rate"):
        assert m[key]["mean"] is None and m[key]["reason"] == "no customer converted", key
    assert all(v["mean"] is None for v in m["retention"].values())
    assert r.baseline.ltv_histogram() == ([], [])


def test_tiny_runs_and_no_active_stage() -> None:
    j = Journey(
        name="tiny",
        stages=(Stage(name="a", entry=1.0, goal=True, terminal=True),),
    )
    d = simulate(j, customers=1, seed=0).to_dict()
    jsonschema.validate(d, load_schema())
    m = d["scenarios"][0]["metrics"]
    assert m["conversion_rate"]["mean"] == 1.0
    assert m["churn_rate"]["reason"] == "no stage is marked active"
    assert m["revenue_per_customer"] == {"mean": 0.0, "ci95": None}
    assert m["ltv_to_cac"]["reason"] == "acquisition cost is zero"


def test_workers_do_not_change_the_result() -> None:
    one = run(arms(), 12_000, 7, workers=1).to_dict()
    two = run(arms(), 12_000, 7, workers=2).to_dict()
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)


def test_result_does_not_depend_on_block_order() -> None:
    a = arms()
    shape = _shape([j for _n, j in a], 400.0)
    plans = [_arm_plan(j, shape) for _n, j in a]
    sizes = block_sizes(5_000)
    seeds = np.random.SeedSequence(3).spawn(len(sizes))
    merger = _Merger(plans, shape)
    for b in reversed(range(len(sizes))):  # computed and handed in the opposite order
        merger.add(b, _run_block(plans, sizes[b], seeds[b]))
        assert merger.next == (len(sizes) if b == 0 else 0)  # nothing folds until block 0 is in
    reversed_run = _collect(a, plans, shape, merger, 5_000, 3, 400.0).to_dict()
    assert reversed_run == run(a, 5_000, 3).to_dict()


def test_a_missing_block_is_an_error_not_a_short_result() -> None:
    a = arms()
    shape = _shape([j for _n, j in a], 400.0)
    plans = [_arm_plan(j, shape) for _n, j in a]
    seeds = np.random.SeedSequence(3).spawn(3)
    merger = _Merger(plans, shape)
    merger.add(0, _run_block(plans, 100, seeds[0]))
    merger.add(2, _run_block(plans, 100, seeds[2]))
    with pytest.raises(ValueError, match="block 1 never did"):
        _collect(a, plans, shape, merger, 300, 3, 400.0)


def test_seed_changes_the_draws_and_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    a = run(arms()[:1], 4_000, 1, progress=lambda d, t: calls.append((d, t))).to_dict()
    b = run(arms()[:1], 4_000, 2).to_dict()
    assert a != b
    assert calls == [(i, 20) for i in range(1, 21)]


def test_horizon_override_and_accessors() -> None:
    r = run(arms()[:1], 6_000, 5, horizon_days=100)
    assert r.horizon_days == 100
    assert set(r.baseline.metrics["retention"]) == {"30", "90", "100"}
    flows = r.baseline.edge_flows()
    assert flows[("visitor", "trial")]["per_1000"] == pytest.approx(
        1000 * r.baseline.stages["visitor"]["traversals_per_customer"]["trial"]
    )
    days = [p[0] for p in r.baseline.retention_curve()]
    assert days[0] == 0 and days[-1] <= 100 and days[1] == 7
    edges, counts = r.baseline.ltv_histogram(bins=10)
    assert len(edges) == 11 and sum(counts) == r.baseline.metrics["ltv"]["n"]
    assert r.arm("baseline") is r.baseline
    with pytest.raises(KeyError):
        r.arm("nope")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one arm"):
        run([], 10, 1)
    with pytest.raises(ValueError, match="customers"):
        run(arms(), 0, 1)
    with pytest.raises(ValueError, match="horizon"):
        run(arms(), 10, 1, horizon_days=-1)


def test_wilson_and_t_quantile() -> None:
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    # reference values of Student's t (0.975 quantile)
    for df, ref in ((5, 2.5706), (19, 2.0930), (38, 2.0244), (200, 1.9719)):
        assert t_quantile(0.975, df) == pytest.approx(ref, abs=2e-3)


def test_compare_is_the_paired_t_interval_for_equal_batches() -> None:
    rng = np.random.default_rng(0)
    nb = 20
    base = np.zeros((nb, len(HEADLINE), 2))
    other = np.zeros((nb, len(HEADLINE), 2))
    xb = rng.normal(10, 1, nb)
    xo = xb + rng.normal(0.5, 0.2, nb)
    base[:, :, 0] = xb[:, None] * 100
    other[:, :, 0] = xo[:, None] * 100
    base[:, :, 1] = other[:, :, 1] = 100
    out = compare(base, other, 2000)
    d = xo - xb
    se = d.std(ddof=1) / math.sqrt(nb)
    half = t_quantile(0.975, nb - 1) * se
    fig = out["conversion_rate"]
    assert fig["delta"] == pytest.approx(d.mean())
    assert fig["ci95"] == pytest.approx([d.mean() - half, d.mean() + half])
    # customers for 80% power at this difference, on the interval's own t distribution (19 df):
    # 2000 * ((t.975 + t.80) * se / delta)^2, rounded up to hundreds
    need = 2000 * ((2.093024 + 0.860954) * se / d.mean()) ** 2
    assert need <= fig["customers_needed"] < need + 100
    lo, hi = fig["customers_needed_range"]
    assert lo <= fig["customers_needed"] <= hi
    assert fig["p_better"] > 0.99
    assert out["cost_per_customer"]["p_better"] < 0.01  # lower is better for costs


def test_tally_merge_adds() -> None:
    from journeydsl.engine.results import TallyShape

    shape = TallyShape(("a",), (), (), (30.0,), 60.0)
    t1, t2 = Tally(shape, n=3), Tally(shape, n=4)
    t1.visits += 2
    t2.visits += 5
    t1.km_act[3] += 1
    t2.km_act[3] += 2
    t1.merge(t2)
    # retention is counted at every day up to the horizon, both ends included
    assert t1.n == 7 and t1.visits[0] == 7 and t1.km_act.size == 61 and t1.km_act[3] == 3


def test_arms_with_different_stages_line_up() -> None:
    base = rich_journey().model_copy(update={"segments": ()})
    extra = base.model_copy(
        update={
            "stages": (*base.stages, Stage(name="vip", goal=True, terminal=True)),
            "transitions": tuple(
                Transition(source="trial", target="vip", share=0.25) if t.key == ("trial", "customer") else t
                for t in base.transitions
            ),
        }
    )
    r = run([("baseline", base), ("vip", extra)], 4_000, 1)
    d = r.to_dict()
    jsonschema.validate(d, load_schema())
    assert d["scenarios"][0]["stages"]["vip"]["reached"] == 0
    assert d["scenarios"][1]["stages"]["vip"]["reached"] > 0


def test_quantiles_from_a_weighted_sample_when_many_convert(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sys.modules["journeydsl.engine.montecarlo"]
    monkeypatch.setattr(engine, "QUANTILE_SAMPLE", 20 * 4096)  # as if N were in the millions
    # everyone converts after exponential(mean 10) days: p50 = 10 ln 2, p90 = 10 ln 10
    j = Journey(
        name="all convert",
        stages=(
            Stage(name="a", entry=1.0, dwell=Dist(kind="exponential", mean=10)),
            Stage(name="won", goal=True, terminal=True, revenue=(CashFlow(amount=5),)),
        ),
        transitions=(Transition(source="a", target="won", otherwise=True),),
    )
    n = 200_000
    r = simulate(j, customers=n, seed=4, horizon_days=10_000)
    tal = r.baseline.tally
    kept = tal.all_conv_times().size
    assert kept == 20 * 4096 < n  # 20 blocks of 10,000 converters, 4,096 kept in each
    w = tal.weights()
    assert w is not None and w.sum() == pytest.approx(n)
    t = r.baseline.metrics["time_to_convert_days"]
    for key, q in (("p50", 0.5), ("p90", 0.9)):
        exact = -10 * math.log(1 - q)
        density = (1 - q) / 10
        se = math.sqrt(q * (1 - q) / kept) / density
        assert abs(t[key] - exact) <= 4.5 * se, (key, t[key], exact)
    # the mean still uses every converter; the histogram counts stand for all of them
    assert t["n"] == n
    _edges, counts = r.baseline.ltv_histogram()
    assert sum(counts) == pytest.approx(n, abs=30)


def test_the_fast_stable_argsort_is_the_stable_argsort() -> None:
    """The quantiles' sort puts ties in index order exactly as numpy's stable sort does."""
    from journeydsl.engine.results import stable_argsort

    rng = np.random.default_rng(3)
    for trial in range(120):
        n = int(rng.integers(0, 2_000))
        x = rng.integers(0, int(rng.integers(1, 40)), n).astype(float) / 7  # many ties
        for special in (np.nan, -0.0, np.inf)[: trial % 4]:
            x[rng.random(n) < 0.1] = special
        assert stable_argsort(x).tolist() == np.argsort(x, kind="stable").tolist(), trial


def test_the_float32_stable_argsort_is_the_stable_argsort() -> None:
    """The converters' times and LTVs (float32) sort by one 64-bit key: the same order, ties, signed
    zeros, NaNs of either sign, infinities and subnormals included."""
    from journeydsl.engine.results import stable_argsort

    rng = np.random.default_rng(5)
    specials = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 3.4e38, -3.4e38, 1e-45, -1e-45],
                        dtype=np.float32)
    for trial in range(150):
        n = int(rng.integers(0, 3_000))
        x = rng.normal(0, 3, n).astype(np.float32)
        if trial % 2:
            x = x.round(0)  # many ties
        if n:
            x[rng.integers(0, n, 2 * (trial % 6))] = rng.choice(specials, 2 * (trial % 6))
        assert stable_argsort(x).tolist() == np.argsort(x, kind="stable").tolist(), trial


def test_ltv_histogram_of_a_monthly_fee_has_one_bar_per_number_of_months() -> None:
    # a fee every month and nothing else: the LTVs are a lattice (one value per months paid); 30
    # equal bins aliased it into bars that caught two values and bars that caught none
    text = """journey "Fee" {
        horizon 2 years
        stage trial { entry; dwell 7 days }
        stage paid { goal; active; revenue 9.50 EUR every month }
        stage gone { terminal }
        trial -> paid 50%
        trial -> gone otherwise
        paid -> gone 11% per month
    }"""
    r = simulate(api.loads(text), customers=4000, seed=1)
    edges, counts = r.baseline.ltv_histogram()
    values = np.unique(r.baseline.tally.all_ltv())
    assert 2 <= values.size <= 60 and len(counts) == values.size
    assert all(c > 0 for c in counts)  # no empty bar between two values
    assert all(a < v < b for a, v, b in zip(edges, values, edges[1:], strict=False))
    assert sum(counts) == r.baseline.metrics["ltv"]["n"]


def test_a_figure_every_customer_shares_has_no_spread_not_rounding() -> None:
    # the variance is s2 - s^2 / n from the tallies' raw sums: for 37.13 EUR paid by everyone it
    # came out as 2.4e-6 EUR of spread (plan-test showed it) and a ci95 that was not the mean
    text = """journey "Fee" {
        horizon 30 days
        stage a { entry; goal; dwell 1 day; revenue 37.13 EUR on enter }
        stage b { terminal }
        a -> b 100%
    }"""
    from journeydsl.analysis.abtest import _mean_sd

    r = simulate(api.loads(text), customers=20_000, seed=1)
    value = r.baseline.metrics["value_per_customer"]
    assert value["ci95"] == [value["mean"], value["mean"]]
    assert _mean_sd(r.baseline.tally, "value_per_customer")[1] == 0.0
