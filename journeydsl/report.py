"""Results as text: the strategist's table, Markdown, CSV and JSON.

Everything here reads the results contract (``Results.to_dict()``, see
``docs/metrics.md``), so what a table shows is exactly what the JSON says.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from journeydsl.sanitize import for_csv, for_markdown, for_terminal

if TYPE_CHECKING:
    from journeydsl.model import Journey
    from journeydsl.results import Results

__all__ = ["HEADLINE", "format_exact", "format_results", "to_json"]

# key, row label, kind of number: the headline figures in the order a strategist reads them
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("conversion_rate", "Conversion rate", "share"),
    ("time_to_convert_days", "Days to convert (mean)", "days"),
    ("retention.30", "Retention at 30 days", "retention"),
    ("retention.90", "Retention at 90 days", "retention"),
    ("retention.180", "Retention at 180 days", "retention"),
    ("retention.365", "Retention at 365 days", "retention"),
    ("churn_rate", "Churn rate", "share"),
    ("revenue_per_customer", "Revenue per customer", "money"),
    ("cost_per_customer", "Cost per customer", "money"),
    ("value_per_customer", "Value per customer", "money"),
    ("ltv", "LTV (mean)", "money"),
    ("cac", "CAC", "money"),
    ("ltv_to_cac", "LTV : CAC", "ratio"),
)

#: Figures compared between arms, in the order of the comparison block.
COMPARED: tuple[str, ...] = (
    "conversion_rate",
    "value_per_customer",
    "revenue_per_customer",
    "cost_per_customer",
    "ltv",
    "cac",
    "retention.90",
)


COMPARISON_HEADER = ("scenario", "figure", "difference", "95% interval", "relative", "P(better)")


def to_json(results: Results) -> str:
    """The results contract as indented JSON (never NaN: undefined figures are null)."""
    return json.dumps(results.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _get(metrics: dict[str, Any], key: str) -> Any:
    node: Any = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _mean(figure: Any) -> float | None:
    value = figure.get("mean") if isinstance(figure, dict) else figure
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def _money(x: float, currency: str) -> str:
    """Money for people: cents below 1,000, whole units above, three figures for tiny sums.

    >>> _money(1234.5, "EUR"), _money(0.0024, "EUR"), _money(-3.5, "EUR")
    ('EUR 1,234', 'EUR 0.0024', '-EUR 3.50')
    """
    sign = "-" if x < 0 else ""
    x = abs(x)
    if 0 < x < 0.01:
        return f"{sign}{currency} {x:.2g}".strip()
    digits = 2 if x < 1000 else 0
    return f"{sign}{currency} {x:,.{digits}f}".strip()


def _number(x: float, kind: str, currency: str) -> str:
    if kind in ("share", "retention"):
        return f"{100 * x:.1f}%" if x >= 0.001 or x == 0 else f"{100 * x:.2g}%"
    if kind == "money":
        return _money(x, currency)
    if kind == "days":
        return f"{x:,.1f} d"
    return f"{x:,.2f}"


def _interval(ci: Any, kind: str, currency: str) -> str:
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2) or None in ci:
        return ""
    lo, hi = (float(v) for v in ci)
    if kind in ("share", "retention"):
        return f"{100 * lo:.1f}–{100 * hi:.1f}%"
    if kind == "money":
        return f"{_money(lo, currency)} – {_money(hi, currency).removeprefix(currency).strip()}"
    return f"{lo:,.1f}–{hi:,.1f}"


def _cell(figure: Any, kind: str, currency: str, *, intervals: bool = True) -> str:
    """A figure with its interval; a retention share also says how many converters were
    still followed that long (``n=``), the evidence it rests on."""
    value = _mean(figure)
    if value is None:
        return "n/a"
    text = _number(value, kind, currency)
    if intervals and isinstance(figure, dict):
        ci = _interval(figure.get("ci95"), kind, currency)
        if ci:
            text += f" ({ci})"
        if kind == "retention" and figure.get("n") is not None:
            text += f" n={int(figure['n']):,}"
    return text


def _signed(x: float, kind: str, currency: str) -> str:
    if kind in ("share", "retention"):
        return f"{100 * x:+.1f} pp"
    if kind == "money":
        return ("+" if x >= 0 else "-") + _money(abs(x), currency)
    if kind == "days":
        return f"{x:+,.1f} d"
    return f"{x:+,.2f}"


def _delta_cells(cmp: Any, kind: str, currency: str) -> list[str]:
    """Difference (with ▲/▼ when its interval excludes zero), 95% interval, relative change, P(better)."""
    if not isinstance(cmp, dict) or cmp.get("delta") is None:
        reason = cmp.get("reason", "") if isinstance(cmp, dict) else ""
        return ["n/a", reason, "", ""]
    if cmp.get("identical"):
        return ["no difference", "identical on every batch", "", ""]
    delta = float(cmp["delta"])
    text = _signed(delta, kind, currency)
    interval = ""
    ci = cmp.get("ci95")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and None not in ci:
        lo, hi = float(ci[0]), float(ci[1])
        interval = f"{_signed(lo, kind, currency)} to {_signed(hi, kind, currency)}"
        if lo > 0 or hi < 0:
            better = cmp.get("p_better")
            text += " ▲" if better is None or float(better) >= 0.5 else " ▼"
    rel = cmp.get("relative")
    relative = "" if rel is None else f"{100 * float(rel):+.1f}%"
    pb = cmp.get("p_better")
    p_better = "" if pb is None else f"{100 * float(pb):.0f}%"
    return [text, interval, relative, p_better]


def _arms(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data.get("scenarios", []))


def _title(data: dict[str, Any]) -> str:
    discount = data.get("discount")
    parts = [
        f"{data.get('customers', 0):,} customers",
        f"seed {data.get('seed')}",
        f"horizon {float(data.get('horizon_days', 0)):g} days",
    ]
    if discount:
        parts.append(f"discount {100 * float(discount):g}% a year")
    if data.get("currency"):
        parts.append(str(data["currency"]))
    return f"{data.get('journey', 'journey')} — " + ", ".join(parts)


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain-text table for the terminal (every cell through :func:`for_terminal`)."""
    header = [for_terminal(h) for h in header]
    rows = [[for_terminal(c) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    rule = "  ".join("─" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([line, rule, *body])


def _headline_rows(arms: list[dict[str, Any]], currency: str, intervals: bool) -> list[list[str]]:
    rows = []
    for key, label, kind in HEADLINE:
        cells = [_cell(_get(a.get("metrics", {}), key), kind, currency, intervals=intervals) for a in arms]
        if all(c == "n/a" for c in cells) and key.startswith("retention."):
            continue
        rows.append([label, *cells])
    return rows


def _ranking(arms: list[dict[str, Any]], currency: str) -> str:
    scored = [(_mean(_get(a.get("metrics", {}), "value_per_customer")), a["name"]) for a in arms]
    ranked = sorted(((v, n) for v, n in scored if v is not None), key=lambda p: -p[0])
    if len(ranked) < 2:
        return ""
    listed = ", ".join(f"{i}. {n} ({_money(v, currency)})" for i, (v, n) in enumerate(ranked, 1))
    return f"Ranked by value per customer (revenue minus cost, discounted): {listed}"


def _comparison_rows(arms: list[dict[str, Any]], currency: str) -> list[list[str]]:
    rows = []
    kinds = {k: kind for k, _, kind in HEADLINE}
    labels = {k: label for k, label, _ in HEADLINE}
    for arm in arms[1:]:
        vs = arm.get("versus_baseline") or {}
        for key in COMPARED:
            cmp = vs.get(key.replace(".", "_"))  # retention.90 is compared as retention_90
            if cmp is None:
                continue
            rows.append([arm["name"], labels[key], *_delta_cells(cmp, kinds[key], currency)])
    return rows


def _noise_notes(data: dict[str, Any]) -> list[str]:
    """For each scenario whose value difference cannot be told from zero: how many customers would tell."""
    notes = []
    currency = data.get("currency") or ""
    for arm in _arms(data)[1:]:
        cmp = (arm.get("versus_baseline") or {}).get("value_per_customer")
        if not isinstance(cmp, dict) or not cmp.get("ci95") or None in cmp["ci95"]:
            continue
        lo, hi = cmp["ci95"]
        if lo <= 0 <= hi and not cmp.get("identical"):
            need = cmp.get("customers_needed")
            delta = _money(float(cmp["delta"]), currency)
            if need:
                span = cmp.get("customers_needed_range") or [need, need]
                notes.append(
                    f"'{arm['name']}' vs baseline is too close to call on value per customer "
                    f"(difference {delta}, interval spans zero); a difference this size needs "
                    f"about {need:,} customers per arm to show (80% power; this run's estimate "
                    f"of that need is itself uncertain: {span[0]:,} to {span[1]:,}): try --customers {need}"
                )
            else:
                notes.append(f"'{arm['name']}' makes no difference to value per customer")
    return notes


STAGE_HEADER = ("stage", "reached", "visits", "dwell", "revenue", "cost", "exits")
PHASE_HEADER = ("phase", "reached", "days", "revenue", "cost", "value")


def _stage_rows(arm: dict[str, Any], currency: str, days: str = "d") -> list[list[str]]:
    """Per stage: reach, visits, mean stay, revenue and cost per customer booked there, exits.

    ``days`` is the unit written after day counts ("d" in a terminal, "days" on a page).
    """
    rows = []
    for name, s in (arm.get("stages") or {}).items():
        exits = s.get("exits") or {}
        exit_text = ", ".join(f"{t} {100 * float(v):.0f}%" for t, v in exits.items() if v is not None)
        dwell = s.get("mean_dwell_days")
        rows.append(
            [
                name,
                f"{100 * float(s.get('reached') or 0):.1f}%",
                f"{float(s.get('mean_visits') or 0):.2f}",
                "n/a" if dwell is None else f"{float(dwell):.1f} {days}",
                _money(float(s.get("revenue_per_customer") or 0), currency),
                _money(float(s.get("cost_per_customer") or 0), currency),
                exit_text,
            ]
        )
    return rows


def _phase_rows(arm: dict[str, Any], currency: str, days: str = "d") -> list[list[str]]:
    """Per phase: reach, and days, revenue, cost and value per customer (sums over its stages)."""
    rows = []
    for label, p in (arm.get("phases") or {}).items():
        rows.append(
            [
                label,
                f"{100 * float(p.get('reached') or 0):.1f}%",
                f"{float(p.get('days_per_customer') or 0):,.1f} {days}",
                _money(float(p.get("revenue_per_customer") or 0), currency),
                _money(float(p.get("cost_per_customer") or 0), currency),
                _money(float(p.get("value_per_customer") or 0), currency),
            ]
        )
    return rows


def _touch_rows(arm: dict[str, Any], currency: str) -> list[list[str]]:
    """Per touchpoint: contacts, responses and discounted cost per customer."""
    rows = []
    for name, t in (arm.get("touchpoints") or {}).items():
        rows.append(
            [
                name,
                f"{float(t.get('contacts_per_customer') or 0):.3f}",
                f"{float(t.get('responses_per_customer') or 0):.3f}",
                _money(float(t.get("cost_per_customer") or 0), currency),
            ]
        )
    return rows


def _range_cell(figure: Any, kind: str, currency: str) -> str:
    """A figure's mean over the parameter draws with its 95% range, or n/a."""
    unc = figure.get("uncertainty") if isinstance(figure, dict) else None
    if not isinstance(unc, dict) or unc.get("mean") is None:
        return "n/a"
    rng = _interval(unc.get("interval95"), kind, currency)
    return _number(float(unc["mean"]), kind, currency) + (f" ({rng})" if rng else "")


def _draws_section(data: dict[str, Any], arms: list[dict[str, Any]], currency: str) -> list[str]:
    """With ``--draws``: each headline figure's 95% range over the draws, P(best) and P(better)."""
    draws = int(data["draws"])
    out = ["", f"Over {draws:,} draws of the uncertain parameters (95% range: where the figure"
               " falls in 95 of 100 draws)"]
    rows = []
    for key, label, kind in HEADLINE:
        cells = [_range_cell(_get(a.get("metrics", {}), key), kind, currency) for a in arms]
        if all(c == "n/a" for c in cells):
            continue
        rows.append([label, *cells])
    if len(arms) > 1:
        rows.append(["P(best value per customer)",
                     *[f"{100 * float(a.get('p_best') or 0):.0f}%" for a in arms]])
    out.append(_table(rows, ["", *[a["name"] for a in arms]]))
    kinds = {k: kind for k, _, kind in HEADLINE}
    labels = {k: label for k, label, _ in HEADLINE}
    cmp_rows = []
    for arm in arms[1:]:
        vs = arm.get("versus_baseline") or {}
        for key in COMPARED:
            cmp = vs.get(key.replace(".", "_"))
            unc = cmp.get("uncertainty") if isinstance(cmp, dict) else None
            if not isinstance(unc, dict) or unc.get("mean") is None:
                continue
            lo, hi = unc["interval95"]
            rng = (f"{_signed(float(lo), kinds[key], currency)} to {_signed(float(hi), kinds[key], currency)}"
                   if lo is not None and hi is not None else "")
            cmp_rows.append([arm["name"], labels[key], _signed(float(unc["mean"]), kinds[key], currency), rng,
                             f"{100 * float(unc.get('p_better') or 0):.0f}%"])
    if cmp_rows:
        out += ["", "Versus baseline over the draws (P(better) = share of draws in which the scenario is better)"]
        out.append(_table(cmp_rows, ["scenario", "figure", "difference", "95% range", "P(better)"]))
    params = data.get("parameters") or []
    if params:
        out += ["", "Uncertain parameters"]
        out.append(_table([[p["label"], p["written"], _param_range(p, currency)] for p in params],
                          ["parameter", "as written", "95% of draws"]))
    return out


def _param_range(p: dict[str, Any], currency: str) -> str:
    kind = {"share": "share", "money": "money", "duration": "days"}.get(p["kind"], "number")
    if kind == "days":
        lo, hi = p["interval95"]
        return f"{lo:,.1f}–{hi:,.1f} days" if lo is not None and hi is not None else ""
    return _interval(p["interval95"], kind, currency)


def format_table(data: dict[str, Any]) -> str:
    """The table a strategist reads first: headline figures side by side, then the comparison."""
    currency = data.get("currency") or ""
    arms = _arms(data)
    out = [for_terminal(_title(data)), ""]
    out.append(_table(_headline_rows(arms, currency, True), ["", *[a["name"] for a in arms]]))
    out.append("(95% intervals in brackets; money discounted to entry; n = converters followed that long)")
    out += _targets_section(data, markdown=False)
    if len(arms) > 1:
        out += ["", "Versus baseline (paired over batches on common random numbers; ▲/▼ = interval excludes zero)"]
        out.append(_table(_comparison_rows(arms, currency), COMPARISON_HEADER))
        ranking = _ranking(arms, currency)
        if ranking:
            out += ["", for_terminal(ranking)]
        out += [for_terminal(f"note: {n}") for n in _noise_notes(data)]
    if data.get("draws"):
        out += [for_terminal(line) for line in _draws_section(data, arms, currency)]
    base = arms[0] if arms else {}
    base_name = for_terminal(base.get("name", "baseline"))
    stage_rows = _stage_rows(base, currency)
    if stage_rows:
        out += ["", f"Stages ({base_name}; revenue and cost per customer booked in the stage)"]
        out.append(_table(stage_rows, STAGE_HEADER))
    phase_rows = _phase_rows(base, currency)
    if phase_rows:
        out += ["", f"Phases ({base_name}; days, revenue, cost and value per customer)"]
        out.append(_table(phase_rows, PHASE_HEADER))
    touch_rows = _touch_rows(base, currency)
    if touch_rows:
        out += ["", f"Touchpoints ({base_name}, per customer)"]
        out.append(_table(touch_rows, ["touchpoint", "contacts", "responses", "cost"]))
    segs = base.get("segments") or {}
    if segs:
        seg_arms = [{"name": name, "metrics": m.get("metrics", m)} for name, m in segs.items()]
        out += ["", f"Segments ({base_name})"]
        out.append(_table(_headline_rows(seg_arms, currency, False), ["", *segs.keys()]))
    return "\n".join(out) + "\n"


def _md_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A Markdown table (every cell through :func:`for_markdown`)."""
    lines = ["| " + " | ".join(for_markdown(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(for_markdown(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _targets_section(data: dict[str, Any], *, markdown: bool) -> list[str]:
    """The journey's KPI targets against each arm's figures (only when the journey has targets)."""
    targets = data.get("targets")
    if not targets:
        return []
    from journeydsl.forecast_report import format_targets

    out: list[str] = []
    for arm, rows in targets.items():
        title = f"Targets ({arm})"
        out += ["", f"### {title}", ""] if markdown else ["", title]
        out += format_targets(rows, data.get("currency") or "", markdown=markdown)
    return out


def format_markdown(data: dict[str, Any]) -> str:
    """The same content as the table, as Markdown for a wiki page or a pull request."""
    currency = data.get("currency") or ""
    arms = _arms(data)
    out = [f"## {for_markdown(_title(data))}", ""]
    out.append(_md_table(_headline_rows(arms, currency, True), ["figure", *[a["name"] for a in arms]]))
    out += ["", "_95% intervals in brackets; money discounted to entry; n = converters followed that long._"]
    out += _targets_section(data, markdown=True)
    if len(arms) > 1:
        out += ["", "### Versus baseline", ""]
        out.append(_md_table(_comparison_rows(arms, currency), COMPARISON_HEADER))
        ranking = _ranking(arms, currency)
        out += ["", for_markdown(ranking)] if ranking else []
        out += [f"> {for_markdown(n)}" for n in _noise_notes(data)]
    if data.get("draws"):
        out += ["", f"### Over {int(data['draws']):,} draws of the uncertain parameters", "", "```"]
        out += [for_terminal(line) for line in _draws_section(data, arms, currency)[2:]]
        out += ["```"]
    base = arms[0] if arms else {}
    if base.get("stages"):
        out += ["", "### Stages", ""]
        out.append(_md_table(_stage_rows(base, currency), STAGE_HEADER))
        out += ["", "_Revenue and cost: per customer, booked in the stage._"]
    if base.get("phases"):
        out += ["", "### Phases", ""]
        out.append(_md_table(_phase_rows(base, currency), PHASE_HEADER))
        out += ["", "_Days, revenue, cost and value per customer: sums over the phase's stages._"]
    if base.get("touchpoints"):
        out += ["", "### Touchpoints (per customer)", ""]
        out.append(_md_table(_touch_rows(base, currency), ["touchpoint", "contacts", "responses", "cost"]))
    return "\n".join(out) + "\n"


def format_csv(data: dict[str, Any]) -> str:
    """One row per arm, segment and figure: ``scenario,segment,metric,mean,ci_low,ci_high,n``.

    Plain numbers (fractions, currency units, days) for spreadsheets; a name
    that a spreadsheet would run as a formula is prefixed with ``'`` (:func:`for_csv`).
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    draws = bool(data.get("draws"))  # with --draws: the mean and 95% range over the draws too
    w.writerow(["scenario", "segment", "metric", "mean", "ci_low", "ci_high", "n"]
               + (["draws_mean", "range_low", "range_high"] if draws else []))

    def rows(scenario: str, segment: str, metrics: dict[str, Any]) -> None:
        for key, _, _ in HEADLINE:
            fig = _get(metrics, key)
            if fig is None:
                continue
            ci = fig.get("ci95") if isinstance(fig, dict) else None
            lo, hi = (ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else (None, None))
            n = fig.get("n") if isinstance(fig, dict) else None
            row = [for_csv(scenario), for_csv(segment), key, _csv_num(_mean(fig)), _csv_num(lo), _csv_num(hi), n or ""]
            if draws:
                unc = fig.get("uncertainty") if isinstance(fig, dict) else None
                rng = unc.get("interval95") if isinstance(unc, dict) else None
                rlo, rhi = rng if isinstance(rng, list) and len(rng) == 2 else (None, None)
                row += [_csv_num(unc.get("mean") if isinstance(unc, dict) else None), _csv_num(rlo), _csv_num(rhi)]
            w.writerow(row)

    for arm in _arms(data):
        rows(arm["name"], "all", arm.get("metrics", {}))
        for seg, m in (arm.get("segments") or {}).items():
            rows(arm["name"], seg, m.get("metrics", m))
    return buf.getvalue()


def _csv_num(x: Any) -> str:
    return "" if x is None else repr(float(x))


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "table": format_table,
    "markdown": format_markdown,
    "csv": format_csv,
}


def format_results(results: Results, fmt: str) -> str:
    """Results in one of ``table``, ``markdown``, ``csv`` or ``json``."""
    if fmt == "json":
        return to_json(results)
    return FORMATS[fmt](results.to_dict())


def format_exact(journey: Journey, fmt: str) -> str:
    """Exact answers from algebra (``simulate --exact``) for the baseline and each scenario.

    An arm the algebra cannot answer says why instead (JSON: ``null`` figures and a ``reason``).
    """
    from journeydsl.exact import ExactUnsupported, solve

    arms: list[dict[str, Any]] = []
    for name, variant in journey.iter_variants():
        try:
            arms.append({"name": name, **_exact_dict(solve(variant))})
        except ExactUnsupported as exc:
            arms.append({"name": name, "conversion_rate": None, "reason": str(exc)})
    if fmt == "json":
        data = {"journey": journey.name, "horizon": "unbounded", "discount": 0, "scenarios": arms}
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    answered = [a for a in arms if a.get("conversion_rate") is not None]
    lines = [for_terminal(f"{journey.name} — exact answers (unbounded horizon, no discounting)")]
    for a in arms:
        if a.get("reason"):
            lines.append(for_terminal(
                f"no exact answer for '{a['name']}': {a['reason']} (run without --exact to simulate it)"))
    if not answered:
        return "\n".join(lines) + "\n"
    currency = journey.currency or ""

    def money(v: float | None) -> str:
        return "n/a (1)" if v is None else _money(v, currency)

    rows = [
        ["Conversion rate", *[_number(a["conversion_rate"], "share", "") for a in answered]],
        ["Days to convert (mean)", *["n/a" if a["time_to_convert_days"] is None
                                     else _number(a["time_to_convert_days"], "days", "") for a in answered]],
        ["On-enter revenue per customer", *[money(a["revenue_on_enter_per_customer"]) for a in answered]],
        ["On-enter cost per customer", *[money(a["cost_on_enter_per_customer"]) for a in answered]],
    ]
    header = ["", *[a["name"] for a in answered]]
    lines += ["", _table(rows, header), "", "Expected visits per customer"]
    stages = list(answered[0]["visits_per_customer"])
    visits = [[s, *[f"{a['visits_per_customer'].get(s, 0.0):.4f}" for a in answered]] for s in stages]
    lines.append(_table(visits, ["stage", *header[1:]]))
    if any(a["cost_on_enter_per_customer"] is None for a in answered):
        lines.append("(1) triggers send touchpoints at times the algebra leaves out; simulate for costs")
    for a in answered:
        for seg, figures in (a.get("segments") or {}).items():
            lines.append(f"{a['name']}, segment {seg}: conversion {_number(figures['conversion_rate'], 'share', '')}")
    return "\n".join(lines) + "\n"


def _exact_dict(exact: Any) -> dict[str, Any]:
    """The exact answers as plain data, segments nested under ``segments``."""
    data: dict[str, Any] = {
        "conversion_rate": exact.conversion,
        "time_to_convert_days": exact.time_to_convert_days,
        "revenue_on_enter_per_customer": exact.revenue_on_enter,
        "cost_on_enter_per_customer": exact.cost_on_enter,
        "visits_per_customer": dict(exact.visits),
    }
    if exact.by_segment:
        data["segments"] = {name: _exact_dict(seg) for name, seg in exact.by_segment.items()}
    return data
