"""What ``sensitivity``, ``breakeven`` and ``attribute`` show people: the tornado's table and chart,
the break-even sentence and the attribution table, in the reader's language.

Their JSON (``to_dict()`` of :class:`~journeydsl.analysis.sensitivity.Tornado`,
:class:`~journeydsl.analysis.sensitivity.Breakeven` and
:class:`~journeydsl.analysis.attribution.Attribution`) never changes with the language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journeydsl.language.sanitize import for_terminal
from journeydsl.outputs.i18n import N_, Lang, get_lang
from journeydsl.outputs.report import HEADLINE_KIND, HEADLINE_LABEL, _number, _plain, _sig_places, _signed, _table

if TYPE_CHECKING:
    from journeydsl.analysis.attribution import Attribution
    from journeydsl.analysis.sensitivity import Breakeven, Tornado
    from journeydsl.language.model import Journey

__all__ = ["attribution_table", "breakeven_text", "figure_name", "tornado_rows", "tornado_svg", "tornado_table"]

#: A parameter's kind (``param`` in the language) as the kind of number it is shown as.
_PARAM_KINDS = {"share": "share", "money": "money", "duration": "days"}

TORNADO_HEADER = (N_("parameter"), N_("2.5% – 97.5% of it"), N_("figure at low"), N_("figure at high"), N_("swing"))
TORNADO_NOTE = N_("(each parameter at its 2.5% and 97.5% points, the others at their means, on common random "
                  "numbers)")
ATTRIBUTE_NOISE_NOTE = N_("(± is the simulation's noise, half the 95% interval: a contribution within it may be "
                          "nothing; more customers (--customers) narrow it)")
NOISE_NOTE = N_("(± is the simulation's noise: half the 95% interval of the swing. The same customers cancel most "
                "of it, not all: bars closer than that may change places in another run, and a swing within it "
                "may be nothing; more customers (--customers) narrow it)")


def _lang(lang: Lang | str | None) -> Lang:
    return lang if isinstance(lang, Lang) else get_lang(lang)


def figure_name(figure: str, lang: Lang | None = None, *, in_sentence: bool = False) -> str:
    """A figure's key (``value_per_customer``, ``retention.90``) as the tables name it; inside a
    sentence with a small first letter ('value per customer'), unless it is an acronym (LTV)."""
    lang = lang or get_lang("en")
    name = lang._(HEADLINE_LABEL[figure]) if figure in HEADLINE_LABEL else figure.replace("_", " ")
    if in_sentence and name[:2] != name[:2].upper():
        name = name[0].lower() + name[1:]
    return name


def _figure_kind(figure: str) -> str:
    kind = HEADLINE_KIND.get(figure, "number")
    return "share" if kind == "retention" else "number" if kind == "ratio" else kind


def _value(v: float | None, kind: str, currency: str, lang: Lang, places: int | None = None) -> str:
    """A parameter's or a figure's value: ``places`` decimals (default: shares and money in their
    everyday precision, other numbers to three significant figures), never in scientific notation."""
    if v is None:
        return lang._("n/a")
    if places is not None:
        return _plain(v, kind, currency, places, lang)
    if kind == "number":
        return lang.decimal(v, max(0, _sig_places(v, 3)))
    return _number(v, kind, currency, lang)


def _column_places(values: list[float | None], kind: str) -> int | None:
    """One precision for a column of money or plain numbers: four significant figures of the largest,
    no more than cents (so 19,266 and 694 rather than 19,266 and 693.90); shares keep their own."""
    if kind not in ("money", "number"):
        return None
    top = max((abs(v) for v in values if v is not None), default=0.0)
    return None if top == 0 else min(2, max(0, _sig_places(top, 4)))


def _swing(v: float | None, kind: str, currency: str, lang: Lang, places: int | None = None) -> str:
    """A swing: the gap between two figures (percentage points for shares)."""
    if v is None:
        return lang._("n/a")
    if kind == "share":
        return _signed(v, kind, currency, lang).lstrip("+")
    return _value(v, kind, currency, lang, places)


def _param_kinds(journey: Journey) -> dict[str, str]:
    from journeydsl.analysis.uncertainty import uncertain_params

    return {p.name: _PARAM_KINDS.get(p.kind, "number") for p in uncertain_params(journey)}


def tornado_rows(t: Tornado, journey: Journey, lang: Lang | str | None = None) -> list[list[str]]:
    """Rows of the tornado table: parameter, its low and high ends, the figure at each, the swing."""
    lang = _lang(lang)
    kinds = _param_kinds(journey)
    fig_kind = _figure_kind(t.figure)
    currency = t.currency or ""
    places = _figure_places(t)
    rows = []
    for r in t.parameters:
        k = kinds.get(r["name"], "number")
        rows.append([r["label"], f"{_value(r['low'], k, currency, lang)} – {_value(r['high'], k, currency, lang)}",
                     _figure(t, r["figure_low"], lang, places),
                     _figure(t, r["figure_high"], lang, places),
                     _noisy(r["swing"], t.swing_noise.get(r["name"]), fig_kind, currency, lang, places)])
    return rows


def _noisy(v: float | None, noise: float | None, kind: str, currency: str, lang: Lang, places: int | None) -> str:
    """A swing and, when known, its noise: '€1.25 ± €0.24'."""
    return _with_noise(_swing(v, kind, currency, lang, places), None if v is None else noise, kind, currency, lang,
                       places)


def _with_noise(shown: str, noise: float | None, kind: str, currency: str, lang: Lang, places: int | None) -> str:
    """``shown`` (a swing or a figure, written already) and, when known, the noise beside it, as a swing is."""
    return shown if noise is None else f"{shown} ± {_swing(noise, kind, currency, lang, places)}"


def _figure_places(t: Tornado) -> int | None:
    """The one precision of the tornado's figures (base, each end, swings)."""
    values = [t.base, *(r[k] for r in t.parameters for k in ("figure_low", "figure_high", "swing"))]
    return _column_places(values, _figure_kind(t.figure))


def _title(t: Tornado, journey: Journey, lang: Lang, scenario_label: str | None = None) -> str:
    figure = figure_name(t.figure, lang, in_sentence=True)
    if t.versus_baseline:
        return lang._("{journey} — what moves {figure} ({scenario} minus baseline)").format(
            journey=journey.name, figure=figure, scenario=scenario_label or t.scenario)
    return lang._("{journey} — what moves {figure}").format(journey=journey.name, figure=figure)


def _scenario_label(journey: Journey, name: str) -> str:
    return next((s.title for s in journey.scenarios if s.name == name), name)


def tornado_table(t: Tornado, journey: Journey, lang: Lang | str | None = None) -> str:
    """``sensitivity``'s table: a title with the base value, one row per parameter, and a note."""
    lang = _lang(lang)
    head = _title(t, journey, lang, _scenario_label(journey, t.scenario))
    if t.base is not None:
        head += "; " + lang._("base {value}").format(value=_base(t, lang))
    note = lang._(TORNADO_NOTE) + "\n"
    if t.noise_known:
        note += lang._(NOISE_NOTE) + "\n"
    return (for_terminal(head) + "\n\n" + _table(tornado_rows(t, journey, lang), [lang._(h) for h in TORNADO_HEADER])
            + "\n" + note)


def _figure(t: Tornado, v: float | None, lang: Lang, places: int | None) -> str:
    """A figure of the tornado; with a scenario it is a difference, and a share's difference reads in
    percentage points ('+1.4 pp', not '1.4%')."""
    kind = _figure_kind(t.figure)
    if t.versus_baseline and kind == "share" and v is not None:
        return _signed(v, kind, t.currency or "", lang)
    return _value(v, kind, t.currency or "", lang, places)


def _base(t: Tornado, lang: Lang) -> str:
    """The base figure, with its noise when it is a scenario's difference from the baseline."""
    places = _figure_places(t)
    noise = None if t.base is None else t.base_noise
    return _with_noise(_figure(t, t.base, lang, places), noise, _figure_kind(t.figure), t.currency or "", lang, places)


def tornado_svg(t: Tornado, journey: Journey, fmt: str = "svg", lang: Lang | str | None = None) -> bytes:
    """The classic tornado: one bar per parameter, centred on the base value, largest swing on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in t.parameters if r["figure_low"] is not None and r["figure_high"] is not None]
    height = max(2.2, 0.55 * len(rows) + 1.4)
    # labels come from the journey file: drawn as text, never mathtext or LaTeX ('$5' is '$5')
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False, "svg.hashsalt": "journeydsl"}):
        return _draw_tornado(plt, t, journey, rows, height, fmt, _lang(lang))


def _draw_tornado(plt: Any, t: Tornado, journey: Journey, rows: list[dict[str, Any]], height: float, fmt: str,
                  lang: Lang) -> bytes:
    import io

    from journeydsl.outputs.htmlreport import _number_axis

    kinds = _param_kinds(journey)
    currency = t.currency or ""
    fig, ax = plt.subplots(figsize=(8.5, height))
    base = t.base or 0.0
    for i, r in enumerate(reversed(rows)):
        lo_v, hi_v = r["figure_low"], r["figure_high"]
        ax.barh(i, lo_v - base, left=base, color="#93C5FD", edgecolor="#1D4ED8", height=0.6)
        ax.barh(i, hi_v - base, left=base, color="#FDBA74", edgecolor="#C2410C", height=0.6)
        k = kinds.get(r["name"], "number")
        if lo_v == hi_v:  # no effect: one label for both ends, not two written over each other
            ax.annotate(f"{_value(r['low'], k, currency, lang)} – {_value(r['high'], k, currency, lang)}",
                        (lo_v, i), xytext=(4, 0), textcoords="offset points", va="center", ha="left", fontsize=8)
            continue
        for v, end in ((lo_v, r["low"]), (hi_v, r["high"])):
            ax.annotate(_value(end, k, currency, lang), (v, i), xytext=(4 if v >= base else -4, 0),
                        textcoords="offset points", va="center", ha="left" if v >= base else "right", fontsize=8)
    ax.set_yticks(range(len(rows)))
    places = _figure_places(t)
    ax.set_yticklabels([_bar_label(r, t, currency, lang, places) for r in reversed(rows)])
    ax.axvline(base, color="#111827", linewidth=1)
    _number_axis(ax.xaxis, lang)
    ax.set_title(_title(t, journey, lang, _scenario_label(journey, t.scenario)), fontsize=10)
    shown_base = _base(t, lang)
    ax.set_xlabel(lang._("{figure}; base {base}; blue: parameter at its 2.5% point, orange: at its 97.5% "
                         "point").format(figure=figure_name(t.figure, lang), base=shown_base), fontsize=8)
    ax.margins(x=0.25)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buf.getvalue()


def _bar_label(r: dict[str, Any], t: Tornado, currency: str, lang: Lang, places: int | None) -> str:
    """A bar's label: the parameter, and under it the swing with its noise when that is known."""
    noise = t.swing_noise.get(r["name"])
    if noise is None:
        return str(r["label"])
    swing = _noisy(r["swing"], noise, _figure_kind(t.figure), currency, lang, places)
    return str(r["label"]) + "\n" + lang._("swing {swing}").format(swing=swing)


# --- break-even -----------------------------------------------------------------------


def breakeven_text(b: Breakeven, journey: Journey, better_higher: bool, lang: Lang | str | None = None) -> str:
    """``breakeven``'s sentence: where the scenario starts (or stops) beating the baseline, or that it never does."""
    lang = _lang(lang)
    currency = journey.currency or ""
    kind = _PARAM_KINDS.get(b.kind, "number")

    def show(v: float) -> str:
        return _value(v, kind, currency, lang)

    words = {"scenario": _scenario_label(journey, b.scenario), "figure": figure_name(b.figure, lang, in_sentence=True),
             "param": b.label, "low": show(b.low), "high": show(b.high)}
    if b.difference_low is None or b.difference_high is None:
        return lang._("No break-even to look for: {figure} is undefined for '{scenario}' or the baseline at an end of "
                      "'{param}' ({low} to {high}), where an arm has nothing to divide it by (no converters, say); "
                      "run more customers with --customers").format(**words)
    if b.value is None:
        if (b.difference_low > 0) == better_higher:
            return lang._("'{scenario}' beats the baseline on {figure} for every '{param}' from {low} to {high}: "
                          "never a break-even within the parameter's range").format(**words)
        return lang._("'{scenario}' does not beat the baseline on {figure} for any '{param}' from {low} to {high}: "
                      "never a break-even within the parameter's range").format(**words)
    assert b.interval is not None
    up = (b.difference_high > b.difference_low) == better_higher
    return lang._("'{scenario}' beats the baseline on {figure} when '{param}' {sign} {value} (95% interval {low} – "
                  "{high}; searched {start} to {end} on common random numbers)").format(
        scenario=words["scenario"], figure=words["figure"], param=b.label, sign="≥" if up else "≤",
        value=show(b.value), low=show(b.interval[0]), high=show(b.interval[1]), start=words["low"],
        end=words["high"])


# --- attribution ----------------------------------------------------------------------

_ATTRIBUTE_TITLES = {
    "touchpoint": N_("{journey} — what each touchpoint contributes"),
    "trigger": N_("{journey} — what each trigger contributes"),
    "channel": N_("{journey} — what each channel contributes"),
}
_ITEM_WORDS = {"touchpoint": N_("touchpoint"), "trigger": N_("trigger"), "channel": N_("channel")}
ATTRIBUTE_HEADER = (N_("conversion (Shapley)"), N_("conversion (removal)"), N_("value (Shapley)"),
                    N_("value (removal)"), N_("own cost"), N_("ROI"), N_("first / last / linear touch (%)"))
ATTRIBUTE_NOTE = N_("(Shapley values add up to all minus none; a removal effect is all minus all-but-it; per entering "
                    "customer, on common random numbers; ROI = (revenue credited − own cost) / own cost; first / "
                    "last / linear touch: the share of entering customers a CRM would credit to it as converted)")


def attribution_table(a: Attribution, journey: Journey, lang: Lang | str | None = None) -> str:
    """``attribute``'s table: per item, conversion and value by Shapley and by removal, its cost, ROI, CRM credit."""
    from journeydsl.analysis.attribution import PERMUTATIONS

    lang = _lang(lang)
    _ = lang._
    cur = journey.currency or ""

    def pp(v: float | None) -> str:
        return _("n/a") if v is None else _signed(v, "share", cur, lang, 2)

    def money(v: float) -> str:
        return _number(v, "money", cur, lang)

    def noisy(shown: str, half: float | None, kind: str) -> str:
        """A contribution and its noise, 'EUR 0.50 ± EUR 0.20' (percentage points for conversion)."""
        if half is None:
            return shown
        return f"{shown} ± " + (_signed(half, "share", cur, lang, 2).lstrip("+") if kind == "share" else money(half))

    rows = []
    for it in a.items:
        sh, rm = it["shapley"], it["removal"]
        nsh, nrm = (it.get("noise") or {}).get("shapley", {}), (it.get("noise") or {}).get("removal", {})
        roi, crm = it["roi"], it.get("crm")
        touch = _("n/a") if crm is None else " / ".join(
            lang.decimal(100 * crm[m]["conversions"], 2) for m in ("first", "last", "linear"))
        rows.append([it["label"], noisy(pp(sh["conversion_rate"]), nsh.get("conversion_rate"), "share"),
                     noisy(pp(rm["conversion_rate"]), nrm.get("conversion_rate"), "share"),
                     noisy(money(sh["value_per_customer"]), nsh.get("value_per_customer"), "money"),
                     noisy(money(rm["value_per_customer"]), nrm.get("value_per_customer"), "money"),
                     money(it["cost_per_customer"]), _("n/a") if roi is None else lang.percent(roi, 0), touch])
    method = (_("exact Shapley values") if a.method == "exact" else
              lang.counted("Shapley values from {n} sampled order", "Shapley values from {n} sampled orders",
                           PERMUTATIONS))
    head = (_(_ATTRIBUTE_TITLES[a.by]).format(journey=journey.name) + " "
            + lang.counted("({n} customer per variant, seed {seed}; {method})",
                           "({n} customers per variant, seed {seed}; {method})", a.customers, seed=a.seed,
                           method=method))
    total, none = a.all_items, a.no_items
    summary = _("with all: conversion {conv}, value {value}; with none: conversion {conv0}, value {value0}").format(
        conv=lang.percent(total["conversion_rate"], 2), value=money(total["value_per_customer"]),
        conv0=lang.percent(none["conversion_rate"], 2), value0=money(none["value_per_customer"]))
    return (for_terminal(head) + "\n\n" + _table(rows, [_(_ITEM_WORDS[a.by]), *[_(h) for h in ATTRIBUTE_HEADER]])
            + "\n\n" + summary + "\n" + _(ATTRIBUTE_NOTE) + "\n" + _(ATTRIBUTE_NOISE_NOTE) + "\n")
