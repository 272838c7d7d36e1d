"""``journeydsl report``: one self-contained HTML page a strategist can send to a colleague.

The page holds the journey map with forecast flows, the headline figures with
intervals, the scenario comparison, retention curves, LTV distributions, the
funnel, stage and touchpoint tables, the assumptions and the definitions of
every figure. It fetches nothing: CSS is inline, charts are inline SVG drawn
with matplotlib, the map is Graphviz's SVG. Every text that comes from the
journey file is escaped.
"""

from __future__ import annotations

import hashlib
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cycler import cycler

from journeydsl import __version__
from journeydsl.report import (
    COMPARISON_HEADER,
    HEADLINE,
    _cell,
    _comparison_rows,
    _get,
    _money,
    _noise_notes,
    _phase_rows,
    _ranking,
    _stage_rows,
    _touch_rows,
)

if TYPE_CHECKING:
    from journeydsl.model import Journey
    from journeydsl.results import Results

__all__ = ["DEFINITIONS", "build_report"]

#: Each figure in plain words (the same definitions as docs/metrics.md).
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Conversion rate", "The share of entering customers who reach a goal stage before the horizon."),
    ("Days to convert",
     "Among customers who convert: days from entry to the first goal stage (mean, median, 90th percentile)."),
    ("Retention at d days",
     "Among converted customers: the share in an active stage d days after they first converted. "
     "Customers who converted too late to be followed d days are left out, and the count used is shown."),
    ("Churn rate",
     "Among converted customers: the share who left every active stage before the horizon and did not come back."),
    ("Revenue per customer", "Average discounted revenue per entering customer, converted or not."),
    ("Cost per customer",
     "Average discounted cost per entering customer: touchpoints, automation messages and stage costs."),
    ("Value per customer", "Revenue per customer minus cost per customer: the figure scenarios are ranked by."),
    ("LTV", "Among converted customers: discounted revenue from the first conversion on (including that moment) "
     "minus discounted costs after it."),
    ("CAC", "All discounted costs up to and including each customer's first conversion (and all costs of customers "
     "who never convert), divided by the number of converted customers."),
    ("LTV : CAC", "LTV divided by CAC; above 3 is a common rule of thumb for a healthy acquisition channel."),
    ("95% interval", "The range the true figure lies in with 95% confidence given the simulated sample: Wilson "
     "intervals for shares, normal intervals for averages, paired batch t-intervals for differences between "
     "scenarios."),
    ("P(better)", "How likely the scenario beats the baseline on that figure, from the paired batch differences "
     "(normal approximation). For costs and CAC, lower is better."),
    ("Discounting",
     "Money at day t counts (1 + r)^(-t/365) of its face value, with r the journey's yearly discount rate."),
)

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --accent:#1f6feb; --good:#1a7f37; --bad:#cf222e; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1100px; padding: 24px 32px 64px; line-height: 1.45; }
h1 { font-size: 1.7rem; margin: 0 0 4px; } h2 { font-size: 1.25rem; margin: 36px 0 10px;
     border-bottom: 2px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0 0 18px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-size: 0.92rem; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f5f7fa; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.up { color: var(--good); font-weight: 600; } .down { color: var(--bad); font-weight: 600; }
.figure { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 8px 0; }
.figure svg { max-width: 100%; height: auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.note { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 8px 12px; margin: 8px 0; }
dl dt { font-weight: 600; margin-top: 8px; } dl dd { margin: 2px 0 0 0; color: var(--muted); }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; white-space: nowrap; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85rem; }
@media print { body { max-width: none; padding: 0 12mm; } .figure { break-inside: avoid; } nav { display: none; } }
"""

SECTIONS = (
    ("map", "Journey map"),
    ("kpis", "Headline figures"),
    ("scenarios", "Scenarios"),
    ("retention", "Retention"),
    ("ltv", "LTV distribution"),
    ("funnel", "Funnel"),
    ("stages", "Stages"),
    ("phases", "Phases"),
    ("touchpoints", "Touchpoints"),
    ("assumptions", "Assumptions"),
    ("definitions", "Definitions"),
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _strip_prolog(svg: str) -> str:
    """An SVG document as an element to inline: no XML declaration, DOCTYPE or comments before it."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="num"' if i >= numeric_from else ""
            cells.append(f"<td{cls}>{c}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# --- charts -------------------------------------------------------------


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.hashsalt": "journeydsl",
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


def _retention_chart(arms: list[dict[str, Any]], curves: list[list[tuple[float, float]]]) -> str:
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    drawn = False
    for arm, points in zip(arms, curves, strict=True):
        if not points:
            continue
        xs = [p[0] for p in points]
        ys = [100 * p[1] for p in points]
        ax.plot(xs, ys, marker="o" if len(xs) < 12 else None, markersize=3, label=arm["name"], linewidth=1.8)
        drawn = True
    ax.set_xlabel("days since first conversion")
    ax.set_ylabel("customers still active (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Retention of converted customers")
    if drawn:
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no converted customers to follow", ha="center", transform=ax.transAxes)
    return _fig_svg(fig)


def _ltv_chart(arm: dict[str, Any], hist: tuple[list[float], list[int]], currency: str) -> str:
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
                ax.axvline(float(v), color="#d4742c", linestyle=style, linewidth=1.4,
                           label=f"{'median' if key == 'p50' else 'mean'} {_money(float(v), currency)}")
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no converted customers", ha="center", transform=ax.transAxes)
    ax.set_xlabel(f"LTV per converted customer ({currency}, discounted)" if currency else "LTV (discounted)")
    ax.set_ylabel("converted customers (%)")
    ax.set_title(f"LTV distribution: {arm['name']}")
    return _fig_svg(fig)


def _funnel_chart(journey: Journey, arm: dict[str, Any]) -> str:
    """Reach of each stage in file order; exits that are not goals ('lost', 'churned') are left out."""
    plt = _matplotlib()
    stages = arm.get("stages") or {}
    names = [s.name for s in journey.stages if s.name in stages and (s.goal or s.active or not s.terminal)]
    reach = [100 * float(stages[n].get("reached") or 0) for n in names]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * max(3, len(names)) + 0.8))
    bars = ax.barh(range(len(names))[::-1], reach, color="#1f6feb", alpha=0.85)
    ax.set_yticks(range(len(names))[::-1])
    ax.set_yticklabels(names)
    for bar, value in zip(bars, reach, strict=True):
        text = f"{value:.1f}%" if value >= 1 or value == 0 else f"{value:.2g}%"
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=9)
    ax.set_xlim(0, 110)
    ax.set_xlabel("share of entering customers who ever reach the stage (%); end stages left out")
    ax.set_title(f"Funnel: {arm['name']}")
    ax.grid(axis="y", visible=False)
    return _fig_svg(fig)


def _phase_chart(arm: dict[str, Any], currency: str) -> str:
    """Horizontal bars of value per customer by phase (revenue minus cost booked in its stages)."""
    plt = _matplotlib()
    phases = arm.get("phases") or {}
    names = list(phases)
    values = [float(p.get("value_per_customer") or 0) for p in phases.values()]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * max(3, len(names)) + 0.8))
    ys = range(len(names))[::-1]
    colours = ["#1a7f37" if v >= 0 else "#cf222e" for v in values]
    bars = ax.barh(ys, values, color=colours, alpha=0.85)
    ax.set_yticks(ys)
    ax.set_yticklabels(names)
    span = max((abs(v) for v in values), default=0.0) or 1.0
    for bar, value in zip(bars, values, strict=True):
        x = bar.get_width()
        ax.text(x + (0.02 if value >= 0 else -0.02) * span, bar.get_y() + bar.get_height() / 2,
                _money(value, currency), va="center", ha="left" if value >= 0 else "right", fontsize=9)
    lo, hi = min(0.0, *values), max(0.0, *values)
    ax.set_xlim(lo - 0.5 * span * (lo < 0), hi + 0.35 * span * (hi > 0 or lo == hi))
    ax.axvline(0, color="#52606d", linewidth=0.8)
    unit = f" ({currency}, discounted)" if currency else " (discounted)"
    ax.set_xlabel("value per entering customer: revenue minus cost" + unit)
    ax.set_title(f"Value by phase: {arm['name']}")
    ax.grid(axis="y", visible=False)
    return _fig_svg(fig)


# --- data from results --------------------------------------------------


def _curve(results: Results, index: int) -> list[tuple[float, float]]:
    """Retention points (days since conversion, share active) of one arm, every 7 days."""
    curve = results.arms[index].retention_curve()
    # a point followed by only a handful of converters (just before the horizon) is noise, not a trend
    enough = max(30, max((n for _d, _s, n in curve), default=0) // 100)
    return [(float(d), float(share)) for d, share, n in curve if share is not None and n >= enough]


def _hist(results: Results, index: int) -> tuple[list[float], list[int]]:
    """Bin edges and counts of one arm's LTV among converters (empty when nobody converted)."""
    return results.arms[index].ltv_histogram()


def _file_hash(journey: Journey) -> str:
    if journey.source and Path(journey.source).is_file():
        return hashlib.sha256(Path(journey.source).read_bytes()).hexdigest()
    return "n/a"


# --- the page -----------------------------------------------------------


def _map_svg(journey: Journey, results: Results) -> str:
    from journeydsl.api import flows_from
    from journeydsl.maps import RenderError, render

    try:
        # top to bottom: a journey map fits a portrait page that way (left to right it shrinks to a strip)
        svg = render(journey.with_scenario("baseline"), None, format="svg", flows=flows_from(results), direction="TB")
    except RenderError as exc:
        return f'<p class="note">The map could not be drawn: {_e(exc)}</p>'
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    return _strip_prolog(text)


def build_report(journey: Journey, results: Results, lang: str | None = None, ids: bool = False) -> str:
    """The whole report as one HTML document (a string)."""
    data = results.to_dict()
    arms: list[dict[str, Any]] = list(data.get("scenarios", []))
    currency = data.get("currency") or ""
    parts: list[str] = []
    add = parts.append

    add(f"<h1>{_e(journey.name)}</h1>")
    add(
        f'<p class="sub">Forecast of {data.get("customers", 0):,} simulated customers over '
        f"{float(data.get('horizon_days', 0)):g} days, seed {_e(data.get('seed'))}. "
        f"Generated by journeydsl {__version__}.</p>"
    )
    add("<nav>" + "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title in SECTIONS) + "</nav>")

    add('<section id="map"><h2>Journey map</h2>')
    add("<p>Edge widths and numbers: forecast customers per 1,000 entering who travel each path (baseline). "
        "Percentages in stages: share of customers who ever reach them.</p>")
    add(f'<div class="figure">{_map_svg(journey, results)}</div></section>')

    add('<section id="kpis"><h2>Headline figures</h2>')
    rows = []
    for key, label, kind in HEADLINE:
        cells = [_e(_cell(_get(a.get("metrics", {}), key), kind, currency)) for a in arms]
        if key.startswith("retention.") and all(c == "n/a" for c in cells):
            continue
        rows.append([_e(label), *cells])
    add(_table(["figure", *[a["name"] for a in arms]], rows))
    add("<p>Brackets: 95% interval. Money is discounted to each customer's entry. Retention: n = converters "
        "still followed that many days after converting.</p></section>")

    add('<section id="scenarios"><h2>Scenarios</h2>')
    if len(arms) > 1:
        labels = {s.name: s.title for s in journey.scenarios}
        add("<ul>" + "".join(
            f"<li><b>{_e(a['name'])}</b>: {_e(labels.get(a['name'], a.get('label') or ''))}</li>" for a in arms[1:]
        ) + "</ul>")
        cmp_rows = []
        for scen, figure, diff, interval, relative, p_better in _comparison_rows(arms, currency):
            cls = "up" if "▲" in diff else "down" if "▼" in diff else ""
            cmp_rows.append([_e(scen), _e(figure), f'<span class="{cls}">{_e(diff)}</span>',
                             _e(interval), _e(relative), _e(p_better)])
        add(_table([*COMPARISON_HEADER[:2], "difference from baseline", *COMPARISON_HEADER[3:]], cmp_rows,
                   numeric_from=2))
        add("<p>▲ better / ▼ worse: the 95% interval of the difference excludes zero. For cost per customer "
            "and CAC, lower is better.</p>")
        ranking = _ranking(arms, currency)
        if ranking:
            add(f"<p><b>{_e(ranking)}</b></p>")
        for note in _noise_notes(data):
            add(f'<p class="note">{_e(note)}</p>')
    else:
        add("<p>This journey has no scenarios. Add a <code>scenario NAME { ... }</code> block to compare "
            "an alternative before rolling it out.</p>")
    add("</section>")

    add('<section id="retention"><h2>Retention</h2>')
    curves = [_curve(results, i) for i in range(len(arms))]
    add(f'<div class="figure">{_retention_chart(arms, curves)}</div></section>')

    add('<section id="ltv"><h2>LTV distribution</h2><div class="charts">')
    for i, arm in enumerate(arms):
        add(f'<div class="figure">{_ltv_chart(arm, _hist(results, i), currency)}</div>')
    add("</div></section>")

    add('<section id="funnel"><h2>Funnel</h2><div class="charts">')
    for arm in arms:
        add(f'<div class="figure">{_funnel_chart(journey, arm)}</div>')
    add("</div></section>")

    base = arms[0] if arms else {}
    add('<section id="stages"><h2>Stages</h2>')
    titles = {s.name: s.title for s in journey.stages}
    stage_rows = [
        [f"{_e(titles.get(row[0], row[0]))} <small>({_e(row[0])})</small>", *(_e(c) for c in row[1:])]
        for row in _stage_rows(base, currency, days="days")
    ]
    add(_table(["stage", "reached", "visits per customer", "mean stay", "revenue per customer",
                "cost per customer", "exits (share of stays)"], stage_rows))
    add("<p>Revenue and cost per entering customer booked in the stage: on entering it, during stays in it, "
        "and the <code>via</code> costs of moves out of it. Over all stages they add up to the headline "
        "revenue and cost per customer.</p>")
    add("</section>")

    add('<section id="phases"><h2>Phases</h2>')
    phase_rows = [[_e(c) for c in row] for row in _phase_rows(base, currency, days="days")]
    if phase_rows:
        add(_table(["phase", "reached", "days per customer", "revenue per customer", "cost per customer",
                    "value per customer"], phase_rows))
        add("<p>Reached: the share of entering customers who ever enter a stage of the phase. Days, revenue and "
            "cost: per entering customer, the sums over the phase's stages (days up to the horizon).</p>")
        add('<div class="charts">' + "".join(
            f'<div class="figure">{_phase_chart(arm, currency)}</div>' for arm in arms if arm.get("phases")
        ) + "</div>")
    else:
        add("<p>This journey has no phases. Group stages with <code>phase \"Label\" { stages }</code> to see "
            "where in the journey the money comes from and goes.</p>")
    add("</section>")

    add('<section id="touchpoints"><h2>Touchpoints</h2>')
    tp_titles = {t.name: (t.title, t.channel) for t in journey.touchpoints}
    tp_rows = []
    for row in _touch_rows(base, currency):
        title, channel = tp_titles.get(row[0], (row[0], ""))
        tp_rows.append([f"{_e(title)} <small>({_e(row[0])})</small>", _e(channel), *(_e(c) for c in row[1:])])
    if tp_rows:
        add(_table(["touchpoint", "channel", "contacts per customer", "responses per customer", "cost per customer"],
                   tp_rows, numeric_from=2))
    else:
        add("<p>No touchpoints.</p>")
    add("</section>")

    add('<section id="assumptions"><h2>Assumptions</h2>')
    assumptions = [
        ("journey file", _e(journey.source or "(not from a file)")),
        ("file SHA-256", f"<code>{_e(_file_hash(journey))}</code>"),
        ("customers simulated per scenario", f"{int(data.get('customers', 0)):,}"),
        ("random seed", _e(data.get("seed"))),
        ("horizon", f"{float(data.get('horizon_days', 0)):g} days from each customer's entry"),
        ("discount", f"{100 * journey.discount:g}% a year"),
        ("currency", _e(currency or "none")),
        ("segments", _e(", ".join(f"{s.name} {100 * s.share:g}%" for s in journey.segments) or "none")),
    ]
    add(_table(["assumption", "value"], [[_e(k), v] for k, v in assumptions], numeric_from=1))
    add("</section>")

    add('<section id="definitions"><h2>Definitions</h2><dl>')
    add("".join(f"<dt>{_e(t)}</dt><dd>{_e(d)}</dd>" for t, d in DEFINITIONS))
    add("</dl></section>")
    add(f"<footer>journeydsl {__version__} · same file, seed and options give the same numbers.</footer>")

    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"journeydsl {__version__}\">\n"
        f"<title>{_e(journey.name)} — journeydsl report</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
