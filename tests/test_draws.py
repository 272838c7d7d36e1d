"""`simulate --draws`: parameter draws on their own stream, customers on common random numbers."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from journeydsl import api
from journeydsl.analysis.uncertainty import draw_names, simulate_draws
from journeydsl.engine.montecarlo import _shape
from journeydsl.engine.montecarlo.plan import compile_plan
from journeydsl.language.compile import recompile
from journeydsl.language.params import draw_uniforms
from journeydsl.outputs.report import format_table

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "journeydsl" / "schema" / "results.schema.json").read_text(encoding="utf-8"))

CLOSE = """journey "Close" {
    currency EUR
    param close "Close rate" = 25% ± 5%
    stage lead { entry }
    stage won { goal; terminal; revenue 100 EUR on enter }
    stage lost { terminal }
    lead -> won close
    lead -> lost otherwise
    scenario better { param close = 30% ± 5% }
}
"""


def test_the_spread_over_draws_is_the_parameters_spread() -> None:
    j = api.loads(CLOSE)
    res = simulate_draws(j, 200, customers=20_000, seed=4, scenarios=None)
    d = res.to_dict()
    conv = d["scenarios"][0]["metrics"]["conversion_rate"]
    lo, hi = j.params[0].distribution().interval95()
    unc = conv["uncertainty"]
    assert unc["draws"] == 200
    # 200 draws' 2.5%/97.5% points: within about two of their own standard errors of the Beta's
    assert unc["interval95"][0] == pytest.approx(lo, abs=0.012)
    assert unc["interval95"][1] == pytest.approx(hi, abs=0.012)
    assert unc["mean"] == pytest.approx(0.25, abs=0.006)
    # the plain figure is the run at the means, unchanged
    plain = api.simulate(j, customers=20_000, seed=4, scenarios=None).to_dict()
    assert conv["mean"] == plain["scenarios"][0]["metrics"]["conversion_rate"]["mean"]
    # the scenario moves every draw by the same quantile: it wins in (almost) every draw
    vs = d["scenarios"][1]["versus_baseline"]["conversion_rate"]["uncertainty"]
    assert vs["p_better"] > 0.97
    assert d["scenarios"][1]["p_best"] > 0.97 and d["scenarios"][0]["p_best"] < 0.03
    import jsonschema

    jsonschema.validate(d, SCHEMA)
    assert [p["name"] for p in d["parameters"]] == ["close"]
    assert "P(best value per customer)" in format_table(d)


def test_draws_are_reproducible_and_do_not_depend_on_workers() -> None:
    j = api.loads(CLOSE)
    one = simulate_draws(j, 6, customers=2000, seed=9, scenarios=None).to_dict()
    again = simulate_draws(j, 6, customers=2000, seed=9, scenarios=None).to_dict()
    two = simulate_draws(j, 6, customers=2000, seed=9, scenarios=None, workers=2).to_dict()
    assert one == again == two


def test_draw_streams_are_per_parameter() -> None:
    loop = "lead -> lost otherwise\n    lead -> lead 1% ± 0.5% after 1 day"
    j = api.loads(CLOSE.replace("lead -> lost otherwise", loop))
    assert draw_names(j) == ["close", "lead -> lead"]
    u = draw_uniforms(1, "close", 3)
    drawn = recompile(j, quantiles={"close": float(u[0])})
    assert drawn.transitions[0].share == pytest.approx(j.params[0].distribution().quantile([u[0]])[0])


def test_shares_drawn_past_100_percent_are_scaled_down_together() -> None:
    j = api.loads("""journey "Split" {
        param a = 55% ± 20%
        param b = 50% ± 20%
        stage s { entry }
        stage x { terminal; goal }
        stage y { terminal }
        stage z { terminal }
        s -> x a
        s -> y b
        s -> z otherwise
    }""".replace("param b = 50% ± 20%", "param b = 40% ± 20%"))
    over = 0
    for d in range(200):
        q = {n: float(draw_uniforms(2, n, 200)[d]) for n in ("a", "b")}
        drawn = recompile(j, quantiles=q)
        shares = [t.share or 0.0 for t in drawn.transitions if not t.otherwise]
        over += sum(shares) > 1
        plan = compile_plan(drawn, _shape([drawn], 365.0))
        cum = plan.stages[0].cum
        assert cum[1] <= 1.0 + 1e-12  # the drawn shares never take more than everyone
        if sum(shares) > 1:
            assert cum[1] == pytest.approx(1.0)
            assert cum[0] == pytest.approx(shares[0] / sum(shares))
    assert over > 10  # the case is exercised
    res = simulate_draws(j, 40, customers=4000, seed=1).to_dict()
    assert res["scenarios"][0]["metrics"]["conversion_rate"]["uncertainty"]["interval95"][1] <= 1.0


def test_cli_draws_exit_codes() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "journeydsl", *args], capture_output=True, text=True,
                              cwd=ROOT, check=False)

    path = ROOT / "tests" / "golden" / "fmt" / "in" / "params.journey"
    ok = run("simulate", str(path), "-q", "--draws", "3", "--customers", "500", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["draws"] == 3
    bad = run("simulate", str(path), "--draws", "0")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert np.isfinite(json.loads(ok.stdout)["scenarios"][0]["metrics"]["conversion_rate"]["mean"])


def test_drawn_ends_of_a_uniform_that_cross_are_swapped() -> None:
    j = api.loads("""journey "U" {
        stage a { entry; dwell uniform(5 days ± 3 days, 6 days ± 3 days) }
        stage b { goal; terminal }
        a -> b 100%
    }""")
    dwell = recompile(j, values={"a dwell low": 9.0, "a dwell high": 4.0}).stage("a").dwell
    assert dwell is not None and (dwell.low, dwell.high) == (4.0, 9.0)
    assert simulate_draws(j, 30, customers=200, seed=0).to_dict()["draws"] == 30


def test_the_work_limit_counts_every_draw_and_refuses_before_compiling_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # --draws N runs the journey N + 1 times: the limit judged one run and let 100,000 draws through
    from journeydsl.analysis import uncertainty
    from journeydsl.engine.montecarlo import TooMuchWork, WorkEstimate

    j = api.load(ROOT / "examples" / "journeys" / "fitness_app_launch.journey")
    one: list[WorkEstimate] = []
    api.simulate(j, customers=1_000, max_work=None, on_estimate=one.append)

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("a draw was compiled before the job's work was judged")

    monkeypatch.setattr(uncertainty, "recompile", never)
    with pytest.raises(TooMuchWork) as info:
        api.simulate(j, customers=1_000, draws=100_000, max_work=1e9)
    est = info.value.estimate
    assert est.runs == 100_001 and est.steps == pytest.approx(100_001 * one[0].steps)
    assert "in each of 100,001 runs" in str(info.value)


def test_draws_in_chunks_give_the_same_numbers_as_one_job(monkeypatch: pytest.MonkeyPatch) -> None:
    # the draws go to the engine a chunk at a time (memory holds one chunk's compiled draws);
    # each run's numbers are its own, so the chunk size changes nothing, progress included
    from journeydsl.analysis import uncertainty

    j = api.load(ROOT / "examples" / "journeys" / "fitness_app_launch.journey")
    got = []
    for chunk in (1_000, 3):
        monkeypatch.setattr(uncertainty, "DRAW_CHUNK", chunk)
        ticks: list[tuple[float, int]] = []
        res = api.simulate(j, customers=300, seed=4, draws=7, scenarios=None,
                           progress=lambda d, t, ticks=ticks: ticks.append((d, t)))
        got.append(json.dumps(res.to_dict(), sort_keys=True))
        assert ticks[-1] == (8 * 20, 8 * 20) and all(a[0] <= b[0] for a, b in itertools.pairwise(ticks))
    assert got[0] == got[1]
