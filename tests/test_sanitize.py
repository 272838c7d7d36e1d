"""Hostile text in labels and file names stays text in every output: terminal, Markdown, CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.language.sanitize import for_csv, for_markdown, for_terminal

#: The ``cli`` fixture (tests/conftest.py): ``cli(*args) -> (exit code, stdout, stderr)``.
Cli = Callable[..., tuple[int, str, str]]

# a label that sets the window title, rings the bell, clears the screen and returns the carriage
HOSTILE = (r"Trial \u001b]0;owned\u0007\u001b[2J\r<script>alert(1)</script> | <img src=x onerror=alert(1)>"
           " [x](javascript:y)")

JOURNEY = f"""\
journey "Shop \\u001b[31mRED\\u001b[0m" {{
    currency EUR
    horizon 1 year
    phase "{HOSTILE}" {{
        stage visitor "Visitor \\u009b2J" {{ entry; dwell 2 days }}
    }}
    stage customer {{ goal; active; revenue 20 EUR every month; cost 30 EUR every month }}
    stage lost {{ terminal }}
    visitor -> customer 20%
    visitor -> lost otherwise
    customer -> lost 10% per month
}}
"""

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.journey"
    path.write_text(JOURNEY, encoding="utf-8")
    return path


def test_simulate_table_shows_control_characters_as_escapes(
    cli: Cli, hostile: Path
) -> None:
    code, out, err = cli("simulate", str(hostile), "-n", "200", "-q")
    assert code == 0, err
    assert not RAW_CONTROL.search(out)
    assert "\r" not in out
    assert "Shop \\x1b[31mRED\\x1b[0m" in out.splitlines()[0]
    phase_row = next(line for line in out.splitlines() if line.startswith("Trial "))
    assert "\\x1b]0;owned\\x07\\x1b[2J\\r<script>" in phase_row


def test_exact_text_is_escaped_too(cli: Cli, hostile: Path) -> None:
    code, out, _ = cli("simulate", str(hostile), "--exact")
    assert code == 0 and not RAW_CONTROL.search(out) and "\\x1b[31m" in out


def test_check_excerpt_escapes_and_keeps_the_caret_under_the_mistake(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "bad\x1b]0;x\x07.journey"
    path.write_text('journey "J" {\n    stage a "\x1b[2J\x07ok" { entri; terminal }\n}\n', encoding="utf-8")
    code, out, err = cli("check", str(path))
    assert code == 1
    assert not RAW_CONTROL.search(out + err)
    lines = err.splitlines()
    source_line = next(i for i, line in enumerate(lines) if line.lstrip().startswith("2 |"))
    shown, caret = lines[source_line], lines[source_line + 1]
    assert '"\\x1b[2J\\x07ok"' in shown
    at = caret.index("^")
    assert shown[at : at + 5] == "entri" and caret.count("^") == 5
    assert "bad\\x1b]0;x\\x07.journey" in err


def test_markdown_keeps_labels_as_text_in_one_cell(cli: Cli, hostile: Path) -> None:
    code, md, _ = cli("simulate", str(hostile), "-n", "200", "-q", "-f", "markdown")
    assert code == 0
    assert "<script" not in md and "<img" not in md and not re.search(r"(?<!\\)\]\(javascript", md)
    assert "\r" not in md and not RAW_CONTROL.search(md)
    assert "&lt;script&gt;" in md
    phase_rows = [line for line in md.splitlines() if line.startswith("| Trial")]
    assert len(phase_rows) == 1
    assert len(re.split(r"(?<!\\)\|", phase_rows[0])) == 8  # 6 columns, nothing split by the label's '|'


def test_csv_arm_names_are_not_formulas_but_numbers_stay_numbers(
    cli: Cli, hostile: Path
) -> None:
    folder = hostile.parent
    names = ["=HYPERLINK(1)", "+1", "-v2", "@SUM(A1)"]
    files = []
    for name in names:
        (folder / f"{name}.journey").write_text(JOURNEY, encoding="utf-8")
        files.append(str(folder / f"{name}.journey"))
    code, out, err = cli("compare", *files, "-n", "200", "-q", "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["scenario"] for r in rows} == {"'" + n for n in names}
    values = [r["mean"] for r in rows if r["metric"] == "value_per_customer"]
    assert values and all(float(v) < 0 for v in values)  # costs above revenue: negative, unprefixed
    assert all(not v.startswith("'") for r in rows for v in (r["mean"], r["ci_low"], r["ci_high"]))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_each_medium_gets_inert_text(text: str) -> None:
    shown = for_terminal(text)
    assert not RAW_CONTROL.search(shown) and "\n" not in shown and "\r" not in shown and "\t" not in shown
    md = for_markdown(text)
    assert not re.search(r"(?<!\\)\|", md) and "<" not in md and ">" not in md
    assert "\n" not in md and "\r" not in md and not RAW_CONTROL.search(md)
    cell = for_csv(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == text or cell == text
