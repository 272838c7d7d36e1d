"""The tornado and break-even: swings against closed forms on common random numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from journeydsl import api
from journeydsl.analysis.sensitivity import breakeven, tornado
from journeydsl.outputs.sensitivity_report import tornado_svg

ROOT = Path(__file__).resolve().parent.parent

PRODUCT = """journey "Product" {
    currency EUR
    param close "Close rate" = 25% ± 5%
    param check "Average check $" = 95 EUR ± 20 EUR
    stage lead { entry }
    stage won { goal; terminal; revenue check on enter }
    stage lost { terminal }
    touchpoint text { channel sms; cost 0.30 EUR }
    lead -> won close
    lead -> lost otherwise
    scenario reminder "SMS reminder" { lead -> won 27% via text }
}
"""


def test_tornado_swings_match_the_closed_form_of_a_product() -> None:
    # value per customer = conversion × check: the check's swing is exact given the simulated conversion
    j = api.loads(PRODUCT)
    t = tornado(j, customers=40_000, seed=3)
    d = t.to_dict()
    assert d["schema"] == "journeydsl.sensitivity/1" and d["scenario"] == "baseline"
    rows = {r["name"]: r for r in d["parameters"]}
    conv = d["base"] / 95.0
    check_lo, check_hi = j.params[1].distribution().interval95()
    assert rows["check"]["figure_low"] == pytest.approx(conv * check_lo, rel=1e-9)
    assert rows["check"]["figure_high"] == pytest.approx(conv * check_hi, rel=1e-9)
    assert rows["check"]["swing"] == pytest.approx(conv * (check_hi - check_lo), rel=1e-9)
    # the close rate's swing is 95 × (its 97.5% − 2.5% points), up to the binomial noise of the
    # customers between them (common random numbers: the same customers at both ends)
    lo, hi = j.params[0].distribution().interval95()
    se = 95 * ((hi - lo) * (1 - (hi - lo)) / 40_000) ** 0.5
    assert rows["close"]["swing"] == pytest.approx(95 * (hi - lo), abs=4 * se)
    assert [r["swing"] for r in d["parameters"]] == sorted((r["swing"] for r in d["parameters"]), reverse=True)
    assert set(rows["close"]) == {"name", "label", "low", "high", "figure_low", "figure_high", "swing"}
    import jsonschema

    schema = json.loads((ROOT / "journeydsl" / "schema" / "sensitivity.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(d, schema)


def test_tornado_of_a_scenario_difference() -> None:
    j = api.loads(PRODUCT)
    t = tornado(j, scenario="reminder", customers=40_000, seed=3).to_dict()
    assert t["scenario"] == "reminder"
    # difference = 0.27 × (95 − 0.30) − close × 95 at the means: the close rate decides it
    assert t["parameters"][0]["name"] == "close"
    assert t["base"] == pytest.approx(0.27 * 94.7 - 0.25 * 95, abs=0.2)


#: A call on day 1 of a three-day stay moves its responders to `won`; the others close at `close`.
#: Conversion with the call is resp + (1 - resp) * close, without it close: the scenario's
#: difference is resp * (1 - close), and its swings have closed forms.
CALL = """journey "Call" {
    param close "Close rate" = 25% ± 8%
    param resp "Call response" = 30% ± 10%
    stage lead { entry; dwell 3 days }
    stage won { goal; terminal }
    stage lost { terminal }
    touchpoint call { channel phone; cost 1 EUR; response resp }
    lead -> won close
    lead -> lost otherwise
    scenario call "Day-1 call" { trigger ring { when in lead for 1 day; send call; then 100% -> won } }
}
"""


def test_a_swings_noise_covers_the_exact_swing_95_times_in_100() -> None:
    # The scenario's difference moves who converts, so the variants' customers part ways and
    # the swings carry noise that common random numbers do not cancel. Over 200 seeds, the
    # swing ± its noise must hold the closed-form swing about 95% of the time (binomial 4 sigma:
    # at least 89%), and the noise must match the swings' spread over the seeds (neither
    # understated nor padded).
    j = api.loads(CALL)
    close, resp = (p.distribution() for p in j.params)
    (c_lo, c_hi), (r_lo, r_hi) = close.interval95(), resp.interval95()
    c_mean, r_mean = close.mean(), resp.mean()
    exact = {"close": r_mean * (c_hi - c_lo), "resp": (r_hi - r_lo) * (1 - c_mean)}
    covered = {k: 0 for k in exact}
    swings: dict[str, list[float]] = {k: [] for k in exact}
    halves: dict[str, list[float]] = {k: [] for k in exact}
    seeds = 200
    for seed in range(seeds):
        t = tornado(j, "conversion_rate", "call", customers=2_000, seed=seed, max_work=None)
        for r in t.parameters:
            signed = r["figure_high"] - r["figure_low"]
            half = t.swing_noise[r["name"]]
            assert half is not None and half > 0
            covered[r["name"]] += abs(abs(signed) - exact[r["name"]]) <= half
            swings[r["name"]].append(abs(signed))
            halves[r["name"]].append(half)
    for k in exact:
        assert covered[k] >= 0.89 * seeds, (k, covered[k])
        spread = float(np.std(swings[k], ddof=1))
        typical = float(np.mean(halves[k])) / 2.09  # t(0.975, 19): the noise's standard error
        assert 0.7 < typical / spread < 1.4, (k, typical, spread)


def test_the_table_and_chart_show_each_swings_noise() -> None:
    j = api.loads(CALL)
    t = tornado(j, "conversion_rate", "call", customers=2_000, seed=1)
    from journeydsl.outputs.sensitivity_report import tornado_table

    text = tornado_table(t, j, "en")
    half = t.swing_noise["resp"]
    assert half is not None
    row = next(line for line in text.splitlines() if line.startswith("Call response"))
    assert row.rstrip().endswith(f"± {100 * half:.1f} pp") or row.rstrip().endswith(f"± {100 * half:.2f} pp")
    assert "base " in text.splitlines()[0] and " ± " in text.splitlines()[0]  # a difference's own noise
    assert "simulation's noise" in text
    assert b"swing " in tornado_svg(t, j)
    # a figure without batch pairs (days to convert) has no noise to show, and says nothing of it
    plain = tornado(j, "time_to_convert_days", customers=2_000, seed=1)
    assert set(plain.swing_noise.values()) == {None}
    assert "simulation's noise" not in tornado_table(plain, j, "en")


def test_breakeven_on_common_random_numbers() -> None:
    j = api.loads(PRODUCT)
    b = breakeven(j, "close", "reminder", customers=40_000, seed=3)
    assert b.value == pytest.approx(0.27 * 94.7 / 95, abs=0.003)
    assert b.interval is not None and b.interval[0] <= b.value <= b.interval[1]
    never = breakeven(j, "check", "reminder", customers=4000, seed=3)
    assert never.value is None and never.difference_low is not None and never.difference_high is not None
    assert never.difference_low > 0 and never.difference_high > 0


NO_CONVERTERS = """journey "Rare" {
    currency EUR
    param close "Close rate" = 0.1% ± 0.05%
    stage lead { entry; touch ads on enter }
    stage won { goal; terminal; revenue 95 EUR on enter }
    stage lost { terminal }
    touchpoint ads { channel paid; cost 1 EUR }
    lead -> won close
    lead -> lost otherwise
    scenario doubled "Doubled" { lead -> won 0.2% }
}
"""


def _refuse_nan(text: str) -> object:
    raise AssertionError(f"{text} in the JSON")


def test_breakeven_of_an_undefined_figure_says_so_and_writes_null(tmp_path: Path) -> None:
    # 100 customers at a 0.1% close rate: most likely nobody converts, so CAC is undefined at both ends.
    # The JSON must hold null (metrics.md: never NaN), and the sentence must not claim that one arm wins.
    path = tmp_path / "rare.journey"
    path.write_text(NO_CONVERTERS, encoding="utf-8")
    b = breakeven(api.load(path), "close", "doubled", "cac", customers=100, seed=1)
    assert b.value is None and b.difference_low is None and b.difference_high is None
    base = [sys.executable, "-m", "journeydsl", "breakeven", str(path), "--param", "close", "--scenario", "doubled",
            "--figure", "cac", "-n", "100", "--seed", "1", "-q"]
    out = subprocess.run([*base, "-f", "json"], capture_output=True, text=True, check=True).stdout
    d = json.loads(out, parse_constant=_refuse_nan)
    assert d["value"] is None and d["difference_at_low"] is None and d["difference_at_high"] is None
    text = subprocess.run(base, capture_output=True, text=True, check=True).stdout
    assert "No break-even to look for" in text and "beats" not in text


@pytest.mark.parametrize("command", [["sensitivity", "--figure", "cac"], ["sensitivity", "--figure", "ltv_to_cac",
                                      "--scenario", "doubled"], ["attribute"], ["attribute", "--by", "channel"]])
def test_commands_json_holds_no_nan_when_figures_are_undefined(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "rare.journey"
    path.write_text(NO_CONVERTERS, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "journeydsl", command[0], str(path), *command[1:], "-n", "100",
                          "-q", "-f", "json"], capture_output=True, text=True, check=True).stdout
    json.loads(out, parse_constant=_refuse_nan)


def test_the_svg_keeps_dollar_signs_as_text() -> None:
    j = api.loads(PRODUCT)
    svg = tornado_svg(tornado(j, customers=2000, seed=1), j).decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "Average check $" in svg.replace("&#36;", "$")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "journeydsl", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)


def test_cli(tmp_path: Path) -> None:
    path = tmp_path / "p.journey"
    path.write_text(PRODUCT, encoding="utf-8")
    ok = run("sensitivity", str(path), "-q", "-n", "2000", "--format", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["parameters"][0]["name"] in ("close", "check")
    png = tmp_path / "t.png"
    assert run("sensitivity", str(path), "-q", "-n", "500", "--format", "png", "-o", str(png)).returncode == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    bad = run("sensitivity", str(path), "--scenario", "remindr", "-n", "500")
    assert bad.returncode == 2 and "did you mean 'reminder'" in bad.stderr and "Traceback" not in bad.stderr
    assert run("sensitivity", str(path), "--figure", "profit", "-n", "500").returncode == 2
    text = run("breakeven", str(path), "--param", "close", "--scenario", "reminder", "-n", "4000", "-q")
    assert text.returncode == 0  # labels, not ids: the scenario 'reminder' and the parameter 'close'
    assert "'SMS reminder' beats the baseline on value per customer when 'Close rate'" in text.stdout
    assert run("breakeven", str(path), "--param", "clsoe", "--scenario", "reminder").returncode == 2
    plain = tmp_path / "plain.journey"
    plain.write_text(PRODUCT.replace("25% ± 5%", "25%").replace("95 EUR ± 20 EUR", "95 EUR"), encoding="utf-8")
    none = run("sensitivity", str(plain), "-n", "500")
    assert none.returncode == 1 and "no uncertain parameters" in none.stderr


def test_the_report_has_a_tornado_and_the_draws_ranges() -> None:
    from journeydsl.analysis.uncertainty import simulate_draws
    from journeydsl.outputs.htmlreport import build_report

    j = api.loads(PRODUCT)
    html = build_report(j, simulate_draws(j, 8, customers=2000, seed=1, scenarios=None))
    assert "How sure is this forecast?" in html and "P(best value per customer)" in html
    assert "Which guess matters most" in html and "<svg" in html
    plain = api.loads(PRODUCT.replace("25% ± 5%", "25%").replace("95 EUR ± 20 EUR", "95 EUR"))
    assert "How sure" not in build_report(plain, api.simulate(plain, customers=500, seed=1))


def test_retention_swings_carry_their_jackknife_noise_and_differences_read_in_points() -> None:
    # retention at 90 days is a product-limit estimate: its noise is the jackknife over the paired
    # batches that the scenario comparisons use; with a scenario the figures are differences of
    # shares, so they read in percentage points ('+1.3 pp'), not as shares ('1.3%')
    from journeydsl.outputs.sensitivity_report import tornado_table

    j = api.load(ROOT / "examples" / "journeys" / "fitness_app_launch.journey")
    t = tornado(j, "retention.90", customers=4_000, seed=2)
    churn = t.swing_noise["churn"]
    assert churn is not None and 0 < churn < t.parameters[0]["swing"]  # churn moves retention most, clearly
    assert t.swing_noise["install_cost"] == 0.0  # money moves nobody: exactly no noise
    diff = tornado(j, "retention.90", "onboarding_call", customers=4_000, seed=2)
    head = tornado_table(diff, j, "en").splitlines()[0]
    assert head.endswith(" pp") and "base " in head and " pp ± " in head
