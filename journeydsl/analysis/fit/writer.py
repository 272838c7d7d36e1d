"""Writing fitted figures as journey text.

:func:`write_into` edits the strategist's own file: only the spans of the
figures the data speaks to (branch shares, ``dwell`` distributions, rate
edges) are replaced, each with a ``# fitted ...`` comment line above it
giving its evidence; every other byte of the file stays as it was.
:func:`write_new` builds a journey from the data alone. Both results are
laid out by ``journeydsl fmt`` and compiled before anyone sees them.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from journeydsl.analysis.fit.estimators import DwellCandidate, Rate, SegmentFit, Share, StageFit
from journeydsl.language import syntax as sx
from journeydsl.language.fmt import format_number
from journeydsl.language.model import DAYS, Journey
from journeydsl.language.source import Source, Span

__all__ = ["Written", "dist_text", "pct", "stage_id", "write_into", "write_new"]

MONTH = DAYS["month"]


@dataclass
class Written:
    """One figure the fit wrote: where, what, and the evidence for it."""

    stage: str
    kind: str  # share | otherwise | rate | dwell | after | entry
    target: str | None
    text: str
    evidence: str


@dataclass
class Plan:
    """What to write for each journey stage, keyed by stage name."""

    fits: dict[str, StageFit]
    names: list[str]  # stage key -> journey name
    day: str  # the cut-off as YYYY-MM-DD
    amounts: dict[str, tuple[float, int]] = field(default_factory=dict)  # stage -> (mean amount, entries)
    entry_shares: dict[str, tuple[float, int]] = field(default_factory=dict)  # stage -> (share, cases)
    segments: list[SegmentFit] = field(default_factory=list)
    money: bool = False  # write the data's mean amount over each stage's 'revenue ... on enter'
    written: list[Written] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- numbers as a strategist reads them -------------------------------------------------------------


def _sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return 0.0
    return round(x, max(0, digits - 1 - math.floor(math.log10(abs(x)))))


def pct(p: float, places: int = 1) -> str:
    """A share as the language writes it, ``25.3%`` (two places under 1%).

    >>> pct(0.25312), pct(0.004321), pct(1.0)
    ('25.3%', '0.43%', '100%')
    """
    value = p * 100
    if 0 < abs(value) < 1:
        places = 2
    return f"{format_number(round(value, places))}%"


def _days(x: float) -> str:
    v = _sig(max(x, 1e-4), 3)
    return f"{format_number(v)} day{'' if v == 1 else 's'}"


def dist_text(c: DwellCandidate) -> str:
    """The journey spelling of a fitted time-in-stage distribution.

    >>> dist_text(DwellCandidate("gamma", {"shape": 2.0412, "mean": 5.0321}, 0, 0, 5.0321))
    'gamma(shape 2.04, mean 5.03 days)'
    """
    p = c.params
    if c.kind == "exponential":
        return f"exponential(mean {_days(p['mean'])})"
    if c.kind == "gamma":
        return f"gamma(shape {format_number(_sig(p['shape']))}, mean {_days(p['mean'])})"
    if c.kind == "lognormal":
        return f"lognormal(mean {_days(p['mean'])}, sd {_days(p['sd'])})"
    return f"weibull(shape {format_number(_sig(p['shape']))}, scale {_days(p['scale'])})"


def _runners_up(cands: list[DwellCandidate]) -> str:
    best = cands[0]
    others = ", ".join(f"{c.kind} +{c.aic - best.aic:,.1f}" for c in cands[1:])
    return f"{best.kind}, lowest AIC" + (f" ({others})" if others else "")


def _interval(low: float, high: float) -> str:
    a, b = pct(low), pct(high)
    return f"{a.rstrip('%')}–{b}"


@lru_cache(maxsize=1)
def supports_plus_minus() -> bool:
    """Whether this journeydsl reads ``25% ± 5%`` (the uncertainty form of the design notes)."""
    from journeydsl.language.compile import compile_source
    from journeydsl.language.errors import JourneyError
    from journeydsl.language.source import Source

    try:
        compile_source(Source("<probe>", 'journey "J" {\n stage a { entry; dwell 1 day }\n stage b { goal; terminal }\n'
                              ' stage c { terminal }\n a -> b 50% ± 5%\n a -> c otherwise\n}\n'))
    except (JourneyError, Exception):
        return False
    return True


def share_text(s: Share) -> str:
    """A fitted share, with its ``±`` half-width when the language supports it."""
    if supports_plus_minus() and s.half_width > 0:
        return f"{pct(s.share)} ± {pct(s.half_width)}"
    return pct(s.share)


# --- evidence comments ------------------------------------------------------------------------------


def _count(n: float, one: str, many: str) -> str:
    """``n`` and the word that goes with it, for the English evidence comments.

    >>> _count(1, "entry", "entries"), _count(1_200, "entry", "entries"), _count(0.6, "day", "days")
    ('1 entry', '1,200 entries', '1 day')
    """
    shown = f"{n:,.0f}"
    return f"{shown} {one if shown == '1' else many}"


def share_evidence(day: str, fit: StageFit, s: Share | None, *, otherwise: bool = False) -> str:
    entries = _count(fit.entries, "entry", "entries")
    head = f"fitted {day} from {entries}, {fit.open:,} still open"
    if otherwise and s is not None and s.exits > 0:
        return (f"fitted {day}: {pct(s.share)} from {entries}, {fit.open:,} still open; "
                f"95% {_interval(s.low, s.high)}; beta({s.alpha:,.1f}, {s.beta:,.1f}); written as otherwise")
    if s is None or s.exits == 0:
        upper = -math.expm1(math.log(0.025) / max(fit.entries, 1))
        return f"{head}; never taken (95% 0–{pct(upper)})"
    return f"{head}; 95% {_interval(s.low, s.high)}; beta({s.alpha:,.1f}, {s.beta:,.1f})"


def rate_evidence(day: str, fit: StageFit, r: Rate | None, per_days: float, unit: str) -> str:
    if r is None or r.exits == 0:
        upper = r.high if r else 0.0
        return (f"fitted {day}: no exit seen in {_count(fit.exposure_days, 'day', 'days')} at risk "
                f"(95% up to {pct(-math.expm1(-upper * per_days))} per {unit})")
    exits, days = _count(r.exits, "exit", "exits"), _count(r.exposure_days, "day", "days")
    return (f"fitted {day} from {exits} in {days} at risk, "
            f"{fit.open:,} still in the stage; 95% {_interval(r.chance(per_days, r.low), r.chance(per_days, r.high))}"
            f" per {unit}")


def dwell_evidence(day: str, fit: StageFit) -> str:
    best = fit.dwell[0]
    return (f"time in stage fitted {day} from {_count(fit.entries, 'stay', 'stays')}, {fit.open:,} still open: "
            f"{_runners_up(fit.dwell)}; mean {format_number(_sig(best.mean))} days")


#: per-exit times replace one time in stage only when their AIC is lower by more than this
EXIT_TIMES_AIC = 10.0


def per_exit(fit: StageFit) -> bool:
    """Whether the data's exits clearly take different times (so one ``dwell`` would misstate them)."""
    return fit.exit_times is not None and fit.exit_times.better_by > EXIT_TIMES_AIC


def after_evidence(day: str, fit: StageFit, target: int) -> str:
    assert fit.exit_times is not None
    c = fit.exit_times.by_target[target]
    return (f"time to this exit fitted {day}: {c.kind}, mean {format_number(_sig(c.mean))} days "
            f"(each exit timed apart: AIC {fit.exit_times.better_by:,.1f} lower than one time in stage)")


def _after_phrase(fit: StageFit, target: int) -> str:
    if not per_exit(fit):
        return ""
    assert fit.exit_times is not None
    return f" after {dist_text(fit.exit_times.by_target[target])}"


def segment_evidence(day: str, seg: SegmentFit) -> str:
    return f"segment fitted {day}: {seg.cases:,} cases ({pct(seg.share)}) carry '{seg.name}' in the data"


def override_evidence(day: str, s: Share, everyone: Share) -> str:
    return (f"fitted {day} for this segment: 95% {_interval(s.low, s.high)}, everyone's "
            f"{pct(everyone.share)} (95% {_interval(everyone.low, everyone.high)})")


def _segment_shares(segments: list[SegmentFit]) -> list[float]:
    """The segments' shares in percent, rounded to 0.1% and never adding up to more than 100%."""
    values = [round(seg.share * 100, 1) for seg in segments]
    excess = sum(values) - 100.0
    if values and excess > 0:
        big = max(range(len(values)), key=lambda i: values[i])
        values[big] = round(values[big] - excess, 1)
    return values


def _overrides_fit(fit: StageFit, changed: dict[int, float], otherwise: int | None) -> bool:
    """Whether overriding these explicit shares keeps the stage's explicit shares within 100%."""
    total = 0.0
    for s in fit.shares:
        if s.target == otherwise or s.exits == 0:
            continue
        total += round(changed.get(s.target, s.share) * 100, 1)
    return total <= 100.0


# --- editing the strategist's file -------------------------------------------------------------------


class _Edits:
    """Replacements at spans of the base text, applied from the end so earlier offsets stay valid."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        for ln in text.split("\n"):
            self.starts.append(self.starts[-1] + len(ln) + 1)
        self.items: list[tuple[int, int, str]] = []
        self.comments: dict[int, list[str]] = {}

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def line_text(self, line: int) -> str:
        return self.text.split("\n")[line - 1] if 0 < line <= len(self.starts) - 1 else ""

    def replace(self, span: Span, new: str) -> None:
        self.items.append((self.offset(span.line, span.col), self.offset(span.end_line, span.end_col), new))

    def insert(self, line: int, col: int, new: str) -> None:
        at = self.offset(line, col)
        self.items.append((at, at, new))

    def comment_above(self, line: int, text: str) -> None:
        """A comment line above ``line`` at its indentation (several stack in the order given)."""
        self.comments.setdefault(line, []).append(text)

    def apply(self) -> str:
        """The edited text; earlier fit comments right above a commented line are replaced, not piled up."""
        items = list(self.items)
        for line, texts in self.comments.items():
            current = self.line_text(line)
            indent = current[: len(current) - len(current.lstrip())]
            above = line - 1
            while above >= 1 and _OUR_COMMENT.match(self.line_text(above).strip()):
                above -= 1
            block = "".join(f"{indent}# {t}\n" for t in texts)
            items.append((self.starts[above], self.starts[line - 1], block))
        out = self.text
        for start, end, new in sorted(items, key=lambda e: (e[0], e[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out


#: the comments a fit writes (and replaces when fitting again)
_OUR_COMMENT = re.compile(
    r"^# (fitted |time in stage fitted |time to this exit fitted |entry share fitted |segment fitted "
    r"|the data's amount: )")


def _stages(node: sx.JourneyNode) -> list[sx.StageNode]:
    out: list[sx.StageNode] = []
    for item in node.items:
        if isinstance(item, sx.StageNode):
            out.append(item)
        elif isinstance(item, sx.PhaseNode):
            out.extend(item.stages)
    return out


def _per_days(d: sx.Duration) -> float:
    return (1.0 if d.count is None else d.count) * DAYS[d.unit]


def write_into(base_text: str, node: sx.JourneyNode, base: Journey, plan: Plan) -> str:
    """The base text with the fitted figures written over its own (not yet laid out by fmt)."""
    edits = _Edits(base_text)
    key = {name: i for i, name in enumerate(plan.names)}
    transitions = [t for t in node.items if isinstance(t, sx.TransitionNode)]
    by_source: dict[str, list[sx.TransitionNode]] = {}
    for t in transitions:
        by_source.setdefault(t.source.text, []).append(t)

    for source, edges in by_source.items():
        fit = plan.fits.get(source)
        if fit is None:
            continue
        base_targets = {key.get(e.target.text) for e in edges}
        rate_form = any(e.per is not None and not e.otherwise for e in edges)
        explicit: list[tuple[sx.TransitionNode, Share | None]] = []
        after_comments: list[tuple[int, str]] = []  # written below each edge's share comment
        for edge in edges:
            assert edge.span is not None
            target_key = key.get(edge.target.text)
            if rate_form:
                if (edge.share is None or edge.share.span is None or edge.per is None
                        or not isinstance(edge.per, sx.Duration)):
                    continue  # a period given by a parameter is the strategist's to keep
                per = _per_days(edge.per)
                unit = _unit_words(edge.per)
                r = fit.rate_of(target_key) if target_key is not None else None
                text = _nonzero_rate(pct(-math.expm1(-(r.per_day if r else 0.0) * per), 2))
                edits.replace(edge.share.span, text)
                evidence = rate_evidence(plan.day, fit, r, per, unit)
                edits.comment_above(edge.span.line, evidence)
                plan.written.append(Written(source, "rate", edge.target.text, f"{text} per {unit}", evidence))
                continue
            s = fit.share_of(target_key) if target_key is not None else None
            if edge.after and edge.after[0].span is not None and target_key is not None:
                times = fit.exit_times
                if times is not None and target_key in times.by_target:
                    new_after = dist_text(times.by_target[target_key])
                    edits.replace(edge.after[0].span, new_after)
                    evidence = after_evidence(plan.day, fit, target_key)
                    after_comments.append((edge.span.line, evidence))
                    plan.written.append(Written(source, "after", edge.target.text, new_after, evidence))
                else:
                    plan.warnings.append(f"'{source} -> {edge.target.text}' keeps its 'after': too few exits "
                                         "of each kind to time them apart (at least 10 each)")
            if edge.otherwise:
                shown = f"{pct(s.share)} (95% {_interval(s.low, s.high)})" if s else "0%"
                evidence = share_evidence(plan.day, fit, s, otherwise=True)
                edits.comment_above(edge.span.line, evidence)
                plan.written.append(Written(source, "otherwise", edge.target.text, shown, evidence))
                continue
            explicit.append((edge, s))
        if explicit:
            values = [round((s.share if s else 0.0) * 100, 1) for _, s in explicit]
            has_otherwise = any(e.otherwise for e in edges)
            total = sum(values)
            if total > 100.0:  # rounding: take the excess from the largest share
                big = max(range(len(values)), key=lambda i: values[i])
                values[big] = round(values[big] - (total - 100.0), 1)
            for (edge, s), value in zip(explicit, values, strict=True):
                assert edge.share is not None and edge.share.span is not None and edge.span is not None
                text = pct(value / 100) if s is None or value != round(s.share * 100, 1) else share_text(s)
                evidence = share_evidence(plan.day, fit, s)
                edits.replace(edge.share.span, text)
                edits.comment_above(edge.span.line, evidence)
                plan.written.append(Written(source, "share", edge.target.text, text, evidence))
            if not has_otherwise and sum(values) < 99.95 and not rate_form:
                plan.warnings.append(
                    f"the fitted shares out of '{source}' add up to {format_number(round(sum(values), 1))}%; "
                    "the rest stays there for good (add an 'otherwise' edge for it)")
        for line, evidence in after_comments:
            edits.comment_above(line, evidence)
        if rate_form and fit.dwell:
            expo = next((c for c in fit.dwell if c.kind == "exponential"), None)
            if expo is not None and expo.aic - fit.dwell[0].aic > EXIT_TIMES_AIC:
                plan.warnings.append(
                    f"the time in '{source}' is not memoryless ({fit.dwell[0].kind} fits better than a constant "
                    f"rate by AIC {expo.aic - fit.dwell[0].aic:,.1f}): its rate edges are an approximation")
        for share in fit.shares:
            if share.target not in base_targets and share.exits > 0:
                what = plan.names[share.target]
                plan.warnings.append(
                    f"the data shows '{source}' -> '{what}' for {pct(share.share)} of {fit.entries:,} entries "
                    f"({share.exits:,} exits), but the journey has no such edge; its share is not written "
                    "(add the edge, or map the stage with --map)")

    entry_total = sum(n for _, n in plan.entry_shares.values())
    explicit_entries = [(st, p) for st in _stages(node) for p in st.props
                        if isinstance(p, sx.EntryProp) and p.share is not None and p.share.span is not None]
    if len(explicit_entries) > 1 and entry_total:
        values = [round(plan.entry_shares.get(st.name.text, (0.0, 0))[0] * 100, 1) for st, _ in explicit_entries]
        big = max(range(len(values)), key=lambda i: values[i])
        values[big] = round(values[big] + 100.0 - sum(values), 1)  # the entries add up to exactly 100%
        for (st, prop), value in zip(explicit_entries, values, strict=True):
            assert prop.share is not None and prop.share.span is not None and st.span is not None
            edits.replace(prop.share.span, pct(value / 100))
            n = plan.entry_shares.get(st.name.text, (0.0, 0))[1]
            evidence = f"entry share fitted {plan.day}: {n:,} of {entry_total:,} cases started here"
            edits.comment_above(st.span.line, evidence)
            plan.written.append(Written(st.name.text, "entry", None, pct(value / 100), evidence))

    for stage in _stages(node):
        if stage.span is not None and stage.name.text in plan.amounts:
            mean, n = plan.amounts[stage.name.text]
            on_enter = next((p for p in stage.props if isinstance(p, sx.CashProp) and p.kind == "revenue"
                             and p.every is None and isinstance(p.money, sx.Money) and p.money.span is not None),
                            None)
            if plan.money and on_enter is not None and isinstance(on_enter.money, sx.Money) \
                    and on_enter.money.span is not None:
                amount = f"{round(mean, 2):.2f}" + (f" {on_enter.money.currency}" if on_enter.money.currency else "")
                edits.replace(on_enter.money.span, amount)
                note = f"the data's amount: mean {mean:,.2f} over {n:,} entries, written as the revenue on enter"
                plan.written.append(Written(stage.name.text, "money", None, amount, note))
            else:
                note = f"the data's amount: mean {mean:,.2f} over {n:,} entries (not written over the journey's money"
                note += ", which has no 'revenue ... on enter' here)" if plan.money else "; --money writes it)"
            edits.comment_above(stage.span.line, note)
        fit = plan.fits.get(stage.name.text)
        if fit is None or stage.span is None:
            continue
        edges = by_source.get(stage.name.text, [])
        if not edges or any(e.per is not None and not e.otherwise for e in edges) or not fit.dwell:
            continue
        dwell = next((p for p in stage.props if isinstance(p, sx.DwellProp)), None)
        best = fit.dwell[0]
        new = dist_text(best)
        if per_exit(fit) and dwell is not None and not any(e.after for e in edges):
            assert fit.exit_times is not None
            means = ", ".join(f"'{plan.names[t]}' {format_number(_sig(c.mean))} days"
                              for t, c in fit.exit_times.by_target.items())
            plan.warnings.append(
                f"the exits out of '{stage.name.text}' take clearly different times (mean {means}; AIC "
                f"{fit.exit_times.better_by:,.1f} lower timed apart): one 'dwell' cannot show that; give each "
                "exit its own 'after' (journeydsl fit without --into writes them) and fit again")
        if dwell is None and any(e.after for e in edges):
            continue
        if dwell is not None and dwell.dist.span is not None:
            edits.replace(dwell.dist.span, new)
        elif stage.has_body:
            end = stage.span
            edits.insert(end.end_line, end.end_col - 1, f"; dwell {new} ")
        else:
            end = stage.span
            edits.insert(end.end_line, end.end_col, f" {{ dwell {new} }}")
        evidence = dwell_evidence(plan.day, fit)
        edits.comment_above(stage.span.line, evidence)
        plan.written.append(Written(stage.name.text, "dwell", None, new, evidence))
        if best.kind != "exponential" and any(e.after for e in edges):
            plan.warnings.append(f"'{stage.name.text}' also has 'after' delays on some exits; they override "
                                 "the fitted dwell for those exits")
    _write_segments_into(edits, node, plan, by_source, key)
    _ = base
    return edits.apply()


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("ё", "е")).strip().casefold()


def _modifiers(edits: _Edits, edge: sx.TransitionNode, fit: StageFit, target: int | None) -> str:
    """The ``after``/``via`` of a base edge, as a segment override must repeat them (fitted ``after`` kept)."""
    out = ""
    if edge.after:
        times = fit.exit_times
        if times is not None and target is not None and target in times.by_target:
            out += f" after {dist_text(times.by_target[target])}"
        elif edge.after[0].span is not None:
            span = edge.after[0].span
            out += " after " + edits.text[edits.offset(span.line, span.col):edits.offset(span.end_line, span.end_col)]
    for via in edge.via:
        out += f" via {via.text}"
    return out


def _write_segments_into(edits: _Edits, node: sx.JourneyNode, plan: Plan,
                         by_source: dict[str, list[sx.TransitionNode]], key: dict[str, int]) -> None:
    """Segment shares and the exit shares that differ in a segment, into the base's matching segments."""
    if not plan.segments:
        return
    nodes = [it for it in node.items if isinstance(it, sx.SegmentNode)]
    lookup: dict[str, sx.SegmentNode] = {}
    for seg_node in nodes:
        lookup[_norm(seg_node.name.text)] = seg_node
        if seg_node.label:
            lookup.setdefault(_norm(seg_node.label), seg_node)
    matched = [(seg, lookup[_norm(seg.name)]) for seg in plan.segments if _norm(seg.name) in lookup]
    for seg in plan.segments:
        if _norm(seg.name) not in lookup:
            plan.warnings.append(
                f"the data's segment '{seg.name}' ({seg.cases:,} cases, {pct(seg.share)}) is not a segment of "
                "the journey (by name or label); add 'segment NAME SHARE { }' to fit it")
    others = [n.share for n in nodes if all(m is not n for _, m in matched)]
    # a share given by a parameter or with a range is the strategist's: then the data's shares are not written
    plain = all(isinstance(sh, sx.Share) for sh in others) and all(isinstance(m.share, sx.Share) for _, m in matched)
    kept = sum(sh.value / (100 if sh.percent else 1) for sh in others if isinstance(sh, sx.Share))
    values = _segment_shares([seg for seg, _ in matched])
    write_shares = plain and sum(values) / 100 + kept <= 1.0 + 1e-9
    if matched and not write_shares:
        plan.warnings.append(
            "the journey gives a segment's share by a parameter or a range; the segments' shares are kept as written"
            if not plain else "the data's segment shares and the journey's other segments add up to more than "
            "100%; the segments' shares are kept as written")
    for (seg, seg_node), value in zip(matched, values, strict=True):
        assert seg_node.span is not None
        if write_shares and seg_node.share.span is not None:
            edits.replace(seg_node.share.span, pct(value / 100))
            edits.comment_above(seg_node.span.line, segment_evidence(plan.day, seg))
            plan.written.append(Written(seg_node.name.text, "segment", None, pct(value / 100),
                                        segment_evidence(plan.day, seg)))
        existing = {(t.source.text, t.target.text): t for t in seg_node.overrides if isinstance(t, sx.TransitionNode)}
        closing = edits.line_text(seg_node.span.end_line)
        for stage_key, share, everyone in seg.differs:
            source, target = plan.names[stage_key], plan.names[share.target]
            fit = plan.fits.get(source)
            base_edge = next((e for e in by_source.get(source, []) if e.target.text == target), None)
            if fit is None or base_edge is None or base_edge.otherwise or base_edge.per is not None:
                continue
            otherwise = next((key.get(e.target.text) for e in by_source[source] if e.otherwise), None)
            if not _overrides_fit(fit, {share.target: share.share}, otherwise):
                continue
            evidence = override_evidence(plan.day, share, everyone)
            mine = existing.get((source, target))
            if mine is not None and mine.share is not None and mine.share.span is not None and mine.span is not None:
                edits.replace(mine.share.span, pct(share.share))
                edits.comment_above(mine.span.line, evidence)
            else:  # a new line before the closing brace (fmt lays the block out afterwards)
                indent = closing[: len(closing) - len(closing.lstrip())] + "    "
                line = f"{source} -> {target} {pct(share.share)}{_modifiers(edits, base_edge, fit, share.target)}"
                edits.insert(seg_node.span.end_line, seg_node.span.end_col - 1,
                             f"\n{indent}# {evidence}\n{indent}{line}\n{indent[:-4]}")
            plan.written.append(Written(seg_node.name.text, "segment-share", f"{source} -> {target}",
                                        pct(share.share), evidence))


def _nonzero_rate(text: str) -> str:
    """A rate of exactly 0% is written as 0.01%: a zero hazard makes the edge pointless, not invalid."""
    return "0.01%" if text in ("0%", "0.00%") else text


def _unit_words(d: sx.Duration) -> str:
    if d.count is None or d.count == 1:
        return d.unit
    return f"{format_number(d.count)} {d.unit}s"


# --- a journey from the data alone --------------------------------------------------------------------

_RU = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t",
     "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"], strict=True))
_KEYWORDS = {
    "journey", "currency", "horizon", "discount", "customers", "phase", "stage", "entry", "terminal", "goal",
    "active", "dwell", "touch", "enter", "revenue", "cost", "every", "purchases", "worth", "otherwise", "after",
    "via", "touchpoint", "channel", "response", "trigger", "when", "in", "send", "then", "limit", "segment",
    "scenario", "without", "on", "per", "for", "exponential", "gamma", "lognormal", "uniform", "weibull",
    "normal", "mean", "sd", "shape", "scale", "low", "high", "value", "day", "days", "week", "weeks", "month",
    "months", "quarter", "quarters", "year", "years", "param", "plan", "targets",
}


def stage_id(name: str, taken: set[str]) -> str:
    """A stage id made from a CRM stage name: transliterated, lowercase, ``_`` between words, unique.

    >>> stage_id("Переговоры с ЛПР", set()), stage_id("Closed Won", set()), stage_id("142", set())
    ('peregovory_s_lpr', 'closed_won', 'stage_142')
    """
    text = "".join(_RU.get(ch, _RU.get(ch.lower(), ch)) for ch in name.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ident = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:40].strip("_") or "stage"
    if not re.match(r"[a-z_]", ident) or ident in _KEYWORDS or re.fullmatch(r"[A-Z]{3}", ident):
        ident = f"stage_{ident}"
    candidate, k = ident, 2
    while candidate in taken:
        candidate, k = f"{ident}_{k}", k + 1
    taken.add(candidate)
    return candidate


def write_new(
    title: str,
    plan: Plan,
    labels: dict[int, str],
    order: list[int],
    entries: dict[int, float],
    goal: int | None,
    terminal: set[int],
    header: list[str],
    rate_ok: Callable[[StageFit], bool],
) -> str:
    """A whole journey from the data: stages in order of first appearance, then their exits."""
    lines = [f"# {h}" for h in header]
    lines.append(f"journey {json.dumps(title, ensure_ascii=False)} {{")
    body: list[str] = []
    edges: list[str] = []
    for key in order:
        name = plan.names[key]
        fit = plan.fits.get(name)
        props: list[str] = []
        if key in entries:
            props.append("entry" if len(entries) == 1 else f"entry {pct(entries[key])}")
        if key == goal:
            props.append("goal")
        if key in terminal:
            props.append("terminal")
        as_rate = fit is not None and rate_ok(fit)
        if fit is not None and per_exit(fit) and not as_rate:
            assert fit.exit_times is not None
            for t, c in fit.exit_times.by_target.items():
                plan.written.append(Written(name, "after", plan.names[t], dist_text(c),
                                            after_evidence(plan.day, fit, t)))
        elif fit is not None and fit.dwell and not as_rate and fit.targets:
            props.append(f"dwell {dist_text(fit.dwell[0])}")
            body.append(f"    # {dwell_evidence(plan.day, fit)}")
            plan.written.append(Written(name, "dwell", None, dist_text(fit.dwell[0]), dwell_evidence(plan.day, fit)))
        if name in plan.amounts:
            mean, n = plan.amounts[name]
            body.append(f"    # the data's amount: mean {mean:,.2f} over {n:,} entries")
        label = labels.get(key, name)
        label_text = f" {json.dumps(label, ensure_ascii=False)}" if label != name else ""
        inner = f" {{ {'; '.join(props)} }}" if props else ""
        body.append(f"    stage {name}{label_text}{inner}")
        if fit is None or not fit.targets:
            continue
        if as_rate:
            r = fit.rates[0]
            text = _nonzero_rate(pct(r.chance(MONTH), 2))
            evidence = rate_evidence(plan.day, fit, r, MONTH, "month")
            edges += [f"    # {evidence}", f"    {name} -> {plan.names[r.target]} {text} per month"]
            plan.written.append(Written(name, "rate", plan.names[r.target], f"{text} per month", evidence))
            continue
        shares = sorted((s for s in fit.shares if s.exits > 0), key=lambda s: -s.share)
        if not shares:
            continue
        rest = shares[0]
        timed = per_exit(fit)
        for s in shares[1:]:
            evidence = share_evidence(plan.day, fit, s)
            edges += [f"    # {evidence}"] + ([f"    # {after_evidence(plan.day, fit, s.target)}"] if timed else [])
            edges.append(f"    {name} -> {plan.names[s.target]} {share_text(s)}{_after_phrase(fit, s.target)}")
            plan.written.append(Written(name, "share", plan.names[s.target], share_text(s), evidence))
        shown = f"{pct(rest.share)} (95% {_interval(rest.low, rest.high)})"
        evidence = share_evidence(plan.day, fit, rest, otherwise=True)
        edges += [f"    # {evidence}"] + ([f"    # {after_evidence(plan.day, fit, rest.target)}"] if timed else [])
        edges.append(f"    {name} -> {plan.names[rest.target]} otherwise{_after_phrase(fit, rest.target)}")
        plan.written.append(Written(name, "otherwise", plan.names[rest.target], shown, evidence))
    lines += body
    if edges:
        lines.append("")
        lines += edges
    taken: set[str] = set()
    segments = [seg for seg in plan.segments]
    for seg, value in zip(segments, _segment_shares(segments), strict=True):
        sid = stage_id(seg.name, taken)
        label = f" {json.dumps(seg.name, ensure_ascii=False)}" if seg.name != sid else ""
        lines += ["", f"    # {segment_evidence(plan.day, seg)}", f"    segment {sid}{label} {pct(value / 100)} {{"]
        plan.written.append(Written(sid, "segment", None, pct(value / 100), segment_evidence(plan.day, seg)))
        by_stage: dict[int, list[tuple[Share, Share]]] = {}
        for key, share, everyone in seg.differs:
            by_stage.setdefault(key, []).append((share, everyone))
        for key, pairs in by_stage.items():
            name = plan.names[key]
            fit = plan.fits[name]
            if rate_ok(fit):
                continue
            otherwise = max((s for s in fit.shares if s.exits > 0), key=lambda s: s.share).target
            pairs = [(s, e) for s, e in pairs if s.target != otherwise]
            if not pairs or not _overrides_fit(fit, {s.target: s.share for s, _ in pairs}, otherwise):
                continue
            for share, everyone in pairs:
                lines += [f"        # {override_evidence(plan.day, share, everyone)}",
                          f"        {name} -> {plan.names[share.target]} {pct(share.share)}"
                          f"{_after_phrase(fit, share.target)}"]
                plan.written.append(Written(sid, "segment-share", f"{name} -> {plan.names[share.target]}",
                                            pct(share.share), override_evidence(plan.day, share, everyone)))
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def new_journey_source(text: str, path: str = "<fitted>") -> Source:
    return Source(path, text)
