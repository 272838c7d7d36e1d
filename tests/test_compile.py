"""Syntax -> model: names, units, defaults, currency, overrides, file loading, the catalogue."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from journeydsl.language.compile import compile_source, compile_text, load, read_source
from journeydsl.language.errors import JourneyError, JourneyValidationError, format_diagnostics
from journeydsl.language.model import DAYS, Journey
from journeydsl.language.source import Source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CATALOGUE = HERE / "catalogue"
REGEN = os.environ.get("JOURNEYDSL_REGEN") == "1"

STAGES = """
    stage a { entry; dwell 2 days }
    stage b { goal; active }
    stage c { terminal }
"""


def build(body: str, settings: str = "") -> Journey:
    """Compile a journey with ``body`` after the three stages a (entry), b (goal), c (terminal)."""
    journey, _ = compile_text(f'journey "T" {{\n{settings}\n{STAGES}\n{body}\n}}\n', "t.journey")
    return journey


def errors_of(text: str) -> list[str]:
    with pytest.raises(JourneyError) as info:
        compile_text(text, "t.journey")
    return [d.code for d in info.value.errors]


# --- the catalogue of bad inputs -------------------------------------------------------


def _cases() -> list[Path]:
    return sorted(CATALOGUE.glob("*.journey"))


def _diagnose(path: Path) -> str:
    source = Source(path.name, path.read_text(encoding="utf-8"))
    try:
        _, warnings = compile_source(source)
    except JourneyError as exc:
        return format_diagnostics(exc.diagnostics, source) + "\n"
    return format_diagnostics(warnings, source) + "\n"


def test_catalogue_is_big_enough() -> None:
    assert len(_cases()) >= 30


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_catalogue(path: Path) -> None:
    """Each labelled bad input gives exactly the stored diagnostics (JOURNEYDSL_REGEN=1 rewrites)."""
    got = _diagnose(path)
    assert got.strip(), f"{path.name} compiles with nothing to say: it is not a bad input"
    expected = path.with_suffix(".expected")
    if REGEN:
        expected.write_text(got, encoding="utf-8")
    assert expected.is_file(), f"no {expected.name}; run with JOURNEYDSL_REGEN=1"
    assert got == expected.read_text(encoding="utf-8")


def test_catalogue_labels_match_severity() -> None:
    """Inputs named warn_* only warn; every other input has an error."""
    for path in _cases():
        text = _diagnose(path)
        if path.stem.startswith("warn_"):
            assert ": error:" not in text and ": warning:" in text, path.name
        else:
            assert ": error:" in text, path.name


# --- units and conversions ----------------------------------------------------------------


def test_the_saas_example_compiles_to_canonical_units() -> None:
    j = load(ROOT / "examples" / "journeys" / "saas_trial.journey")
    assert j.name == "SaaS free trial"
    assert j.source is not None and j.source.endswith("saas_trial.journey")
    assert j.currency == "EUR"
    assert j.horizon_days == 730.0
    assert j.discount == 0.10
    assert j.customers == 20000
    assert j.phases == ("Acquisition", "Conversion", "Retention")
    visitor = j.stage("visitor")
    assert visitor.entry == 1.0 and visitor.phase == "Acquisition"
    assert visitor.dwell is not None and visitor.dwell.kind == "exponential"
    assert visitor.dwell.mean == 2.0 and visitor.touches == ("ads",)
    lead = j.stage("lead")
    assert lead.dwell is not None and (lead.dwell.shape, lead.dwell.mean) == (2.0, 5.0)
    trial = j.stage("trial")
    assert trial.dwell is not None and (trial.dwell.low, trial.dwell.high) == (7.0, 14.0)
    customer = j.stage("customer")
    assert customer.goal and customer.active and not customer.terminal
    assert [(r.amount, r.period_days) for r in customer.revenue] == [(49.0, 365 / 12)]
    assert [(c.amount, c.period_days) for c in customer.costs] == [(4.0, 365 / 12)]
    (p,) = customer.purchases
    assert (p.rate, p.per_days, p.worth.kind, p.worth.mean, p.worth.sd) == (
        0.5, 365.0, "lognormal", 120.0, 40.0)
    assert j.stage("lost").terminal and j.stage("lost").label is None
    assert j.touchpoint("ads").cost == 1.20 and j.touchpoint("ads").channel == "paid_social"
    assert j.touchpoint("nudge").response == 0.20
    edges = {t.key: t for t in j.transitions}
    assert edges[("visitor", "lead")].share == 0.30
    assert edges[("visitor", "lost")].otherwise
    assert edges[("trial", "customer")].via == "demo"
    churn = edges[("customer", "churned")]
    assert churn.rate == 0.05 and churn.period_days == 365 / 12
    assert math.isclose(churn.hazard, -math.log(0.95) / (365 / 12))
    trig = j.trigger("trial_nudge")
    assert (trig.when, trig.stage, trig.days, trig.send, trig.then_share, trig.then_stage) == (
        "in", "trial", 7.0, ("nudge",), 0.30, "customer")
    (seg,) = j.segments
    assert seg.share == 0.20 and seg.label == "Enterprise"
    (sc,) = j.scenarios
    faster = j.with_scenario(sc.name)
    assert faster.trigger("trial_nudge").days == 3.0
    assert faster.trigger("trial_nudge").send == ("nudge",)
    assert faster.touchpoint("demo").cost == 20.0
    segs = {name: (share, sj) for name, share, sj in j.segment_journeys()}
    assert segs["default"][0] == pytest.approx(0.8)
    assert segs["enterprise"][1].stage("customer").revenue[0].amount == 499.0


@pytest.mark.parametrize(
    ("text", "days"),
    [("1 day", 1), ("3 days", 3), ("2 weeks", 14), ("1 month", 365 / 12), ("2 months", 730 / 12),
     ("1 quarter", 365 / 4), ("3 quarters", 3 * 365 / 4), ("1 year", 365), ("1.5 years", 547.5),
     ("1_000 days", 1000)],
)
def test_duration_units(text: str, days: float) -> None:
    j = build("a -> b otherwise\n b -> c 5% per month", f"horizon {text}")
    assert j.horizon_days == pytest.approx(days)


def test_unit_table_is_the_languages() -> None:
    assert DAYS == {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 365 / 12, "quarter": 365 / 4,
                    "year": 365}


@pytest.mark.parametrize(("share", "value"), [("30%", 0.3), ("0.3", 0.3), ("12.5%", 0.125),
                                              ("0%", 0.0), ("100%", 1.0), ("1", 1.0)])
def test_share_spellings(share: str, value: float) -> None:
    j = build(f"a -> b {share}\n a -> c otherwise\n b -> c 5% per month")
    assert j.transitions[0].share == pytest.approx(value)


def test_discount_per_other_period_is_made_annual() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month", "discount 1% per month")
    assert j.discount == pytest.approx(1.01**12 - 1)
    assert build("a -> b otherwise\n b -> c 5% per month", "discount 7%").discount == 0.07


def test_defaults_when_settings_are_absent() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month")
    assert (j.horizon_days, j.discount, j.customers, j.currency) == (365.0, 0.0, 10_000, None)


def test_money_without_currency_takes_the_journeys() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month\n stage d { revenue 10 on enter }",
              "currency USD")
    assert j.currency == "USD" and j.stage("d").revenue[0].amount == 10


def test_first_currency_seen_is_the_journeys_when_not_set() -> None:
    j = build("touchpoint t { channel sms; cost 0.05 GBP }\n a -> b otherwise via t\n"
              " b -> c 5% per month")
    assert j.currency == "GBP"
    assert "E304" in errors_of('journey "T" { stage a { entry; goal; terminal; revenue 1 GBP on'
                               ' enter; cost 2 USD on enter } }')


def test_on_enter_and_periodic_cash_flows() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month\n"
              "stage d { revenue 5 EUR on enter; revenue 10 EUR every 2 weeks; cost 1 EUR on enter }")
    d = j.stage("d")
    assert [(r.amount, r.period_days) for r in d.revenue] == [(5, None), (10, 14)]
    assert [(c.amount, c.period_days) for c in d.costs] == [(1, None)]


@pytest.mark.parametrize(
    ("dist", "kind", "params"),
    [("3 days", "fixed", {"value": 3}),
     ("exponential(mean 2 weeks)", "exponential", {"mean": 14}),
     ("gamma(shape 2, mean 5 days)", "gamma", {"shape": 2, "mean": 5}),
     ("gamma(mean 5 days, shape 2)", "gamma", {"shape": 2, "mean": 5}),
     ("lognormal(mean 5 days, sd 2 days)", "lognormal", {"mean": 5, "sd": 2}),
     ("uniform(7 days, 2 weeks)", "uniform", {"low": 7, "high": 14}),
     ("uniform(low 1 day, high 2 days)", "uniform", {"low": 1, "high": 2}),
     ("weibull(shape 1.5, scale 1 month)", "weibull", {"shape": 1.5, "scale": 365 / 12}),
     ("normal(mean 10 days, sd 3 days)", "normal", {"mean": 10, "sd": 3})],
)
def test_duration_distributions(dist: str, kind: str, params: dict[str, float]) -> None:
    j = build(f"a -> b otherwise after {dist}\n b -> c 5% per month")
    after = j.transitions[0].after
    assert after is not None and after.kind == kind
    assert after.params() == pytest.approx(params)


def test_money_distributions() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month\n"
              "stage d { purchases 2 per month worth gamma(shape 2, mean 30 EUR) }\n"
              "stage e { purchases 1 per year worth 99 EUR }")
    d = j.stage("d").purchases[0]
    assert (d.rate, d.per_days, d.worth.kind, d.worth.mean) == (2, 365 / 12, "gamma", 30)
    e = j.stage("e").purchases[0]
    assert (e.worth.kind, e.worth.value) == ("fixed", 99)


def test_entry_shares() -> None:
    j = compile_text('journey "T" { stage a { entry 60% }; stage b { entry }\n'
                     ' stage c { goal; terminal }; a -> c otherwise; b -> c otherwise }')[0]
    assert (j.stage("a").entry, j.stage("b").entry) == (0.6, pytest.approx(0.4))


def test_rate_and_branch_forms() -> None:
    j = build("a -> b 30% after gamma(shape 2, mean 3 days) via t\n a -> c otherwise\n"
              " b -> c 5% per 2 weeks via t\n touchpoint t { channel email }")
    ab, ac, bc = j.transitions
    assert ab.kind == "branch" and ab.via == "t" and ab.after is not None
    assert ac.otherwise and ac.share is None
    assert bc.kind == "rate" and bc.rate == 0.05 and bc.period_days == 14 and bc.via == "t"


def test_modifiers_in_any_order() -> None:
    j = build("a -> b 30% via t after 2 days\n a -> c otherwise\n b -> c 5% per month\n"
              " touchpoint t { channel email }")
    assert j.transitions[0].via == "t" and j.transitions[0].after is not None


@pytest.mark.parametrize(
    ("when", "kind", "days"),
    [("when enter b", "enter", None), ("when in b for 2 weeks", "in", 14),
     ("every month in b", "every", 365 / 12), ("every 10 days in b", "every", 10)],
)
def test_trigger_when_forms(when: str, kind: str, days: float | None) -> None:
    j = build("a -> b otherwise\n b -> c 5% per month\n touchpoint t { channel sms; response 10% }\n"
              f"trigger g \"G\" {{ {when}; send t; response 40%; then 20% -> c; limit 3 }}")
    g = j.trigger("g")
    assert (g.when, g.stage, g.label, g.send, g.response, g.then_share, g.then_stage, g.limit) == (
        kind, "b", "G", ("t",), 0.4, 0.2, "c", 3)
    assert g.days == (None if days is None else pytest.approx(days))


def test_then_without_share_takes_every_responder() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month\n trigger g { when in b for 1 day; then -> c }")
    assert j.trigger("g").then_share == 1.0


def test_overrides_build_and_merge() -> None:
    j = build(
        "a -> b 40%\n a -> c otherwise\n b -> c 5% per month\n"
        "touchpoint t { channel sms; cost 1 EUR }\n trigger g { when in b for 1 day; send t }\n"
        "scenario s \"S\" {\n stage b { dwell 3 days; revenue 9 EUR every month }\n"
        " a -> b 50%\n touchpoint t { cost 2 EUR }\n touchpoint u { channel email }\n"
        " trigger h { when enter a; send u }\n without trigger g\n without b -> c\n}\n"
        "segment vip 10% { b { revenue 99 EUR every month }; a -> b 90% }", "currency EUR")
    sc = j.scenario("s")
    assert sc.label == "S"
    ov = sc.overrides
    assert [p.name for p in ov.stages] == ["b"] and ov.stages[0].dwell is not None
    assert [(r.kind, r.names) for r in ov.removals] == [("trigger", ("g",)), ("transition",
                                                                            ("b", "c"))]
    v = j.with_scenario("s")
    assert v.stage("b").revenue[0].amount == 9 and v.stage("b").goal
    assert {t.key: t.share for t in v.transitions}[("a", "b")] == 0.5
    assert ("b", "c") not in {t.key for t in v.transitions}
    assert v.touchpoint("t").cost == 2 and v.touchpoint("t").channel == "sms"
    assert v.touchpoint("u").channel == "email"
    assert [t.name for t in v.triggers] == ["h"]
    seg = j.segments[0]
    assert seg.name == "vip" and seg.share == 0.1
    vip = dict((n, sj) for n, _, sj in j.segment_journeys())["vip"]
    assert vip.stage("b").revenue[0].amount == 99


def test_spans_are_kept_on_the_model() -> None:
    j = build("a -> b otherwise\n b -> c 5% per month")
    assert j.stage("a").span is not None and j.stage("a").span.line == 4
    assert j.transitions[0].span is not None and j.transitions[0].span.line == 8
    assert "span" not in j.model_dump()["stages"][0]


def test_errors_are_collected_and_sorted() -> None:
    with pytest.raises(JourneyValidationError) as info:
        compile_text('journey "T" { stage a { entry }; a -> x 10%; y -> a 10%;'
                     ' stage b { dwell exponential(mean 0 days) } }', "t.journey")
    diags = info.value.diagnostics
    assert [d.code for d in diags if d.severity == "error"] == ["E201", "E201", "E305"]
    assert [d.span.col for d in diags if d.span] == sorted(d.span.col for d in diags if d.span)
    assert all(d.path == "t.journey" for d in diags)


def test_warnings_come_back_with_the_journey() -> None:
    j, warnings = compile_text('journey "T" { stage a { entry; dwell 1 day }\n stage b { goal;'
                               ' terminal }\n a -> b 50% }')
    assert [w.code for w in warnings] == ["W503"]
    assert j.stage("a").entry == 1.0


# --- reading files -------------------------------------------------------------------------


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(JourneyError) as info:
        load(tmp_path / "nope.journey")
    (d,) = info.value.diagnostics
    assert d.code == "E106" and "cannot read" in d.message and "nope.journey" in d.message


def test_load_directory(tmp_path: Path) -> None:
    with pytest.raises(JourneyError) as info:
        load(tmp_path)
    assert info.value.diagnostics[0].code == "E106"


def test_load_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "x.journey"
    p.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(JourneyError) as info:
        load(p)
    (d,) = info.value.diagnostics
    assert d.code in ("E104", "E106") and "binary" in d.message


def test_load_latin1_file(tmp_path: Path) -> None:
    p = tmp_path / "x.journey"
    p.write_bytes('journey "Café" { stage a { entry; goal; terminal } }'.encode("latin-1"))
    with pytest.raises(JourneyError) as info:
        load(p)
    (d,) = info.value.diagnostics
    assert d.code == "E106" and "not UTF-8" in d.message and d.span is not None
    assert (d.span.line, d.span.col) == (1, 13)


def test_load_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "x.journey"
    text = 'journey "Клиент" {\r\n stage a "Потребител" { entry; goal; terminal }\r\n}\r\n'
    p.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    j = load(p)
    assert j.name == "Клиент" and j.stage("a").label == "Потребител"


def test_read_source_gives_the_text(tmp_path: Path) -> None:
    p = tmp_path / "x.journey"
    p.write_text('journey "J" {}\n', encoding="utf-8")
    assert read_source(p).text == 'journey "J" {}\n'


def _chain(n: int) -> str:
    lines = ['journey "Big" {', "    stage s0 { entry; dwell 1 day }"]
    lines += [f"    stage s{i} {{ dwell 1 day }}  # stage {i}" for i in range(1, n)]
    lines.append("    stage end { goal; terminal }")
    for i in range(n - 1):
        lines += [f"    s{i} -> s{i + 1} 50%", f"    s{i} -> end otherwise"]
    lines += [f"    s{n - 1} -> end otherwise", "}"]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_half_a_megabyte_journey_compiles_in_seconds() -> None:
    """Measured: about 5 s per MB here (parse, compile and checks are linear)."""
    import time

    text = _chain(5500)
    assert len(text) > 500_000
    start = time.perf_counter()
    j, warnings = compile_text(text)
    elapsed = time.perf_counter() - start
    assert len(j.stages) == 5501 and warnings == []
    assert elapsed < 20, f"{elapsed:.1f} s for {len(text) / 1e6:.1f} MB"
