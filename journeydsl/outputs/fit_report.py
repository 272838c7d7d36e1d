"""How well a fit reproduces the data, in the reader's language: the summary ``journeydsl fit``
prints and ``--report fit.md|fit.html``.

The evidence (:class:`~journeydsl.analysis.fit.FitResult`) never changes with the language; the
fitted time-in-stage forms (``gamma(shape 2, mean 5 days)``) are written as the journey file
writes them, in any language.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from journeydsl.analysis.fit.writer import dist_text
from journeydsl.outputs.i18n import N_, Lang, Np_, get_lang

if TYPE_CHECKING:
    from journeydsl.analysis.fit.backtest import Backtest
    from journeydsl.analysis.fit.core import FitResult
    from journeydsl.analysis.fit.estimators import StageFit

__all__ = ["incidence_svg", "report_html", "report_markdown", "summary_text", "write_report"]

_SEPARATORS = {",": N_("comma-separated"), ";": N_("semicolon-separated"), "\t": N_("tab-separated")}
_WRITTEN_INTO = Np_("{n} figure written into a copy of {path}; fitted in {seconds} s",
                    "{n} figures written into a copy of {path}; fitted in {seconds} s")
_WRITTEN_NEW = Np_("{n} figure written into a new journey; fitted in {seconds} s",
                   "{n} figures written into a new journey; fitted in {seconds} s")
#: Counts said inside other sentences (each count its own plural: '1 case', '21 сделка').
_CASES = Np_("{n} case", "{n} cases")
_DAYS = Np_("{n} day", "{n} days")
_TIMES = Np_("{n} time", "{n} times")


def _as_lang(lang: Lang | str | None) -> Lang:
    return lang if isinstance(lang, Lang) else get_lang(lang)


def _pct(lang: Lang, p: float, places: int = 1) -> str:
    """A share as the language writes it, '25.3%' / '25,3 %' (two places under 1%)."""
    if 0 < abs(p * 100) < 1:
        places = 2
    return lang.percent(p, places)


def _interval(lang: Lang, low: float, high: float) -> str:
    return f"{_pct(lang, low)}–{_pct(lang, high)}"


def _int(lang: Lang, n: float) -> str:
    return lang.decimal(n, 0)


def _num(lang: Lang, x: float) -> str:
    return lang.decimal(x, 1)


def _head(r: FitResult, lang: Lang) -> str:
    from journeydsl.analysis.fit.readers import format_day

    ev = r.events
    return lang._("{file}: {shape} export, {encoding}, {separated}; {rows}, {cases}, {stages}; cut-off {day}").format(
        file=Path(ev.path).name, shape=ev.shape, encoding=ev.encoding, separated=lang._(_SEPARATORS[ev.delimiter]),
        rows=lang.counted("{n} row", "{n} rows", ev.rows), cases=lang.counted(*_CASES, len(ev.case_ids)),
        stages=lang.counted("{n} stage", "{n} stages", len(ev.stage_names)), day=format_day(r.as_of - 1e-3))


def _stage_title(r: FitResult, name: str) -> str:
    label = r.labels.get(name, name)
    return name if label == name else f"{name} \"{label}\""


def _others(lang: Lang, fit: StageFit) -> str:
    best = fit.dwell[0]
    return ", ".join(f"{c.kind} +{lang.decimal(c.aic - best.aic, 1)}" for c in fit.dwell[1:])


def _stage_lines(r: FitResult, name: str, fit: StageFit, lang: Lang) -> list[str]:
    _ = lang._
    head = lang.counted("{stage}: {n} entry, {open} still open", "{stage}: {n} entries, {open} still open",
                        fit.entries, stage=_stage_title(r, name), open=_int(lang, fit.open))
    if fit.unknown_start:
        head += lang.counted(", {n} case entered before the export (left out)",
                             ", {n} cases entered before the export (left out)", fit.unknown_start)
    lines = [head]
    width = max((len(r.names[t]) for t in fit.targets), default=4)
    for s in sorted(fit.shares, key=lambda s: -s.share):
        closed = fit.closed_only.get(s.target, 0.0)
        lines.append(f"    -> {r.names[s.target]:<{width}}  {_pct(lang, s.share):>7}  95% "
                     f"{_interval(lang, s.low, s.high):<15}  "
                     + lang.counted("{n} exit; closed cases alone would say {closed}",
                                    "{n} exits; closed cases alone would say {closed}", s.exits,
                                    n=f"{_int(lang, s.exits):>7}", closed=_pct(lang, closed)))
    if fit.undecided > 0.005:
        lines.append("    " + _("{share} of stays outlast every exit seen; the shares assume they split alike").format(
            share=_pct(lang, fit.undecided)))
    for rt in fit.rates:
        if any(w.kind == "rate" and w.stage == name for w in r.written):
            month = 365 / 12
            lines.append("    " + lang.counted(
                "rate -> {target}: {chance} per month (95% {interval}), {n} exit in {days} at risk",
                "rate -> {target}: {chance} per month (95% {interval}), {n} exits in {days} at risk", rt.exits,
                target=r.names[rt.target], chance=_pct(lang, rt.chance(month), 2),
                interval=_interval(lang, rt.chance(month, rt.low), rt.chance(month, rt.high)),
                days=lang.counted(*_DAYS, rt.exposure_days)))
    if fit.dwell:
        line = "    " + _("time in stage: {form}").format(form=dist_text(fit.dwell[0]))
        if len(fit.dwell) > 1:
            line += _("; AIC of the others: {others}").format(others=_others(lang, fit))
        lines.append(line)
    if fit.exit_times is not None:
        et = fit.exit_times
        verdict = _("clearly different") if et.better_by > 10 else _("alike")
        lines.append("    " + _("time to each exit ({verdict}; AIC {aic} against one time in stage): ").format(
            verdict=verdict, aic=_signed(lang, -et.better_by))
            + ", ".join(f"-> {r.names[t]} {dist_text(c)}" for t, c in et.by_target.items()))
    return lines


def _signed(lang: Lang, x: float) -> str:
    text = lang.decimal(abs(x), 1)
    return ("+" if x >= 0 else "−") + text


def summary_text(r: FitResult, lang: Lang | str | None = None) -> str:
    """The goodness-of-fit summary printed by ``journeydsl fit`` (``lang``: en, ru, bg; default English)."""
    language = _as_lang(lang)
    lines = [_head(r, language), ""]
    for name in r.order or r.names:
        fit = r.fits.get(name)
        if fit is not None:
            lines += _stage_lines(r, name, fit, language)
    lines += _segment_lines(r, language)
    lines += _backtest_lines(r, language)
    written = len(r.written)
    message = _WRITTEN_INTO if r.base_path else _WRITTEN_NEW
    lines += ["", language.n_(*message, written).format(n=written, path=r.base_path,
                                                        seconds=language.decimal(r.seconds, 1))]
    return "\n".join(lines) + "\n"


def _convert_text(bt: Backtest, lang: Lang) -> str:
    """Days to convert in the data and in the fitted journey, in words."""
    _ = lang._
    if bt.convert_data.size == 0 or bt.convert_sim.size == 0:
        return _("No case reached a goal stage by the cut-off in the data or in the fitted journey.")
    d, s = bt.convert_data, bt.convert_sim
    return _("Days to convert by the cut-off: data median {data_median} (mean {data_mean}, {data_cases}), "
             "fitted journey median {fit_median} (mean {fit_mean}, {fit_cases} a run); earth mover's distance "
             "{distance}.").format(
        data_median=_num(lang, float(np.median(d))), data_mean=_num(lang, float(d.mean())),
        data_cases=lang.counted(*_CASES, d.size), fit_median=_num(lang, float(np.median(s))),
        fit_mean=_num(lang, float(s.mean())), fit_cases=lang.counted(*_CASES, s.size / bt.runs),
        distance=lang.counted(*_DAYS, bt.emd_days or 0.0, 1))


def _backtest_lines(r: FitResult, lang: Lang) -> list[str]:
    from journeydsl.analysis.fit.backtest import backtest

    _ = lang._
    bt = backtest(r)
    if bt is None or not bt.funnel:
        return []
    worst = max(bt.funnel, key=lambda f: abs(f[2] - f[1]))
    goals = [f for f in bt.funnel if f[0] in r.goal]
    text = _("backtest ({cases} re-run {runs} to the cut-off): the largest gap in the share reaching a "
             "stage is '{stage}', {data} in the data against {fitted} fitted").format(
        cases=lang.counted(*_CASES, bt.cases), runs=lang.counted(*_TIMES, bt.runs), stage=worst[0],
        data=_pct(lang, worst[1]), fitted=_pct(lang, worst[2]))
    if goals:
        g = goals[0]
        text += _("; '{stage}' {data} against {fitted}").format(stage=g[0], data=_pct(lang, g[1]),
                                                               fitted=_pct(lang, g[2]))
    lines = ["", text]
    if bt.convert_data.size and bt.convert_sim.size:
        lines.append(f"    {_convert_text(bt, lang)}")
    return lines


def _segment_lines(r: FitResult, lang: Lang) -> list[str]:
    _ = lang._
    lines = []
    for seg in r.segments:
        head = lang.counted("segment '{name}': {n} case ({share})", "segment '{name}': {n} cases ({share})",
                            seg.cases, name=seg.name, share=_pct(lang, seg.share))
        if not seg.differs:
            lines.append(head + _("; no share differs from everyone's beyond the 95% intervals"))
            continue
        lines.append(head + _("; shares that differ from everyone's:"))
        for key, sh, everyone in seg.differs:
            lines.append(f"    {r.names[key]} -> {r.names[sh.target]}: " + _(
                "{share} (95% {interval}) against {everyone} (95% {everyone_interval})").format(
                share=_pct(lang, sh.share), interval=_interval(lang, sh.low, sh.high),
                everyone=_pct(lang, everyone.share),
                everyone_interval=_interval(lang, everyone.low, everyone.high)))
    return lines


# --- pictures -----------------------------------------------------------------------------------------


def incidence_svg(r: FitResult, name: str, fit: StageFit, lang: Lang | str | None = None) -> str:
    """The empirical cumulative incidence of each exit (steps) against the fitted journey's (lines)."""
    from journeydsl.outputs.htmlreport import _matplotlib, _number_axis

    language = _as_lang(lang)
    _ = language._
    plt = _matplotlib()
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
                                  where="post", label=_("→ {stage} (data)").format(stage=r.names[target]))
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
                ax.plot(grid, fitted, color=line.get_color(), linestyle="--",
                        label=_("→ {stage} (fitted)").format(stage=r.names[target]))
        ax.set_xlabel(_("days in stage"))
        ax.set_ylabel(_("share of entries that left"))
        _number_axis(ax.xaxis, language)
        _number_axis(ax.yaxis, language)
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


def _table_rows(r: FitResult, lang: Lang) -> list[list[str]]:
    _ = lang._
    rows = []
    for name in r.order or r.names:
        fit = r.fits.get(name)
        if fit is None:
            continue
        dwell = ""
        if fit.dwell:
            others = _others(lang, fit)
            dwell = dist_text(fit.dwell[0]) + (f" (AIC: {others})" if others else "")
        if fit.exit_times is not None and any(w.kind == "after" and w.stage == name for w in r.written):
            dwell = (_("each exit its own (AIC {aic} lower than one time): ").format(
                aic=lang.decimal(fit.exit_times.better_by, 1))
                + "; ".join(f"→ {r.names[t]} {dist_text(c)}" for t, c in fit.exit_times.by_target.items()))
        for k, sh in enumerate(sorted(fit.shares, key=lambda s: -s.share)):
            rows.append([
                _stage_title(r, name) if k == 0 else "", _int(lang, fit.entries) if k == 0 else "",
                _int(lang, fit.open) if k == 0 else "", r.names[sh.target], _pct(lang, sh.share),
                _interval(lang, sh.low, sh.high), _pct(lang, fit.closed_only.get(sh.target, 0.0)),
                dwell if k == 0 else "",
            ])
    return rows


_HEADER = [N_("stage"), N_("entries"), N_("open"), N_("exit"), N_("share"), "95%", N_("closed only"),
           N_("time in stage (AIC)")]
_CLOSED_NOTE = N_("the share if the still-open cases were left out (biased; shown for comparison).")
_INCIDENCE = N_("Cumulative incidence: data (steps) against the fit (dashed)")
_BACKTEST_HEADER = [N_("stage"), N_("data reached"), N_("fitted journey reached"), N_("difference")]


def _backtest_intro(bt: Backtest, lang: Lang) -> str:
    return lang.counted(
        "{n} case re-run {runs} through the fitted journey from its own entry stage and date to the same cut-off, "
        "averaged (triggers, segments and money are not part of the backtest).",
        "{n} cases re-run {runs} through the fitted journey from their own entry stage and date to the same cut-off, "
        "averaged (triggers, segments and money are not part of the backtest).", bt.cases,
        runs=lang.counted(*_TIMES, bt.runs))


def _backtest_rows(bt: Backtest, lang: Lang) -> list[list[str]]:
    rows = []
    for name, data, sim in bt.funnel:
        gap = round((sim - data) * 100, 1) + 0.0  # no "-0.0"
        rows.append([name, _pct(lang, data), _pct(lang, sim),
                     lang._("{gap} pp").format(gap=("+" if gap >= 0 else "−") + lang.decimal(abs(gap), 1))])
    return rows


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def report_markdown(r: FitResult, svg_dir: Path | None = None, lang: Lang | str | None = None) -> str:
    """The fit report as Markdown; pictures as SVG files next to it (``svg_dir``)."""
    from journeydsl.analysis.fit.backtest import backtest

    language = _as_lang(lang)
    _ = language._
    header = [_(h) for h in _HEADER]
    lines = [f"# {_('Fit report')}", "", _head(r, language), "", _md_row(header), _md_row(["---"] * len(header))]
    lines += [_md_row(row) for row in _table_rows(r, language)]
    lines += ["", f"*{_('closed only')}*: {_(_CLOSED_NOTE)}", ""]
    if r.segments:
        lines += [f"## {_('Segments')}", ""] + [f"    {ln}" for ln in _segment_lines(r, language)] + [""]
    bt = backtest(r)
    if bt is not None:
        bt_header = [_(h) for h in _BACKTEST_HEADER]
        lines += [f"## {_('Backtest')}", "", _backtest_intro(bt, language), "", _md_row(bt_header),
                  _md_row(["---"] * len(bt_header))]
        lines += [_md_row(row) for row in _backtest_rows(bt, language)]
        lines += ["", _convert_text(bt, language), ""]
    if svg_dir is not None:
        lines += [f"## {_(_INCIDENCE)}", ""]
        for name, fit in r.fits.items():
            if fit.curve is None:
                continue
            file = svg_dir / f"fit-{name}.svg"
            file.write_text(incidence_svg(r, name, fit, language), encoding="utf-8")
            lines += [f"![{name}]({svg_dir.name}/{file.name})", ""]
    if r.warnings:
        lines += [f"## {_('Notes')}", ""] + [f"- {w}" for w in r.warnings] + [""]
    return "\n".join(lines)


def report_html(r: FitResult, lang: Lang | str | None = None) -> str:
    """The fit report as one self-contained HTML page (SVG pictures inline)."""
    from journeydsl.analysis.fit.backtest import backtest

    language = _as_lang(lang)
    _ = language._
    esc = html.escape

    def table(header: list[str], rows: list[list[str]]) -> str:
        return ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
                + "</table>")

    parts = [f"<!doctype html><html lang='{language.code}'><head><meta charset='utf-8'>"
             f"<title>{esc(_('Fit report'))}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
             "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}"
             "th{background:#f4f4f4}svg{max-width:100%;height:auto}</style></head><body>",
             f"<h1>{esc(_('Fit report'))}</h1>", f"<p>{esc(_head(r, language))}</p>",
             table([_(h) for h in _HEADER], _table_rows(r, language)),
             f"<p><em>{esc(_('closed only'))}</em>: {esc(_(_CLOSED_NOTE))}</p>"]
    bt = backtest(r)
    if bt is not None:
        parts.append(f"<h2>{esc(_('Backtest'))}</h2><p>{esc(_backtest_intro(bt, language))}</p>")
        parts.append(table([_(h) for h in _BACKTEST_HEADER], _backtest_rows(bt, language)))
        parts.append(f"<p>{esc(_convert_text(bt, language))}</p>")
    parts.append(f"<h2>{esc(_(_INCIDENCE))}</h2>")
    for name, fit in r.fits.items():
        if fit.curve is not None:
            parts.append(f"<figure>{incidence_svg(r, name, fit, language)}</figure>")
    if r.warnings:
        parts.append(f"<h2>{esc(_('Notes'))}</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in r.warnings) + "</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(r: FitResult, path: str | Path, lang: Lang | str | None = None) -> None:
    """Write ``fit.md`` (with ``fit-svg/`` pictures beside it) or ``fit.html`` (self-contained)."""
    from journeydsl.language.fileio import atomic_write

    target = Path(path)
    if target.suffix.lower() in (".md", ".markdown"):
        svg_dir = target.with_name(f"{target.stem}-svg")
        svg_dir.mkdir(exist_ok=True)
        atomic_write(target, report_markdown(r, svg_dir, lang))
    else:
        atomic_write(target, report_html(r, lang))
