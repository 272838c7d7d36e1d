"""How numbers read in tables, Markdown and the report: precision from the interval, small shares
with two significant figures, no scientific notation, and "no difference" without arrows."""

from __future__ import annotations

import re

import pytest

from journeydsl.api import loads, simulate
from journeydsl.outputs.htmlreport import build_report
from journeydsl.outputs.i18n import get_lang
from journeydsl.outputs.report import _cell, _delta_cells, _places, _signed, format_markdown, format_table

TWINS = """
journey "Twins" {
    currency EUR
    stage visitor "Visitor" { entry; touch ads on enter }
    stage buyer "Buyer" { goal; active; revenue 20 EUR every month }
    stage lost "Lost" { terminal }
    touchpoint ads "Ads" { channel social; cost 1 EUR }
    touchpoint sms "SMS reminder" { channel sms; cost 0.05 EUR; response 10% }
    visitor -> buyer 0.3%
    visitor -> lost otherwise
    buyer -> lost 10% per month
    scenario same "Same as baseline" { touchpoint ads { cost 1 EUR } }
    scenario sms "With SMS" { stage visitor { touch ads, sms on enter } }
}
"""


@pytest.fixture(scope="module")
def twins() -> dict:
    journey = loads(TWINS)
    return simulate(journey, customers=20_000, seed=3, scenarios=None).to_dict()


def test_precision_comes_from_the_interval() -> None:
    assert _cell({"mean": 0.0022, "ci95": [0.0012, 0.0039]}, "share", "") == "0.22% (0.12% – 0.39%)"
    assert _cell({"mean": 32449.0, "ci95": [18340.0, 46558.0]}, "money", "EUR") == "€32,000 (€18,000 – €47,000)"
    assert _cell({"mean": 1.4937, "ci95": [0.43, 2.54]}, "ratio", "") == "1.5 (0.4 – 2.5)"
    # narrow intervals earn more figures, always enough that the two bounds differ
    for lo, hi in ((30.0801, 30.1183), (0.123456, 0.123499), (1e6, 1e6 + 3)):
        d = _places((lo + hi) / 2, [lo, hi], "money")
        assert round(lo, d) != round(hi, d)


def test_never_scientific_notation() -> None:
    for x in (5.3e-15, -5.3e-15, 1e-9, 3e-5, 1e12):
        for kind in ("money", "share", "ratio", "days"):
            text = _cell({"mean": x, "ci95": [x - abs(x) * 1e-3, x + abs(x) * 1e-3]}, kind, "EUR")
            assert not re.search(r"\d[eE][-+]?\d", text), text
    assert _signed(5.3e-15, "money", "EUR", places=2) == "€0.00"  # no sign on a difference that rounds to zero


def test_small_shares_keep_two_significant_figures() -> None:
    assert _cell({"mean": 0.0027}, "share", "", intervals=False) == "0.27%"
    assert _cell({"mean": 0.42}, "share", "", intervals=False) == "42.0%"


def test_identical_difference_says_no_difference_and_nothing_else() -> None:
    cells = _delta_cells({"delta": 0.0, "ci95": [0.0, 0.0], "identical": True, "p_better": 0.5}, "share", "")
    assert cells == ["no difference", "identical on every batch", "", ""]


def test_every_output_says_no_difference_without_arrows(twins: dict) -> None:
    table, md = format_table(twins), format_markdown(twins)
    for text in (table, md):
        rows = [line for line in text.splitlines() if "Same as baseline" in line and "no difference" in line]
        assert len(rows) >= 5, text
        assert all("▲" not in r and "▼" not in r and "pp" not in r and "€" not in r for r in rows)
        assert not re.search(r"\d[eE][-+]?\d", text)
        assert "+0.0 pp" not in text


def test_html_report_has_no_scientific_notation_or_arrowed_zero(twins: dict) -> None:
    journey = loads(TWINS)
    page = build_report(journey, simulate(journey, customers=5_000, seed=3, scenarios=None))
    body = re.sub(r"<svg.*?</svg>|<style>.*?</style>|<[^>]*>", " ", page, flags=re.S)  # the text a person reads
    assert not re.search(r"\d[eE][-+]?\d", body)
    section = page[page.index('<section id="scenarios">'):page.index('<section id="segments">')]
    cells = re.findall(r"<td[^>]*>.*?</td>", section)
    assert any("no difference" in c for c in cells)
    for cell in cells:
        if "no difference" in cell:
            assert "▲" not in cell and "▼" not in cell and "P " not in cell, cell


def test_every_arm_gets_its_touchpoint_table(twins: dict) -> None:
    table = format_table(twins)
    sms_block = table[table.index("Touchpoints (With SMS"):]
    sms_row = next(line for line in sms_block.splitlines() if line.startswith("SMS reminder"))
    assert float(sms_row.split()[2]) == 1.0  # every visitor is texted in that arm, not 0 as in the baseline
    assert "Touchpoints (Baseline" in table and "Touchpoints (Same as baseline" in table


def test_draws_tables_keep_their_line_breaks() -> None:
    """The --draws block holds whole tables: each line is sanitised, the breaks between them stay."""
    journey = loads(
        'journey "P" {\n    currency EUR\n    param close "Close rate" = 25% ± 5%\n    stage lead { entry }\n'
        "    stage won { goal; terminal; revenue 90 EUR on enter }\n    stage lost { terminal }\n"
        "    lead -> won close\n    lead -> lost otherwise\n}\n"
    )
    data = simulate(journey, customers=1000, seed=1, draws=10).to_dict()
    for lang in ("en", "ru"):
        for text in (format_table(data, lang=lang), format_markdown(data, lang=lang)):
            assert "\\n" not in text
            assert re.search(r"^(Close rate)\s+25% ± 5%\s+\S", text, re.M), text


def test_a_figure_that_cannot_vary_shows_no_interval() -> None:
    """'€300.00 (€300.00 – €300.00)' says nothing twice: a figure whose bounds read as itself stands alone."""
    assert _cell({"mean": 300.0, "ci95": [300.0, 300.0]}, "money", "EUR") == "€300.00"
    assert _cell({"mean": 5.0, "ci95": [5.0, 5.0]}, "days", "") == "5.0 d"
    assert _cell({"mean": 0.25, "ci95": [0.24, 0.26]}, "share", "") == "25.0% (24.0% – 26.0%)"


def test_small_counts_per_customer_keep_two_significant_figures(twins: dict) -> None:
    """A stage reached by 0.3% of visitors is visited 0.0030 times per customer, not '0.00'."""
    from journeydsl.outputs.report import _per_customer, _stage_rows

    assert [_per_customer(x, get_lang("en")) for x in (1.0, 0.189, 0.0037, 0.0)] == ["1.00", "0.19", "0.0037", "0.00"]
    assert _per_customer(0.0037, get_lang("ru")) == "0,0037"
    buyer = next(row for row in _stage_rows(twins["scenarios"][0], "EUR") if row[0] == "Buyer")
    assert buyer[2] != "0.00" and float(buyer[2]) > 0


def test_days_on_a_page_take_the_number_s_form() -> None:
    """In the report's tables a stay reads '2.4 days' / '2,4 дня' (a decimal takes the fraction's form)."""
    from journeydsl.outputs.report import _days

    assert _days(2.4, "days", get_lang("en")) == "2.4 days"
    assert _days(1.0, "days", get_lang("en")) == "1.0 days"
    assert _days(251.7, "days", get_lang("ru")) == "251,7 дня"
    assert _days(0.0, "days", get_lang("bg")) == "0,0 дни"
    assert _days(2.4, "d", get_lang("ru")) == "2,4 дн."
