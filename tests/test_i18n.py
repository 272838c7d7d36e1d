"""Languages: the catalogues, the number formats, the 'language' setting, golden outputs per
language, and a Russian report whose fixed words are all Russian.

Golden files live in ``tests/golden/report/`` (``NAME.LANG.txt``, ``.md``, ``.dot``);
regenerate them after a deliberate change with::

    JOURNEYDSL_REGEN=1 python -m pytest tests/test_i18n.py -q -p no:cacheprovider
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from journeydsl.api import loads, simulate
from journeydsl.outputs.htmlreport import build_report
from journeydsl.outputs.i18n import LANGUAGES, get_lang
from journeydsl.outputs.i18n.__main__ import messages, problems
from journeydsl.outputs.maps import to_dot, to_mermaid
from journeydsl.outputs.report import format_markdown, format_table

GOLDEN = Path(__file__).parent / "golden" / "report"
REGEN = os.environ.get("JOURNEYDSL_REGEN") == "1"

SHOP = """
journey "Магазин: повторные покупки" {
    currency RUB
    language ru
    horizon 1 year
    phase "Привлечение" {
        stage visitor "Посетитель" { entry; touch ads on enter }
    }
    phase "Удержание" {
        stage buyer "Покупатель" { goal; active; revenue 1_500 RUB every month }
    }
    stage sleeping "Уснувший клиент" { }
    stage lost "Ушёл" { terminal }
    touchpoint ads "Реклама" { channel paid_social; cost 30 RUB }
    touchpoint sms "СМС-напоминание" { channel sms; cost 3 RUB; response 20% }
    visitor -> buyer 30%
    visitor -> lost otherwise
    buyer -> sleeping 10% per month
    sleeping -> buyer 5% per month
    sleeping -> lost 20% per month
    trigger wake "Разбудить" {
        every 6 months in sleeping
        send sms
        then 50% -> buyer
    }
    segment loyal "Постоянные" 30% { visitor -> buyer 60% }
    scenario sms_more "Чаще СМС" { trigger wake { every 2 weeks in sleeping } }
}
"""


@pytest.fixture(scope="module")
def shop() -> object:
    return loads(SHOP, "shop.journey")


@pytest.fixture(scope="module")
def shop_data(shop: object) -> dict:
    return simulate(shop, customers=3000, seed=2, scenarios=None).to_dict()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def planned(planned_text: str) -> object:
    return loads(planned_text, "planned.journey")


@pytest.fixture(scope="module")
def planned_parts(planned: object) -> tuple[object, object]:
    from journeydsl.analysis.forecast import forecast

    results = simulate(planned, customers=1500, seed=1, scenarios=None)  # type: ignore[arg-type]
    return results, forecast(planned, None, customers=1500, seed=1)  # type: ignore[arg-type]


# --- catalogues -----------------------------------------------------------

#: Messages that read the same in every language.
SAME = {"CAC", "LTV", "LTV : CAC", "ROI", "seed {seed}", "{n} per 1,000"}


def test_every_message_is_translated_and_compiled() -> None:
    assert problems() == []


@pytest.mark.parametrize("code", ["ru", "bg"])
def test_the_installed_catalogue_has_every_message(code: str) -> None:
    """What the installed package reads (the .mo), not the .po: every message comes back translated."""
    lang = get_lang(code)
    for msg in messages():
        if isinstance(msg, tuple):
            assert lang.n_(*msg, 5) != msg[1] or msg[1] in SAME, msg
        elif msg not in SAME and msg.strip():
            assert lang._(msg) != msg, msg


def test_plural_forms() -> None:
    ru, bg = get_lang("ru"), get_lang("bg")
    forms = [ru.n_("{n} day", "{n} days", n).format(n=n) for n in (1, 2, 5, 21, 2.5)]
    assert forms == ["1 день", "2 дня", "5 дней", "21 день", "2.5 дня"]
    assert [bg.n_("{n} month", "{n} months", n).format(n=n) for n in (1, 6)] == ["1 месец", "6 месеца"]


def test_number_formats_follow_the_language() -> None:
    nbsp = "\xa0"
    ru, bg, en = get_lang("ru"), get_lang("bg"), get_lang("en")
    assert ru.money(1234.5, "RUB", 1) == f"1{nbsp}234,5{nbsp}₽"
    assert ru.percent(0.123, 1) == f"12,3{nbsp}%"
    assert bg.money(1234.5, "EUR", 2) == f"1{nbsp}234,50{nbsp}€"
    assert en.money(-1234.5, "EUR", 2) == "-€1,234.50"
    assert en.money(5, "RUB", 0) == f"RUB{nbsp}5"
    assert en.decimal(1234567.891, -3) == "1,235,000"
    for lang in (ru, bg, en):
        assert "e" not in lang.money(5.3e-15, "EUR", 2).lower().replace("eur", "")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'de'"):
        get_lang("de")


# --- the 'language' setting -------------------------------------------------


def test_language_setting_is_read_formatted_and_checked(tmp_path: Path) -> None:
    from journeydsl.cli import main
    from journeydsl.language.fmt import format_source

    assert loads(SHOP).language == "ru"
    assert "    language ru\n" in format_source(SHOP.replace("language ru", "language    ru"))
    bad = tmp_path / "bad.journey"
    bad.write_text(SHOP.replace("language ru", "language russian"), encoding="utf-8")
    assert main(["check", str(bad)]) == 1


def test_language_setting_error_points_at_the_word(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from journeydsl.cli import main

    bad = tmp_path / "bad.journey"
    bad.write_text(SHOP.replace("language ru", "language rus"), encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown language 'rus' (expected one of en, ru, bg)" in err
    assert "did you mean 'ru'?" in err and "^^^" in err and "Traceback" not in err


def test_lang_option_beats_the_setting(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from journeydsl.cli import main

    path = tmp_path / "shop.journey"
    path.write_text(SHOP, encoding="utf-8")
    assert main(["simulate", str(path), "-n", "500", "-q"]) == 0
    assert "Конверсия" in capsys.readouterr().out
    assert main(["simulate", str(path), "-n", "500", "-q", "--lang", "en"]) == 0
    assert "Conversion rate" in capsys.readouterr().out
    assert main(["simulate", str(path), "-n", "500", "-q", "--lang", "bg"]) == 0
    assert "Конверсия" in (out := capsys.readouterr().out) and "Приходи на клиент" in out


# --- maps keep the author's unit ----------------------------------------------


def test_every_six_months_stays_months(shop: object) -> None:
    en = to_dot(shop, lang="en")  # type: ignore[arg-type]
    assert "every 6 months" in en and "quarter" not in en
    ru = to_mermaid(shop)  # type: ignore[arg-type]  # the journey says 'language ru'
    assert "раз в 6 месяцев" in ru and "stay" not in ru and "ЦЕЛЬ" in ru
    # a scenario that changes the period keeps a plain count in the largest fitting unit
    two_weeks = to_dot(shop.with_scenario("sms_more"), lang="en")  # type: ignore[attr-defined]
    assert "every 2 weeks" in two_weeks


# --- golden files per language ---------------------------------------------------


def _golden(name: str, got: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with JOURNEYDSL_REGEN=1"
    assert got == path.read_text(encoding="utf-8"), f"{path} differs; JOURNEYDSL_REGEN=1 to update"


@pytest.mark.parametrize("code", LANGUAGES)
def test_golden_table_markdown_and_map(code: str, shop: object, shop_data: dict) -> None:
    _golden(f"shop.{code}.txt", format_table(shop_data, lang=code))
    _golden(f"shop.{code}.md", format_markdown(shop_data, lang=code))
    _golden(f"shop.{code}.dot", to_dot(shop, lang=code))  # type: ignore[arg-type]


# --- a Russian report is Russian --------------------------------------------------


_HIDDEN = ("code", "title", "style", "metadata")  # metadata: matplotlib's RDF, never shown


class _Text(HTMLParser):
    """The text a reader sees, without code samples and Graphviz's node-id tooltips."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


#: Latin-script words a Russian page may hold: figure names used as such in Russian business
#: writing, the seed, the language's keyword 'via', the formula's letters, and the tool's name.
ALLOWED_LATIN = {"LTV", "CAC", "P", "n", "d", "t", "r", "seed", "via", "SHA", "SVG", "journeydsl", "Wilson",
                 "ROI", "CRM"}


def _latin_words(text: str, ids: set[str]) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z][A-Za-z_]*", text)} - ALLOWED_LATIN - ids


def _ids(journey: object) -> set[str]:
    j = journey  # a Journey
    out = {"RUB", "shop", "planned", "journey"}  # the currency code, and the file names
    for group in (j.stages, j.touchpoints, j.triggers, j.segments, j.scenarios, j.params):  # type: ignore[attr-defined]
        out |= {x.name for x in group}
    out |= {t.channel for t in j.touchpoints}  # type: ignore[attr-defined]
    out |= {part for name in set(out) for part in name.split("_")}
    return out


def test_russian_report_fixed_words_are_all_russian(shop: object) -> None:
    results = simulate(shop, customers=2000, seed=1, scenarios=None)  # type: ignore[arg-type]
    page = build_report(shop, results)  # type: ignore[arg-type]  # 'language ru' in the file
    assert '<html lang="ru">' in page
    parser = _Text()
    parser.feed(page)
    text = " ".join(parser.parts)
    assert _latin_words(text, _ids(shop)) == set()
    for word in ("Карта пути клиента", "Главные показатели", "Воронка", "раз в 6 месяцев", "ЦЕЛЬ", "Сегменты"):
        assert word in text, word


def test_bulgarian_report_fixed_words_are_all_bulgarian(shop: object) -> None:
    results = simulate(shop, customers=1000, seed=1, scenarios=None)  # type: ignore[arg-type]
    page = build_report(shop, results, lang="bg")  # type: ignore[arg-type]
    parser = _Text()
    parser.feed(page)
    text = " ".join(parser.parts)
    assert _latin_words(text, _ids(shop)) == set()
    for word in ("Карта на клиентския път", "Основни показатели", "Фуния", "на всеки 6 месеца", "ЦЕЛ"):
        assert word in text, word


#: Words each language's report must show for the sections of a plan, targets and parameters.
PLANNED_WORDS = {
    "ru": ("Цели", "Прогноз по календарным месяцам", "янв. 2027", "июнь 2027", "приток", "достигается",
           "не менее 20 %", "Удержание через 90 дней", "Насколько надёжен этот прогноз?",
           "что влияет на показатель «ценность на клиента»", "приток урезан с 800 до"),
    "bg": ("Цели", "Прогноза по календарни месеци", "яну 2027", "юни 2027", "приток", "постига се",
           "поне 20%", "Задържане след 90 дни", "Колко сигурна е тази прогноза?",
           "какво движи „стойност на клиент“", "притокът е намален от 800 на"),
}


@pytest.mark.parametrize("code", ["ru", "bg"])
def test_report_with_a_plan_targets_and_parameters_is_all_in_the_language(
    code: str, planned: object, planned_parts: tuple[object, object]
) -> None:
    """The targets, forecast and uncertainty sections (and the tornado's own chart) speak the
    reader's language too, and call parameters and scenarios by their labels."""
    results, fc = planned_parts
    page = build_report(planned, results, fc, lang=code)  # type: ignore[arg-type]
    assert f'<html lang="{code}">' in page
    for section in ("targets", "forecast", "uncertainty"):
        assert f'<section id="{section}">' in page, section
    parser = _Text()
    parser.feed(page)
    text = " ".join(parser.parts)
    assert _latin_words(text, _ids(planned)) == set()
    plain = text.replace("\xa0", " ")  # Babel's numbers hold no-break spaces
    for word in PLANNED_WORDS[code]:
        assert word in plain, word
    assert "Доля закрытия" in text and "close 25%" not in text  # the parameter's label on the map, not its id


@pytest.mark.parametrize("code", ["ru", "bg"])
def test_cli_tables_of_forecast_sensitivity_breakeven_and_attribute_are_in_the_language(
    code: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, planned_text: str
) -> None:
    from journeydsl.cli import main

    path = tmp_path / "planned.journey"
    path.write_text(planned_text, encoding="utf-8")
    ids = _ids(loads(planned_text, "planned.journey"))
    commands = {
        "forecast": (["forecast", str(path)], {"ru": "ключевой показатель", "bg": "ключов показател"}),
        "sensitivity": (["sensitivity", str(path)], {"ru": "показатель при нижнем", "bg": "показател при долния"}),
        "breakeven": (["breakeven", str(path), "--param", "price", "--scenario", "discount"],
                      {"ru": "«Скидка 10%»", "bg": "„Скидка 10%“"}),
        "attribute": (["attribute", str(path)], {"ru": "конверсия (Шепли)", "bg": "конверсия (Шапли)"}),
    }
    for name, (argv, word) in commands.items():
        assert main([*argv, "-n", "600", "-q", "--lang", code]) == 0, name
        out = capsys.readouterr().out
        assert _latin_words(out, ids) == set(), name
        assert word[code] in out, name
    assert main(["forecast", str(path), "-n", "600", "-q", "--lang", "en"]) == 0  # --lang beats 'language ru'
    assert "cumulative value" in capsys.readouterr().out


@pytest.mark.parametrize("code", ["ru", "bg"])
def test_tables_are_in_the_language(code: str, shop: object, shop_data: dict, planned: object) -> None:
    for text in (format_table(shop_data, lang=code), format_markdown(shop_data, lang=code)):
        assert _latin_words(text, _ids(shop)) == set(), code
    # targets for every arm, the draws' ranges and the uncertain parameters too
    drawn = simulate(planned, customers=600, seed=1, scenarios=None, draws=3).to_dict()  # type: ignore[arg-type]
    for text in (format_table(drawn, lang=code), format_markdown(drawn, lang=code)):
        assert _latin_words(text, _ids(planned)) == set(), code
        assert "Скидка 10%" in text and ("Цели (" in text)


@pytest.mark.slow
def test_the_wheel_ships_the_compiled_catalogues(tmp_path: Path) -> None:
    import gettext
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "-o", str(tmp_path), str(root)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("journeydsl-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        for code in ("ru", "bg"):
            data = zf.read(f"journeydsl/outputs/i18n/{code}/LC_MESSAGES/journeydsl.mo")
            (tmp_path / f"{code}.mo").write_bytes(data)
            with open(tmp_path / f"{code}.mo", "rb") as fh:
                catalogue = gettext.GNUTranslations(fh)
            assert catalogue.gettext("Conversion rate") == "Конверсия"
            untranslated = [m for m in messages() if isinstance(m, str) and m not in SAME and catalogue.gettext(m) == m]
            assert untranslated == [], code


def test_chart_tick_labels_use_the_reader_s_number_format() -> None:
    """The charts' axes read '10 000' and '0,5' in Russian, '10,000' and '0.5' in English, with as
    few decimals as the ticks need."""
    from journeydsl.outputs.htmlreport import _matplotlib, _number_axis

    plt = _matplotlib()
    fig, ax = plt.subplots()
    try:
        for code, ticks, want in (("ru", [0, 5000, 10000], ["0", "5\xa0000", "10\xa0000"]),
                                  ("ru", [0, 0.5, 1], ["0,0", "0,5", "1,0"]),
                                  ("en", [0, 5000, 10000], ["0", "5,000", "10,000"]),
                                  ("bg", [-0.25, 0, 0.25], ["-0,25", "0,00", "0,25"])):
            _number_axis(ax.xaxis, get_lang(code))
            assert ax.xaxis.get_major_formatter().format_ticks(ticks) == want, code
    finally:
        plt.close(fig)


# --- the fit summary and report ------------------------------------------------------------


def _fit_allowed(result: object) -> set[str]:
    """Words a translated fit summary keeps as they are: stage names and labels, the file's name and
    encoding, the export's shape, the fitted forms as the journey file writes them, AIC and EMD."""
    r = result  # a FitResult
    out = {"AIC", "EMD", "csv", "utf", "UTF", "cp", "days", "mean", "sd", "shape", "exponential", "gamma",
           "lognormal", "weibull", "fixed", "uniform", "entries", "transitions", "kommo", "hubspot", "salesforce"}
    out |= set(re.findall(r"[A-Za-z][A-Za-z_]*", " ".join(r.names + list(r.labels.values()))))  # type: ignore[attr-defined]
    out |= set(re.findall(r"[A-Za-z][A-Za-z_]*", Path(r.events.path).name + " " + r.events.encoding))  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("code", ["ru", "bg"])
def test_fit_summary_and_report_speak_the_readers_language(code: str, tmp_path: Path) -> None:
    pytest.importorskip("scipy")
    from journeydsl.analysis.fit import fit_export
    from journeydsl.outputs.fit_report import report_markdown, summary_text

    data = Path(__file__).resolve().parent.parent / "examples" / "data"
    result = fit_export(data / "hubspot_deals.csv", goal="closedwon")
    allowed = _fit_allowed(result)
    english = summary_text(result, "en")
    text = summary_text(result, code)
    assert text != english
    assert _latin_words(text, allowed) == set(), text
    assert ("входов" if code == "ru" else "влизания") in text
    # numbers in the reader's format: a comma before the decimals (and in Russian '%' after a space)
    assert re.search(r"\d,\d\xa0%" if code == "ru" else r"\d,\d%", text), text
    report = report_markdown(result, None, code)
    body = "\n".join(line for line in report.splitlines() if not line.startswith("- "))  # the export's notes
    assert _latin_words(body, allowed) == set(), body
    assert ("Отчёт о подборе" if code == "ru" else "Отчет за напасването") in report


def test_fit_prints_its_summary_in_the_lang_asked_for(cli: Any, tmp_path: Path) -> None:
    pytest.importorskip("scipy")
    data = Path(__file__).resolve().parent.parent / "examples" / "data"
    out = tmp_path / "fitted.journey"
    code, _, err = cli("fit", str(data / "hubspot_deals.csv"), "--goal", "closedwon", "-o", str(out),
                       "--lang", "ru", "--report", str(tmp_path / "fit.html"))
    assert code == 0
    assert "входов" in err and "entries," not in err
    page = (tmp_path / "fit.html").read_text(encoding="utf-8")
    assert "<html lang='ru'>" in page and "Проверка на истории" in page


# --- a count in a sentence takes the form its number needs -------------------------------------------
# English says '1 entry' but '2 entries'; Russian has three forms (1 and 21, 2-4, 5-20) and Bulgarian two.


def test_counted_follows_the_number_as_shown() -> None:
    en, ru = get_lang("en"), get_lang("ru")
    assert en.counted("{n} day", "{n} days", 0.6) == "1 day"  # shown without decimals: '1'
    assert en.counted("{n} day", "{n} days", 1, 1) == "1.0 days"  # shown with decimals: a fraction's form
    assert [ru.counted("{n} day", "{n} days", n) for n in (1, 2, 5, 11, 21, 22, 1_000)] == [
        "1 день", "2 дня", "5 дней", "11 дней", "21 день", "22 дня", "1\xa0000 дней"]
    assert ru.counted("{n} day", "{n} days", 2.5, 1) == "2,5 дня"


def _export(tmp_path: Path, cases: int) -> Path:
    """``cases`` leads that each enter 'lead' and reach 'won' 31 days later, none still open."""
    rows = ["case_id,stage,entered_at"]
    for i in range(cases):
        rows += [f"C{i},lead,2026-05-{1 + i % 28:02d}T10:00:00Z", f"C{i},won,2026-06-{1 + i % 28:02d}T10:00:00Z"]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("code", "cases", "counts", "head", "rate"), [
    ("en", 1, "2 rows, 1 case, 2 stages", "lead: 1 entry, 0 still open", "1 exit in 31 days at risk"),
    ("en", 2, "4 rows, 2 cases, 2 stages", "lead: 2 entries, 0 still open", "2 exits in 62 days at risk"),
    ("ru", 1, "2 строки, 1 сделка, 2 этапа", "lead: 1 вход, 0 ещё на этапе", "1 выход за 31 день под риском"),
    ("ru", 2, "4 строки, 2 сделки, 2 этапа", "lead: 2 входа, 0 ещё на этапе", "2 выхода за 62 дня под риском"),
    ("ru", 5, "10 строк, 5 сделок, 2 этапа", "lead: 5 входов, 0 ещё на этапе", "5 выходов за 155 дней под риском"),
    ("ru", 21, "42 строки, 21 сделка, 2 этапа", "lead: 21 вход, 0 ещё на этапе", "21 выход за 651 день под риском"),
    ("bg", 1, "2 реда, 1 сделка, 2 етапа", "lead: 1 влизане, 0 още в етапа", "1 изход за 31 дни под риск"),
    ("bg", 2, "4 реда, 2 сделки, 2 етапа", "lead: 2 влизания, 0 още в етапа", "2 изхода за 62 дни под риск"),
])
def test_fit_summary_says_each_count_in_the_form_its_number_takes(
        code: str, cases: int, counts: str, head: str, rate: str, tmp_path: Path) -> None:
    pytest.importorskip("scipy")
    from journeydsl.analysis.fit import fit_export
    from journeydsl.outputs.fit_report import summary_text

    lines = summary_text(fit_export(_export(tmp_path, cases), goal="won"), code).splitlines()
    assert f"; {counts}; " in lines[0], lines[0]
    assert lines[2] == head
    assert lines[4].endswith(f"), {rate}"), lines[4]


@pytest.mark.parametrize(("code", "customers", "line"), [
    ("en", 1, "Forecast: Запуск 2027 — Школа: план запуска (Jan 2027 to Jun 2027; one cohort of 1 customer simulated, "
              "seed 1)"),
    ("en", 2, "Forecast: Запуск 2027 — Школа: план запуска (Jan 2027 to Jun 2027; one cohort of 2 customers "
              "simulated, seed 1)"),
    ("ru", 1, "Прогноз: Запуск 2027 — Школа: план запуска (янв. 2027 – июнь 2027; симулирована одна когорта из "
              "1 клиента, seed 1)"),
    ("ru", 2, "Прогноз: Запуск 2027 — Школа: план запуска (янв. 2027 – июнь 2027; симулирована одна когорта из "
              "2 клиентов, seed 1)"),
    ("ru", 5, "Прогноз: Запуск 2027 — Школа: план запуска (янв. 2027 – июнь 2027; симулирована одна когорта из "
              "5 клиентов, seed 1)"),
    ("ru", 21, "Прогноз: Запуск 2027 — Школа: план запуска (янв. 2027 – июнь 2027; симулирована одна когорта из "
               "21 клиента, seed 1)"),
])
def test_forecast_title_says_the_cohort_in_the_form_its_number_takes(
        code: str, customers: int, line: str, planned: object) -> None:
    from journeydsl.analysis.forecast import forecast
    from journeydsl.outputs.forecast_report import format_forecast

    fc = forecast(planned, None, customers=customers, seed=1)  # type: ignore[arg-type]
    assert format_forecast(fc, "table", code).splitlines()[0] == line


PURCHASES = """journey "Shop" {{
    currency EUR
    stage buyer "Buyer" {{ entry; active; purchases {n} per month worth 10 EUR }}
}}"""


@pytest.mark.parametrize(("n", "en", "ru"), [
    ("1", "1 purchase/month × €10", "1 покупка в месяц × 10\xa0€"),
    ("2", "2 purchases/month × €10", "2 покупки в месяц × 10\xa0€"),
    ("5", "5 purchases/month × €10", "5 покупок в месяц × 10\xa0€"),
    ("21", "21 purchases/month × €10", "21 покупка в месяц × 10\xa0€"),
    ("2.5", "2.5 purchases/month × €10", "2,5 покупки в месяц × 10\xa0€"),
])
def test_map_says_purchases_in_the_form_their_number_takes(n: str, en: str, ru: str) -> None:
    journey = loads(PURCHASES.format(n=n), "shop.journey")
    assert en in to_dot(journey, lang="en")
    assert ru in to_dot(journey, lang="ru")
    assert ru in to_mermaid(journey, lang="ru")


def test_a_forecast_note_with_a_count_takes_its_form() -> None:
    from journeydsl.analysis.forecast import note_n_
    from journeydsl.outputs.forecast_report import note_text

    one, many = next(m for m in messages() if isinstance(m, tuple) and "the spread over {n} draw " in m[0])
    notes = [note_n_(one, many, n=n) for n in (1, 2, 5, 21)]
    assert [note.text().split(" of the")[0] for note in notes[:2]] == [  # the JSON's English
        "intervals include the spread over 1 draw", "intervals include the spread over 2 draws"]
    assert [note_text(note, get_lang("ru")).split(" неопределённых")[0] for note in notes] == [
        "интервалы включают разброс по 1 выборке", "интервалы включают разброс по 2 выборкам",
        "интервалы включают разброс по 5 выборкам", "интервалы включают разброс по 21 выборке"]
