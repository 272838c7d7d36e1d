"""The HTML report's sections on uncertain parameters: the tornado and, with draws, the ranges and P(best)."""

from __future__ import annotations

from typing import Any

from journeydsl.engine.results import Results
from journeydsl.language.model import Journey
from journeydsl.outputs.i18n import Lang

__all__ = ["uncertainty_sections"]


def uncertainty_sections(journey: Journey, results: Results, lang: Lang | None = None,
                         ids: bool = False) -> list[str]:
    """HTML for the report: nothing when the journey has no uncertain parameter.

    ``lang`` picks the words and number formats (default English); ``ids`` names scenarios by name.
    """
    from journeydsl.analysis.sensitivity import tornado
    from journeydsl.analysis.uncertainty import uncertain_params
    from journeydsl.outputs.htmlreport import _e, _strip_prolog, _table
    from journeydsl.outputs.i18n import get_lang
    from journeydsl.outputs.report import HEADLINE, _arm_name, _get, _range_cell
    from journeydsl.outputs.sensitivity_report import NOISE_NOTE, tornado_rows, tornado_svg

    if not uncertain_params(journey):
        return []
    lang = lang or get_lang("en")
    _ = lang._
    data: dict[str, Any] = results.to_dict()
    currency = data.get("currency") or ""
    out = [f'<section id="uncertainty"><h2>{_e(_("How sure is this forecast?"))}</h2>']
    if data.get("draws"):
        arms = data["scenarios"]
        rows = []
        na = _e(_("n/a"))
        for key, label, kind in HEADLINE:
            cells = [_e(_range_cell(_get(a.get("metrics", {}), key), kind, currency, lang)) for a in arms]
            if all(c == na for c in cells):
                continue
            rows.append([_e(_(label)), *cells])
        if len(arms) > 1:
            rows.append([_e(_("P(best value per customer)")),
                         *[_e(lang.percent(float(a.get("p_best") or 0), 0)) for a in arms]])
        text = lang.counted(
            "Over {n} draw of the uncertain parameters, each simulated with the same customers: the mean of "
            "each figure over the draws and the range it falls in for 95 of 100 draws. This range is what is "
            "not known about the parameters; the brackets of the headline figures are only the simulation's "
            "own noise.",
            "Over {n} draws of the uncertain parameters, each simulated with the same customers: the mean of "
            "each figure over the draws and the range it falls in for 95 of 100 draws. This range is what is "
            "not known about the parameters; the brackets of the headline figures are only the simulation's "
            "own noise.", int(data["draws"]))
        out.append(f"<p>{_e(text)}</p>")
        out.append(_table([_("figure"), *[_arm_name(a, lang, ids) for a in arms]], rows, wide=True))
    t = tornado(journey, "value_per_customer", None, min(results.customers, 100_000), results.seed)
    out.append(f"<h3>{_e(_('Which guess matters most'))}</h3>")
    text = _("Each uncertain parameter set to the low (2.5%) and then the high (97.5%) end of its range, the others "
             "at their means, on the same simulated customers: the longer the bar, the more the value per customer "
             "depends on getting that guess right.")
    out.append(f"<p>{_e(text)}</p>")
    out.append(f'<div class="figure">{_strip_prolog(tornado_svg(t, journey, lang=lang).decode("utf-8"))}</div>')
    out.append(_table([_("parameter"), _("2.5% – 97.5% of it"), _("value at low"), _("value at high"), _("swing")],
                      [[_e(c) for c in row] for row in tornado_rows(t, journey, lang)]))
    if t.noise_known:
        out.append(f'<p class="note">{_e(_(NOISE_NOTE))}</p>')  # what the ± after each swing is
    out.append("</section>")
    return out
