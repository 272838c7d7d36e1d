"""The editor's view of a document agrees with ``journeydsl check``, and survives a half-written line."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from journeydsl.editor.analysis import Analysis
from journeydsl.language.compile import compile_syntax
from journeydsl.language.errors import Diagnostic, JourneyError
from journeydsl.language.parser import parse
from journeydsl.language.source import Source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "journeys").glob("*.journey"))
CATALOGUE = sorted((ROOT / "tests" / "catalogue").glob("*.journey"))


def check_text(text: str, path: str = "doc.journey") -> list[Diagnostic]:
    """What ``journeydsl check`` reports: a whole-file parse, then compile and checks."""
    try:
        node = parse(Source(path, text))
    except JourneyError as exc:
        return list(exc.diagnostics)
    return compile_syntax(node, path)[1]


def _mutations(text: str, rng: random.Random, n: int) -> list[str]:
    lines = text.split("\n")
    out = []
    pieces = ["x", "}", "{", ";", "\n", '"', "->", "%", "3", " ", "#", "stage ", "(", "day"]
    for _ in range(n):
        kind = rng.randrange(5)
        at = rng.randrange(len(text))
        if kind == 0:
            out.append(text[:at] + text[at + 1 :])
        elif kind == 1:
            out.append(text[:at] + rng.choice(pieces) + text[at:])
        elif kind == 2:
            i = rng.randrange(len(lines))
            out.append("\n".join(lines[:i] + lines[i + 1 :]))
        elif kind == 3:
            i = rng.randrange(len(lines))
            out.append("\n".join([*lines[:i + 1], lines[i], *lines[i + 1:]]))
        else:
            m = list(re.finditer(r"[A-Za-z_]+", text))
            w = rng.choice(m)
            out.append(text[: w.start()] + w.group(0)[::-1] + text[w.end() :])
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_diagnostics_equal_checks_on_many_edits(path: Path) -> None:
    """Reparsing only the edited statements gives exactly the diagnostics of a whole-file check."""
    rng = random.Random(path.name)
    text = path.read_text(encoding="utf-8")
    assert Analysis(text).diagnostics == check_text(text)
    for edited in _mutations(text, rng, 60):
        expected = check_text(edited)
        got = Analysis(edited, "doc.journey").diagnostics
        assert got == expected, f"after an edit:\n{edited}"


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.name)
def test_diagnostics_equal_checks_on_the_catalogue(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    assert Analysis(text, "doc.journey").diagnostics == check_text(text)


def test_a_broken_line_keeps_the_other_names() -> None:
    text = (ROOT / "examples" / "journeys" / "saas_trial.journey").read_text()
    broken = text.replace("    lead     -> trial    40%", "    lead     -> trial    40% per")
    a = Analysis(broken)
    assert a.syntax_error is not None
    assert a.diagnostics[0].code == "E101"
    assert {"visitor", "lead", "trial", "customer", "churned", "lost"} <= set(a.names("stage"))
    assert {"trial_nudge"} <= set(a.names("trigger"))
    assert a.names("scenario") == ["faster_demo"]


def test_an_unclosed_block_keeps_the_names_before_it() -> None:
    text = 'journey "J" {\n    stage a { entry\n    stage b { terminal }\n    a -> b 100%\n'
    a = Analysis(text)
    assert a.diagnostics[0].code == "E101"
    assert "b" in a.names("stage")


def test_rename_needs_a_file_that_parses() -> None:
    a = Analysis('journey "J" {\n    stage a { entry }\n    stage b { terminal }\n    a -> b 100% per\n}\n')
    with pytest.raises(ValueError, match="syntax error on line 4"):
        a.rename(2, 12, "start")


def test_completion_knows_the_block_it_is_in() -> None:
    text = (
        'journey "J" {\n'
        "    stage a { entry }\n"
        "    stage b { terminal }\n"
        "    touchpoint mail { channel email }\n"
        "    a -> b 100%\n"
        "    trigger t {\n"
        "        \n"
        "    }\n"
        "}\n"
    )
    a = Analysis(text)
    labels = {c.label for c in a.completions(7, 9)}
    assert {"when", "send", "then", "limit", "every", "response"} <= labels
    assert "dwell" not in labels and "stage" not in labels
    top = {c.label for c in Analysis(text.replace("    a -> b 100%\n", "    \n")).completions(5, 5)}
    assert {"stage", "touchpoint", "trigger", "scenario", "segment", "phase", "a", "b"} <= top


def test_a_did_you_mean_fix_replaces_only_the_misspelt_word() -> None:
    text = 'journey "J" {\n    stage start { entry }\n    stage done { terminal }\n    strat -> done 100%\n}\n'
    (fix,) = Analysis(text).quick_fixes
    assert (fix.replacement, fix.span.line, fix.span.col, fix.span.end_col) == ("start", 4, 5, 10)


@pytest.mark.parametrize(
    "path",
    [p for p in CATALOGUE if "did you mean" in p.with_suffix(".expected").read_text(errors="replace")],
    ids=lambda p: p.name,
)
def test_every_did_you_mean_of_the_catalogue_has_a_fix_that_removes_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    a = Analysis(text, "doc.journey")
    hinted = [d for d in a.diagnostics if d.hint and d.hint.startswith("did you mean")]
    assert hinted
    for fix in a.quick_fixes:
        lines = text.split("\n")
        line = lines[fix.span.line - 1]
        lines[fix.span.line - 1] = line[: fix.span.col - 1] + fix.replacement + line[fix.span.end_col - 1 :]
        after = Analysis("\n".join(lines), "doc.journey").diagnostics
        assert fix.diagnostic.message not in [d.message for d in after]


def test_names_after_trigger_are_offered_only_where_one_is_changed() -> None:
    text = (
        'journey "J" {\n'
        "    stage a { entry }\n"
        "    stage b { terminal }\n"
        "    a -> b 100%\n"
        "    trigger t { when enter a }\n"
        "    trigger \n"
        "    scenario s {\n"
        "        trigger \n"
        "        without trigger \n"
        "    }\n"
        "}\n"
    )
    a = Analysis(text)
    assert [c.label for c in a.completions(6, 13) if c.kind == "trigger"] == []  # naming a new trigger
    assert [c.label for c in a.completions(8, 17) if c.kind == "trigger"] == ["t"]
    assert [c.label for c in a.completions(9, 25) if c.kind == "trigger"] == ["t"]


def test_completion_inside_a_block_with_a_broken_line_above() -> None:
    text = (
        'journey "J" {\n'
        '    phase "Start" {\n'
        "        stage a {\n"
        "            entry\n"
        "            dwell 3 dys\n"
        "            \n"
        "        }\n"
        "    }\n"
        "    stage b { terminal }\n"
        "    a -> b 100%\n"
        "}\n"
    )
    a = Analysis(text)
    assert a.diagnostics[0].code == "E101"
    labels = {c.label for c in a.completions(6, 13)}
    assert {"goal", "active", "revenue", "touch"} <= labels
    assert "scenario" not in labels


_PIECES = [
    'journey "J" {', "}", "{", "\n", ";", " ", "stage", "a", "b", "entry", "terminal", "goal", "->", "30%",
    "otherwise", "dwell", "exponential(mean 2 days)", "3", "days", '"L"', "#c", "trigger", "when", "in", "for",
    "send", "t", "touchpoint", "channel", "email", "scenario", "s", "without", "(", ")", ",", "per", "month",
]


def test_any_text_gives_answers_never_an_exception() -> None:
    """Whatever is typed, the editor's questions are answered (hypothesis, derandomized in CI)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(_PIECES), max_size=40), st.data())
    def check(pieces: list[str], data: st.DataObject) -> None:
        text = " ".join(pieces)
        a = Analysis(text)
        assert isinstance(a.diagnostics, list)
        lines = text.split("\n")
        line = data.draw(st.integers(1, len(lines)))
        col = data.draw(st.integers(1, len(lines[line - 1]) + 1))
        a.completions(line, col)
        a.hover(line, col)
        a.outline  # noqa: B018
        a.quick_fixes  # noqa: B018
        occ = a.at(line, col)
        if occ is not None:
            a.references(occ)

    check()


def test_completion_offers_touchpoints_in_sends_and_behaviour_conditions() -> None:
    text = (
        'journey "J" {\n'
        "    stage a { entry }\n"
        "    stage b { terminal }\n"
        "    touchpoint mail { channel email }\n"
        "    task call { capacity 10 per day }\n"
        "    a -> b 100%\n"
        "    trigger t { when enter a; send mail, }\n"
        "    trigger u { when no response to  }\n"
        "}\n"
    )
    a = Analysis(text)
    after_comma = {c.label for c in a.completions(7, 41)}
    after_to = {c.label for c in a.completions(8, 37)}
    assert {"mail", "call"} <= after_comma and "a" not in after_comma
    assert {"mail", "call"} <= after_to
