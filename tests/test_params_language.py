"""`param` and inline uncertainty: what each form means, where parameters go, and that means change nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl import api
from journeydsl.language.compile import compile_text, recompile
from journeydsl.language.errors import JourneyError
from journeydsl.language.fmt import format_source
from journeydsl.outputs.report import to_json

ROOT = Path(__file__).resolve().parent.parent
SAAS = (ROOT / "examples" / "journeys" / "saas_trial.journey").read_text(encoding="utf-8")

BASE = """journey "P" {
    currency EUR
    %s
    stage lead { entry }
    stage won { goal; terminal }
    stage lost { terminal }
    lead -> won close
    lead -> lost otherwise
}
"""


def param(value: str):  # type: ignore[no-untyped-def]
    j, _ = compile_text(BASE % f"param close = {value}")
    return j.params[0]


@pytest.mark.parametrize(("value", "family", "mean"), [
    ("25% ± 5%", "beta", 0.25),
    ("25% +/- 5%", "beta", 0.25),
    ("30 of 120", "beta", 31 / 122),
    ("beta(30, 70)", "beta", 0.3),
    ("25% (18%–33%)", "beta", 0.25),
    ("25% (18%-33%)", "beta", 0.25),
    ("25% (18% - 33%)", "beta", 0.25),
    ("uniform(20%, 30%)", "uniform", 0.25),
    ("triangular(10%, 20%, 45%)", "triangular", 0.25),
    ("normal(mean 25%, sd 2%)", "normal", 0.25),
    ("25%", "fixed", 0.25),
])
def test_every_share_form_has_its_mean(value: str, family: str, mean: float) -> None:
    p = param(value)
    assert p.kind == "share"
    assert p.family == family
    assert p.mean == pytest.approx(mean, abs=1e-12)


def test_plus_minus_is_a_95_percent_spread() -> None:
    d = param("25% ± 5%").distribution()
    assert d.sd() * 1.96 == pytest.approx(0.05, rel=1e-12)
    lo, hi = d.interval95()
    assert 0.19 < lo < 0.21 and 0.29 < hi < 0.31


def test_a_range_is_the_95_percent_interval() -> None:
    lo, hi = param("25% (18%–33%)").distribution().interval95()
    assert hi - lo == pytest.approx(0.15, abs=1e-9)


def test_k_of_n_is_beta_k_plus_one() -> None:
    p = param("30 of 120")
    assert p.args == (31.0, 91.0)


def test_money_and_durations_use_a_gamma_with_those_moments() -> None:
    text = """journey "M" {
        currency EUR
        param check = 95 EUR ± 20 EUR
        param wait = 2 weeks ± 4 days
        stage lead { entry; dwell wait }
        stage won { goal; terminal; revenue check on enter }
        stage lost { terminal }
        lead -> won 30%
        lead -> lost otherwise
    }"""
    j, warnings = compile_text(text)
    assert warnings == []
    check, wait = j.params
    assert (check.kind, check.family, check.mean) == ("money", "gamma", 95.0)
    assert check.distribution().sd() * 1.96 == pytest.approx(20.0)
    assert (wait.kind, wait.mean) == ("duration", 14.0)
    assert j.stage("lead").dwell is not None and j.stage("lead").dwell.expected() == 14.0
    assert j.stage("won").revenue[0].amount == 95.0


def test_inline_uncertainty_is_named_after_its_place() -> None:
    j, _ = compile_text("""journey "I" {
        currency EUR
        stage trial { entry }
        stage customer { goal; terminal; revenue 49 EUR ± 5 EUR on enter }
        stage lost { terminal }
        trial -> customer 25% ± 5%
        trial -> lost otherwise
    }""")
    names = [p.name for p in j.params]
    assert names == ["customer revenue", "trial -> customer"]
    assert all(p.inline for p in j.params)
    assert j.transitions[0].share == 0.25


def test_a_scenario_override_reaches_every_use_of_the_parameter() -> None:
    j, _ = compile_text("""journey "S" {
        currency EUR
        param close = 25% ± 5%
        stage lead { entry }
        stage won { goal; terminal }
        stage lost { terminal }
        lead -> won close
        lead -> lost otherwise
        scenario better { param close = 30% ± 5% }
    }""")
    assert j.transitions[0].share == 0.25
    assert j.with_scenario("better").transitions[0].share == pytest.approx(0.30)
    own = j.scenario("better").overrides.params
    assert [p.name for p in own] == ["better: close"]
    # drawn together: the same quantile in both
    drawn = recompile(j, quantiles={"close": 0.975})
    base_hi = j.params[0].distribution().quantile([0.975])[0]
    own_hi = own[0].distribution().quantile([0.975])[0]
    assert drawn.transitions[0].share == pytest.approx(base_hi)
    assert drawn.with_scenario("better").transitions[0].share == pytest.approx(own_hi)


def test_recompile_sets_a_value_outright() -> None:
    j, _ = compile_text(BASE % "param close = 25% ± 5%")
    assert recompile(j, values={"close": 0.4}).transitions[0].share == 0.4
    assert recompile(j) is j


def test_a_named_constant_gives_the_same_forecast_to_the_byte() -> None:
    named = SAAS.replace("    trial    -> customer 25% via demo",
                         "    param close = 25%\n    trial    -> customer close via demo")
    ranged = SAAS.replace("    trial    -> customer 25% via demo", "    trial    -> customer 25% ± 5% via demo")
    assert named != SAAS and ranged != SAAS

    def forecast(text: str) -> dict[str, object]:
        j = api.loads(text, "saas_trial.journey")
        out = json.loads(to_json(api.simulate(j, customers=2000, seed=3, scenarios=None)))
        return out

    plain = forecast(SAAS)
    assert forecast(named) == plain
    assert forecast(ranged) == plain


def test_fmt_is_idempotent_on_every_form() -> None:
    text = (ROOT / "tests" / "golden" / "fmt" / "in" / "params.journey").read_text(encoding="utf-8")
    once = format_source(text)
    assert format_source(once) == once
    assert "25% (18%–33%)" in once and "95 EUR ± 20 EUR" in once


@pytest.mark.parametrize(("decl", "use", "message"), [
    ("param close = 25% ± 5%", "lead -> won clsoe", "unknown parameter 'clsoe'"),
    ("param check = 95 EUR ± 20 EUR", "lead -> won check", "'check' is money (95 EUR ± 20 EUR), but a share goes here"),
    ("param close = 2% ± 30%", "lead -> won close", "no share with mean 2% can spread ± 30%"),
    ("param close = 25% (30%–40%)", "lead -> won close", "the mean 25% is outside its range 30%–40%"),
    ("param close = 130 of 120", "lead -> won close", "'130 of 120' needs 0 <= k <= n"),
    ("param close = 25% ± 5 EUR", "lead -> won close", "'5 EUR' is money, but this value is a share"),
])
def test_parameter_errors(decl: str, use: str, message: str) -> None:
    text = BASE.replace("lead -> won close", use) % decl
    with pytest.raises(JourneyError) as info:
        compile_text(text)
    messages = [d.message for d in info.value.diagnostics if d.severity == "error"]
    assert messages[0].startswith(message), messages


def test_impossible_spread_says_the_widest() -> None:
    with pytest.raises(JourneyError) as info:
        compile_text(BASE % "param close = 2% ± 30%")
    hint = info.value.diagnostics[0].hint or ""
    assert f"{1.96 * math.sqrt(0.02 * 0.98) * 100:.3g}" in hint


def test_unused_parameter_is_a_warning() -> None:
    _, warnings = compile_text(BASE % "param close = 25%\n    param spare = 10 EUR")
    assert [(w.code, w.message) for w in warnings] == [("W601", "parameter 'spare' is never used")]


def test_scenario_cannot_invent_a_parameter() -> None:
    text = BASE.replace("lead -> lost otherwise", "lead -> lost otherwise\n    scenario s { param closer = 30%% }")
    with pytest.raises(JourneyError) as info:
        compile_text(text % "param close = 25%")
    d = info.value.diagnostics[0]
    assert (d.code, d.message, d.hint) == ("E601", "unknown parameter 'closer'", "did you mean 'close'?")


def test_the_map_shows_the_range() -> None:
    j = api.loads(BASE % "param close = 25% ± 5%")
    dot = api.render(j, format="dot")
    assert isinstance(dot, str) and "close 25% ± 5%" in dot
    labelled = api.render(api.loads(BASE % 'param close "Close rate" = 25% ± 5%'), format="dot")
    assert "Close rate 25% ± 5%" in str(labelled) and "close 25%" not in str(labelled)  # the label, not the id
    inline = api.loads((BASE % "").replace("lead -> won close", "lead -> won 25% (18%–33%)"))
    assert "25% (18%–33%)" in str(api.render(inline, format="dot"))


@settings(max_examples=40, deadline=None)
@given(mean=st.integers(min_value=2, max_value=98), half=st.integers(min_value=0, max_value=60),
       form=st.sampled_from(["pm", "range", "of"]))
def test_any_written_share_compiles_to_its_mean_or_says_why(mean: int, half: int, form: str) -> None:
    """Every share value either compiles (its mean as written, fmt stable) or gets an E603 with a hint."""
    value = {"pm": f"{mean}% ± {half}%", "range": f"{mean}% ({max(mean - half, 0)}%–{min(mean + half, 100)}%)",
             "of": f"{mean} of {mean + half}"}[form]
    text = BASE % f"param close = {value}"
    try:
        j, _ = compile_text(text)
    except JourneyError as exc:
        d = exc.diagnostics[0]
        assert d.code == "E603" and d.hint, d.message
        return
    expected = (mean + 1) / (mean + half + 2) if form == "of" else mean / 100
    assert j.params[0].mean == pytest.approx(expected, abs=1e-12)
    once = format_source(text)
    assert format_source(once) == once



@pytest.mark.parametrize(("rate", "meant"),
                         [("per mnth", "month"), ("per wekes", "weeks"), ("every 6 quartrs", "quarters")])
def test_a_misspelt_unit_gets_a_did_you_mean_from_the_one_list_of_unit_words(rate: str, meant: str) -> None:
    """Where a duration goes, a bare word is a parameter (E601 in the compiler) or a misspelt unit
    (a parse error): both hints draw on ``UNIT_WORDS``, the list beside ``DAYS``."""
    from journeydsl.language.model import UNIT_WORDS

    assert meant in UNIT_WORDS
    trigger = f"trigger t {{ {rate} in lead; then 10%% -> won }}" if rate.startswith("every") else ""
    text = BASE.replace("lead -> won close", "lead -> won 5%% per month" if trigger else f"lead -> won 5%% {rate}")
    with pytest.raises(JourneyError) as info:
        compile_text(text % trigger)
    d = info.value.diagnostics[0]
    assert d.hint == f"did you mean '{meant}'?", (d.code, d.message, d.hint)
