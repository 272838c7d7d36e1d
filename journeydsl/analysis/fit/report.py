"""How well the fit reproduces the data: the printed summary and ``--report fit.md|fit.html``."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from journeydsl.analysis.fit.writer import _interval, dist_text, pct

if TYPE_CHECKING:
    from journeydsl.analysis.fit.core import FitResult
    from journeydsl.analysis.fit.estimators import StageFit

__all__ = ["report_html", "report_markdown", "summary_text", "write_report"]


def _head(r: FitResult) -> str:
    from journeydsl.analysis.fit.readers import format_day

    ev = r.events
    sep = {",": "comma", ";": "semicolon", "\t": "tab"}[ev.delimiter]
    return (f"{Path(ev.path).name}: {ev.shape} export, {ev.encoding}, {sep}-separated; {ev.rows:,} rows, "
            f"{len(ev.case_ids):,} cases, {len(ev.stage_names)} stages; cut-off {format_day(r.as_of - 1e-3)}")


def _stage_title(r: FitResult, name: str) -> str:
    label = r.labels.get(name, name)
    return name if label == name else f"{name} \"{label}\""


def _stage_lines(r: FitResult, name: str, fit: StageFit) -> list[str]:
    lines = [f"{_stage_title(r, name)}: {fit.entries:,} entries, {fit.open:,} still open"
             + (f", {fit.unknown_start:,} entered before the export (left out)" if fit.unknown_start else "")]
    width = max((len(r.names[t]) for t in fit.targets), default=4)
    for s in sorted(fit.shares, key=lambda s: -s.share):
        closed = fit.closed_only.get(s.target, 0.0)
        lines.append(f"    -> {r.names[s.target]:<{width}}  {pct(s.share):>6}  95% {_interval(s.low, s.high):<13}"
                     f"  {s.exits:>7,} exits; closed cases alone would say {pct(closed)}")
    if fit.undecided > 0.005:
        lines.append(f"    {pct(fit.undecided)} of stays outlast every exit seen; the shares assume they split alike")
    for rt in fit.rates:
        if len(fit.rates) and any(w.kind == "rate" and w.stage == name for w in r.written):
            lines.append(f"    rate -> {r.names[rt.target]}: {pct(rt.chance(365 / 12), 2)} per month "
                         f"(95% {_interval(rt.chance(365 / 12, rt.low), rt.chance(365 / 12, rt.high))}), "
                         f"{rt.exits:,} exits in {rt.exposure_days:,.0f} days at risk")
    if fit.dwell:
        best = fit.dwell[0]
        others = ", ".join(f"{c.kind} +{c.aic - best.aic:,.1f}" for c in fit.dwell[1:])
        lines.append(f"    time in stage: {dist_text(best)}" + (f"; AIC of the others: {others}" if others else ""))
    if fit.exit_times is not None:
        et = fit.exit_times
        verdict = "clearly different" if et.better_by > 10 else "alike"
        lines.append(f"    time to each exit ({verdict}; AIC {-et.better_by:+,.1f} against one time in stage): "
                     + ", ".join(f"-> {r.names[t]} {dist_text(c)}" for t, c in et.by_target.items()))
    return lines


def summary_text(r: FitResult) -> str:
    """The goodness-of-fit summary printed by ``journeydsl fit``."""
    lines = [_head(r), ""]
    for name in r.order or r.names:
        fit = r.fits.get(name)
        if fit is not None:
            lines += _stage_lines(r, name, fit)
    lines += _segment_lines(r)
    lines += _backtest_lines(r)
    written = len(r.written)
    lines += ["", f"{written} figure{'s' if written != 1 else ''} written"
              + (f" into a copy of {r.base_path}" if r.base_path else " into a new journey")
              + f"; fitted in {r.seconds:.1f} s"]
    return "\n".join(lines) + "\n"


def _backtest_lines(r: FitResult) -> list[str]:
    from journeydsl.analysis.fit.backtest import backtest

    bt = backtest(r)
    if bt is None or not bt.funnel:
        return []
    worst = max(bt.funnel, key=lambda f: abs(f[2] - f[1]))
    goals = [f for f in bt.funnel if f[0] in r.goal]
    text = (f"backtest ({bt.cases:,} cases re-run {bt.runs} times to the cut-off): the largest gap in the share "
            f"reaching a stage is '{worst[0]}', {pct(worst[1])} in the data against {pct(worst[2])} fitted")
    if goals:
        g = goals[0]
        text += f"; '{g[0]}' {pct(g[1])} against {pct(g[2])}"
    lines = ["", text]
    if bt.convert_data.size and bt.convert_sim.size:
        lines.append(f"    {bt.convert_text}")
    return lines


def _segment_lines(r: FitResult) -> list[str]:
    lines = []
    for seg in r.segments:
        head = f"segment '{seg.name}': {seg.cases:,} cases ({pct(seg.share)})"
        if not seg.differs:
            lines.append(f"{head}; no share differs from everyone's beyond the 95% intervals")
            continue
        lines.append(f"{head}; shares that differ from everyone's:")
        for key, s, everyone in seg.differs:
            lines.append(f"    {r.names[key]} -> {r.names[s.target]}: {pct(s.share)} (95% {_interval(s.low, s.high)}) "
                         f"against {pct(everyone.share)} (95% {_interval(everyone.low, everyone.high)})")
    return lines


# --- pictures -----------------------------------------------------------------------------------------


def incidence_svg(r: FitResult, name: str, fit: StageFit) -> str:
    """The empirical cumulative incidence of each exit (steps) against the fitted journey's (lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = fit.curve
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    try:
        if curve is not None and curve.times.size:
            horizon = float(curve.times[-1])
            grid = np.linspace(0, horizon, 200)
            rate_stage = any(w.kind == "rate" and w.stage == name for w in r.written)
            total_rate = sum(rt.per_day for rt in fit.rates)
            for j, target in enumerate(fit.targets):
                (line,) = ax.step(np.concatenate(([0.0], curve.times)), np.concatenate(([0.0], curve.cif[j])),
                                  where="post", label=f"→ {r.names[target]} (data)")
                timed = any(w.kind == "after" and w.stage == name for w in r.written)
                if timed and fit.exit_times is not None and target in fit.exit_times.by_target:
                    share = fit.shares[j].share if j < len(fit.shares) else 0.0
                    fitted = share * fit.exit_times.by_target[target].cdf(grid)
                elif rate_stage and total_rate > 0:
                    lam = fit.rates[j].per_day
                    fitted = lam / total_rate * -np.expm1(-total_rate * grid)
                elif fit.dwell:
                    share = fit.shares[j].share if j < len(fit.shares) else 0.0
                    fitted = share * fit.dwell[0].cdf(grid)
                else:
                    continue
                ax.plot(grid, fitted, color=line.get_color(), linestyle="--", label=f"→ {r.names[target]} (fitted)")
        ax.set_xlabel("days in stage")
        ax.set_ylabel("share of entries that left")
        ax.set_ylim(0, 1)
        ax.set_title(f"{r.labels.get(name, name)}", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


# --- the report files ---------------------------------------------------------------------------------


def _table_rows(r: FitResult) -> list[list[str]]:
    rows = []
    for name in r.order or r.names:
        fit = r.fits.get(name)
        if fit is None:
            continue
        dwell = ""
        if fit.dwell:
            best = fit.dwell[0]
            others = ", ".join(f"{c.kind} +{c.aic - best.aic:,.1f}" for c in fit.dwell[1:])
            dwell = f"{dist_text(best)}" + (f" (AIC: {others})" if others else "")
        if fit.exit_times is not None and any(w.kind == "after" and w.stage == name for w in r.written):
            dwell = (f"each exit its own (AIC {fit.exit_times.better_by:,.1f} lower than one time): "
                     + "; ".join(f"→ {r.names[t]} {dist_text(c)}" for t, c in fit.exit_times.by_target.items()))
        for k, s in enumerate(sorted(fit.shares, key=lambda s: -s.share)):
            rows.append([
                _stage_title(r, name) if k == 0 else "", f"{fit.entries:,}" if k == 0 else "",
                f"{fit.open:,}" if k == 0 else "", r.names[s.target], pct(s.share), _interval(s.low, s.high),
                pct(fit.closed_only.get(s.target, 0.0)), dwell if k == 0 else "",
            ])
    return rows


_HEADER = ["stage", "entries", "open", "exit", "share", "95%", "closed only", "time in stage (AIC)"]


def report_markdown(r: FitResult, svg_dir: Path | None = None) -> str:
    """The fit report as Markdown; pictures as SVG files next to it (``svg_dir``)."""
    lines = ["# Fit report", "", _head(r), "", "| " + " | ".join(_HEADER) + " |",
             "| " + " | ".join("---" for _ in _HEADER) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in _table_rows(r)]
    lines += ["", "*closed only*: the share if the still-open cases were left out (biased; shown for comparison).", ""]
    if r.segments:
        lines += ["## Segments", ""] + [f"    {ln}" for ln in _segment_lines(r)] + [""]
    lines += _backtest_md(r)
    if svg_dir is not None:
        lines += ["## Cumulative incidence: data (steps) against the fit (dashed)", ""]
        for name, fit in r.fits.items():
            if fit.curve is None:
                continue
            file = svg_dir / f"fit-{name}.svg"
            file.write_text(incidence_svg(r, name, fit), encoding="utf-8")
            lines += [f"![{name}]({svg_dir.name}/{file.name})", ""]
    if r.warnings:
        lines += ["## Notes", ""] + [f"- {w}" for w in r.warnings] + [""]
    return "\n".join(lines)


def _backtest_md(r: FitResult) -> list[str]:
    from journeydsl.analysis.fit.backtest import backtest

    bt = backtest(r)
    if bt is None:
        return []
    lines = ["## Backtest", "", bt.intro, "", "| stage | data reached | fitted journey reached | difference |",
             "| --- | --- | --- | --- |"]
    for name, data, sim in bt.funnel:
        gap = round((sim - data) * 100, 1) + 0.0  # no "-0.0"
        lines.append(f"| {name} | {pct(data)} | {pct(sim)} | {gap:+.1f} pp |")
    lines += ["", bt.convert_text, ""]
    return lines


def report_html(r: FitResult) -> str:
    """The fit report as one self-contained HTML page (SVG pictures inline)."""
    esc = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Fit report</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}"
             "th{background:#f4f4f4}svg{max-width:100%;height:auto}</style></head><body>",
             "<h1>Fit report</h1>", f"<p>{esc(_head(r))}</p>", "<table><tr>"]
    parts += [f"<th>{esc(h)}</th>" for h in _HEADER] + ["</tr>"]
    for row in _table_rows(r):
        parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    parts.append("</table><p><em>closed only</em>: the share if the still-open cases were left out "
                 "(biased; shown for comparison).</p>")
    md = _backtest_md(r)
    if md:
        parts.append("<h2>Backtest</h2>")
        parts.append(f"<p>{esc(md[2])}</p><table><tr><th>stage</th><th>data reached</th>"
                     "<th>fitted journey reached</th><th>difference</th></tr>")
        for line in md[6:]:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip("|").split("|")]
            parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
        parts.append(f"<p>{esc(md[-2])}</p>")
    parts.append("<h2>Cumulative incidence: data (steps) against the fit (dashed)</h2>")
    for name, fit in r.fits.items():
        if fit.curve is not None:
            parts.append(f"<figure>{incidence_svg(r, name, fit)}</figure>")
    if r.warnings:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in r.warnings) + "</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(r: FitResult, path: str | Path) -> None:
    """Write ``fit.md`` (with ``fit-svg/`` pictures beside it) or ``fit.html`` (self-contained)."""
    from journeydsl.language.fileio import atomic_write

    target = Path(path)
    if target.suffix.lower() in (".md", ".markdown"):
        svg_dir = target.with_name(f"{target.stem}-svg")
        svg_dir.mkdir(exist_ok=True)
        atomic_write(target, report_markdown(r, svg_dir))
    else:
        atomic_write(target, report_html(r))
