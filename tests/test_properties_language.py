"""Properties of the language pipeline, with hypothesis.

- any text gives a Journey or a JourneyError, never another exception;
- generated journeys (random structure and random spellings) compile, and
  ``format_source`` is idempotent and keeps the model;
- labels in any script survive parsing and formatting.

``JOURNEYDSL_EXAMPLES=2000`` runs more examples than the default.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.language.compile import compile_text
from journeydsl.language.errors import JourneyError
from journeydsl.language.fmt import format_source

SETTINGS = settings(max_examples=int(os.environ.get("JOURNEYDSL_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORDS = [
    "journey", '"J"', "{", "}", ";", "\n", "stage", "a", "b", "c", "entry", "terminal", "goal",
    "active", "dwell", "3 days", "exponential(mean 2 days)", "gamma(shape 2, mean 1 day)",
    "uniform(1 day, 2 days)", "->", "30%", "0.5", "otherwise", "per month", "after", "via", "t",
    "touchpoint", "channel email", "cost", "4 EUR", "9 USD", "revenue", "every", "on enter",
    "touch", "trigger", "when enter", "when in", "for 2 weeks", "every 1 week in", "send",
    "then", "limit 2", "segment", "scenario", "without", "phase", '"P"', "currency EUR",
    "horizon 1 year", "discount 5% per year", "customers 100", "# note\n", "120%", "-3", "(", ")",
    ",", "purchases 1 per year worth 5 EUR", "response 10%", "Клиент", '"Потребител"',
]


def outcome(text: str) -> str:
    try:
        compile_text(text, "p.journey")
    except JourneyError as exc:
        assert exc.diagnostics, "a JourneyError carries at least one diagnostic"
        assert all(d.code and d.message for d in exc.diagnostics)
        str(exc)  # the text form draws without failing
        return "error"
    return "ok"


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_gives_a_journey_or_a_journey_error(text: str) -> None:
    outcome(text)


@SETTINGS
@given(st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join))
def test_any_word_soup_gives_a_journey_or_a_journey_error(text: str) -> None:
    outcome(text)
    wrapped = 'journey "J" {\n' + text + "\n}\n"
    if outcome(wrapped) == "ok":
        once = format_source(wrapped)
        assert format_source(once) == once
        assert compile_text(once)[0].model_dump() == compile_text(wrapped)[0].model_dump()


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_decoded_give_an_answer(data: bytes) -> None:
    outcome(data.decode("utf-8", errors="replace"))
    outcome(data.decode("latin-1"))


# --- generated journeys ----------------------------------------------------------------

LABEL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\\n\r'),
    min_size=1, max_size=12,
)
UNIT = st.sampled_from(["day", "week", "month", "quarter", "year"])


@st.composite
def duration(draw: st.DrawFn, low: int = 1) -> str:
    n = draw(st.integers(low, 40))
    unit = draw(UNIT)
    return f"{n} {unit}{'' if n == 1 and draw(st.booleans()) else 's'}"


@st.composite
def share_text(draw: st.DrawFn, pct: int) -> str:
    if draw(st.booleans()):
        return f"{pct}%"
    return f"{pct / 100:g}" if pct % 10 == 0 else f"{pct}%"


@st.composite
def time_dist(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["fixed", "exponential", "gamma", "lognormal", "uniform",
                                 "weibull", "normal"]))
    d = draw(duration())
    if kind == "fixed":
        return d
    if kind == "exponential":
        return f"exponential(mean {d})"
    if kind == "gamma":
        return f"gamma(shape {draw(st.integers(1, 5))}, mean {d})"
    if kind == "lognormal":
        return f"lognormal(mean {d}, sd {draw(duration())})"
    if kind == "uniform":
        n = draw(st.integers(1, 9))
        return f"uniform({n} days, {n + draw(st.integers(0, 9))} days)"
    if kind == "weibull":
        return f"weibull(shape 1.5, scale {d})"
    return f"normal(mean {d}, sd {draw(duration())})"


@st.composite
def journeys(draw: st.DrawFn) -> str:
    """A valid journey: stages s0..sn (s0 entry), a goal, terminal 'end', random extras."""
    n = draw(st.integers(1, 6))
    sep = draw(st.sampled_from(["\n", "; ", "\n\n", "  # c\n"]))
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append("currency EUR")
    if draw(st.booleans()):
        lines.append(f"horizon {draw(duration())}")
    if draw(st.booleans()):
        # at most 100% a year once made annual (E301 beyond)
        unit, top = draw(st.sampled_from([("year", 30), ("quarter", 15), ("month", 5), ("week", 1), ("day", 0)]))
        lines.append(f"discount {draw(st.integers(0, top))}% per {unit}")
    if draw(st.booleans()):
        lines.append(f"customers {draw(st.integers(1, 50_000)):_}")
    lines.append(f"touchpoint t {{ channel email; cost "
                 f"{draw(st.integers(0, 500)) / 100:.2f} EUR; response {draw(st.integers(0, 100))}% }}")
    rate_stages = set()
    for i in range(n):
        props = ["entry"] if i == 0 else []
        props.append(f"dwell {draw(time_dist())}")
        if draw(st.booleans()):
            props.append("goal")
        if draw(st.booleans()):
            props.append("active")
        if draw(st.booleans()):
            props.append(f"revenue {draw(st.integers(0, 99))} EUR every {draw(UNIT)}")
        if draw(st.booleans()):
            props.append("cost 1.50 on enter")
        if draw(st.booleans()):
            props.append("touch t on enter")
        if draw(st.booleans()):
            props.append(f"purchases {draw(st.integers(0, 5))} per year worth "
                         f"gamma(shape 2, mean {draw(st.integers(1, 99))} EUR)")
        label = f' "{draw(LABEL)}"' if draw(st.booleans()) else ""
        stage = f"stage s{i}{label} {{ {'; '.join(props)} }}"
        lines.append(f'phase "P{i % 2}" {{\n{stage}\n}}' if draw(st.booleans()) else stage)
        if i > 0 and draw(st.booleans()):
            rate_stages.add(i)
    lines.append('stage end "End" { goal; terminal }')
    for i in range(n):
        targets = draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True))
        if i in rate_stages:
            for t in [*targets, "end"]:
                target = f"s{t}" if t != "end" else "end"
                if target != f"s{i}" or draw(st.booleans()):
                    lines.append(f"s{i} -> {target} {draw(st.integers(1, 99))}% per "
                                 f"{draw(duration())}")
            continue
        left = 100
        for t in targets:
            pct = draw(st.integers(0, left))
            left -= pct
            extra = draw(st.sampled_from(["", " via t", f" after {draw(time_dist())}"]))
            lines.append(f"s{i} -> s{t} {draw(share_text(pct))}{extra}")
        lines.append(f"s{i} -> end otherwise")
    if draw(st.booleans()):
        lines.append(f"trigger g {{ when in s0 for {draw(duration())}; send t; then "
                     f"{draw(st.integers(0, 100))}% -> end }}")
    if draw(st.booleans()):
        lines.append(f"trigger h {{ every {draw(duration())} in s0; send t; limit "
                     f"{draw(st.integers(1, 5))} }}")
    if draw(st.booleans()):
        lines.append(f"segment big {draw(st.integers(0, 100))}% {{ s0 {{ dwell 1 day }} }}")
    if draw(st.booleans()):
        lines.append('scenario cheap "Cheap" { touchpoint t { cost 0.01 EUR } }')
    order = draw(st.permutations(lines))
    return f'journey "{draw(LABEL)}" {{\n' + sep.join(order) + "\n}\n"


@settings(max_examples=int(os.environ.get("JOURNEYDSL_EXAMPLES", "120")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(journeys())
def test_generated_journeys_format_idempotently_to_the_same_model(text: str) -> None:
    journey, _ = compile_text(text, "g.journey")
    once = format_source(text, "g.journey")
    assert format_source(once, "g.journey") == once
    again, _ = compile_text(once, "g.journey")
    assert again.model_dump() == journey.model_dump()


@SETTINGS
@given(LABEL, LABEL)
def test_labels_in_any_script_survive(journey_label: str, stage_label: str) -> None:
    text = (f'journey "{journey_label}" {{ stage a "{stage_label}" {{ entry; goal; terminal }} }}')
    j, _ = compile_text(text)
    assert (j.name, j.stage("a").label) == (journey_label, stage_label)
    k, _ = compile_text(format_source(text))
    assert (k.name, k.stage("a").label) == (journey_label, stage_label)


def test_bulgarian_and_russian_labels() -> None:
    text = 'journey "Клиент" {\n stage a "Потребител" { entry; goal; terminal }  # бележка\n}\n'
    out = format_source(text)
    assert "Клиент" in out and "Потребител" in out and "# бележка" in out
    j, _ = compile_text(out)
    assert (j.name, j.stage("a").label) == ("Клиент", "Потребител")
