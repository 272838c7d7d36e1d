"""The standing fuzz test: mutated example journeys through every command, never an internal error.

Each mutant is an example journey with a few lines deleted, duplicated or
swapped, numbers changed, or hostile text put in its labels. It goes through
``check``; when ``check`` accepts it, through ``simulate`` (a few hundred
customers, half a year), ``simulate --exact``, ``render`` (DOT and Mermaid:
no Graphviz needed), ``plan-test``, ``forecast`` and ``sensitivity`` where the
mutant has a scenario, a plan or an uncertain parameter (their JSON parsed
strictly), and ``fmt`` (which must be idempotent and keep the model). No
command may end in an internal error (exit 3) or show a traceback, and
nothing printed for a terminal may hold a raw control character.

Hypothesis runs derandomized (``tests/conftest.py``): the same mutants every
run. ``JOURNEYDSL_FUZZ_EXAMPLES`` raises the number of mutants to hunt while
developing (``JOURNEYDSL_HYPOTHESIS=explore`` draws new ones).

Numbers include extreme values (huge money and purchase rates, tiny shapes,
durations and discounts, rates that spin for ever): ``check`` refuses what the
engine cannot run (the limits in docs/language.md), and ``simulate`` refuses,
with its estimate, a run that would take too long; both are answers, not crashes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from journeydsl.cli import main
from journeydsl.language.compile import compile_text
from journeydsl.language.fmt import quote_label

pytestmark = pytest.mark.slow

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "journeys").glob("*.journey"))
TEXTS = {p.stem: p.read_text(encoding="utf-8") for p in EXAMPLES}

#: Replacement numbers: everyday ones, and extremes on both sides of the engine's limits.
NUMBERS = ["0", "1", "2", "3", "7", "12", "0.5", "0.25", "30", "50", "99", "100", "101", "1_000",
           "0.00001", "0.0001", "0.005", "0.1", "0.00000000000001", "1_000_000", "1_000_000_000_000",
           "1" + "0" * 21, "1" + "0" * 39, "1" + "0" * 400]

#: Labels that have broken an output before: terminal escapes, markup, Mermaid directives,
#: spreadsheet formulas, quotes and backslashes, every script, nothing at all, a long line.
HOSTILE = [
    "\x1b]0;owned\x07\x1b[2J",
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "%%{init: {'theme':'dark'}}%%",
    "click a call alert(1) x:::goal",
    '=HYPERLINK("http://x","y")',
    "-1+2",
    "Free\ttrial\r\nnext",
    'say "hi" \\ bye',
    "| pipe | [x](javascript:y) `code` *b*",
    "",
    "Клиент 漢字 🎉👨‍👩‍👧 \u202eevil\u2028",
    "#35; &amp; ]]> }; node [x",
    "L" * 300,
]

_NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d+)?")
_LABEL = re.compile(r'"(?:[^"\\\n]|\\.)*"')


@dataclass(frozen=True)
class Mutation:
    kind: str
    at: int
    other: int
    value: str

    def apply(self, text: str) -> str:
        lines = text.split("\n")
        i, j = self.at % len(lines), self.other % len(lines)
        if self.kind == "delete":
            del lines[i]
        elif self.kind == "duplicate":
            lines.insert(i, lines[i])
        elif self.kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif self.kind == "number":
            found = list(_NUMBER.finditer(text))
            if found:
                m = found[self.at % len(found)]
                return text[: m.start()] + self.value + text[m.end() :]
        elif self.kind == "label":
            found = list(_LABEL.finditer(text))
            if found:
                m = found[self.at % len(found)]
                return text[: m.start()] + quote_label(self.value) + text[m.end() :]
        return "\n".join(lines)


_POSITION = st.integers(0, 10_000)
MUTATION = st.one_of(
    st.builds(Mutation, st.sampled_from(["delete", "duplicate", "swap"]), _POSITION, _POSITION, st.just("")),
    st.builds(Mutation, st.just("number"), _POSITION, st.just(0), st.sampled_from(NUMBERS)),
    st.builds(Mutation, st.just("label"), _POSITION, st.just(0), st.sampled_from(HOSTILE)),
)

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    text_out, text_err = out.getvalue(), err.getvalue()
    assert code != 3, f"internal error from {argv[0]}:\n{text_err}"
    assert "Traceback" not in text_out + text_err
    assert not RAW_CONTROL.search(text_err), f"raw control character on stderr from {argv[0]}"
    return code, text_out, text_err


def _second_wave(path: Path, text: str) -> None:
    """The commands that need a scenario, a plan or an uncertain parameter, where the mutant has one:
    each answers (0), or refuses with the work estimate or a usage error (2), never exit 3."""
    journey, _ = compile_text(text, path.name)
    runs: list[list[str]] = []
    if journey.scenarios:
        runs.append(["plan-test", str(path), "--scenario", journey.scenarios[0].name, "-n", "200", "-q",
                     "-f", "json"])
    if journey.plans:
        runs.append(["forecast", str(path), "-n", "200", "-q", "-f", "json"])
    if journey.params:
        runs.append(["sensitivity", str(path), "-n", "200", "-q", "-f", "json"])
    for argv in runs:
        code, out, err = _run(*argv)
        assert code in (0, 2), err
        event(f"{argv[0]} exit {code}")
        if code == 0:
            json.loads(out)  # strict: no NaN or Infinity


@settings(
    max_examples=int(os.environ.get("JOURNEYDSL_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    example=st.sampled_from(sorted(TEXTS)),
    mutations=st.lists(MUTATION, min_size=1, max_size=3),
    output=st.sampled_from(["table", "json", "csv", "markdown"]),
)
def test_mutated_examples_never_crash(example: str, mutations: list[Mutation], output: str) -> None:
    text = TEXTS[example]
    for mutation in mutations:
        text = mutation.apply(text)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{example}.journey"
        path.write_text(text, encoding="utf-8")
        code, _, _ = _run("check", str(path))
        assert code in (0, 1)
        event(f"check exit {code}")
        if code != 0:
            return

        code, out, err = _run("simulate", str(path), "-n", "200", "--horizon", "180", "-q", "-f", output)
        if code != 0:  # only a run the work estimate refuses (with the estimate)
            assert code == 2 and "this run would take" in err, err
            event("simulate refused by the work estimate")
            return
        assert code == 0, err
        if output == "table":
            assert not RAW_CONTROL.search(out)
        code, out, err = _run("simulate", str(path), "--exact", "-q")
        assert code == 0, err
        assert not RAW_CONTROL.search(out)
        for fmt in ("dot", "mermaid"):
            code, out, err = _run("render", str(path), "-f", fmt, "-o", "-", "-q")
            assert code == 0, err
            assert out.strip()
        _second_wave(path, text)

        before, _ = compile_text(text, path.name)
        code, _, err = _run("fmt", "-q", str(path))
        assert code == 0, err
        once = path.read_text(encoding="utf-8")
        code, _, err = _run("fmt", "--check", str(path))
        assert code == 0, f"fmt is not idempotent:\n{err}"
        after, _ = compile_text(once, path.name)
        assert after.model_dump() == before.model_dump()
