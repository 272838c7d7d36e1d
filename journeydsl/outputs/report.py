"""Results as text: the strategist's table, Markdown, CSV and JSON.

Everything here reads the results contract (``Results.to_dict()``, see
``docs/metrics.md``), so what a table shows is exactly what the JSON says.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from journeydsl.language.sanitize import for_csv, for_markdown, for_terminal
from journeydsl.outputs.i18n import N_, Lang, Np_, get_lang
from journeydsl.outputs.jsontext import dumps_indented

if TYPE_CHECKING:
    from journeydsl.engine.results import Results
    from journeydsl.language.model import Journey

__all__ = ["HEADLINE", "format_exact", "format_results", "to_json"]

# key, row label, kind of number: the headline figures in the order a strategist reads them
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("conversion_rate", N_("Conversion rate"), "share"),
    ("time_to_convert_days", N_("Days to convert (mean)"), "days"),
    ("retention.30", N_("Retention at 30 days"), "retention"),
    ("retention.90", N_("Retention at 90 days"), "retention"),
    ("retention.180", N_("Retention at 180 days"), "retention"),
    ("retention.365", N_("Retention at 365 days"), "retention"),
    ("churn_rate", N_("Churn rate"), "share"),
    ("revenue_per_customer", N_("Revenue per customer"), "money"),
    ("cost_per_customer", N_("Cost per customer"), "money"),
    ("value_per_customer", N_("Value per customer"), "money"),
    ("ltv", N_("LTV (mean)"), "money"),
    ("cac", N_("CAC"), "money"),
    ("ltv_to_cac", N_("LTV : CAC"), "ratio"),
)
#: Each headline figure's label and kind (share, money, days, ...), by its JSON key.
HEADLINE_LABEL = {k: label for k, label, _kind in HEADLINE}
HEADLINE_KIND = {k: kind for k, _label, kind in HEADLINE}

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


COMPARISON_HEADER = (N_("scenario"), N_("figure"), N_("difference"), N_("95% interval"), N_("relative"),
                     N_("P(better)"))

_EN = get_lang("en")


def to_json(results: Results) -> str:
    """The results contract as indented JSON (never NaN: undefined figures are null)."""
    return dumps_indented(results.to_dict()) + "\n"  # json.dumps(indent=2, ensure_ascii=False, allow_nan=False)


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


# --- how many figures a number gets -----------------------------------------------
#
# A figure with an interval is shown to two significant figures of the interval's
# width: enough that the two bounds differ, and no more than the run can vouch for
# (RUB 32,000 (18,000 – 47,000), not RUB 32,449 (18,340 – 46,558)). A figure
# without one gets the everyday precision of its kind; a share below 1% keeps
# two significant figures (0.27%, not 0.3%). Numbers are always in fixed notation.

_SCALE = {"share": 100.0, "retention": 100.0, "pp": 100.0}
_MAX_PLACES = 8


def _sig_places(x: float, figures: int) -> int:
    """Decimals that give ``x`` that many significant figures (0 for zero)."""
    if x == 0 or not math.isfinite(x):
        return 0
    return min(_MAX_PLACES, figures - 1 - math.floor(math.log10(abs(x))))


def _default_places(x: float, kind: str) -> int:
    """The everyday precision of a figure of ``kind`` with no interval to go by.

    >>> _default_places(0.0027, "share"), _default_places(0.42, "share"), _default_places(1234.5, "money")
    (2, 1, 0)
    >>> _default_places(3.5, "money"), _default_places(0.0024, "money"), _default_places(5.3e-15, "money")
    (2, 4, 2)
    """
    v = abs(x) * _SCALE.get(kind, 1.0)
    if kind in _SCALE:
        return 1 if v >= 1 or v < 1e-9 else _sig_places(v, 2)
    if kind == "money":
        if v >= 1000:
            return 0
        return 2 if v >= 0.01 or v < 1e-9 else _sig_places(v, 2)
    if kind == "days":
        return 1
    if kind == "count":
        return 3 if v < 1000 else 0
    return 2


def _places(value: float, ci: Any, kind: str) -> int:
    """Decimals for a figure and its interval: two significant figures of the interval's width.

    >>> _places(0.0022, [0.0012, 0.0039], "share")   # 0.22% (0.12% – 0.39%)
    2
    >>> _places(32449, [18340, 46558], "money")      # 32,000 (18,000 – 47,000)
    -3
    >>> _places(0.0, [-5.3e-15, 5.3e-15], "money")   # rounding noise: the everyday precision
    2
    """
    scale = _SCALE.get(kind, 1.0)
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and None not in ci:
        lo, hi = float(ci[0]) * scale, float(ci[1]) * scale
        width = abs(hi - lo)
        # narrower than a millionth of the figure: rounding noise of a figure that does not vary
        if math.isfinite(width) and width > 1e-6 * max(1.0, abs(value) * scale):
            return min(_MAX_PLACES, 1 - math.floor(math.log10(width)))
    return _default_places(value, kind)


def _plain(x: float, kind: str, currency: str, places: int, lang: Lang) -> str:
    """One number of ``kind`` with ``places`` decimals, in the language's format."""
    if kind in ("share", "retention"):
        return lang.percent(x, places)
    if kind == "money":
        return lang.money(x, currency, places)
    if kind == "days":
        return f"{lang.decimal(x, places)} {lang._('d')}"
    if kind == "pp":
        return f"{lang.decimal(100 * x, places)} {lang._('pp')}"
    return lang.decimal(x, places)


def _money(x: float, currency: str, lang: Lang | None = None, places: int | None = None) -> str:
    """Money for people: cents below 1,000, whole units above, two figures for tiny sums.

    >>> _money(1234.4, "EUR"), _money(0.0024, "EUR"), _money(-3.5, "EUR"), _money(-5.3e-15, "EUR")
    ('€1,234', '€0.0024', '-€3.50', '€0.00')
    """
    lang = lang or _EN
    return lang.money(x, currency, _default_places(x, "money") if places is None else places)


def _share(x: float, lang: Lang | None = None) -> str:
    """A share for people: one decimal, two significant figures below 1%.

    >>> _share(0.0027), _share(0.42), _share(0.0)
    ('0.27%', '42.0%', '0.0%')
    """
    lang = lang or _EN
    return lang.percent(x, _default_places(x, "share"))


def _number(x: float, kind: str, currency: str, lang: Lang | None = None) -> str:
    lang = lang or _EN
    return _plain(x, kind, currency, _default_places(x, kind), lang)


def _interval(ci: Any, kind: str, currency: str, lang: Lang | None = None, places: int | None = None) -> str:
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2) or None in ci:
        return ""
    lang = lang or _EN
    lo, hi = (float(v) for v in ci)
    d = _places((lo + hi) / 2, ci, kind) if places is None else places
    return f"{_plain(lo, kind, currency, d, lang)} – {_plain(hi, kind, currency, d, lang)}"


def _cell(figure: Any, kind: str, currency: str, *, intervals: bool = True, lang: Lang | None = None) -> str:
    """A figure with its interval; a retention share also says how many converters were
    still followed that long (``n=``), the evidence it rests on."""
    lang = lang or _EN
    value = _mean(figure)
    if value is None:
        return lang._("n/a")
    ci = figure.get("ci95") if isinstance(figure, dict) and intervals else None
    d = _places(value, ci, kind)
    text = _plain(value, kind, currency, d, lang)
    if intervals and isinstance(figure, dict):
        interval = _interval(ci, kind, currency, lang, d)
        if interval and interval != f"{text} – {text}":  # a figure that cannot vary has no interval to show
            text += f" ({interval})"
        if kind == "retention" and figure.get("n") is not None:
            text += f" n={lang.decimal(int(figure['n']), 0)}"
    return text


def _signed(x: float, kind: str, currency: str, lang: Lang | None = None, places: int | None = None) -> str:
    """A difference with its sign; a difference that rounds to zero has none.

    >>> _signed(0.0123, "share", ""), _signed(-2.5, "money", "EUR"), _signed(1e-17, "money", "EUR", places=2)
    ('+1.2 pp', '-€2.50', '€0.00')
    """
    lang = lang or _EN
    unit = "pp" if kind in ("share", "retention") else kind
    d = _default_places(x, unit) if places is None else places
    text = _plain(abs(x), unit, currency, d, lang)
    if text == _plain(0.0, unit, currency, d, lang):
        return text
    return ("+" if x > 0 else "-") + text


def _delta_cells(cmp: Any, kind: str, currency: str, lang: Lang | None = None) -> list[str]:
    """Difference (with ▲/▼ when its interval excludes zero), 95% interval, relative change, P(better).

    A difference that is exactly zero on every batch says "no difference" (and nothing else).
    """
    lang = lang or _EN
    if not isinstance(cmp, dict) or cmp.get("delta") is None:
        reason = cmp.get("reason", "") if isinstance(cmp, dict) else ""
        return [lang._("n/a"), _reason(reason, lang), "", ""]
    if cmp.get("identical"):
        return [lang._("no difference"), lang._("identical on every batch"), "", ""]
    delta = float(cmp["delta"])
    ci = cmp.get("ci95")
    unit = "pp" if kind in ("share", "retention") else kind
    d = _places(delta, ci, unit)
    text = _signed(delta, kind, currency, lang, d)
    interval = ""
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and None not in ci:
        lo, hi = float(ci[0]), float(ci[1])
        interval = f"{_signed(lo, kind, currency, lang, d)} {lang._('to')} {_signed(hi, kind, currency, lang, d)}"
        if lo > 0 or hi < 0:
            better = cmp.get("p_better")
            text += " ▲" if better is None or float(better) >= 0.5 else " ▼"
    rel = cmp.get("relative")
    relative = ""
    if rel is not None:
        r = float(rel)
        relative = lang.percent(r, _default_places(r, "share"))
        relative = relative if r == 0 or relative == lang.percent(0.0, _default_places(r, "share")) else (
            ("+" if r > 0 else "-") + lang.percent(abs(r), _default_places(r, "share")))
    pb = cmp.get("p_better")
    p_better = "" if pb is None else lang.percent(float(pb), 0)
    return [text, interval, relative, p_better]


#: Why a figure could not be measured: the results' and targets' reasons (English in the JSON)
#: as messages; :func:`_reason` shows them in the reader's language.
_REASONS = (N_("no stage is marked active"), N_("no customer converted"), N_("not measured"),
            N_("the interval could not be computed"), N_("no conversions this month"))
_FOLLOWED = re.compile(r"no converter was followed ([\d.]+) days")
#: Counts said inside other sentences, each in the form its number takes ('1 day', '21 день').
_DAYS = Np_("{n} day", "{n} days")
_MONTHS = Np_("{n} month", "{n} months")


def _reason(text: str, lang: Lang | None = None) -> str:
    """A reason from the results in ``lang`` (one the catalogues do not know stays as it is)."""
    lang = lang or _EN
    found = _FOLLOWED.fullmatch(text)
    if found:
        return _in_days(found.group(1), Np_("no converter was followed {n} day", "no converter was followed {n} days"),
                        lang)
    return lang._(text) if text in _REASONS else text


def _in_days(days_text: str, message: tuple[str, str], lang: Lang) -> str:
    """A (singular, plural) message about ``days_text`` days, in the form its number takes."""
    days = float(days_text)
    return lang.n_(*message, days).format(n=lang.decimal(days, 0 if days.is_integer() else 1))


#: A target's KPI (the JSON's key) as a figure's name.
_KPI_NAMES = {"conversion_rate": N_("Conversion rate"), "ltv": N_("LTV"), "cac": N_("CAC"),
              "churn": N_("Churn rate"), "value_per_customer": N_("Value per customer")}
_RETENTION_KPI = re.compile(r"retention ([\d.]+) days")


def target_kpi(kpi: str, lang: Lang | None = None) -> str:
    """A target's KPI as the reader calls it: 'retention 90 days' -> 'Retention at 90 days'."""
    lang = lang or _EN
    found = _RETENTION_KPI.fullmatch(kpi)
    if found:
        return _in_days(found.group(1), Np_("Retention at {n} day", "Retention at {n} days"), lang)
    return lang._(_KPI_NAMES[kpi]) if kpi in _KPI_NAMES else kpi


def _arms(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data.get("scenarios", []))


def _arm_name(arm: dict[str, Any], lang: Lang | None = None, ids: bool = False) -> str:
    """How an arm is called where a person reads it: its label (``ids``: its name)."""
    lang = lang or _EN
    name = str(arm.get("name", ""))
    if ids:
        return name
    if name == "baseline":
        return lang._("Baseline")
    return str(arm.get("label") or name)


def _title(data: dict[str, Any], lang: Lang | None = None) -> str:
    lang = lang or _EN
    discount = data.get("discount")
    customers = int(data.get("customers", 0))
    days = float(data.get("horizon_days", 0))
    parts = [
        lang.n_("{n} customer", "{n} customers", customers).format(n=lang.decimal(customers, 0)),
        lang._("seed {seed}").format(seed=data.get("seed")),
        lang.n_("horizon {n} day", "horizon {n} days", days).format(n=lang.decimal(days, 0 if days.is_integer()
                                                                                     else 1)),
    ]
    if discount:
        parts.append(lang._("discount {rate} a year").format(rate=lang.percent(float(discount), 1)))
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


def _headline_rows(arms: list[dict[str, Any]], currency: str, intervals: bool,
                   lang: Lang | None = None) -> list[list[str]]:
    lang = lang or _EN
    rows = []
    na = lang._("n/a")
    for key, label, kind in HEADLINE:
        cells = [_cell(_get(a.get("metrics", {}), key), kind, currency, intervals=intervals, lang=lang)
                 for a in arms]
        if all(c == na for c in cells) and key.startswith("retention."):
            continue
        rows.append([lang._(label), *cells])
    return rows


def _ranking(arms: list[dict[str, Any]], currency: str, lang: Lang | None = None, ids: bool = False) -> str:
    lang = lang or _EN
    scored = [(_mean(_get(a.get("metrics", {}), "value_per_customer")), _arm_name(a, lang, ids)) for a in arms]
    ranked = sorted(((v, n) for v, n in scored if v is not None), key=lambda p: -p[0])
    if len(ranked) < 2:
        return ""
    listed = ", ".join(f"{i}. {n} ({_money(v, currency, lang)})" for i, (v, n) in enumerate(ranked, 1))
    return lang._("Ranked by value per customer (revenue minus cost, discounted): {list}").format(list=listed)


def _comparison_rows(arms: list[dict[str, Any]], currency: str, lang: Lang | None = None,
                     ids: bool = False) -> list[list[str]]:
    lang = lang or _EN
    rows = []
    kinds, labels = HEADLINE_KIND, HEADLINE_LABEL
    for arm in arms[1:]:
        vs = arm.get("versus_baseline") or {}
        for key in COMPARED:
            cmp = vs.get(key.replace(".", "_"))  # retention.90 is compared as retention_90
            if cmp is None:
                continue
            rows.append([_arm_name(arm, lang, ids), lang._(labels[key]),
                         *_delta_cells(cmp, kinds[key], currency, lang)])
    return rows


def _noise_notes(data: dict[str, Any], lang: Lang | None = None, ids: bool = False) -> list[str]:
    """For each scenario whose value difference cannot be told from zero: how many customers would tell."""
    lang = lang or _EN
    notes = []
    currency = data.get("currency") or ""
    for arm in _arms(data)[1:]:
        cmp = (arm.get("versus_baseline") or {}).get("value_per_customer")
        if not isinstance(cmp, dict) or not cmp.get("ci95") or None in cmp["ci95"]:
            continue
        lo, hi = cmp["ci95"]
        if lo <= 0 <= hi and not cmp.get("identical"):
            need = cmp.get("customers_needed")
            delta = _signed(float(cmp["delta"]), "money", currency, lang, _places(float(cmp["delta"]), [lo, hi],
                                                                                  "money"))
            name = _arm_name(arm, lang, ids)
            if need:
                span = cmp.get("customers_needed_range") or [need, need]
                notes.append(lang.counted(
                    "'{arm}' vs baseline is too close to call on value per customer "
                    "(difference {delta}, interval spans zero); a difference this size needs "
                    "about {n} customer per arm to show (80% power; this run's estimate "
                    "of that need is itself uncertain: {low} to {high}): try --customers {raw}",
                    "'{arm}' vs baseline is too close to call on value per customer "
                    "(difference {delta}, interval spans zero); a difference this size needs "
                    "about {n} customers per arm to show (80% power; this run's estimate "
                    "of that need is itself uncertain: {low} to {high}): try --customers {raw}",
                    need, arm=name, delta=delta, low=lang.decimal(span[0], 0), high=lang.decimal(span[1], 0),
                    raw=need))
            else:
                notes.append(lang._("'{arm}' makes no difference to value per customer").format(arm=name))
    return notes


STAGE_HEADER = (N_("stage"), N_("reached"), N_("visits"), N_("dwell"), N_("revenue"), N_("cost"), N_("exits"))
PHASE_HEADER = (N_("phase"), N_("reached"), N_("days"), N_("revenue"), N_("cost"), N_("value"))
TOUCH_HEADER = (N_("touchpoint"), N_("contacts"), N_("responses"), N_("cost"))
#: With a contact policy: the trigger contacts it capped, delayed and held out, per customer.
TOUCH_POLICY_HEADER = (*TOUCH_HEADER, N_("capped"), N_("delayed"), N_("held out"))
_POLICY_KEYS = ("capped_per_customer", "delayed_per_customer", "held_out_per_customer")


def has_policy_counts(arms: Sequence[dict[str, Any]]) -> bool:
    """Whether some arm's policy capped, delayed or held out a contact (then the columns show)."""
    return any(float(t.get(k) or 0) > 0 for arm in arms for t in (arm.get("touchpoints") or {}).values()
               for k in _POLICY_KEYS)


def holdout_lines(arms: Sequence[dict[str, Any]], currency: str, lang: Lang | None = None,
                  ids: bool = False) -> list[str]:
    """One line per arm with a holdout: what its marketing adds against everyone held out."""
    lang = lang or _EN
    out = []
    for arm in arms:
        h = arm.get("holdout")
        if not isinstance(h, dict):
            continue
        up = (h.get("uplift") or {}).get("value_per_customer") or {}
        conv = (h.get("uplift") or {}).get("conversion_rate") or {}
        if up.get("delta") is None:
            continue
        lo, hi = up.get("ci95") or [None, None]
        out.append(lang._(
            "Holdout {share} ({arm}): marketing adds {delta} value per customer ({low} to {high}) and"
            " {conv} conversion against the same customers all held out (common random numbers)"
        ).format(share=lang.percent(float(h["share"]), 0), arm=_arm_name(arm, lang, ids),
                 delta=_signed(float(up["delta"]), "money", currency, lang),
                 low=_signed(float(lo), "money", currency, lang) if lo is not None else "?",
                 high=_signed(float(hi), "money", currency, lang) if hi is not None else "?",
                 conv=_signed(float(conv.get("delta") or 0.0), "share", currency, lang)))
    return out
TRIGGER_HEADER = (N_("trigger"), N_("fired"), N_("rerouted"))
STEP_HEADER = (N_("touchpoint"), N_("step"), N_("per customer"))
QUEUE_HEADER = (N_("task"), N_("tasks a day"), N_("capacity a day"), N_("utilisation"), N_("mean wait (days)"),
                N_("95% wait within (days)"), N_("tasks that wait"), N_("backlog (tasks)"))


def _label(entry: Any, name: str, ids: bool) -> str:
    if ids or not isinstance(entry, dict):
        return name
    return str(entry.get("label") or name)


def _days(x: float, unit: str, lang: Lang) -> str:
    """Days with one decimal: '2.4 d' in a terminal (``unit`` "d"), '2.4 days' / '2,4 дня' on a page."""
    if unit == "days":  # a number with a decimal takes the fraction's form: '1.0 days', '1,0 дня'
        return lang.n_("{n} day", "{n} days", 0.5).format(n=lang.decimal(x, 1))
    return f"{lang.decimal(x, 1)} {lang._(unit)}"


def _per_customer(x: float, lang: Lang) -> str:
    """A count per customer (visits, contacts, firings): two decimals, and two significant figures
    below 0.1, so that a stage one customer in 300 reaches reads 0.0033, not 0.00."""
    if x == 0 or abs(x) >= 0.1:
        return lang.decimal(x, 2)
    return lang.decimal(x, _sig_places(x, 2))


def _stage_rows(arm: dict[str, Any], currency: str, days: str = "d", lang: Lang | None = None,
                ids: bool = False) -> list[list[str]]:
    """Per stage: reach, visits, mean stay, revenue and cost per customer booked there, exits.

    ``days`` is the unit written after day counts ("d" in a terminal, "days" on a page).
    Stages and exits are called by their labels (``ids``: by their names).
    """
    lang = lang or _EN
    stages = arm.get("stages") or {}
    rows = []
    for name, s in stages.items():
        exits = s.get("exits") or {}
        exit_text = ", ".join(f"{_label(stages.get(t), t, ids)} {_share(float(v), lang)}"
                              for t, v in exits.items() if v is not None)
        dwell = s.get("mean_dwell_days")
        rows.append(
            [
                _label(s, name, ids),
                _share(float(s.get("reached") or 0), lang),
                _per_customer(float(s.get("mean_visits") or 0), lang),
                lang._("n/a") if dwell is None else _days(float(dwell), days, lang),
                _money(float(s.get("revenue_per_customer") or 0), currency, lang),
                _money(float(s.get("cost_per_customer") or 0), currency, lang),
                exit_text,
            ]
        )
    return rows


def _phase_rows(arm: dict[str, Any], currency: str, days: str = "d", lang: Lang | None = None) -> list[list[str]]:
    """Per phase: reach, and days, revenue, cost and value per customer (sums over its stages)."""
    lang = lang or _EN
    rows = []
    for label, p in (arm.get("phases") or {}).items():
        rows.append(
            [
                label,
                _share(float(p.get("reached") or 0), lang),
                _days(float(p.get("days_per_customer") or 0), days, lang),
                _money(float(p.get("revenue_per_customer") or 0), currency, lang),
                _money(float(p.get("cost_per_customer") or 0), currency, lang),
                _money(float(p.get("value_per_customer") or 0), currency, lang),
            ]
        )
    return rows


def _touch_rows(arm: dict[str, Any], currency: str, lang: Lang | None = None, ids: bool = False,
                policy: bool = False) -> list[list[str]]:
    """Per touchpoint: contacts, responses and discounted cost per customer (``policy``: and the
    contacts the policy capped, delayed and held out)."""
    lang = lang or _EN
    rows = []
    for name, t in (arm.get("touchpoints") or {}).items():
        rows.append(
            [
                _label(t, name, ids),
                _per_customer(float(t.get("contacts_per_customer") or 0), lang),
                _per_customer(float(t.get("responses_per_customer") or 0), lang),
                _money(float(t.get("cost_per_customer") or 0), currency, lang),
                *([lang.decimal(float(t.get(k) or 0), 3) for k in _POLICY_KEYS] if policy else []),
            ]
        )
    return rows


def _step_rows(arm: dict[str, Any], lang: Lang | None = None, ids: bool = False) -> list[list[str]]:
    """Per step of every touchpoint's response funnel: contacts reaching it, per customer."""
    lang = lang or _EN
    return [
        [_label(t, name, ids), step, lang.decimal(float(v or 0), 3)]
        for name, t in (arm.get("touchpoints") or {}).items()
        for step, v in (t.get("steps_per_customer") or {}).items()
    ]


def _queue_rows(arm: dict[str, Any], lang: Lang | None = None, ids: bool = False) -> list[list[str]]:
    """Per task with a capacity: its queue (see docs/language.md, How a task queue is simulated)."""
    lang = lang or _EN
    rows = []
    for name, t in (arm.get("touchpoints") or {}).items():
        q = t.get("queue")
        if not q:
            continue
        wait = q["mean_wait_days"]
        lo, hi = wait["ci95"]
        interval = "" if lo is None or hi is None else f" [{lang.decimal(lo, 2)}, {lang.decimal(hi, 2)}]"
        rows.append([
            _label(t, name, ids) + (" ⚠" if q["overloaded"] else ""),
            lang.decimal(q["tasks_per_day"], 1),
            lang.decimal(q["capacity_per_day"], 1),
            lang.percent(q["utilisation"], 0),
            lang.decimal(wait["mean"], 2) + interval,
            lang.decimal(q["p95_wait_days"], 2),
            lang.percent(q["share_waiting"], 0),
            lang.decimal(q["mean_backlog"], 1),
        ])
    return rows


def _trigger_rows(arm: dict[str, Any], lang: Lang | None = None, ids: bool = False) -> list[list[str]]:
    """Per trigger: firings and reroutes per customer."""
    lang = lang or _EN
    return [
        [
            _label(t, name, ids),
            _per_customer(float(t.get("fired_per_customer") or 0), lang),
            _per_customer(float(t.get("rerouted_per_customer") or 0), lang),
        ]
        for name, t in (arm.get("triggers") or {}).items()
    ]


def _segment_label(name: str, seg: Any, lang: Lang | None = None, ids: bool = False) -> str:
    """A segment's label; the customers no segment claims are "Other customers" in the reader's language."""
    if name == "default" and not ids:
        return (lang or _EN)._("Other customers")
    return _label(seg, name, ids)


def _segment_arms(arm: dict[str, Any], ids: bool = False, lang: Lang | None = None) -> list[dict[str, Any]]:
    """An arm's segments as pseudo-arms (name = the segment's label, or its name with ``ids``)."""
    return [
        {"name": name, "label": _segment_label(name, m, lang, ids), "metrics": m.get("metrics", m)}
        for name, m in (arm.get("segments") or {}).items()
    ]


def _tr(header: Sequence[str], lang: Lang) -> list[str]:
    return [lang._(h) for h in header]


def _range_cell(figure: Any, kind: str, currency: str, lang: Lang | None = None) -> str:
    """A figure's mean over the parameter draws with its 95% range, or n/a."""
    lang = lang or _EN
    unc = figure.get("uncertainty") if isinstance(figure, dict) else None
    if not isinstance(unc, dict) or unc.get("mean") is None:
        return lang._("n/a")
    mean = float(unc["mean"])
    rng_ci = unc.get("interval95")
    d = _places(mean, rng_ci, kind)
    rng = _interval(rng_ci, kind, currency, lang, d)
    return _plain(mean, kind, currency, d, lang) + (f" ({rng})" if rng else "")


def _draws_section(data: dict[str, Any], arms: list[dict[str, Any]], currency: str, lang: Lang | None = None,
                   ids: bool = False) -> list[str]:
    """With ``--draws``: each headline figure's 95% range over the draws, P(best) and P(better)."""
    lang = lang or _EN
    _ = lang._
    draws = int(data["draws"])
    out = ["", lang.counted("Over {n} draw of the uncertain parameters (95% range: where the figure falls in 95 of "
                            "100 draws)",
                            "Over {n} draws of the uncertain parameters (95% range: where the figure falls in 95 of "
                            "100 draws)", draws)]
    rows = []
    na = _("n/a")
    for key, label, kind in HEADLINE:
        cells = [_range_cell(_get(a.get("metrics", {}), key), kind, currency, lang) for a in arms]
        if all(c == na for c in cells):
            continue
        rows.append([_(label), *cells])
    if len(arms) > 1:
        rows.append([_("P(best value per customer)"),
                     *[lang.percent(float(a.get("p_best") or 0), 0) for a in arms]])
    out.append(_table(rows, ["", *[_arm_name(a, lang, ids) for a in arms]]))
    kinds, labels = HEADLINE_KIND, HEADLINE_LABEL
    cmp_rows = []
    for arm in arms[1:]:
        vs = arm.get("versus_baseline") or {}
        for key in COMPARED:
            cmp = vs.get(key.replace(".", "_"))
            unc = cmp.get("uncertainty") if isinstance(cmp, dict) else None
            if not isinstance(unc, dict) or unc.get("mean") is None:
                continue
            lo, hi = unc["interval95"]
            unit = "pp" if kinds[key] in ("share", "retention") else kinds[key]
            d = _places(float(unc["mean"]), [lo, hi] if lo is not None and hi is not None else None, unit)
            rng = (f"{_signed(float(lo), kinds[key], currency, lang, d)} {_('to')} "
                   f"{_signed(float(hi), kinds[key], currency, lang, d)}" if lo is not None and hi is not None else "")
            cmp_rows.append([_arm_name(arm, lang, ids), _(labels[key]),
                             _signed(float(unc["mean"]), kinds[key], currency, lang, d), rng,
                             lang.percent(float(unc.get("p_better") or 0), 0)])
    if cmp_rows:
        out += ["", _("Versus baseline over the draws (P(better) = share of draws in which the scenario is better)")]
        out.append(_table(cmp_rows, [_("scenario"), _("figure"), _("difference"), _("95% range"), _("P(better)")]))
    params = data.get("parameters") or []
    if params:
        out += ["", _("Uncertain parameters")]
        out.append(_table([[p["label"], p["written"], _param_range(p, currency, lang)] for p in params],
                          [_("parameter"), _("as written"), _("95% of draws")]))
    return out


def _param_range(p: dict[str, Any], currency: str, lang: Lang | None = None) -> str:
    lang = lang or _EN
    kind = {"share": "share", "money": "money", "duration": "days"}.get(p["kind"], "number")
    return _interval(p["interval95"], kind, currency, lang)


def format_table(data: dict[str, Any], lang: Lang | str | None = None, ids: bool = False) -> str:
    """The table a strategist reads first: headline figures side by side, then the comparison.

    Arms, stages, touchpoints and segments are called by their labels (``ids``: by their names);
    the fixed words and number formats are ``lang``'s (``en``, ``ru`` or ``bg``).
    """
    lang = _as_lang(lang)
    _ = lang._
    currency = data.get("currency") or ""
    arms = _arms(data)
    out = [for_terminal(_title(data, lang)), ""]
    out.append(_table(_headline_rows(arms, currency, True, lang), ["", *[_arm_name(a, lang, ids) for a in arms]]))
    out.append(_("(95% intervals in brackets; money discounted to entry; n = converters followed that long)"))
    out += _targets_section(data, markdown=False, lang=lang, ids=ids)
    if len(arms) > 1:
        out += ["", _("Versus baseline (paired over batches on common random numbers; "
                      "▲/▼ = interval excludes zero)")]
        out.append(_table(_comparison_rows(arms, currency, lang, ids), _tr(COMPARISON_HEADER, lang)))
        ranking = _ranking(arms, currency, lang, ids)
        if ranking:
            out += ["", for_terminal(ranking)]
        out += [for_terminal(_("note: {text}").format(text=n)) for n in _noise_notes(data, lang, ids)]
    held = holdout_lines(arms, currency, lang, ids)
    if held:
        out += [""] + [for_terminal(line) for line in held]
    policy = has_policy_counts(arms)
    if data.get("draws"):
        out += [for_terminal(line) for chunk in _draws_section(data, arms, currency, lang, ids)
                for line in chunk.split("\n")]  # a table is several lines: sanitise each, keep the breaks
    for arm in arms:
        arm_name = for_terminal(_arm_name(arm, lang, ids))
        stage_rows = _stage_rows(arm, currency, lang=lang, ids=ids)
        if stage_rows:
            out += ["", _("Stages ({arm}; revenue and cost per customer booked in the stage)").format(arm=arm_name)]
            out.append(_table(stage_rows, _tr(STAGE_HEADER, lang)))
        phase_rows = _phase_rows(arm, currency, lang=lang)
        if phase_rows:
            out += ["", _("Phases ({arm}; days, revenue, cost and value per customer)").format(arm=arm_name)]
            out.append(_table(phase_rows, _tr(PHASE_HEADER, lang)))
        touch_rows = _touch_rows(arm, currency, lang, ids, policy)
        if touch_rows:
            out += ["", _("Touchpoints ({arm}, per customer)").format(arm=arm_name)]
            out.append(_table(touch_rows, _tr(TOUCH_POLICY_HEADER if policy else TOUCH_HEADER, lang)))
        step_rows = _step_rows(arm, lang, ids)
        if step_rows:
            out += ["", _("Response funnels ({arm}, contacts reaching each step, per customer)").format(arm=arm_name)]
            out.append(_table(step_rows, _tr(STEP_HEADER, lang)))
        queue_rows = _queue_rows(arm, lang, ids)
        if queue_rows:
            out += ["", _("Task queues ({arm}; ⚠ more tasks than the capacity: the backlog keeps growing)")
                    .format(arm=arm_name)]
            out.append(_table(queue_rows, _tr(QUEUE_HEADER, lang)))
        trigger_rows = _trigger_rows(arm, lang, ids)
        if trigger_rows:
            out += ["", _("Triggers ({arm}, per customer)").format(arm=arm_name)]
            out.append(_table(trigger_rows, _tr(TRIGGER_HEADER, lang)))
        segs = _segment_arms(arm, ids, lang)
        if segs:
            out += ["", _("Segments ({arm})").format(arm=arm_name)]
            out.append(_table(_headline_rows(segs, currency, False, lang), ["", *[s["label"] for s in segs]]))
    return "\n".join(out) + "\n"


def _md_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A Markdown table (every cell through :func:`for_markdown`)."""
    lines = ["| " + " | ".join(for_markdown(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(for_markdown(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _targets_section(data: dict[str, Any], *, markdown: bool, lang: Lang | None = None,
                     ids: bool = False) -> list[str]:
    """The journey's KPI targets against each arm's figures (only when the journey has targets)."""
    targets = data.get("targets")
    if not targets:
        return []
    from journeydsl.outputs.forecast_report import format_targets

    lang = lang or _EN
    names = {a.get("name"): _arm_name(a, lang, ids) for a in _arms(data)}
    out: list[str] = []
    for arm, rows in targets.items():
        title = lang._("Targets ({arm})").format(arm=names.get(arm, arm))
        out += ["", f"### {for_markdown(title)}", ""] if markdown else ["", for_terminal(title)]
        out += format_targets(rows, data.get("currency") or "", markdown=markdown, lang=lang)
    return out


def format_markdown(data: dict[str, Any], lang: Lang | str | None = None, ids: bool = False) -> str:
    """The same content as the table, as Markdown for a wiki page or a pull request."""
    lang = _as_lang(lang)
    _ = lang._
    currency = data.get("currency") or ""
    arms = _arms(data)
    out = [f"## {for_markdown(_title(data, lang))}", ""]
    out.append(_md_table(_headline_rows(arms, currency, True, lang),
                         [_("figure"), *[_arm_name(a, lang, ids) for a in arms]]))
    out += ["", "_" + _("95% intervals in brackets; money discounted to entry; n = converters followed that long.")
            + "_"]
    out += _targets_section(data, markdown=True, lang=lang, ids=ids)
    if len(arms) > 1:
        out += ["", "### " + _("Versus baseline"), ""]
        out.append(_md_table(_comparison_rows(arms, currency, lang, ids), _tr(COMPARISON_HEADER, lang)))
        ranking = _ranking(arms, currency, lang, ids)
        out += ["", for_markdown(ranking)] if ranking else []
        out += [f"> {for_markdown(n)}" for n in _noise_notes(data, lang, ids)]
    if data.get("draws"):
        out += ["", "### " + lang.counted("Over {n} draw of the uncertain parameters",
                                          "Over {n} draws of the uncertain parameters", int(data["draws"])), "", "```"]
        out += [for_terminal(line) for chunk in _draws_section(data, arms, currency, lang, ids)[2:]
                for line in chunk.split("\n")]
        out += ["```"]
    held = holdout_lines(arms, currency, lang, ids)
    if held:
        out += [""] + ["- " + for_markdown(line) for line in held]
    policy = has_policy_counts(arms)
    for arm in arms:
        arm_name = for_markdown(_arm_name(arm, lang, ids))
        if arm.get("stages"):
            out += ["", f"### {_('Stages')}: {arm_name}", ""]
            out.append(_md_table(_stage_rows(arm, currency, lang=lang, ids=ids), _tr(STAGE_HEADER, lang)))
            out += ["", "_" + _("Revenue and cost: per customer, booked in the stage.") + "_"]
        if arm.get("phases"):
            out += ["", f"### {_('Phases')}: {arm_name}", ""]
            out.append(_md_table(_phase_rows(arm, currency, lang=lang), _tr(PHASE_HEADER, lang)))
            out += ["", "_" + _("Days, revenue, cost and value per customer: sums over the phase's stages.") + "_"]
        if arm.get("touchpoints"):
            out += ["", f"### {_('Touchpoints (per customer)')}: {arm_name}", ""]
            out.append(_md_table(_touch_rows(arm, currency, lang, ids, policy),
                                 _tr(TOUCH_POLICY_HEADER if policy else TOUCH_HEADER, lang)))
            if _step_rows(arm, lang, ids):
                out += ["", f"### {_('Response funnels')}: {arm_name}", ""]
                out.append(_md_table(_step_rows(arm, lang, ids), _tr(STEP_HEADER, lang)))
            if _queue_rows(arm, lang, ids):
                out += ["", f"### {_('Task queues')}: {arm_name}", ""]
                out.append(_md_table(_queue_rows(arm, lang, ids), _tr(QUEUE_HEADER, lang)))
                out += ["", "_" + _("Waits in days; ⚠ more tasks than the capacity: the backlog keeps growing.") + "_"]
        if arm.get("triggers"):
            out += ["", f"### {_('Triggers (per customer)')}: {arm_name}", ""]
            out.append(_md_table(_trigger_rows(arm, lang, ids), _tr(TRIGGER_HEADER, lang)))
        segs = _segment_arms(arm, ids, lang)
        if segs:
            out += ["", f"### {_('Segments')}: {arm_name}", ""]
            out.append(_md_table(_headline_rows(segs, currency, False, lang),
                                 [_("figure"), *[s["label"] for s in segs]]))
    return "\n".join(out) + "\n"


def _as_lang(lang: Lang | str | None) -> Lang:
    return lang if isinstance(lang, Lang) else get_lang(lang)


def format_csv(data: dict[str, Any], lang: Lang | str | None = None, ids: bool = True) -> str:
    """One row per arm, segment and figure: ``scenario,segment,metric,mean,ci_low,ci_high,n``.

    Plain numbers (fractions, currency units, days) for spreadsheets; a name
    that a spreadsheet would run as a formula is prefixed with ``'`` (:func:`for_csv`).
    The columns hold names (ids) and English keys whatever ``lang`` and ``ids`` say:
    a CSV is read by programs, and its keys must not change with the reader's language.
    """
    del lang, ids
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


FORMATS: dict[str, Callable[..., str]] = {
    "table": format_table,
    "markdown": format_markdown,
    "csv": format_csv,
}


def format_results(results: Results, fmt: str, lang: Lang | str | None = None, ids: bool = False) -> str:
    """Results in one of ``table``, ``markdown``, ``csv`` or ``json``.

    ``lang`` (``en``, ``ru``, ``bg``) picks the words and number formats of the table and
    Markdown; ``ids`` calls arms, stages and touchpoints by their names instead of their
    labels. JSON and CSV are for programs: names as keys and plain numbers, always.
    """
    if fmt == "json":
        return to_json(results)
    return FORMATS[fmt](results.to_dict(), lang=lang, ids=ids)


def format_exact(journey: Journey, fmt: str, lang: Lang | str | None = None, ids: bool = False) -> str:
    """Exact answers from algebra (``simulate --exact``) for the baseline and each scenario.

    An arm the algebra cannot answer says why instead (JSON: ``null`` figures and a ``reason``).
    The table calls scenarios and stages by their labels (``ids``: names), in ``lang``.
    """
    from journeydsl.engine.exact import ExactUnsupported, solve

    arms: list[dict[str, Any]] = []
    for name, variant in journey.iter_variants():
        try:
            arms.append({"name": name, **_exact_dict(solve(variant))})
        except ExactUnsupported as exc:
            arms.append({"name": name, "conversion_rate": None, "reason": str(exc)})
    if fmt == "json":
        data = {"journey": journey.name, "horizon": "unbounded", "discount": 0, "scenarios": arms}
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    lang = _as_lang(lang if lang is not None else journey.language)
    _ = lang._
    titles = {s.name: s.title for s in journey.scenarios}

    def arm_name(a: dict[str, Any]) -> str:
        return _arm_name({"name": a["name"], "label": titles.get(a["name"])}, lang, ids)

    answered = [a for a in arms if a.get("conversion_rate") is not None]
    lines = [for_terminal(f"{journey.name} — " + _("exact answers (unbounded horizon, no discounting)"))]
    for a in arms:
        if a.get("reason"):
            lines.append(for_terminal(_("no exact answer for '{arm}': {reason} (run without --exact to simulate it)")
                                      .format(arm=arm_name(a), reason=a["reason"])))
    if not answered:
        return "\n".join(lines) + "\n"
    currency = journey.currency or ""

    def money(v: float | None) -> str:
        return _("n/a") + " (1)" if v is None else _money(v, currency, lang)

    rows = [
        [_("Conversion rate"), *[_number(a["conversion_rate"], "share", "", lang) for a in answered]],
        [_("Days to convert (mean)"), *[_("n/a") if a["time_to_convert_days"] is None
                                        else _number(a["time_to_convert_days"], "days", "", lang) for a in answered]],
        [_("On-enter revenue per customer"), *[money(a["revenue_on_enter_per_customer"]) for a in answered]],
        [_("On-enter cost per customer"), *[money(a["cost_on_enter_per_customer"]) for a in answered]],
    ]
    header = ["", *[arm_name(a) for a in answered]]
    lines += ["", _table(rows, header), "", _("Expected visits per customer")]
    stages = list(answered[0]["visits_per_customer"])
    stage_titles = {s.name: (s.name if ids else s.title) for s in journey.stages}
    visits = [[stage_titles.get(s, s), *[lang.decimal(a["visits_per_customer"].get(s, 0.0), 4) for a in answered]]
              for s in stages]
    lines.append(_table(visits, [_("stage"), *header[1:]]))
    if any(a["cost_on_enter_per_customer"] is None for a in answered):
        lines.append(_("(1) triggers send touchpoints at times the algebra leaves out; simulate for costs"))
    seg_titles = {s.name: (s.name if ids else s.title) for s in journey.segments}
    for a in answered:
        for seg, figures in (a.get("segments") or {}).items():
            lines.append(for_terminal(_("{arm}, segment {segment}: conversion {share}").format(
                arm=arm_name(a), segment=seg_titles.get(seg, _segment_label(seg, None, lang, ids)),
                share=_number(figures["conversion_rate"], "share", "", lang))))
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


def format_test_plan(tp: Any, currency: str, lang: Lang | str | None = None) -> str:
    """``journeydsl plan-test`` as text: the forecast difference, the customers and the days a
    live A/B test needs (an :class:`~journeydsl.analysis.abtest.TestPlan`), in ``lang``."""
    lang = _as_lang(lang)
    _ = lang._
    share = tp.metric == "conversion_rate"

    def val(x: float | None) -> str:
        if x is None:
            return "?"
        return _share(x, lang) if share else _money(x, currency, lang)

    def diff(x: float | None) -> str:
        return "?" if x is None else _signed(x, "share" if share else "money", currency, lang)

    def sd(x: float) -> str:
        return lang.decimal(x, 3) if share else _money(x, currency, lang)

    what = _(HEADLINE_LABEL[tp.metric]).lower() if tp.metric in HEADLINE_LABEL else tp.metric.replace("_", " ")
    lo, hi = tp.difference_ci95
    rows: list[tuple[str, str]] = [
        (_("forecast"), _("baseline {baseline}, scenario {scenario}: difference {diff}"
                          " (simulation's 95% interval {low} to {high})").format(
            baseline=val(tp.baseline), scenario=val(tp.variant), diff=diff(tp.variant - tp.baseline),
            low=diff(lo), high=diff(hi))),
        (_("spread per customer"), _("standard deviation {baseline} (baseline), {scenario} (scenario)").format(
            baseline=sd(tp.sd_baseline), scenario=sd(tp.sd_variant))),
        (_("test"), _("two-sided, {alpha} significance, {power} power, {split} of the test's customers"
                      " get the scenario").format(alpha=_share(tp.alpha, lang), power=_share(tp.power, lang),
                                                  split=_share(tp.split, lang))),
    ]
    if tp.total is None:
        rows.append((_("customers needed"), _("none can tell: {reason}").format(reason=_test_reason(tp, lang))))
    else:
        rows.append((_("customers needed"), _("{control} on the baseline + {treated} on the scenario = {total}")
                     .format(control=lang.decimal(tp.control, 0), treated=lang.decimal(tp.treated, 0),
                             total=lang.decimal(tp.total, 0))))
        if tp.arrivals_per_day is not None:
            source = tp.arrivals_from or ""
            if source.startswith("plan "):
                source = _("plan {name}").format(name=source[len("plan "):])
            rows.append((_("arrivals"), _("{n} a day ({source})").format(
                n=lang.decimal(tp.arrivals_per_day, 1), source=for_terminal(source))))
        if tp.enrol_days is not None and tp.total_days is not None:
            rows.append((_("duration"), _("enrol for {enrol}, then follow the last customers {window}"
                                          " before reading the figure: {total} in all").format(
                enrol=lang.counted(*_DAYS, tp.enrol_days), window=lang.counted(*_DAYS, tp.window_days),
                total=lang.counted(*_DAYS, tp.total_days))))
        else:
            rows.append((_("duration"), _("unknown: {reason}").format(reason=for_terminal(_test_reason(tp, lang)))))
    width = max(len(k) for k, _v in rows) + 2
    lines = [for_terminal(_("Live A/B test of '{label}' against the baseline ({what})").format(
        label=tp.label, what=what)), ""]
    lines += [f"{k:<{width}}{v}" for k, v in rows]
    if tp.total is not None and lo is not None and hi is not None and lo <= 0 <= hi:
        lines.append(_("note: the simulation cannot tell the difference from zero; simulate more customers (-n)"
                       " before trusting these sizes"))
    if tp.window_hint_days is not None and tp.total is not None:
        days = lang.counted(*_DAYS, tp.window_hint_days)
        lines.append(_("note: 99% of this run's conversions came within {days} of entry; --window '{n} days' reads"
                       " the test that much sooner, as conversion within {days} (its sizes then come from that"
                       " run)").format(days=days, n=lang.decimal(tp.window_hint_days, 0)))
    return "\n".join(lines) + "\n"


def _test_reason(tp: Any, lang: Lang) -> str:
    """Why ``plan-test`` has no size or no duration, in the reader's language (the JSON keeps English)."""
    _ = lang._
    a = tp.reason_args
    if tp.reason_key == "no_variation":
        return lang.counted(
            "the {n} simulated customer has the same figure in both arms, so the forecast shows no difference"
            " to detect; if the scenario changes something rarer than one customer in {n}, run more customers"
            " with --customers",
            "all {n} simulated customers have the same figure in both arms, so the forecast shows no difference"
            " to detect; if the scenario changes something rarer than one customer in {n}, run more customers"
            " with --customers", a["customers"])
    if tp.reason_key == "no_difference":
        return _("the scenario does not change this figure in the forecast: there is no difference to detect")
    if tp.reason_key == "no_arrivals":
        return _("the duration needs the arrivals: add a 'plan' to the journey, or give"
                 " --arrivals N per day|week|month")
    if tp.reason_key == "plan_too_small":
        return lang.counted("plan '{plan}' brings {n} customer in {months}, fewer than the {needed} the test needs",
                            "plan '{plan}' brings {n} customers in {months}, fewer than the {needed} the test needs",
                            a["arrivals"], plan=a["plan"], months=lang.counted(*_MONTHS, a["months"]),
                            needed=lang.decimal(a["needed"], 0))
    return str(tp.reason or "")
