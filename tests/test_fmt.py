"""``format_source``: golden layouts, idempotence, same model, comments kept.

Golden files: ``tests/golden/fmt/in/NAME.journey`` is formatted and compared
with ``tests/golden/fmt/out/NAME.journey``. After an intended change of
layout, regenerate them and review the diff::

    JOURNEYDSL_REGEN=1 python -m pytest tests/test_fmt.py -p no:cacheprovider
    git diff tests/golden/fmt/
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from journeydsl.compile import compile_text
from journeydsl.errors import JourneyError
from journeydsl.fmt import format_number, format_source

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
    out = format_source('journey "T" { stage a { entry; goal; terminal } }')
    assert out == 'journey "T" {\n    stage a {\n        entry\n        terminal\n        goal\n    }\n}\n'


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


@pytest.mark.parametrize(("value", "text"), [(0.0, "0"), (1.0, "1"), (9999.0, "9999"),
                                             (10000.0, "10_000"), (0.1, "0.1"), (2.5e-7,
                                                                                  "0.00000025"),
                                             (-3.0, "-3"), (1234567.0, "1_234_567")])
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text.replace("_", "")) == value
