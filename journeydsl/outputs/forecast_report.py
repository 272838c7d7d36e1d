"""A :class:`~journeydsl.analysis.forecast.Forecast` as a table, Markdown, CSV, JSON or the layer-cake SVG."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeydsl.analysis.forecast import Forecast

__all__ = ["FORECAST_FORMATS", "format_forecast", "format_targets", "layer_cake_svg", "month_rows", "target_rows"]

FORECAST_FORMATS = ("table", "json", "csv", "markdown", "svg")

#: Row keys, their column headings and kinds.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("arrivals", "arrivals", "count"),
    ("conversions", "conversions", "count"),
    ("active_end", "active at end", "count"),
    ("revenue", "revenue", "money"),
    ("cost", "cost", "money"),
    ("value", "value", "money"),
    ("cumulative_value", "cumulative value", "money"),
    ("cac", "CAC", "money"),
)


def _money(x: float, currency: str) -> str:
    sign = "-" if x < 0 else ""
    x = abs(x)
    digits = 2 if x < 100 else 0
    return f"{sign}{currency} {x:,.{digits}f}".strip()


def _cell(fig: dict[str, Any], kind: str, currency: str) -> str:
    """``mean ±half`` (the 95% interval's half-width; the lower end may be cut at zero)."""
    mean = fig.get("mean")
    if mean is None:
        return "n/a"
    ci = fig.get("ci95") or [mean, mean]
    half = max(float(ci[1]) - float(mean), float(mean) - float(ci[0]))
    if kind == "count":
        return f"{mean:,.0f} ±{half:,.0f}"
    digits = 2 if abs(float(mean)) < 100 else 0
    return f"{_money(float(mean), currency)} ±{half:,.{digits}f}"


def month_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row of cells per month (``mean ±half``), in :data:`COLUMNS` order after the month."""
    currency = data.get("currency") or ""
    return [[row["month"], *[_cell(row[k], kind, currency) for k, _h, kind in COLUMNS]] for row in data["months"]]


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return "\n".join([line(header), "  ".join("─" * w for w in widths), *[line(r) for r in rows]])


def _md_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    def esc(x: str) -> str:
        return str(x).replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _title(data: dict[str, Any]) -> str:
    months = data["months"]
    span = f"{months[0]['month']} to {months[-1]['month']}" if months else "no months"
    scen = "" if data.get("scenario") in (None, "baseline") else f", scenario {data['scenario']}"
    return (
        f"Forecast: {data.get('label') or data['plan']} — {data['journey']}{scen} "
        f"({span}; one cohort of {data['customers']:,} simulated, seed {data['seed']})"
    )


_NOTE = (
    "±: half the 95% interval (simulation noise and Poisson noise in arrivals); money as it is "
    "booked, not discounted; active at end: customers in an active stage at the month's last moment; "
    "CAC: acquisition cost spent in the month over conversions in the month"
)


def target_rows(targets: Sequence[dict[str, Any]], currency: str) -> list[list[str]]:
    """``KPI, target, forecast, 95% interval, status`` for each target row (JSON shape)."""

    def show(x: Any, unit: str) -> str:
        if x is None:
            return "n/a"
        return f"{100 * float(x):.1f}%" if unit == "share" else _money(float(x), currency)

    rows: list[list[str]] = []
    for t in targets:
        ci = t.get("ci95")
        interval = f"{show(ci[0], t['unit'])} – {show(ci[1], t['unit'])}" if ci and None not in ci else "n/a"
        status = t["status"] + (f" ({t['reason']})" if t.get("reason") else "")
        rows.append([t["kpi"], f"{t['bound']} {show(t['target'], t['unit'])}", show(t["forecast"], t["unit"]),
                     interval, status])  # fmt: skip
    return rows


TARGET_HEADER = ["KPI", "target", "forecast", "95% interval", "status"]
TARGET_NOTE = (
    "on track: the whole interval is on the good side of the target; at risk: the target is inside "
    "the interval; off track: the whole interval is on the bad side"
)


def format_targets(targets: Sequence[dict[str, Any]], currency: str, *, markdown: bool = False) -> list[str]:
    """The targets section, as text lines (a table and its note)."""
    if markdown:
        return [_md_table(target_rows(targets, currency), TARGET_HEADER), "", f"_{TARGET_NOTE}._"]
    return [_table(target_rows(targets, currency), TARGET_HEADER), f"({TARGET_NOTE})"]


def format_table(data: dict[str, Any]) -> str:
    out = [_title(data), ""]
    out.append(_table(month_rows(data), ["month", *[h for _k, h, _t in COLUMNS]]))
    out.append(f"({_NOTE})")
    budget = data.get("budget")
    if budget:
        cap = _money(budget["per_month"], data.get("currency") or "")
        out += ["", f"Budget: {cap} per month of acquisition spending (cost before conversion)"]
    out += [f"note: {n}" for n in data.get("notes", [])]
    if data.get("targets"):
        out += ["", f"Targets ({data.get('scenario') or 'baseline'}, per customer, as `simulate` measures them)"]
        out += format_targets(data["targets"], data.get("currency") or "")
    return "\n".join(out) + "\n"


def format_markdown(data: dict[str, Any]) -> str:
    out = [f"## {_title(data)}", ""]
    out.append(_md_table(month_rows(data), ["month", *[h for _k, h, _t in COLUMNS]]))
    out += ["", f"_{_NOTE}._"]
    out += [f"> {n}" for n in data.get("notes", [])]
    if data.get("targets"):
        out += ["", "### Targets", ""]
        out += format_targets(data["targets"], data.get("currency") or "", markdown=True)
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


def layer_cake_svg(fc: Forecast) -> str:
    """Active customers and revenue by calendar month, one layer per cohort (arrival) month."""
    import numpy as np

    from journeydsl.outputs.htmlreport import _fig_svg, _matplotlib

    plt = _matplotlib()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    months = fc.months
    m = len(months)
    x = np.arange(m)
    cmap = colormaps["viridis"]
    colours = [cmap(0.9 * k / max(m - 1, 1)) for k in range(m)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9.0, 6.4), sharex=True)
    top.stackplot(x, fc.cohort_active, colors=colours, linewidth=0)
    top.set_ylabel(_tex("active customers at month end"))
    top.set_title(_tex(f"{fc.plan.title} — layers by cohort month"))
    bottom.stackplot(x, fc.cohort_revenue, colors=colours, linewidth=0)
    cur = f" ({fc.currency})" if fc.currency else ""
    bottom.set_ylabel(_tex(f"revenue in the month{cur}"))
    step = max(1, m // 12)
    bottom.set_xticks(x[::step], [_tex(s) for s in months[::step]], rotation=45, ha="right")
    from matplotlib.ticker import FuncFormatter

    for ax in (top, bottom):
        ax.set_xlim(0, max(m - 1, 1))
        ax.set_ylim(bottom=0)
        ax.set_axisbelow(True)
        ax.grid(False, axis="x")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    sm = ScalarMappable(norm=Normalize(0, max(m - 1, 1) / 0.9), cmap=cmap)
    bar = fig.colorbar(sm, ax=[top, bottom], fraction=0.03, pad=0.02)
    ticks = list(range(0, m, step))
    bar.set_ticks(ticks, labels=[_tex(months[k]) for k in ticks])
    bar.set_label(_tex("cohort (month of arrival)"))
    return _fig_svg(fig)


def format_forecast(fc: Forecast, fmt: str) -> str:
    """``fc`` as ``table``, ``markdown``, ``csv``, ``json`` or ``svg``."""
    if fmt == "svg":
        return layer_cake_svg(fc)
    data = fc.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return {"table": format_table, "markdown": format_markdown, "csv": format_csv}[fmt](data)
