"""The HTML report's sections on uncertain parameters: the tornado and, with draws, the ranges and P(best)."""

from __future__ import annotations

from typing import Any

from journeydsl.model import Journey
from journeydsl.results import Results

__all__ = ["uncertainty_sections"]


def uncertainty_sections(journey: Journey, results: Results) -> list[str]:
    """HTML for the report: nothing when the journey has no uncertain parameter."""
    from journeydsl.htmlreport import _e, _strip_prolog, _table
    from journeydsl.report import HEADLINE, _get, _range_cell
    from journeydsl.sensitivity import tornado, tornado_rows, tornado_svg
    from journeydsl.uncertainty import uncertain_params

    if not uncertain_params(journey):
        return []
    data: dict[str, Any] = results.to_dict()
    currency = data.get("currency") or ""
    out = ['<section id="uncertainty"><h2>How sure is this forecast?</h2>']
    if data.get("draws"):
        arms = data["scenarios"]
        rows = []
        for key, label, kind in HEADLINE:
            cells = [_e(_range_cell(_get(a.get("metrics", {}), key), kind, currency)) for a in arms]
            if all(c == "n/a" for c in cells):
                continue
            rows.append([_e(label), *cells])
        if len(arms) > 1:
            rows.append(["P(best value per customer)", *[f"{100 * float(a.get('p_best') or 0):.0f}%" for a in arms]])
        out.append(f"<p>Over {int(data['draws']):,} draws of the uncertain parameters, each simulated with the "
                   "same customers: the mean of each figure over the draws and the range it falls in for 95 of "
                   "100 draws. This range is what is not known about the parameters; the brackets of the "
                   "headline figures are only the simulation's own noise.</p>")
        out.append(_table(["figure", *[a["name"] for a in arms]], rows))
    t = tornado(journey, "value_per_customer", None, min(results.customers, 100_000), results.seed)
    out.append("<h3>Which guess matters most</h3>")
    out.append("<p>Each uncertain parameter set to the low (2.5%) and then the high (97.5%) end of its range, "
               "the others at their means, on the same simulated customers: the longer the bar, the more "
               "the value per customer depends on getting that guess right.</p>")
    out.append(f'<div class="figure">{_strip_prolog(tornado_svg(t, journey).decode("utf-8"))}</div>')
    out.append(_table(["parameter", "2.5% – 97.5% of it", "value at low", "value at high", "swing"],
                      [[_e(c) for c in row] for row in tornado_rows(t, journey)]))
    out.append("</section>")
    return out
