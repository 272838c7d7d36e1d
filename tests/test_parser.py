"""The grammar and the parser: every form, lexical rules, and errors in words."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from journeydsl.language import syntax as sx
from journeydsl.language.errors import JourneyError, JourneySyntaxError
from journeydsl.language.parser import MAX_BYTES, grammar_text, parse, parser
from journeydsl.language.source import Source, Span

ROOT = Path(__file__).resolve().parent.parent


def p(text: str) -> sx.JourneyNode:
    return parse(Source("t.journey", text))


def body(text: str) -> tuple[object, ...]:
    return p(f'journey "T" {{\n{text}\n}}\n').items


def syntax_error(text: str) -> JourneySyntaxError:
    with pytest.raises(JourneySyntaxError) as info:
        p(text)
    return info.value


# --- the grammar itself -----------------------------------------------------------------


def test_every_terminal_is_named() -> None:
    names = [t.name for t in parser().terminals]
    assert names and not [n for n in names if n.startswith("__ANON")]


def test_grammar_is_the_repository_file() -> None:
    assert grammar_text() == (ROOT / "grammars" / "journey.lark").read_text(encoding="utf-8")


def test_parser_is_built_once() -> None:
    assert parser() is parser()


# --- forms -----------------------------------------------------------------------------


def test_journey_header_forms() -> None:
    assert (p('journey "Клиент" {}').name, p('journey "Клиент" {}').label) == (None, "Клиент")
    j = p('journey saas "SaaS" {}')
    assert (j.name, j.label) == ("saas", "SaaS")
    assert p("journey saas {}").name == "saas"


def test_settings() -> None:
    cur, hor, disc, cust = body("currency EUR\nhorizon 2 years\ndiscount 10% per year\n"
                                "customers 20_000")
    assert isinstance(cur, sx.CurrencySetting) and cur.code == "EUR"
    assert isinstance(hor, sx.HorizonSetting) and hor.duration == sx.Duration(2, "year", hor.duration.span)
    assert isinstance(disc, sx.DiscountSetting) and disc.rate.value == 10 and disc.rate.percent
    assert disc.per is not None and disc.per.count is None and disc.per.unit == "year"
    assert isinstance(cust, sx.CustomersSetting) and cust.count.value == 20000


def test_stage_forms_and_properties() -> None:
    (plain, labelled, full) = body(
        'stage a\nstage b "Label"\nstage c "C" { entry 30%; terminal; goal; active;'
        " dwell 3 days; touch x, y on enter; revenue 49 EUR on enter; cost 4 every month;"
        " purchases 0.5 per year worth 120 EUR }"
    )
    assert isinstance(plain, sx.StageNode) and plain.label is None and not plain.has_body
    assert isinstance(labelled, sx.StageNode) and labelled.label == "Label"
    assert isinstance(full, sx.StageNode) and full.has_body
    kinds = [type(x).__name__ for x in full.props]
    assert kinds == ["EntryProp", "FlagProp", "FlagProp", "FlagProp", "DwellProp", "TouchProp",
                     "CashProp", "CashProp", "PurchasesProp"]
    entry, *_, touch, rev, cost, purchases = full.props
    assert isinstance(entry, sx.EntryProp) and entry.share is not None and entry.share.value == 30
    assert isinstance(touch, sx.TouchProp) and [n.text for n in touch.touchpoints] == ["x", "y"]
    assert isinstance(rev, sx.CashProp) and rev.every is None and rev.money.currency == "EUR"
    assert isinstance(cost, sx.CashProp) and cost.money.currency is None
    assert cost.every is not None and cost.every.unit == "month"
    assert isinstance(purchases, sx.PurchasesProp) and purchases.worth.kind == "fixed"


def test_phase_groups_stages() -> None:
    (ph,) = body('phase "Acquisition" {\n stage a { entry }\n stage b\n}')
    assert isinstance(ph, sx.PhaseNode) and ph.label == "Acquisition"
    assert [s.name.text for s in ph.stages] == ["a", "b"]


def test_transition_forms() -> None:
    a, b, c, d = body("a -> b 30%\na -> c otherwise after 2 days via t\n"
                      "b -> c 5% per month via t\nc -> c 0.25 via t after exponential(mean 1 day)")
    assert isinstance(a, sx.TransitionNode) and a.share is not None and a.per is None
    assert isinstance(b, sx.TransitionNode) and b.otherwise and len(b.after) == 1
    assert [v.text for v in b.via] == ["t"]
    assert isinstance(c, sx.TransitionNode) and c.per is not None and c.per.unit == "month"
    assert isinstance(d, sx.TransitionNode) and d.share == sx.Share(0.25, False, d.share.span)
    assert d.after[0].kind == "exponential"


@pytest.mark.parametrize(
    ("text", "kind", "params"),
    [("3 days", "fixed", [None]),
     ("exponential(mean 2 days)", "exponential", ["mean"]),
     ("gamma(shape 2, mean 5 days)", "gamma", ["shape", "mean"]),
     ("lognormal(mean 5 days, sd 1 day)", "lognormal", ["mean", "sd"]),
     ("uniform(7 days, 14 days)", "uniform", [None, None]),
     ("weibull(shape 1.5, scale 30 days)", "weibull", ["shape", "scale"]),
     ("normal( mean 10 days , sd 3 days )", "normal", ["mean", "sd"])],
)
def test_the_seven_distributions(text: str, kind: str, params: list[str | None]) -> None:
    (st,) = body(f"stage a {{ dwell {text} }}")
    assert isinstance(st, sx.StageNode)
    (dwell,) = st.props
    assert isinstance(dwell, sx.DwellProp)
    assert dwell.dist.kind == kind and [a.param for a in dwell.dist.args] == params


def test_touchpoint_and_trigger_forms() -> None:
    tp, g1, g2, g3 = body(
        'touchpoint t "T" { channel email; cost 0.02 EUR; response 20% }\n'
        "trigger g1 { when enter a; send t }\n"
        'trigger g2 "Day 7" { when in a for 7 days; response 30%; then 50% -> b; limit 1 }\n'
        "trigger g3 { every 2 weeks in a; then -> b; limit 3 }"
    )
    assert isinstance(tp, sx.TouchpointNode) and [type(x).__name__ for x in tp.props] == [
        "ChannelProp", "TouchpointCostProp", "ResponseProp"]
    assert isinstance(g1, sx.TriggerNode) and isinstance(g1.props[0], sx.WhenEnter)
    assert isinstance(g2, sx.TriggerNode) and isinstance(g2.props[0], sx.WhenIn)
    assert g2.label == "Day 7"
    assert isinstance(g3, sx.TriggerNode) and isinstance(g3.props[0], sx.WhenEvery)
    then = g3.props[1]
    assert isinstance(then, sx.ThenProp) and then.share is None and then.stage.text == "b"


def test_segment_and_scenario_overrides() -> None:
    seg, sc = body(
        'segment vip "VIP" 20% {\n a -> b 40%\n b { revenue 9 EUR every month }\n}\n'
        'scenario s "S" {\n stage b { dwell 1 day }\n touchpoint t { cost 1 EUR }\n'
        " trigger g { when enter a }\n without trigger g\n without a -> b\n}"
    )
    assert isinstance(seg, sx.SegmentNode) and seg.share.value == 20 and seg.label == "VIP"
    short = seg.overrides[1]
    assert isinstance(short, sx.StageNode) and short.short
    assert isinstance(sc, sx.ScenarioNode)
    assert [type(x).__name__ for x in sc.overrides] == [
        "StageNode", "TouchpointNode", "TriggerNode", "WithoutTrigger", "WithoutTransition"]


# --- lexical rules ----------------------------------------------------------------------


def test_statements_end_at_newline_or_semicolon() -> None:
    a = body("stage a; stage b\nstage c;;\n\n   \nstage d ;")
    assert [s.name.text for s in a if isinstance(s, sx.StageNode)] == ["a", "b", "c", "d"]


def test_comments_everywhere() -> None:
    j = p('# top\n\njourney "T" { # after brace\n  # own line\n  stage a { entry # x\n'
          "  # inside\n  } # after\n  a -> a otherwise # edge\n}\n# end\n")
    assert len(j.items) == 2


def test_crlf_and_tabs() -> None:
    j = p('journey "T" {\r\n\tstage a {\tentry }\r\n}\r\n')
    assert isinstance(j.items[0], sx.StageNode)


@pytest.mark.parametrize(("text", "value", "percent"),
                         [("30%", 30, True), ("12.5%", 12.5, True), ("0.3", 0.3, False),
                          ("1_000", 1000, False), ("-5%", -5, True), ("100%", 100, True)])
def test_numbers(text: str, value: float, percent: bool) -> None:
    (t,) = body(f"a -> b {text}")
    assert isinstance(t, sx.TransitionNode) and t.share is not None
    assert (t.share.value, t.share.percent) == (value, percent)


def test_money_spellings() -> None:
    (tp,) = body("touchpoint t { cost 1.20 EUR }")
    assert isinstance(tp, sx.TouchpointNode)
    cost = tp.props[0]
    assert isinstance(cost, sx.TouchpointCostProp) and cost.money == sx.Money(1.2, "EUR",
                                                                              cost.money.span)


@pytest.mark.parametrize("unit", ["day", "days", "week", "weeks", "month", "months",
                                  "quarter", "quarters", "year", "years"])
def test_duration_units_singular_and_plural(unit: str) -> None:
    (h,) = body(f"horizon 2 {unit}")
    assert isinstance(h, sx.HorizonSetting) and h.duration.unit == unit.removesuffix("s")


def test_unit_and_distribution_words_can_be_names() -> None:
    items = body("stage normal { entry }\nstage day\nstage month\nnormal -> day 50%\n"
                 "normal -> month otherwise\nstage enter")
    assert [s.name.text for s in items if isinstance(s, sx.StageNode)] == [
        "normal", "day", "month", "enter"]


def test_utf8_labels() -> None:
    (st,) = body('stage a "Клиент — Потребител ✓" { entry }')
    assert isinstance(st, sx.StageNode) and st.label == "Клиент — Потребител ✓"


def test_label_escapes() -> None:
    (st,) = body(r'stage a "say \"hi\" \\ ok"')
    assert isinstance(st, sx.StageNode) and st.label == 'say "hi" \\ ok'


def test_spans_point_at_the_text() -> None:
    (st,) = body("  stage visitor { entry }")
    assert isinstance(st, sx.StageNode)
    assert st.span == Span(2, 3, 2, 26) and st.name.span == Span(2, 9, 2, 16)


# --- errors --------------------------------------------------------------------------------

BROKEN = [
    'journey "T" { a -> b }',
    'journey "T" { a -> b 30% lots }',
    'journey "T" { stage a { entr } }',
    'journey "T" { currency eur }',
    'journey "T" { stage a {',
    'journey "T {}',
    'journey "T" {}}',
    'journey "T" { stage customers; customers -> a 5% }',
    'journey "T" { touchpoint t { cost 3 € } }',
    'journey "T" { stage a { dwell 3 dayz } }',
    'journey "T" { stage a { dwell gamma(shape 2, mean 3 days }',
    'journey "T" { a -> b 30% per }',
    'journey "T" { trigger t { when a } }',
    'journey "T" { scenario s { without x } }',
    "stage a",
    "journey",
    '"T"',
    'journey "T" { @ }',
    'journey "T" { a => b 30% }',
]


@pytest.mark.parametrize("text", BROKEN)
def test_syntax_errors_speak_words_not_tokens(text: str) -> None:
    err = syntax_error(text)
    (d,) = err.diagnostics
    assert d.severity == "error" and d.code.startswith("E1")
    shown = d.message + (d.hint or "")
    assert not re.search(r"__ANON|\$END|\b(NAME|STRING|PERCENT|NUMBER|_SEP|_RBRACE|_LBRACE|"
                         r"UNIT|CURRENCY|DIST_KIND|PARAM)\b", shown), shown
    assert d.message[0].islower() and not d.message.endswith(".")
    assert d.span is not None and 1 <= d.span.line <= text.count("\n") + 2
    assert err.__cause__ is None and err.__suppress_context__


def test_missing_share_message() -> None:
    d = syntax_error('journey "T" {\n a -> b\n}').diagnostics[0]
    assert d.message == "expected a share like '30%' or 'otherwise', found the end of the line"
    assert d.span == Span(2, 8, 2, 9)


def test_misspelled_keyword_gets_did_you_mean() -> None:
    d = syntax_error('journey "T" { stage a { termnal } }').diagnostics[0]
    assert d.hint == "did you mean 'terminal'?"


def test_keyword_used_as_a_stage_name_is_explained() -> None:
    d = syntax_error('journey "T" {\n stage trigger\n trigger -> a 5%\n}').diagnostics[0]
    assert d.hint is not None and "'trigger' is a word of the language" in d.hint


def test_empty_and_comment_only_input() -> None:
    for text in ("", "   \n\n", "# nothing\n"):
        d = syntax_error(text).diagnostics[0]
        assert d.code == "E105" and "empty" in d.message


def test_binary_input() -> None:
    d = syntax_error('journey "T" {\x00\x01\x02}').diagnostics[0]
    assert d.code == "E104" and d.span == Span.point(1, 14)


@pytest.mark.slow
def test_huge_input_is_refused_fast() -> None:
    text = 'journey "T" {\n' + "    stage a { entry }\n" * 500_000 + "}\n"  # 11 MB
    assert len(text) > 10_000_000
    start = time.perf_counter()
    with pytest.raises(JourneyError) as info:
        p(text)
    assert time.perf_counter() - start < 1.0
    d = info.value.diagnostics[0]
    assert d.code == "E103" and "too large" in d.message and f"{MAX_BYTES / 1e6:.0f} MB" in d.message


@pytest.mark.slow
def test_large_garbage_fails_at_once() -> None:
    text = "x" * (MAX_BYTES - 10)
    start = time.perf_counter()
    with pytest.raises(JourneyError):
        p(text)
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(
    ("text", "hint"),
    [('journey "T" { trigger t { when a } }', "write 'when enter STAGE'"),
     ('journey "T" {\n stage a { revenue 49 EUR }\n}', "say when: 'on enter' or 'every month'"),
     ('journey "T" {\n stage a { revenue 49 EUR per month }\n}', "did you mean 'every'?"),
     ('journey "T" {\n touchpoint t { channel "e-mail" }\n}', "without quotes, like 'e_mail'"),
     ('journey "T" {\n stage a "{" { # {\n', "the '{' on line 2 is not closed"),
     ("stage a { entry }", 'everything goes inside one block: journey "My journey"')],
)
def test_hints_say_what_to_write(text: str, hint: str) -> None:
    d = syntax_error(text).diagnostics[0]
    assert d.hint is not None and hint in d.hint
