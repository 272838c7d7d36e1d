"""``journeydsl report``: one self-contained HTML page a strategist can send to a colleague.

The page holds the journey map with forecast flows, the headline figures with
intervals, the scenario comparison, retention curves, LTV distributions, the
funnel, stage and touchpoint tables, the assumptions and the definitions of
every figure. It fetches nothing: CSS is inline, charts are inline SVG drawn
with matplotlib, the map is Graphviz's SVG. Every text that comes from the
journey file is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cycler import cycler

from journeydsl import __version__
from journeydsl.outputs.i18n import N_, Lang, get_lang
from journeydsl.outputs.report import (
    COMPARED,
    HEADLINE,
    HEADLINE_KIND,
    HEADLINE_LABEL,
    QUEUE_HEADER,
    STEP_HEADER,
    _arm_name,
    _cell,
    _delta_cells,
    _get,
    _money,
    _noise_notes,
    _phase_rows,
    _queue_rows,
    _ranking,
    _segment_label,
    _share,
    _stage_rows,
    _step_rows,
    _touch_rows,
    _trigger_rows,
    has_policy_counts,
    holdout_lines,
)

if TYPE_CHECKING:
    from journeydsl.analysis.forecast import Forecast
    from journeydsl.engine.results import Results
    from journeydsl.language.model import Journey

__all__ = ["DEFINITIONS", "build_report"]

#: Each figure in plain words (the same definitions as docs/metrics.md).
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (N_("Conversion rate"), N_("The share of entering customers who reach a goal stage before the horizon.")),
    (N_("Days to convert"),
     N_("Among customers who convert: days from entry to the first goal stage (mean, median, 90th percentile).")),
    (N_("Retention at d days"),
     N_("Among converted customers: the share in an active stage d days after they first converted. "
        "Customers who converted too late to be followed d days are left out, and the count used is shown.")),
    (N_("Churn rate"),
     N_("Among converted customers: the share who left every active stage before the horizon and did not come "
        "back.")),
    (N_("Revenue per customer"), N_("Average discounted revenue per entering customer, converted or not.")),
    (N_("Cost per customer"),
     N_("Average discounted cost per entering customer: touchpoints, automation messages and stage costs.")),
    (N_("Value per customer"),
     N_("Revenue per customer minus cost per customer: the figure scenarios are ranked by.")),
    (N_("LTV"), N_("Among converted customers: discounted revenue from the first conversion on (including that "
                   "moment) minus discounted costs after it.")),
    (N_("CAC"), N_("All discounted costs up to and including each customer's first conversion (and all costs of "
                   "customers who never convert), divided by the number of converted customers.")),
    (N_("LTV : CAC"), N_("LTV divided by CAC; above 3 is a common rule of thumb for a healthy acquisition channel.")),
    (N_("95% interval"), N_("The range the true figure lies in with 95% confidence given the simulated sample: "
                            "Wilson intervals for shares, normal intervals for averages, paired batch t-intervals "
                            "for differences between scenarios. Figures are rounded to two significant figures of "
                            "their interval's width.")),
    (N_("P(better)"), N_("How likely the scenario beats the baseline on that figure, from the paired batch "
                         "differences (normal approximation). For costs and CAC, lower is better.")),
    (N_("Discounting"),
     N_("Money at day t counts (1 + r)^(-t/365) of its face value, with r the journey's yearly discount rate.")),
)


def _tab_rules(count: int) -> str:
    """CSS that shows the i-th panel of a tab group when its i-th radio button is checked."""
    return "\n".join(
        f".tabs > input:nth-of-type({i}):checked ~ .panel:nth-of-type({i}) {{ display: block; }}"
        for i in range(1, count + 1)
    )

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --accent:#1f6feb; --good:#1a7f37; --bad:#cf222e; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1100px; padding: 24px 32px 64px; line-height: 1.45; }
h1 { font-size: 1.7rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 36px 0 10px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 20px 0 6px; overflow-wrap: anywhere; }
.sub { color: var(--muted); margin: 0 0 18px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 0.92rem; min-width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top;
         overflow-wrap: break-word; }
th { background: #f5f7fa; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; overflow-wrap: normal; }
table.wide th:first-child, table.wide td:first-child { position: sticky; left: 0; background: #fff;
  min-width: 11rem; z-index: 1; }
table.wide th:first-child { background: #f5f7fa; }
.up { color: var(--good); font-weight: 600; } .down { color: var(--bad); font-weight: 600; }
.figure { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 8px 0; }
.figure svg { max-width: 100%; height: auto; }
.mapbox { overflow: auto; max-height: 85vh; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.mapbox svg { max-width: none; height: auto; display: block; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.note { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 8px 12px; margin: 8px 0;
        overflow-wrap: anywhere; }
dl dt { font-weight: 600; margin-top: 8px; } dl dd { margin: 2px 0 0 0; color: var(--muted); }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; }
nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
li { overflow-wrap: anywhere; }
.nowrap { white-space: nowrap; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85rem; }
.tabs > input { position: absolute; opacity: 0; pointer-events: none; }
.tabs > label { display: inline-block; padding: 5px 12px; margin: 0 4px 4px 0; border: 1px solid var(--line);
  border-radius: 6px 6px 0 0; cursor: pointer; background: #f5f7fa; max-width: 100%; overflow-wrap: anywhere; }
.tabs > input:checked + label { background: #fff; border-bottom-color: #fff; font-weight: 600;
  color: var(--accent); }
.tabs > input:focus-visible + label { outline: 2px solid var(--accent); }
.tabs > .panel { display: none; border-top: 1px solid var(--line); padding-top: 4px; }
.tabs > .panel > .panel-title { display: none; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; }
  nav, .tabs > label, .maplink { display: none; }
  h2 { break-after: avoid; margin-top: 16px; } section { break-inside: auto; }
  .figure, tr, .note { break-inside: avoid; }
  .scroll, .mapbox, .figure { overflow: visible; max-height: none; }
  .mapbox svg { max-width: 100%; max-height: 170mm; width: auto; }
  table { font-size: 7.5pt; min-width: 0; width: 100%; }
  th, td { padding: 3px 5px; }
  td.num { white-space: normal; }
  table.wide th:first-child, table.wide td:first-child { position: static; min-width: 0; }
  .charts { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .tabs > .panel { display: block !important; }
  .tabs > .panel > .panel-title { display: block; }
}
"""

#: The sections of the report in order: (id, title). Each is drawn by the function of the same
#: id in :data:`_BUILDERS`; a new section is one entry here and one function there.
SECTIONS = (
    ("map", N_("Journey map")),
    ("kpis", N_("Headline figures")),
    ("scenarios", N_("Scenarios")),
    ("segments", N_("Segments")),
    ("retention", N_("Retention")),
    ("ltv", N_("LTV distribution")),
    ("funnel", N_("Funnel")),
    ("stages", N_("Stages")),
    ("phases", N_("Phases")),
    ("touchpoints", N_("Touchpoints")),
    ("triggers", N_("Triggers")),
    ("assumptions", N_("Assumptions")),
    ("definitions", N_("Definitions")),
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _para(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def _strip_prolog(svg: str) -> str:
    """An SVG document as an element to inline: no XML declaration, DOCTYPE or comments before it."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1, wide: bool = False) -> str:
    """An HTML table (cells are HTML already; header texts are escaped here) in a horizontal scroll box."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="num"' if i >= numeric_from else ""
            cells.append(f"<td{cls}>{c}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="wide"' if wide else ""
    return f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


@dataclass(frozen=True)
class _Page:
    """What every section reads: the journey, the results (as data too), the language and options."""

    journey: Journey
    results: Results
    data: dict[str, Any]
    lang: Lang
    ids: bool
    #: the map's SVG, being drawn by Graphviz in another thread while the charts are drawn
    map_svg: Future[str] | None = None

    @property
    def arms(self) -> list[dict[str, Any]]:
        return list(self.data.get("scenarios", []))

    @property
    def currency(self) -> str:
        return str(self.data.get("currency") or "")

    def _(self, message: str) -> str:
        return self.lang._(message)

    def arm_name(self, arm: dict[str, Any]) -> str:
        return _arm_name(arm, self.lang, self.ids)


def _tabs(group: str, panels: Sequence[tuple[str, str]]) -> str:
    """Panels switched by tabs in CSS alone (radio buttons and labels); one panel needs no tabs.

    Printed, every panel is shown under its own title.
    """
    if len(panels) == 1:
        return panels[0][1]
    inputs = []
    for i, (title, _body) in enumerate(panels):
        checked = " checked" if i == 0 else ""
        inputs.append(f'<input type="radio" name="tabs-{group}" id="tabs-{group}-{i}"{checked}>'
                      f'<label for="tabs-{group}-{i}">{_e(title)}</label>')
    bodies = [f'<div class="panel"><h3 class="panel-title">{_e(title)}</h3>{body}</div>' for title, body in panels]
    return f'<div class="tabs">{"".join(inputs)}{"".join(bodies)}</div>'


# --- charts -------------------------------------------------------------

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
_DASHES = ("-", "--", "-.", ":")


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.hashsalt": "journeydsl",
            # labels come from journey files: '$5 % $10' is text, never mathtext or LaTeX
            "text.parse_math": False,
            "text.usetex": False,
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e4e7eb",
            "axes.prop_cycle": cycler(
                color=["#1f6feb", "#d4742c", "#1a7f37", "#8250df", "#cf222e", "#57606a"]
            ),
        }
    )
    return plt


def _fig_svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "journeydsl"})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return _strip_prolog(buf.getvalue())


def _number_axis(axis: Any, lang: Lang) -> None:
    """Tick labels in the reader's number format ('10 000', '0,5'), with as few decimals as the
    ticks need to be exact."""
    from matplotlib.ticker import Formatter

    class _LangFormatter(Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.format_ticks([x])[0]

        def format_ticks(self, values: Any) -> list[str]:
            values = [float(v) for v in values]
            scale = max((abs(v) for v in values), default=1.0) or 1.0
            places = next((d for d in range(7) if all(abs(round(v, d) - v) <= 1e-9 * scale for v in values)), 6)
            return [lang.decimal(v, places) for v in values]

    axis.set_major_formatter(_LangFormatter())


def _retention_chart(page: _Page, curves: list[list[tuple[float, float]]]) -> str:
    """One line per arm, each with its own marker and dash, markers staggered so that identical
    lines still show every arm, and each line named at its end."""
    _ = page._
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(7.2, 3.9))
    drawn = [(arm, points) for arm, points in zip(page.arms, curves, strict=True) if points]
    k = max(len(drawn), 1)
    for i, (arm, points) in enumerate(drawn):
        xs = [p[0] for p in points]
        ys = [100 * p[1] for p in points]
        every = max(1, len(xs) // 12) * k
        ax.plot(xs, ys, marker=_MARKERS[i % len(_MARKERS)], markevery=(i * every // k, every), markersize=5,
                linestyle=_DASHES[i % len(_DASHES)], label=page.arm_name(arm), linewidth=1.6)
    ax.set_xlabel(_("days since first conversion"))
    ax.set_ylabel(_("customers still active (%)"))
    ax.set_ylim(0, 100)
    _number_axis(ax.xaxis, page.lang)
    _number_axis(ax.yaxis, page.lang)
    ax.set_title(_("Retention of converted customers"))
    if drawn:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, _("no converted customers to follow"), ha="center", transform=ax.transAxes)
    return _fig_svg(fig)


def _ltv_chart(page: _Page, arm: dict[str, Any], hist: tuple[list[float], list[int]],
               xlim: tuple[float, float] | None, ymax: float) -> str:
    """One arm's LTV histogram on the axes every arm shares (so near-identical arms look alike)."""
    _ = page._
    currency = page.currency
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    if hist and hist[1] and sum(hist[1]) > 0:
        edges, counts = hist
        total = float(sum(counts))
        widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
        ax.bar(edges[:-1], [100 * c / total for c in counts], width=widths, align="edge",
               color="#1f6feb", alpha=0.85, edgecolor="white", linewidth=0.4)
        ltv = (arm.get("metrics") or {}).get("ltv") or {}
        for key, style in (("p50", "--"), ("mean", "-")):
            v = ltv.get(key)
            if v is not None:
                word = _("median") if key == "p50" else _("mean")
                ax.axvline(float(v), color="#d4742c", linestyle=style, linewidth=1.4,
                           label=f"{word} {_money(float(v), currency, page.lang)}")
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, _("no converted customers"), ha="center", transform=ax.transAxes)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_ylim(0, ymax)
    _number_axis(ax.xaxis, page.lang)
    _number_axis(ax.yaxis, page.lang)
    ax.set_xlabel(_("LTV per converted customer ({currency}, discounted)").format(currency=currency)
                  if currency else _("LTV (discounted)"))
    ax.set_ylabel(_("converted customers (%)"))
    ax.set_title(_("LTV distribution: {arm}").format(arm=page.arm_name(arm)))
    return _fig_svg(fig)


def _funnel_chart(page: _Page, arm: dict[str, Any]) -> str:
    """Reach of each stage in file order; exits that are not goals ('lost', 'churned') are left out."""
    _ = page._
    plt = _matplotlib()
    stages = arm.get("stages") or {}
    shown = [s for s in page.journey.stages if s.name in stages and (s.goal or s.active or not s.terminal)]
    names = [s.name if page.ids else s.title for s in shown]
    reach = [float(stages[s.name].get("reached") or 0) for s in shown]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * max(3, len(names)) + 0.8))
    bars = ax.barh(range(len(names))[::-1], [100 * r for r in reach], color="#1f6feb", alpha=0.85)
    ax.set_yticks(range(len(names))[::-1])
    ax.set_yticklabels([n if len(n) <= 40 else n[:39] + "…" for n in names])
    for bar, value in zip(bars, reach, strict=True):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, _share(value, page.lang), va="center",
                fontsize=9)
    ax.set_xlim(0, 115)
    _number_axis(ax.xaxis, page.lang)
    ax.set_xlabel(_("share of entering customers who ever reach the stage (%); end stages left out"))
    ax.set_title(_("Funnel: {arm}").format(arm=page.arm_name(arm)))
    ax.grid(axis="y", visible=False)
    return _fig_svg(fig)


def _phase_chart(page: _Page, arm: dict[str, Any]) -> str:
    """Horizontal bars of value per customer by phase (revenue minus cost booked in its stages)."""
    _ = page._
    currency = page.currency
    plt = _matplotlib()
    phases = arm.get("phases") or {}
    names = list(phases)
    values = [float(p.get("value_per_customer") or 0) for p in phases.values()]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * max(3, len(names)) + 0.8))
    ys = range(len(names))[::-1]
    colours = ["#1a7f37" if v >= 0 else "#cf222e" for v in values]
    bars = ax.barh(ys, values, color=colours, alpha=0.85)
    ax.set_yticks(ys)
    ax.set_yticklabels([n if len(n) <= 40 else n[:39] + "…" for n in names])
    span = max((abs(v) for v in values), default=0.0) or 1.0
    for bar, value in zip(bars, values, strict=True):
        x = bar.get_width()
        ax.text(x + (0.02 if value >= 0 else -0.02) * span, bar.get_y() + bar.get_height() / 2,
                _money(value, currency, page.lang), va="center", ha="left" if value >= 0 else "right", fontsize=9)
    lo, hi = min(0.0, *values), max(0.0, *values)
    ax.set_xlim(lo - 0.5 * span * (lo < 0), hi + 0.35 * span * (hi > 0 or lo == hi))
    ax.axvline(0, color="#52606d", linewidth=0.8)
    _number_axis(ax.xaxis, page.lang)
    unit = _(" ({currency}, discounted)").format(currency=currency) if currency else _(" (discounted)")
    ax.set_xlabel(_("value per entering customer: revenue minus cost") + unit)
    ax.set_title(_("Value by phase: {arm}").format(arm=page.arm_name(arm)))
    ax.grid(axis="y", visible=False)
    return _fig_svg(fig)


# --- data from results --------------------------------------------------


#: Converters a point of a retention curve needs (fewer is noise, not a trend).
_MIN_FOLLOWED = 30


def _curve(results: Results, index: int) -> list[tuple[float, float]]:
    """Retention points (days since conversion, share active) of one arm, every 7 days."""
    curve = results.arms[index].retention_curve()
    # a point followed by only a handful of converters (just before the horizon) is noise, not a trend
    enough = max(_MIN_FOLLOWED, max((n for _d, _s, n in curve), default=0) // 100)
    return [(float(d), float(share)) for d, share, n in curve if share is not None and n >= enough]


def _hist(results: Results, index: int) -> tuple[list[float], list[int]]:
    """Bin edges and counts of one arm's LTV among converters (empty when nobody converted)."""
    return results.arms[index].ltv_histogram()


def _file_hash(journey: Journey) -> str:
    if journey.source and Path(journey.source).is_file():
        return hashlib.sha256(Path(journey.source).read_bytes()).hexdigest()
    return "n/a"


# --- the sections -------------------------------------------------------


def _map_svg(page: _Page) -> str:
    from journeydsl.outputs.maps import RenderError, flows_from, render

    try:
        # left to right unless that is too wide for a page (then top to bottom)
        svg = render(page.journey.with_scenario("baseline"), None, format="svg", flows=flows_from(page.results),
                     direction="auto", lang=page.lang)
    except RenderError as exc:
        return f'<p class="note">{_e(page._("The map could not be drawn: {reason}").format(reason=exc))}</p>'
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    return _strip_prolog(text)


def _section_map(page: _Page) -> str:
    _ = page._
    svg = page.map_svg.result() if page.map_svg is not None else _map_svg(page)
    out = [_para(_("Edge widths and numbers: forecast customers per 1,000 entering who travel each path "
                      "(baseline); a trigger arrow carries the customers that trigger moved. Percentages in "
                      "stages: share of customers who ever reach them."))]
    if svg.startswith("<svg"):
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        out.append(f'<p class="maplink"><a download="journey-map.svg" href="data:image/svg+xml;base64,{data}">'
                   f"{_e(_('Open the map on its own (SVG file, full size)'))}</a> · "
                   f"{_e(_('scroll inside the box to see all of it'))}</p>")
    out.append(f'<div class="mapbox">{svg}</div>')
    return "".join(out)


def _section_kpis(page: _Page) -> str:
    _ = page._
    rows = []
    for key, label, kind in HEADLINE:
        cells = [_e(_cell(_get(a.get("metrics", {}), key), kind, page.currency, lang=page.lang)) for a in page.arms]
        if key.startswith("retention.") and all(c == _e(_("n/a")) for c in cells):
            continue
        rows.append([_e(_(label)), *cells])
    return (_table([_("figure"), *[page.arm_name(a) for a in page.arms]], rows, wide=True)
            + _para(_("Brackets: 95% interval. Money is discounted to each customer’s entry. Retention: n = "
                         "converters still followed that many days after converting.")))


def _section_scenarios(page: _Page) -> str:
    _ = page._
    arms = page.arms
    if len(arms) <= 1:
        return (f"<p>{_e(_('This journey has no scenarios.'))} "
                f"{_e(_('Add a scenario block to compare an alternative before rolling it out:'))} "
                "<code>scenario NAME { ... }</code></p>")
    labels = {s.name: s.title for s in page.journey.scenarios}
    out = ["<ul>" + "".join(
        f"<li><b>{_e(page.arm_name(a))}</b>: <code>{_e(a['name'])}</code> "
        f"{_e(labels.get(a['name'], a.get('label') or '')) if page.ids else ''}</li>" for a in arms[1:]
    ) + "</ul>"]
    out.append(_comparison_table(page))
    out.append(_para(_("▲ better / ▼ worse: the 95% interval of the difference excludes zero. For cost per "
                           "customer and CAC, lower is better.")))
    ranking = _ranking(arms, page.currency, page.lang, page.ids)
    if ranking:
        out.append(f"<p><b>{_e(ranking)}</b></p>")
    out += [f'<p class="note">{_e(note)}</p>' for note in _noise_notes(page.data, page.lang, page.ids)]
    return "".join(out)


def _comparison_table(page: _Page) -> str:
    """Differences from the baseline: one row per figure, one column per scenario (so that eight or
    more scenarios fit side by side), each cell the difference, its interval, the relative change
    and P(better)."""
    _ = page._
    kinds, labels = HEADLINE_KIND, HEADLINE_LABEL
    rows = []
    for key in COMPARED:
        cells = []
        for arm in page.arms[1:]:
            cmp = (arm.get("versus_baseline") or {}).get(key.replace(".", "_"))
            if cmp is None:
                cells.append("")
                continue
            diff, interval, relative, p_better = _delta_cells(cmp, kinds[key], page.currency, page.lang)
            cls = "up" if "▲" in diff else "down" if "▼" in diff else ""
            detail = " · ".join(x for x in (relative, f"P {p_better}" if p_better else "") if x)
            cell = f'<span class="{cls}">{_e(diff)}</span>'
            cell += f"<br><small>{_e(interval)}</small>" if interval else ""
            cell += f"<br><small>{_e(detail)}</small>" if detail else ""
            cells.append(cell)
        if any(cells):
            rows.append([_e(_(labels[key])), *cells])
    header = [_("difference from baseline"), *[page.arm_name(a) for a in page.arms[1:]]]
    return _table(header, rows, wide=True) + _para(
        _("Each cell: the difference from the baseline, its 95% interval, the relative change and P(better)."))


def _section_segments(page: _Page) -> str:
    """One table per segment: the headline figures of every arm for that segment's customers."""
    _ = page._
    arms = page.arms
    segments = (arms[0].get("segments") or {}) if arms else {}
    if not segments:
        return (f"<p>{_e(_('This journey has no segments.'))} "
                f"{_e(_('Split customers with a segment block to see who the journey works for:'))} "
                "<code>segment NAME 30% { ... }</code></p>")
    out = []
    for name, seg in segments.items():
        title = _segment_label(name, seg, page.lang, page.ids)
        share = seg.get("share")
        customers = seg.get("customers")
        out.append(f"<h3>{_e(title)}</h3><p class=\"sub\">"
                   + _e(page.lang.counted("{share} of entering customers; {n} customer simulated per arm",
                                          "{share} of entering customers; {n} customers simulated per arm",
                                          int(customers or 0), share=_share(float(share or 0), page.lang)))
                   + "</p>")
        rows = []
        for key, label, kind in HEADLINE:
            cells = []
            for arm in arms:
                metrics = ((arm.get("segments") or {}).get(name) or {}).get("metrics") or {}
                cells.append(_e(_cell(_get(metrics, key), kind, page.currency, lang=page.lang)))
            if key.startswith("retention.") and all(c == _e(_("n/a")) for c in cells):
                continue
            rows.append([_e(_(label)), *cells])
        out.append(_table([_("figure"), *[page.arm_name(a) for a in arms]], rows, wide=True))
    return "".join(out)


def _section_retention(page: _Page) -> str:
    curves = [_curve(page.results, i) for i in range(len(page.arms))]
    followed = [n for i in range(len(page.arms)) for _d, _s, n in page.results.arms[i].retention_curve()]
    if any(curves) or not any(followed):
        return f'<div class="figure">{_retention_chart(page, curves)}</div>'
    # some converters, but too few followed for a curve: say so rather than "no converted customers"
    return _para(page._("Too few converted customers are followed to draw retention curves (a curve needs at "
                        "least {n} per point); simulate more customers to see them.").format(n=_MIN_FOLLOWED))


def _section_ltv(page: _Page) -> str:
    hists = [_hist(page.results, i) for i in range(len(page.arms))]
    edges = [h[0] for h in hists if h and h[0] and h[1] and sum(h[1]) > 0]
    xlim = (min(e[0] for e in edges), max(e[-1] for e in edges)) if edges else None
    tops = [100 * max(h[1]) / sum(h[1]) for h in hists if h and h[1] and sum(h[1]) > 0]
    ymax = 1.08 * max(tops, default=100.0)
    charts = "".join(f'<div class="figure">{_ltv_chart(page, arm, hists[i], xlim, ymax)}</div>'
                     for i, arm in enumerate(page.arms))
    note = _e(page._("Every arm is drawn on the same axes."))
    return f'<p>{note}</p><div class="charts">{charts}</div>'


def _section_funnel(page: _Page) -> str:
    return '<div class="charts">' + "".join(
        f'<div class="figure">{_funnel_chart(page, arm)}</div>' for arm in page.arms) + "</div>"


def _section_stages(page: _Page) -> str:
    _ = page._
    header = [_("stage"), _("reached"), _("visits per customer"), _("mean stay"), _("revenue per customer"),
              _("cost per customer"), _("exits (share of stays)")]
    panels = []
    for arm in page.arms:
        rows = [[_e(c) for c in row] for row in _stage_rows(arm, page.currency, days="days", lang=page.lang,
                                                            ids=page.ids)]
        for row in rows:  # exits wrap: they are a list, not a number
            row[-1] = f'<span style="white-space: normal">{row[-1]}</span>'
        panels.append((page.arm_name(arm), _table(header, rows)))
    return _tabs("stages", panels) + (
        _para(_("Revenue and cost per entering customer booked in the stage: on entering it, during stays in "
                    "it, and the via costs of moves out of it. Over all stages they add up to the headline revenue "
                    "and cost per customer.")))


def _section_phases(page: _Page) -> str:
    _ = page._
    if not any(arm.get("phases") for arm in page.arms):
        return (f"<p>{_e(_('This journey has no phases.'))} "
                f"{_e(_('Group stages in a phase block to see where in the journey the money comes from and goes:'))}"
                ' <code>phase "Label" { stages }</code></p>')
    header = [_("phase"), _("reached"), _("days per customer"), _("revenue per customer"), _("cost per customer"),
              _("value per customer")]
    panels = []
    for arm in page.arms:
        rows = [[_e(c) for c in row] for row in _phase_rows(arm, page.currency, days="days", lang=page.lang)]
        chart = f'<div class="figure">{_phase_chart(page, arm)}</div>' if arm.get("phases") else ""
        panels.append((page.arm_name(arm), _table(header, rows) + chart))
    return _tabs("phases", panels) + (
        _para(_("Reached: the share of entering customers who ever enter a stage of the phase. Days, revenue "
                    "and cost: per entering customer, the sums over the phase’s stages (days up to the "
                    "horizon).")))


def _section_touchpoints(page: _Page) -> str:
    _ = page._
    channels = {t.name: t.channel for t in page.journey.touchpoints}
    header = [_("touchpoint"), _("channel"), _("contacts per customer"), _("responses per customer"),
              _("cost per customer")]
    policy = has_policy_counts(page.arms)
    if policy:
        header += [_("capped per customer"), _("delayed per customer"), _("held out per customer")]
    panels = []
    for arm in page.arms:
        names = list((arm.get("touchpoints") or {}).keys())
        rows = []
        for name, row in zip(names, _touch_rows(arm, page.currency, page.lang, page.ids, policy), strict=True):
            channel = (arm["touchpoints"][name] or {}).get("channel") or channels.get(name, "")
            rows.append([_e(row[0]), _e(channel), *(_e(c) for c in row[1:])])
        body = _table(header, rows, numeric_from=2) if rows else _para(_("No touchpoints."))
        steps = _step_rows(arm, page.lang, page.ids)
        if steps:
            body += f"<h3>{_e(_('Response funnels'))}</h3>" + _table(
                [_(h) for h in STEP_HEADER], [[_e(c) for c in r] for r in steps], numeric_from=2)
        queues = _queue_rows(arm, page.lang, page.ids)
        if queues:
            body += f"<h3>{_e(_('Task queues'))}</h3>" + _table(
                [_(h) for h in QUEUE_HEADER], [[_e(c) for c in r] for r in queues], numeric_from=1)
            body += _para(_("Waits in days; ⚠ more tasks than the capacity: the backlog keeps growing."))
        panels.append((page.arm_name(arm), body))
    held = "".join(f'<p class="note">{_e(line)}</p>'
                   for line in holdout_lines(page.arms, page.currency, page.lang, page.ids))
    return held + _tabs("touchpoints", panels)


def _section_triggers(page: _Page) -> str:
    _ = page._
    if not any(arm.get("triggers") for arm in page.arms):
        return _para(_("No triggers."))
    header = [_("trigger"), _("fired per customer"), _("rerouted per customer")]
    panels = []
    for arm in page.arms:
        rows = [[_e(c) for c in row] for row in _trigger_rows(arm, page.lang, page.ids)]
        panels.append((page.arm_name(arm), _table(header, rows) if rows else _para(_("No triggers."))))
    return _tabs("triggers", panels)


def _section_assumptions(page: _Page) -> str:
    _ = page._
    journey, data, lang = page.journey, page.data, page.lang
    segments = ", ".join(
        f"{s.name if page.ids else s.title} {lang.percent(s.share, 0 if (100 * s.share).is_integer() else 1)}"
        for s in journey.segments)
    horizon = float(data.get("horizon_days", 0))
    assumptions = [
        (_("journey file"), _e(journey.source or _("(not from a file)"))),
        (_("file SHA-256"), f"<code>{_e(_file_hash(journey))}</code>"),
        (_("customers simulated per scenario"), _e(lang.decimal(int(data.get("customers", 0)), 0))),
        (_("random seed"), _e(data.get("seed"))),
        (_("horizon"), _e(lang.n_("{n} day from each customer's entry", "{n} days from each customer's entry",
                                   horizon).format(n=lang.decimal(horizon, 0 if horizon.is_integer() else 1)))),
        (_("discount"), _e(_("{rate} a year").format(rate=lang.percent(journey.discount, 1)))),
        (_("currency"), _e(page.currency or _("none"))),
        (_("segments"), _e(segments or _("none"))),
    ]
    return _table([_("assumption"), _("assumed value")], [[_e(k), v] for k, v in assumptions], numeric_from=1)


def _section_definitions(page: _Page) -> str:
    return "<dl>" + "".join(f"<dt>{_e(page._(t))}</dt><dd>{_e(page._(d))}</dd>" for t, d in DEFINITIONS) + "</dl>"


_BUILDERS: dict[str, Callable[[_Page], str]] = {
    "map": _section_map,
    "kpis": _section_kpis,
    "scenarios": _section_scenarios,
    "segments": _section_segments,
    "retention": _section_retention,
    "ltv": _section_ltv,
    "funnel": _section_funnel,
    "stages": _section_stages,
    "phases": _section_phases,
    "touchpoints": _section_touchpoints,
    "triggers": _section_triggers,
    "assumptions": _section_assumptions,
    "definitions": _section_definitions,
}


# --- plans and targets --------------------------------------------------


def _targets_table(page: _Page, rows: list[dict[str, Any]]) -> str:
    """One arm's targets: KPI, target, forecast, interval and the status (green, red or plain)."""
    from journeydsl.outputs.forecast_report import TARGET_HEADER, target_rows

    body = []
    for row, cells in zip(rows, target_rows(rows, page.currency, page.lang), strict=True):
        cls = {"on track": "up", "off track": "down"}.get(row["status"], "")
        body.append([*(_e(c) for c in cells[:-1]), f'<span class="{cls}">{_e(cells[-1])}</span>'])
    return _table([page._(h) for h in TARGET_HEADER], body)


def _section_targets(page: _Page) -> str:
    """The KPI targets of every arm, each under the arm's name."""
    from journeydsl.outputs.forecast_report import TARGET_NOTE

    names = {a.get("name"): page.arm_name(a) for a in page.arms}
    out = [f"<h3>{_e(names.get(arm, arm))}</h3>" + _targets_table(page, rows)
           for arm, rows in (page.results.targets or {}).items()]
    out.append(_para(page._(TARGET_NOTE) + "."))
    return "\n".join(out)


def _section_forecast(page: _Page, fc: Forecast) -> str:
    """The plan's month-by-month forecast: the layer cake and the month table."""
    from journeydsl.outputs.forecast_report import NOTE, layer_cake_svg, month_header, month_rows, notes_text

    _, lang = page._, page.lang
    scenario = "" if fc.plan.scenario in (None, "baseline") else _(" on scenario {scenario}").format(
        scenario=fc.scenario_label or fc.plan.scenario)
    months = fc.months
    text = _e(lang.n_(  # escaped before the plan's name goes in bold
        "Plan {plan}{scenario}, {start} to {end}: one cohort of {n} customer simulated once, combined "
        "with the planned arrivals month by month. Money as booked (not discounted). ±: half the 95% "
        "interval (simulation noise and Poisson noise in arrivals).",
        "Plan {plan}{scenario}, {start} to {end}: one cohort of {n} customers simulated once, combined "
        "with the planned arrivals month by month. Money as booked (not discounted). ±: half the 95% "
        "interval (simulation noise and Poisson noise in arrivals).", fc.customers))
    out = ["<p>" + text.format(plan=f"<b>{_e(fc.plan.title)}</b>", scenario=_e(scenario),
                               start=_e(lang.month(months[0])), end=_e(lang.month(months[-1])),
                               n=_e(lang.decimal(fc.customers, 0))) + "</p>"]
    out.append(f'<div class="figure">{layer_cake_svg(fc, lang)}</div>')
    def cell(text: str) -> str:  # the ± under the figure, so that nine columns fit a page
        mean, _sep, half = text.partition(" ±")
        return _e(mean) + (f"<br><small>±{_e(half)}</small>" if half else "")

    rows = [[f'<span class="nowrap">{_e(r[0])}</span>', *(cell(c) for c in r[1:])]
            for r in month_rows(fc.to_dict(), lang)]
    out.append(_table(month_header(lang), rows))
    out.append(_para(_(NOTE) + "."))
    out += [f'<p class="note">{_e(n)}</p>' for n in notes_text(fc.notes, lang)]
    if fc.targets:
        out.append(f"<h3>{_e(_('Targets'))}</h3>" + _targets_table(page, fc.targets))
    return "\n".join(out)


# --- the page -----------------------------------------------------------


def _sections(page: _Page, sections: list[tuple[str, str]], forecast: Forecast | None) -> list[str]:
    """The page's sections, in order, as HTML."""
    _ = page._
    parts: list[str] = []
    for sid, title in sections:
        if sid == "targets":
            parts.append(f'<section id="targets"><h2>{_e(_(title))}</h2>{_section_targets(page)}</section>')
            continue
        if sid == "forecast" and forecast is not None:
            parts.append(f'<section id="forecast"><h2>{_e(_("Forecast by calendar month"))}</h2>'
                         f"{_section_forecast(page, forecast)}</section>")
            continue
        if sid == "assumptions":  # the uncertain parameters' sections (tornado, draws), when the journey has any
            from journeydsl.outputs.uncertainty_html import uncertainty_sections

            parts.extend(uncertainty_sections(page.journey, page.results, page.lang, page.ids))
        parts.append(f'<section id="{sid}"><h2>{_e(_(title))}</h2>{_BUILDERS[sid](page)}</section>')
    return parts


def build_report(journey: Journey, results: Results, forecast: Forecast | None = None,
                 lang: str | Lang | None = None, ids: bool = False) -> str:
    """The whole report as one HTML document (a string).

    ``lang`` (``en``, ``ru``, ``bg``; default the journey's ``language``, else English) picks the
    fixed words and number formats; ``ids`` calls arms, stages and touchpoints by their names.
    ``forecast``: the plan's month-by-month forecast, when the journey has a plan.
    """
    language = lang if isinstance(lang, Lang) else get_lang(lang or journey.language)
    page = _Page(journey, results, results.to_dict(), language, ids)
    _ = page._
    data = page.data
    horizon = float(data.get("horizon_days", 0))
    parts: list[str] = [f"<h1>{_e(journey.name)}</h1>"]
    parts.append('<p class="sub">' + _e(language.counted(
        "Forecast of {n} simulated customer over {days}, seed {seed}. Generated by journeydsl {version}.",
        "Forecast of {n} simulated customers over {days}, seed {seed}. Generated by journeydsl {version}.",
        int(data.get("customers", 0)), days=language.counted("{n} day", "{n} days", horizon,
                                                             0 if horizon.is_integer() else 1),
        seed=data.get("seed"), version=__version__)) + "</p>")
    sections = list(SECTIONS)
    if results.targets:
        sections.insert(2, ("targets", N_("Targets")))
    if forecast is not None:
        sections.insert([sid for sid, _t in sections].index("assumptions"), ("forecast", N_("Forecast")))
    parts.append("<nav>" + "".join(f'<a href="#{sid}">{_e(_(title))}</a>' for sid, title in sections) + "</nav>")
    # Graphviz lays the map out in its own process, on the other core, while matplotlib draws the
    # charts here: the thread only waits for it (the map's words use a context variable, so its
    # language is its own). The page is byte for byte the one drawn in order.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="journeydsl-map") as pool:
        page = replace(page, map_svg=pool.submit(_map_svg, page))
        parts.extend(_sections(page, sections, forecast))
    parts.append(f"<footer>journeydsl {__version__} · "
                 f"{_e(_('same file, seed and options give the same numbers.'))}</footer>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html lang=\"{language.code}\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"journeydsl {__version__}\">\n"
        f"<title>{_e(journey.name)} — {_e(_('journeydsl report'))}</title>\n"
        f"<style>{_CSS}{_tab_rules(max(len(page.arms), 1))}\n</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
