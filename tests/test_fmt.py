"""``format_source``: golden layouts, idempotence, same model, comments kept, layout rules.

Golden files: ``tests/golden/fmt/in/NAME.journey`` is formatted and compared
with ``tests/golden/fmt/out/NAME.journey``. After an intended change of
layout, regenerate them and review the diff::

    JOURNEYDSL_REGEN=1 python -m pytest tests/test_fmt.py -p no:cacheprovider
    git diff tests/golden/fmt/
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.language.compile import compile_text
from journeydsl.language.errors import JourneyError
from journeydsl.language.fmt import WIDTH, format_number, format_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN_IN = HERE / "golden" / "fmt" / "in"
GOLDEN_OUT = HERE / "golden" / "fmt" / "out"
REGEN = os.environ.get("JOURNEYDSL_REGEN") == "1"
INPUTS = sorted(GOLDEN_IN.glob("*.journey"))
EXAMPLES = sorted((ROOT / "examples" / "journeys").glob("*.journey"))


def comments(text: str) -> Counter[str]:
    """The comment texts of a journey (outside labels)."""
    out: Counter[str] = Counter()
    for line in text.splitlines():
        stripped = re.sub(r'"([^"\\]|\\.)*"', '""', line)
        if "#" in stripped:
            out[stripped[stripped.index("#"):].rstrip()] += 1
    return out


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    got = format_source(path.read_text(encoding="utf-8"), path.name)
    expected = GOLDEN_OUT / path.name
    if REGEN:
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", INPUTS + EXAMPLES, ids=lambda p: p.stem)
def test_idempotent_same_model_comments_kept(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    once = format_source(text, path.name)
    assert format_source(once, path.name) == once
    before, _ = compile_text(text)
    after, _ = compile_text(once)
    assert after.model_dump() == before.model_dump()
    assert comments(once) == comments(text)
    assert all(len(line) - len(line.lstrip(" ")) in range(0, 40, 4) for line in once.splitlines())
    assert "\t" not in once
    assert once.endswith("}\n") or once.rstrip().endswith(tuple(comments(text)))


def test_golden_inputs_are_not_already_canonical() -> None:
    changed = [p for p in INPUTS if format_source(p.read_text(encoding="utf-8")) !=
               p.read_text(encoding="utf-8")]
    assert len(changed) == len(INPUTS)


def test_cyrillic_labels_survive() -> None:
    text = (GOLDEN_IN / "cyrillic.journey").read_text(encoding="utf-8")
    out = format_source(text)
    for word in ("Клиент", "Потребител", "Посетител", "Промоция «лято»", "# посетители от реклама"):
        assert word in out
    j, _ = compile_text(out)
    assert j.name == "Клиент — Потребител" and j.stage("client").label == "Клиент"


def test_invalid_input_raises() -> None:
    with pytest.raises(JourneyError):
        format_source('journey "T" { a -> }')
    with pytest.raises(JourneyError):
        format_source('journey "T" { stage a { entry }; a -> zz 10% }')


def test_one_statement_per_line() -> None:
    out = format_source('journey "T" { stage a { entry; goal; terminal }; stage b }')
    assert out == 'journey "T" {\n    stage a { entry; terminal; goal }\n    stage b\n}\n'


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_already_formatted(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_source(text, path.name) == text


def test_one_line_block_only_when_it_fits() -> None:
    label = "x" * (WIDTH - len('    stage a "" { entry; dwell 2 days }'))
    fits = format_source(f'journey "T" {{ stage a "{label}" {{ entry; dwell 2 days }} }}')
    assert fits.splitlines()[1] == f'    stage a "{label}" {{ entry; dwell 2 days }}'
    assert len(fits.splitlines()[1]) == WIDTH
    longer = format_source(f'journey "T" {{ stage a "{label}x" {{ entry; dwell 2 days }} }}')
    assert longer.splitlines()[1:5] == [f'    stage a "{label}x" {{', "        entry",
                                        "        dwell 2 days", "    }"]


def test_comments_inside_keep_a_block_open() -> None:
    inner = format_source('journey "T" {\n stage a {\n entry  # first\n goal\n }\n}')
    assert "    stage a {\n        entry  # first\n        goal\n    }\n" in inner
    # a comment on the block's own line trails the one-line form
    trailing = format_source('journey "T" {\n stage a {  # why\n entry\n goal\n }\n}')
    assert "    stage a { entry; goal }  # why\n" in trailing
    # comments both after `{` and after `}` cannot share one line
    both = format_source('journey "T" {\n stage a {  # one\n entry\n }  # two\n}')
    assert "    stage a {  # one\n        entry\n    }  # two\n" in both


def test_triggers_phases_segments_scenarios_stay_multi_line() -> None:
    out = format_source(
        'journey "T" { phase "P" { stage a { entry } }; stage b { terminal }\n'
        " touchpoint t { channel email }\n a -> b 50%\n a -> a otherwise after 1 day\n"
        " trigger g { when enter a; send t }\n segment s 10% { a -> b 60% }\n"
        " scenario x { trigger g { limit 2 }; stage b { goal } } }"
    )
    assert out == (
        'journey "T" {\n'
        '    phase "P" {\n        stage a { entry }\n    }\n'
        "    stage b { terminal }\n"
        "    touchpoint t { channel email }\n"
        "    a -> b 50%\n    a -> a otherwise after 1 day\n"
        "    trigger g {\n        when enter a\n        send t\n    }\n"
        "    segment s 10% {\n        a -> b 60%\n    }\n"
        "    scenario x {\n        stage b { goal }\n        trigger g { limit 2 }\n    }\n"
        "}\n"
    )


def test_blank_lines_are_the_authors() -> None:
    text = ('journey "T" {\n\n    currency EUR\n\n\n\n    stage a { entry }\n'
            "    stage b {\n\n        terminal\n\n        goal\n\n    }\n"
            "    a -> b 50%\n\n    a -> a otherwise after 1 day\n\n}\n")
    assert format_source(text) == (
        'journey "T" {\n    currency EUR\n\n    stage a { entry }\n'
        "    stage b { terminal; goal }\n    a -> b 50%\n\n"
        "    a -> a otherwise after 1 day\n}\n"
    )
    # blank lines between the properties of a block laid out one per line stay
    long = "y" * 90
    out = format_source(f'journey "T" {{\n stage a "{long}" {{\n entry\n\n\n goal\n }}\n}}\n')
    assert out.endswith('        entry\n\n        goal\n    }\n}\n')


def test_header_keeps_its_blank_line() -> None:
    assert format_source('# head\n\n\njourney "T" { stage a { entry } }').startswith(
        '# head\n\njourney "T" {\n')
    assert format_source('# head\njourney "T" { stage a { entry } }').startswith(
        '# head\njourney "T" {\n')


def test_trailing_comments_align_in_a_run() -> None:
    text = ('journey "T" {\n stage a "A" {\n entry # one\n dwell 2 days\n'
            " revenue 10 EUR every month # three\n }\n stage b { terminal }\n"
            " a -> b 10% # short\n\n a -> a otherwise after uniform(1 day, 3 days) # alone\n}\n")
    lines = format_source(text).splitlines()
    assert lines[2] == "        entry                       # one"
    assert lines[4] == "        revenue 10 EUR every month  # three"
    assert lines[7] == "    a -> b 10%  # short"  # a blank line ends the run
    assert lines[9] == "    a -> a otherwise after uniform(1 day, 3 days)  # alone"


def test_a_comment_that_would_pass_the_width_gets_two_spaces() -> None:
    note = "# " + "n" * 70
    text = (f'journey "T" {{\n stage a {{ entry }}\n stage b {{ goal }}\n'
            f" a -> b 10% # x\n a -> a otherwise after uniform(1 day, 3 days) {note}\n"
            " b -> a 5% per month # y\n}\n")
    lines = format_source(text).splitlines()
    # the long comment does not count: the others align after the longest other code
    assert lines[3] == "    a -> b 10%           # x"
    assert lines[4] == f"    a -> a otherwise after uniform(1 day, 3 days)  {note}"
    assert lines[5] == "    b -> a 5% per month  # y"
    assert max(len(line) for line in lines if line is not lines[4]) <= WIDTH


def test_one_line_declarations_align() -> None:
    out = format_source(
        'journey "T" { stage start "Start" { entry }; stage middle; stage gone "Gone for good"'
        " { terminal }\n touchpoint ads \"Ads\" { channel paid_social }\n"
        " touchpoint mail { channel email; cost 0.01 EUR }\n"
        " start -> middle 50%; start -> gone otherwise; middle -> gone otherwise }"
    )
    assert out.splitlines()[1:6] == [
        '    stage start  "Start"         { entry }',
        "    stage middle",
        '    stage gone   "Gone for good" { terminal }',
        '    touchpoint ads  "Ads" { channel paid_social }',
        "    touchpoint mail       { channel email; cost 0.01 EUR }",
    ]


def test_canonical_spellings() -> None:
    out = format_source(
        'journey "T" { customers 25000; discount 0.1; horizon 1 years\n'
        " stage a { entry; dwell 1 days; revenue 1.5 EUR every 1 month }\n"
        " stage b { goal; terminal }\n a -> b 0.25 after 2 day\n a -> a otherwise after"
        " uniform(high 3 days, low 1 day)\n}"
    )
    for piece in ("customers 25_000", "discount 10% per year", "horizon 1 year", "dwell 1 day",
                  "revenue 1.50 EUR every month", "a -> b 25% after 2 days",
                  "a -> a otherwise after uniform(1 day, 3 days)"):
        assert piece in out, piece


def test_labels_are_requoted() -> None:
    out = format_source(r'journey "T \"q\"" { stage a "x \\ y" { entry; goal; terminal } }')
    assert r'journey "T \"q\"" {' in out and r'stage a "x \\ y" {' in out


@pytest.mark.parametrize(("value", "text"), [(0.0, "0"), (1.0, "1"), (999.0, "999"),
                                             (1000.0, "1_000"), (9999.0, "9_999"),
                                             (10000.0, "10_000"), (0.1, "0.1"), (2.5e-7,
                                                                                  "0.00000025"),
                                             (-3.0, "-3"), (1234567.0, "1_234_567")])
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text.replace("_", "")) == value


# --- properties: the layout depends on the journey, not on how it was written ------------

PROPERTIES = settings(max_examples=int(os.environ.get("JOURNEYDSL_EXAMPLES", "80")),
                      deadline=None, suppress_health_check=[HealthCheck.too_slow])
Statement = tuple[str, list[str] | None, str]  # head, properties (None: no block), comment


@st.composite
def statements(draw: st.DrawFn) -> list[Statement]:
    """A valid journey as statements: stages with random properties and label lengths
    (some one-line blocks fit in 100 columns, some do not), touchpoints, transitions
    with optional trailing comments, a trigger and a scenario with one-line changes."""
    n = draw(st.integers(1, 5))
    out: list[Statement] = [("currency EUR", None, "")]
    for i in range(n):
        props = ["entry"] if i == 0 else []
        pool = ["goal", "active", "dwell gamma(shape 2, mean 5 days)",
                "revenue 12.50 EUR every month", "cost 1 EUR on enter", "touch t on enter",
                "purchases 2 per year worth gamma(shape 2, mean 40 EUR)"]
        props += draw(st.lists(st.sampled_from(pool), unique=True, max_size=5))
        if i and not props:
            props = ["active"]
        label = f' "{"L" * draw(st.integers(0, 70))}"' if draw(st.booleans()) else ""
        bare = i > 0 and draw(st.integers(0, 5)) == 0
        out.append((f"stage s{i}{label}", None if bare else props, ""))
    out.append(('stage end "End"', ["goal", "terminal"], ""))
    out.append((f'touchpoint t "{"T" * draw(st.integers(0, 60))}"',
                ["channel email", "cost 0.02 EUR", "response 10%"], ""))
    for i in range(n):
        comment = "# " + "c" * draw(st.integers(0, 60)) if draw(st.booleans()) else ""
        target = f"s{i + 1}" if i + 1 < n else "end"
        share = f"{draw(st.integers(1, 99))}%" if target != "end" else "otherwise"
        out.append((f"s{i} -> {target} {share}", None, comment))
        if target != "end":
            out.append((f"s{i} -> end otherwise after {draw(st.integers(1, 9))} days", None, ""))
    out.append(("trigger g", ["when in s0 for 2 days", "send t", "then 10% -> end"], ""))
    out.append(("scenario x", ["touchpoint t { cost 0.05 EUR }", "trigger g { limit 2 }",
                               "stage s0 { dwell 1 day }"], ""))
    return out


def write(journey: list[Statement], rnd: random.Random) -> str:
    """``journey`` as text, with random spaces, indents and line breaks (no blank lines)."""

    def sp() -> str:
        return rnd.choice([" ", "  ", "   "])

    def nl() -> str:
        return "\n" + " " * rnd.randrange(0, 9)

    text = 'journey "P"' + sp() + "{" + nl()
    for head, props, comment in journey:
        text += sp().join(head.split(" ")) if " " in head else head
        if props is not None:
            text += sp() + "{" + rnd.choice([sp(), nl()])
            for k, prop in enumerate(props):
                text += prop if k == 0 else rnd.choice([";" + sp(), nl(), sp() + ";" + nl()]) + prop
            text += rnd.choice([sp(), nl()]) + "}"
        if comment:
            text += sp() + comment + nl()
        else:
            text += rnd.choice([nl(), ";" + sp(), sp() + ";" + nl()])
    return text + "}\n"


@PROPERTIES
@given(statements(), st.randoms(use_true_random=False), st.randoms(use_true_random=False))
def test_layout_of_the_input_does_not_matter(journey: list[Statement], one: random.Random,
                                             two: random.Random) -> None:
    first, second = write(journey, one), write(journey, two)
    out = format_source(first)
    assert format_source(second) == out
    assert format_source(out) == out
    assert compile_text(out)[0].model_dump() == compile_text(first)[0].model_dump()
    assert comments(out) == comments(first)
    for line in out.splitlines():
        code = re.sub(r'"([^"\\]|\\.)*"', '""', line)
        one_line_block = re.search(r"\{ .+ \}$", code.split("#")[0].rstrip())
        assert not one_line_block or len(line.split("  #")[0].rstrip()) <= WIDTH
    assert "\n\n" not in out  # no blank line the author did not write


def test_the_example_in_the_fmt_docs_is_what_fmt_writes() -> None:
    page = (ROOT / "docs" / "commands" / "fmt.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(journey .*?)```", page, flags=re.S)
    assert len(blocks) == 2
    assert format_source(blocks[0]) == blocks[1]
    assert format_source(blocks[1]) == blocks[1]


# --- labels: the language's escapes, and every character round-trips --------------------

#: Every kind of character a label can hold: controls (C0, DEL, C1), quotes, backslashes,
#: whitespace, the Unicode line separators, bidi controls, Cyrillic, CJK, emoji (with joiners).
LABEL_CHARS = st.one_of(
    st.sampled_from(list('"\\\t\n\r\x1b\x07\x0b\x0c\x7f\x85\u2028\u2029\u202e\u2066\ufeff\u200d #{}%;')),
    st.characters(min_codepoint=0, max_codepoint=0x9f),
    st.characters(blacklist_categories=("Cs",)),
    st.sampled_from(list("КлиентПотребител漢字🎉👨‍👩‍👧🇧🇬")),
)
ANY_LABEL = st.text(LABEL_CHARS.filter(lambda c: c != "\x00"), min_size=0, max_size=24)  # NUL: E107


def _write_label(label: str) -> str:
    from journeydsl.language.fmt import quote_label

    q = quote_label(label)
    return (f"journey {q if label else 'J'} {{\n    phase {q} {{\n        stage a {q} {{ entry; terminal; goal }}\n"
            "    }\n}\n")


@settings(max_examples=int(os.environ.get("JOURNEYDSL_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ANY_LABEL)
def test_every_label_round_trips_through_fmt(label: str) -> None:
    text = _write_label(label)
    journey, _ = compile_text(text)
    assert (journey.name, journey.phases, journey.stage("a").label) == (label or "J", (label,), label)
    once = format_source(text)
    assert once == text  # quote_label is what fmt writes
    assert format_source(once) == once
    again, _ = compile_text(once)
    assert again.model_dump() == journey.model_dump()
    assert "\n" not in once.splitlines()[0]  # a label stays on one line
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", once)  # nothing invisible is written raw


@pytest.mark.parametrize(
    ("written", "label"),
    [
        (r'"Free\ttrial"', "Free\ttrial"),
        (r'"two\nlines"', "two\nlines"),
        (r'"cr\r"', "cr\r"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\u00e9t\u00E9 \u001b"', "été \x1b"),
        ('"raw\ttab"', "raw\ttab"),
    ],
)
def test_the_escapes_of_the_language(written: str, label: str) -> None:
    text = f"journey {written} {{ stage a {{ entry; terminal }} }}"
    assert compile_text(text)[0].name == label
    assert compile_text(format_source(text))[0].name == label


@pytest.mark.parametrize("escape", [r"\x41", r"\e", r"\u12", r"\u", r"\ud800", r"\u0000", r"\a", "\\\x1b"])
def test_unknown_escapes_are_errors_with_a_caret(escape: str) -> None:
    text = f'journey "J" {{\n    stage a "ok {escape} no" {{ entry; terminal }}\n}}\n'
    with pytest.raises(JourneyError) as info:
        compile_text(text)
    diag = info.value.diagnostics[0]
    assert diag.code == "E107" and diag.span is not None
    assert (diag.span.line, diag.span.col) == (2, 17)
    assert diag.hint is not None and '\\"' in diag.hint and "\\u00e9" in diag.hint


def test_fmt_command_keeps_mode_and_writes_through_links(tmp_path: Path) -> None:
    from journeydsl.cli import main

    real = tmp_path / "real.journey"
    real.write_text('journey "J" {\nstage a "Free\ttrial" {entry;terminal}\n}\n', encoding="utf-8")
    real.chmod(0o600)
    link = tmp_path / "link.journey"
    link.symlink_to(real)
    assert main(["fmt", "-q", str(link)]) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.stat().st_mode & 0o777 == 0o600
    text = real.read_text(encoding="utf-8")
    assert r'"Free\ttrial"' in text
    assert compile_text(text)[0].stage("a").label == "Free\ttrial"
    assert main(["fmt", "--check", str(link)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.journey", "real.journey"]
