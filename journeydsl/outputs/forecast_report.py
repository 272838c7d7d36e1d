"""A :class:`~journeydsl.analysis.forecast.Forecast` as a table, Markdown, CSV, JSON or the layer-cake SVG.

The table, Markdown and the layer cake speak the reader's language (``lang``: their fixed words,
months and numbers; default English); CSV and JSON are for programs and never change with it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from journeydsl.language.sanitize import for_terminal
from journeydsl.outputs.i18n import N_, Lang, get_lang
from journeydsl.outputs.report import _interval, _md_table, _places, _plain, _reason, target_kpi

if TYPE_CHECKING:
    from journeydsl.analysis.forecast import Forecast, Note

__all__ = ["FORECAST_FORMATS", "format_forecast", "format_targets", "layer_cake_svg", "month_rows", "target_rows"]

FORECAST_FORMATS = ("table", "json", "csv", "markdown", "svg")

#: Row keys, their column headings and kinds.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("arrivals", N_("arrivals"), "count"),
    ("conversions", N_("conversions"), "count"),
    ("active_end", N_("active at end"), "count"),
    ("revenue", N_("revenue"), "money"),
    ("cost", N_("cost"), "money"),
    ("value", N_("value"), "money"),
    ("cumulative_value", N_("cumulative value"), "money"),
    ("cac", N_("CAC"), "money"),
)

#: A target's status (the JSON's English word) as the reader reads it.
STATUS_WORDS = {"on track": N_("on track"), "at risk": N_("at risk"), "off track": N_("off track"),
                "unknown": N_("unknown")}
_BOUNDS = {"at least": N_("at least {value}"), "at most": N_("at most {value}")}

NOTE = N_("±: half the 95% interval (simulation noise and Poisson noise in arrivals); money as it is booked, not "
          "discounted; active at end: customers in an active stage at the month's last moment; CAC: acquisition "
          "cost spent in the month over conversions in the month")
TARGET_HEADER = (N_("KPI"), N_("target"), N_("forecast"), N_("95% interval"), N_("status"))
TARGET_NOTE = N_("on track: the whole interval is on the good side of the target; at risk: the target is inside "
                 "the interval; off track: the whole interval is on the bad side")


def _cell(fig: dict[str, Any], kind: str, currency: str, lang: Lang) -> str:
    """``mean ±half`` (the 95% interval's half-width; the lower end may be cut at zero); money
    rounded to two significant figures of the interval's width, like every figure in the tables."""
    mean = fig.get("mean")
    if mean is None:
        return lang._("n/a")
    ci = fig.get("ci95") or [mean, mean]
    mean = float(mean)
    half = max(float(ci[1]) - mean, mean - float(ci[0]))
    if kind == "count":  # people, counted whole (so that planned arrivals read as planned)
        return f"{lang.decimal(mean, 0)} ±{lang.decimal(half, 0)}"
    places = _places(mean, [mean - half, mean + half], kind)
    return f"{lang.money(mean, currency, places)} ±{lang.decimal(half, places)}"


def month_rows(data: dict[str, Any], lang: Lang | None = None) -> list[list[str]]:
    """One row of cells per month (``mean ±half``), in :data:`COLUMNS` order after the month."""
    lang = lang or get_lang("en")
    currency = data.get("currency") or ""
    return [[lang.month(row["month"]), *[_cell(row[k], kind, currency, lang) for k, _h, kind in COLUMNS]]
            for row in data["months"]]


def month_header(lang: Lang | None = None) -> list[str]:
    """The month table's column headings."""
    lang = lang or get_lang("en")
    return [lang._("month"), *[lang._(h) for _k, h, _t in COLUMNS]]


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A terminal table: numbers right-aligned, every cell through :func:`for_terminal`."""
    header = [for_terminal(h) for h in header]
    rows = [[for_terminal(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return "\n".join([line(header), "  ".join("─" * w for w in widths), *[line(r) for r in rows]])


def _scenario_words(fc: Forecast, lang: Lang) -> str:
    scenario = fc.plan.scenario
    return "" if scenario in (None, "baseline") else lang._(", scenario {scenario}").format(
        scenario=fc.scenario_label or scenario)


def _title(fc: Forecast, lang: Lang) -> str:
    _ = lang._
    months = fc.months
    span = _("no months")
    if months:
        span = lang.counted("{start} to {end}; one cohort of {n} customer simulated, seed {seed}",
                            "{start} to {end}; one cohort of {n} customers simulated, seed {seed}", fc.customers,
                            start=lang.month(months[0]), end=lang.month(months[-1]), seed=fc.seed)
    return (_("Forecast: {plan} — {journey}").format(plan=fc.plan.title, journey=fc.journey)
            + _scenario_words(fc, lang) + f" ({span})")


def note_text(note: Note, lang: Lang | None = None, *, last_month: str | None = None) -> str:
    """A forecast's note in ``lang``: its message translated, its months and numbers in that language's
    format (``last_month``: the note holds for every month from its own to that one)."""
    lang = lang or get_lang("en")
    values: dict[str, Any] = {k: lang.month(v) if k == "month" else lang.decimal(float(v), 0) for k, v in note.values}
    if last_month is not None and "month" in values:
        values["month"] += " – " + lang.month(last_month)
    if note.plural:  # its words follow the count 'n'
        return lang.counted(note.message, note.plural, float(dict(note.values)["n"]), **values)
    return lang._(note.message).format(**values)


def _next_month(month: str) -> str:
    year, number = (int(p) for p in month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def notes_text(notes: Sequence[Note], lang: Lang | None = None) -> list[str]:
    """The notes in ``lang``, the same note for consecutive months said once for the run of months
    ('Jan 2027 – Jun 2027: arrivals cut from 800 to 667 ...' rather than six times)."""
    runs: list[tuple[Note, str | None]] = []
    for note in notes:
        values = dict(note.values)
        if runs and "month" in values:
            first, last = runs[-1]
            first_values = dict(first.values)
            same = first.message == note.message and {k: v for k, v in first_values.items() if k != "month"} == {
                k: v for k, v in values.items() if k != "month"}
            if same and _next_month(last or first_values["month"]) == values["month"]:
                runs[-1] = (first, values["month"])
                continue
        runs.append((note, None))
    return [note_text(note, lang, last_month=last) for note, last in runs]


def target_rows(targets: Sequence[dict[str, Any]], currency: str, lang: Lang | None = None) -> list[list[str]]:
    """``KPI, target, forecast, 95% interval, status`` for each target row (JSON shape).

    The forecast and its interval are rounded to two significant figures of the interval's width,
    like every figure of the tables.
    """
    lang = lang or get_lang("en")
    rows: list[list[str]] = []
    for t in targets:
        unit = "share" if t["unit"] == "share" else "money"
        ci = t.get("ci95")
        ci = ci if ci and None not in ci else None
        forecast = t.get("forecast")
        places = _places(float(forecast), ci, unit) if forecast is not None else 2
        target = float(t["target"])
        shown_target = _plain(target, unit, currency, _written_places(target, unit), lang)
        status = lang._(STATUS_WORDS.get(t["status"], t["status"]))
        if t.get("reason"):
            status += f" ({_reason(t['reason'], lang)})"
        rows.append([
            target_kpi(t["kpi"], lang),
            lang._(_BOUNDS[t["bound"]]).format(value=shown_target) if t["bound"] in _BOUNDS else shown_target,
            lang._("n/a") if forecast is None else _plain(float(forecast), unit, currency, places, lang),
            _interval(ci, unit, currency, lang, places) if ci else lang._("n/a"),
            status,
        ])
    return rows


def _written_places(x: float, unit: str) -> int:
    """Decimals that show a target as it was written: 35% not 35.0%, 50 EUR not 50.00 EUR, 2.5% as 2.5%."""
    scaled = 100 * x if unit == "share" else x
    return next((d for d in range(5) if abs(round(scaled, d) - scaled) < 1e-9), 4)


def format_targets(targets: Sequence[dict[str, Any]], currency: str, *, markdown: bool = False,
                   lang: Lang | None = None) -> list[str]:
    """The targets section, as text lines (a table and its note)."""
    lang = lang or get_lang("en")
    rows, header, note = target_rows(targets, currency, lang), [lang._(h) for h in TARGET_HEADER], lang._(TARGET_NOTE)
    if markdown:
        return [_md_table(rows, header), "", f"_{note}._"]
    return [_table(rows, header), f"({note})"]


def _targets_title(fc: Forecast, lang: Lang) -> str:
    scenario = fc.plan.scenario
    arm = (fc.scenario_label or scenario) if scenario not in (None, "baseline") else lang._("Baseline")
    return lang._("Targets ({arm}; figures per customer over the horizon, not per month)").format(arm=arm)


def format_table(fc: Forecast, lang: Lang | None = None) -> str:
    """The forecast as the terminal reads it: the month table, its note, the budget and the targets."""
    lang = lang or get_lang("en")
    _ = lang._
    data = fc.to_dict()
    currency = fc.currency or ""
    out = [for_terminal(_title(fc, lang)), ""]
    out.append(_table(month_rows(data, lang), month_header(lang)))
    out.append(f"({_(NOTE)})")
    if fc.plan.budget is not None:
        cap = lang.money(float(fc.plan.budget), currency, 0)
        out += ["", _("Budget: {money} per month of acquisition spending (cost before conversion)").format(money=cap)]
    out += [_("note: {text}").format(text=n) for n in notes_text(fc.notes, lang)]
    if fc.targets:
        out += ["", for_terminal(_targets_title(fc, lang))]
        out += format_targets(fc.targets, currency, lang=lang)
    return "\n".join(out) + "\n"


def format_markdown(fc: Forecast, lang: Lang | None = None) -> str:
    """The same content as the table, as Markdown."""
    lang = lang or get_lang("en")
    from journeydsl.language.sanitize import for_markdown

    data = fc.to_dict()
    out = [f"## {for_markdown(_title(fc, lang))}", ""]
    out.append(_md_table(month_rows(data, lang), month_header(lang)))
    out += ["", f"_{lang._(NOTE)}._"]
    out += [f"> {for_markdown(n)}" for n in notes_text(fc.notes, lang)]
    if fc.targets:
        out += ["", f"### {for_markdown(_targets_title(fc, lang))}", ""]
        out += format_targets(fc.targets, fc.currency or "", markdown=True, lang=lang)
    return "\n".join(out) + "\n"


def format_csv(data: dict[str, Any]) -> str:
    """One row per month: ``month`` then ``KEY,KEY_low,KEY_high`` for each figure (plain numbers)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = ["month"]
    for key, _h, _t in COLUMNS:
        header += [key, f"{key}_low", f"{key}_high"]
    w.writerow(header)
    for row in data["months"]:
        cells: list[str] = [row["month"]]
        for key, _h, _t in COLUMNS:
            fig = row[key]
            ci = fig.get("ci95") or [None, None]
            cells += [_num(fig.get("mean")), _num(ci[0]), _num(ci[1])]
        w.writerow(cells)
    return buf.getvalue()


def _num(x: Any) -> str:
    return "" if x is None else repr(float(x))


def _tex(text: str) -> str:
    """Text for matplotlib: a ``$`` is a dollar sign, not mathematics.

    ``htmlreport._matplotlib`` turns mathtext off (``text.parse_math``), so text passes as it is;
    with an older setup that parses it, escape the dollar signs.
    """
    import matplotlib

    return text if not matplotlib.rcParams.get("text.parse_math", True) else text.replace("$", r"\$")


def layer_cake_svg(fc: Forecast, lang: Lang | None = None) -> str:
    """Active customers and revenue by calendar month, one layer per cohort (arrival) month."""
    import numpy as np

    from journeydsl.outputs.htmlreport import _fig_svg, _matplotlib, _number_axis

    lang = lang or get_lang("en")
    _ = lang._
    plt = _matplotlib()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    months = [lang.month(m) for m in fc.months]
    m = len(months)
    x = np.arange(m)
    cmap = colormaps["viridis"]
    colours = [cmap(0.9 * k / max(m - 1, 1)) for k in range(m)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9.0, 6.4), sharex=True)
    top.stackplot(x, fc.cohort_active, colors=colours, linewidth=0)
    top.set_ylabel(_tex(_("active customers at month end")))
    top.set_title(_tex(_("{plan} — layers by cohort month").format(plan=fc.plan.title)))
    bottom.stackplot(x, fc.cohort_revenue, colors=colours, linewidth=0)
    bottom.set_ylabel(_tex(_("revenue in the month ({currency})").format(currency=fc.currency) if fc.currency
                           else _("revenue in the month")))
    step = max(1, m // 12)
    bottom.set_xticks(x[::step], [_tex(s) for s in months[::step]], rotation=45, ha="right")
    for ax in (top, bottom):
        ax.set_xlim(0, max(m - 1, 1))
        ax.set_ylim(bottom=0)
        ax.set_axisbelow(True)
        ax.grid(False, axis="x")
        _number_axis(ax.yaxis, lang)
    sm = ScalarMappable(norm=Normalize(0, max(m - 1, 1) / 0.9), cmap=cmap)
    bar = fig.colorbar(sm, ax=[top, bottom], fraction=0.03, pad=0.02)
    ticks = list(range(0, m, step))
    bar.set_ticks(ticks, labels=[_tex(months[k]) for k in ticks])
    bar.set_label(_tex(_("cohort (month of arrival)")))
    return _fig_svg(fig)


def format_forecast(fc: Forecast, fmt: str, lang: Lang | str | None = None) -> str:
    """``fc`` as ``table``, ``markdown``, ``csv``, ``json`` or ``svg``; ``lang`` (``en``, ``ru``,
    ``bg``) for the words, months and numbers of the table, Markdown and SVG."""
    language = lang if isinstance(lang, Lang) else get_lang(lang)
    if fmt == "svg":
        return layer_cake_svg(fc, language)
    if fmt == "json":
        return json.dumps(fc.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "csv":
        return format_csv(fc.to_dict())
    return {"table": format_table, "markdown": format_markdown}[fmt](fc, language)
