"""The validation rules of the language, as plain functions ``Journey -> list[Diagnostic]``.

Every rule of language.md's *Validation* section that can be judged from
the model lives here, listed in :data:`CHECKS`. :func:`check_all` runs them on
the base journey, on each scenario and segment journey and on each segment
inside each scenario (what a customer of that segment meets in that scenario),
and reports a variant's own problems at the variant's span, saying which one
it is. So a journey that checks clean merges cleanly for every customer.

Codes: ``E2xx`` names, ``E3xx`` values, ``E4xx`` structure, ``W5xx``
warnings (the full table is in ``docs/language.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from journeydsl.language.digraph import Adjacency, adjacency, find_cycle, reach, reverse, strongly_connected
from journeydsl.language.errors import Diagnostic, Severity, did_you_mean
from journeydsl.language.model import Journey, Transition, Trigger
from journeydsl.language.source import Span

__all__ = [
    "CHECKS",
    "CODES",
    "Check",
    "check_all",
    "check_behaviour",
    "check_behaviour_answers",
    "check_branch_shares",
    "check_entries",
    "check_exits_of_terminal",
    "check_goals",
    "check_limits",
    "check_mixed_forms",
    "check_names",
    "check_rates",
    "check_reachability",
    "check_references",
    "check_segment_shares",
    "check_share_ranges",
    "check_triggers",
    "check_unused_touchpoints",
    "check_zero_time_loops",
    "trigger_offsets",
]

Check = Callable[[Journey], list[Diagnostic]]

#: Every diagnostic code, with a short slug (documented in docs/language.md).
CODES: dict[str, str] = {
    "E100": "syntax",
    "E101": "unexpected-token",
    "E102": "unexpected-character",
    "E103": "file-too-large",
    "E104": "binary-file",
    "E105": "empty-file",
    "E106": "unreadable-file",
    "E107": "bad-escape",
    "E201": "unknown-stage",
    "E202": "unknown-touchpoint",
    "E203": "unknown-trigger",
    "E204": "unknown-transition",
    "E205": "unknown-step",
    "E210": "duplicate-name",
    "E211": "duplicate-property",
    "E212": "reserved-name",
    "E300": "invalid-value",
    "E301": "share-out-of-range",
    "E302": "shares-over-100",
    "E303": "share-without-percent",
    "E304": "currency-mismatch",
    "E305": "invalid-distribution",
    "E306": "wrong-unit",
    "E307": "non-positive-duration",
    "E308": "negative-money",
    "E309": "invalid-count",
    "E310": "missing-property",
    "E311": "invalid-combination",
    "E312": "entry-shares-not-100",
    "E313": "entries-without-share",
    "E314": "segment-shares-over-100",
    "E315": "beyond-engine-limits",
    "E316": "funnel-steps-grow",
    "E320": "not-a-month",
    "E321": "plan-incomplete",
    "E322": "month-outside-plan",
    "E323": "unknown-scenario",
    "E324": "invalid-target",
    "E325": "invalid-plan-number",
    "E330": "unknown-channel",
    "E331": "invalid-quiet-hours",
    "E332": "business-days-misused",
    "E333": "invalid-calendar",
    "E401": "mixed-transition-forms",
    "E402": "exit-from-terminal",
    "E403": "no-entry",
    "E404": "zero-time-loop",
    "E405": "several-otherwise",
    "E406": "behaviour-without-contact",
    "W501": "unreachable-stage",
    "W502": "dead-end-stage",
    "W503": "share-remainder-stays",
    "W504": "unreachable-goal",
    "W505": "instant-rate",
    "W506": "limit-without-every",
    "W507": "no-goal",
    "W508": "otherwise-gets-nothing",
    "W509": "trigger-after-horizon",
    "W510": "trigger-does-nothing",
    "W511": "unused-touchpoint",
    "E601": "unknown-parameter",
    "E602": "parameter-kind-mismatch",
    "E603": "invalid-parameter-value",
    "E604": "parameter-not-allowed-here",
    "W601": "unused-parameter",
}

_EPS = 1e-9

#: The value ranges the engine honours exactly (documented in docs/language.md, *Limits*).
#: Values beyond them are ``E315`` errors at check time, never a crash or an endless run.
MAX_HORIZON_DAYS = 36_500.0  # 100 years
MAX_DISCOUNT = 1.0  # 100% a year
MAX_MONEY = 1e12  # any amount or money parameter
MIN_DAYS = 1e-4  # a positive duration (about 9 seconds)
MAX_DIST_DAYS = 1e9  # a duration parameter of a distribution
MAX_PURCHASES_PER_DAY = 1_000.0
MAX_CUSTOMERS = 1_000_000_000
MAX_EXITS = 10_000  # transitions and rerouting triggers out of one stage
#: The largest run (in engine steps) simulated without ``--force`` / ``max_work=None``: about
#: 15 minutes on one core of the development machine (``montecarlo.estimate_work``).
DEFAULT_MAX_WORK = 1.5e10
SHAPE_RANGE: dict[str, tuple[float, float]] = {"gamma": (0.1, 1e6), "weibull": (0.1, 1e3)}
MAX_CV = 1e6  # a lognormal's sd over its mean


def _diag(
    journey: Journey, span: Span | None, code: str, message: str, hint: str | None = None
) -> Diagnostic:
    severity: Severity = "warning" if code.startswith("W") else "error"
    return Diagnostic(span, severity, code, message, hint, journey.source or "<journey>")


def _pct(v: float) -> str:
    """``0.3`` -> ``'30%'`` (at most 4 significant digits)."""
    return f"{v * 100:.4g}%"


def _edge(t: Transition) -> str:
    return f"'{t.source} -> {t.target}'"


def _out_edges(journey: Journey) -> dict[str, list[Transition]]:
    """Transitions by source stage, in file order (one pass, not one scan per stage).

    Kept for the last tuple of transitions asked about: the checks of one journey ask
    three times. Callers only read it.
    """
    done = _OUT_EDGES[0]
    if done is not None and done[0] is journey.transitions:
        return done[1]
    out: dict[str, list[Transition]] = {}
    for t in journey.transitions:
        out.setdefault(t.source, []).append(t)
    _OUT_EDGES[0] = (journey.transitions, out)
    return out


_OUT_EDGES: list[tuple[tuple[Transition, ...], dict[str, list[Transition]]] | None] = [None]


def _line(span: Span | None) -> str:
    return f" (line {span.line})" if span else ""


# --- names ------------------------------------------------------------------


def check_names(journey: Journey) -> list[Diagnostic]:
    """Duplicate names of stages, touchpoints, triggers, segments, scenarios; reserved names."""
    out: list[Diagnostic] = []
    groups: list[tuple[str, Iterable[tuple[str, Span | None]]]] = [
        ("stage", ((s.name, s.span) for s in journey.stages)),
        ("touchpoint", ((t.name, t.span) for t in journey.touchpoints)),
        ("trigger", ((t.name, t.span) for t in journey.triggers)),
        ("segment", ((s.name, s.span) for s in journey.segments)),
        ("scenario", ((s.name, s.span) for s in journey.scenarios)),
    ]
    for kind, items in groups:
        seen: dict[str, Span | None] = {}
        for name, span in items:
            if name in seen:
                out.append(_diag(journey, span, "E210", f"duplicate {kind} '{name}'",
                                 f"each {kind} has its own name (first{_line(seen[name])})"))
            else:
                seen[name] = span
    keys: dict[tuple[str, str], Span | None] = {}
    for t in journey.transitions:
        if t.key in keys:
            out.append(_diag(journey, t.span, "E210", f"duplicate transition {_edge(t)}",
                             "there is one transition per pair of stages"))
        keys[t.key] = t.span
    if any(s.name == "baseline" for s in journey.scenarios):
        sc = journey.scenario("baseline")
        out.append(_diag(journey, sc.span, "E212",
                         "'baseline' names the journey without scenarios; choose another name"))
    for seg in journey.segments:
        if seg.name == "default":
            out.append(_diag(journey, seg.span, "E212",
                             "'default' names the customers in no segment; choose another name"))
    return out


def check_references(journey: Journey) -> list[Diagnostic]:
    """Every stage and touchpoint a transition, stage or trigger names exists."""
    out: list[Diagnostic] = []
    stages = {s.name for s in journey.stages}
    tps = {t.name for t in journey.touchpoints}

    def known(kind: str, names: set[str]) -> str:
        listed = ", ".join(f"'{n}'" for n in sorted(names)[:8])
        return f"the {kind}s here are {listed}" if names else f"there is no {kind} here"

    def stage_ref(name: str | None, span: Span | None) -> None:
        if name is not None and name not in stages:
            out.append(_diag(journey, span, "E201", f"unknown stage '{name}'",
                             did_you_mean(name, stages) or known("stage", stages)))

    def tp_ref(name: str | None, span: Span | None) -> None:
        if name is not None and name not in tps:
            out.append(_diag(journey, span, "E202", f"unknown touchpoint '{name}'",
                             did_you_mean(name, tps) or known("touchpoint", tps)
                             + f"; a touchpoint a segment adds is not there for the others:"
                             f" add '{name}' with a channel where it is used"))

    for t in journey.transitions:
        stage_ref(t.source, t.span)
        stage_ref(t.target, t.span)
        tp_ref(t.via, t.span)
    for s in journey.stages:
        for name in s.touches:
            tp_ref(name, s.span)
    for g in journey.triggers:
        stage_ref(g.stage, g.span)
        stage_ref(g.then_stage, g.span)
        for name in g.send:
            tp_ref(name, g.span)
        tp_ref(g.on_touch, g.span)
        for name, _step in g.unless:
            tp_ref(name, g.span)
    return out


def trigger_offsets(journey: Journey) -> dict[str, float]:
    """The earliest time into a stay each trigger can fire (behaviour triggers: their first
    answered contact's, plus the wait of ``no response``); unreachable ones are left out."""
    out: dict[str, float] = {}
    for g in journey.triggers:
        if g.when == "enter":
            out[g.name] = 0.0
        elif g.when in ("in", "every"):
            out[g.name] = float(g.days or 0.0)
    for _round in range(len(journey.triggers)):
        changed = False
        for g in journey.triggers:
            if not g.behaviour:
                continue
            parents = [out[p.name] for p in journey.triggers
                       if p.stage == g.stage and g.on_touch in p.send and p.name in out]
            if not parents:
                continue
            off = min(parents) + (float(g.days or 0.0) if g.when == "no_response" else 0.0)
            if out.get(g.name, math.inf) > off:
                out[g.name] = off
                changed = True
        if not changed:
            break
    return out


def check_behaviour_answers(journey: Journey) -> list[Diagnostic]:
    """A behaviour trigger of the base journey answers a contact a trigger of its stage sends.

    Judged on the base only: a scenario that removes the sender (``without trigger``)
    leaves the answer with nothing to answer on purpose, and it then never fires."""
    return [
        _diag(journey, g.span, "E406",
              f"no trigger of stage '{g.stage}' sends '{g.on_touch}', so trigger '{g.name}' never fires",
              f"a behaviour condition answers a contact a trigger of its stage sends: add 'send {g.on_touch}' to one")
        for g in journey.triggers
        if g.behaviour and g.on_touch is not None
        and not any(p.stage == g.stage and g.on_touch in p.send for p in journey.triggers if p is not g)
    ]


def check_behaviour(journey: Journey) -> list[Diagnostic]:
    """Behaviour conditions answer a contact sent in their stage, to a step it has; a task
    with a capacity needs the journey's ``arrivals`` to load its queue."""
    out: list[Diagnostic] = []
    tps = {t.name: t for t in journey.touchpoints}
    for g in journey.triggers:
        refs = list(g.unless) + ([(g.on_touch, g.on_step)] if g.on_touch is not None else [])
        for name, step in refs:
            tp = tps.get(name)
            if tp is not None and step is not None and step not in tp.step_names:
                out.append(_diag(journey, g.span, "E205", f"touchpoint '{name}' has no step '{step}'",
                                 did_you_mean(step, tp.step_names)
                                 or f"refer to its response as '{name}'"))
        answered = tps.get(g.on_touch or "")
        if g.behaviour and answered is not None and answered.capacity_per_day is not None:
            out.append(_diag(journey, g.span, "E406",
                             f"trigger '{g.name}' answers task '{answered.name}', which waits in its queue"
                             " for a time of its own for each customer",
                             "a behaviour condition answers a contact made at the trigger's moment; "
                             f"answer another touchpoint sent with '{answered.name}', or give the task no capacity"))
    if journey.arrivals_per_day is None:
        for tp in journey.touchpoints:
            if tp.capacity_per_day is not None:
                out.append(_diag(journey, tp.span, "E310",
                                 f"task '{tp.name}' has a capacity, but the journey does not say how"
                                 " many customers arrive",
                                 "add 'arrivals 60 per day' (new customers a day) to the journey: the"
                                 " queue of tasks depends on it"))
    return out


# --- values -----------------------------------------------------------------


def check_share_ranges(journey: Journey) -> list[Diagnostic]:
    """Shares, rates, responses and entry shares lie within 0..100%."""
    out: list[Diagnostic] = []

    def bad(v: float | None) -> bool:
        return v is not None and not (-_EPS <= v <= 1 + _EPS and math.isfinite(v))

    def within(v: float | None, what: str, span: Span | None) -> None:
        if bad(v):
            assert v is not None
            out.append(_diag(journey, span, "E301",
                             f"{what} is {_pct(v)}, outside 0% to 100%",
                             "a share is a percentage from 0% to 100%"))

    # (the message is written only for a value out of range: a big journey has thousands)
    for s in journey.stages:
        if bad(s.entry):
            within(s.entry, f"the entry share of '{s.name}'", s.span)
    for t in journey.transitions:
        if bad(t.share):
            within(t.share, f"the share of {_edge(t)}", t.span)
        if bad(t.rate):
            within(t.rate, f"the rate of {_edge(t)}", t.span)
    for tp in journey.touchpoints:
        within(tp.response, f"the response of touchpoint '{tp.name}'", tp.span)
    for g in journey.triggers:
        within(g.response, f"the response of trigger '{g.name}'", g.span)
        within(g.then_share, f"the 'then' share of trigger '{g.name}'", g.span)
    for seg in journey.segments:
        within(seg.share, f"the share of segment '{seg.name}'", seg.span)
    return out


def check_branch_shares(journey: Journey) -> list[Diagnostic]:
    """Branch shares out of a stage sum to at most 100%; one ``otherwise``; remainders."""
    out: list[Diagnostic] = []
    edges = _out_edges(journey)
    for s in journey.stages:
        branches = [t for t in edges.get(s.name, ()) if t.kind == "branch"]
        if not branches:
            continue
        total = sum(t.share or 0.0 for t in branches)
        others = [t for t in branches if t.otherwise]
        if len(others) == 1 and total < 1 - _EPS:
            continue  # the usual case: shares under 100% and one 'otherwise' (nothing to say)
        listing = ", ".join(
            f"{t.target} {'otherwise' if t.otherwise else _pct(t.share or 0)}{_line(t.span)}"
            for t in branches
        )
        in_range = all(0 <= (t.share or 0.0) <= 1 + _EPS for t in branches)
        if total > 1 + _EPS and in_range:
            first = next(t for t in branches if not t.otherwise)
            out.append(_diag(journey, first.span, "E302",
                             f"shares out of '{s.name}' add up to {_pct(total)} (at most 100%)",
                             f"the branches are: {listing}"))
        if len(others) > 1:
            out.append(_diag(journey, others[1].span, "E405",
                             f"'{s.name}' has {len(others)} 'otherwise' branches (at most 1)",
                             f"'otherwise' takes what the shares leave; the branches are: {listing}"))
        if not others and total < 1 - _EPS and not s.terminal:
            out.append(_diag(journey, branches[-1].span, "W503",
                             f"shares out of '{s.name}' add up to {_pct(total)}: the other"
                             f" {_pct(1 - total)} stay in '{s.name}' for good",
                             f"add '{s.name} -> STAGE otherwise' if they should leave"))
        if others and total >= 1 - _EPS and total <= 1 + _EPS:
            out.append(_diag(journey, others[0].span, "W508",
                             f"the shares out of '{s.name}' already add up to 100%, so"
                             f" {_edge(others[0])} 'otherwise' is never taken"))
    return out


def check_rates(journey: Journey) -> list[Diagnostic]:
    """A rate of 100% per period means leaving at once: say so."""
    return [
        _diag(journey, t.span, "W505",
              f"the rate of {_edge(t)} is 100% per period: customers leave '{t.source}' at once",
              "use a branch ('100%' or 'otherwise') for an instant move, or a rate below 100%")
        for t in journey.transitions
        if t.rate is not None and t.rate >= 1 - _EPS and t.rate <= 1 + _EPS
    ]


def check_mixed_forms(journey: Journey) -> list[Diagnostic]:
    """A stage's exits are all branches or all rates."""
    out: list[Diagnostic] = []
    by_source = _out_edges(journey)
    for s in journey.stages:
        edges = by_source.get(s.name, [])
        kinds = {t.kind for t in edges}
        if len(kinds) > 1:
            first_rate = next(t for t in edges if t.kind == "rate")
            first_branch = next(t for t in edges if t.kind == "branch")
            out.append(_diag(journey, first_rate.span, "E401",
                             f"'{s.name}' mixes branches and rates in its exits",
                             f"{_edge(first_branch)}{_line(first_branch.span)} is a branch and"
                             f" {_edge(first_rate)} a rate; a stage uses one form"))
    return out


def check_segment_shares(journey: Journey) -> list[Diagnostic]:
    """Segment shares add up to at most 100%."""
    total = sum(s.share for s in journey.segments)
    if journey.segments and total > 1 + _EPS:
        listing = ", ".join(f"{s.name} {_pct(s.share)}" for s in journey.segments)
        return [_diag(journey, journey.segments[0].span, "E314",
                      f"segment shares add up to {_pct(total)} (at most 100%)",
                      f"the segments are: {listing}; the rest is segment 'default'")]
    return []


def check_limits(journey: Journey) -> list[Diagnostic]:
    """Values the engine cannot simulate exactly: too many exits from a stage, too many purchases.

    The limits of single values (horizon, discount, money, durations, shapes)
    are judged where they are written, in :mod:`journeydsl.language.compile`.
    """
    out: list[Diagnostic] = []
    edges = _out_edges(journey)
    reroutes: dict[str, int] = {}
    for g in journey.triggers:
        if g.then_stage is not None:
            reroutes[g.stage] = reroutes.get(g.stage, 0) + 1
    for s in journey.stages:
        listed = edges.get(s.name, [])
        count = len(listed) + reroutes.get(s.name, 0)
        if count > MAX_EXITS:
            out.append(_diag(journey, listed[MAX_EXITS].span if len(listed) > MAX_EXITS else s.span,
                             "E315", f"'{s.name}' has {count:,} ways out (transitions and triggers"
                             f" with 'then'), more than the {MAX_EXITS:,} one stage can have",
                             "group the targets into fewer stages"))
        for p in s.purchases:
            if p.rate_per_day > MAX_PURCHASES_PER_DAY:
                out.append(_diag(journey, p.span, "E315",
                                 f"'{s.name}' has {p.rate_per_day:.4g} purchases a day, more than"
                                 f" the {MAX_PURCHASES_PER_DAY:,.0f} a day the engine draws one by one",
                                 "model a customer's spend per period as 'revenue MONEY every DURATION'"))
    return out


# --- structure ---------------------------------------------------------------


def check_entries(journey: Journey) -> list[Diagnostic]:
    """At least one entry stage; entry shares sum to 100%."""
    entries = journey.entries
    if not entries:
        return [_diag(journey, journey.span and Span.point(journey.span.line, journey.span.col),
                      "E403", "no stage is an entry: customers have nowhere to start",
                      "mark the first stage with 'entry', like 'stage visitor { entry }'")]
    total = sum(s.entry or 0.0 for s in entries)
    if abs(total - 1.0) > 1e-6:
        listing = ", ".join(f"{s.name} {_pct(s.entry or 0)}" for s in entries)
        return [_diag(journey, entries[0].span, "E312",
                      f"entry shares add up to {_pct(total)} (they must make 100%)",
                      f"the entries are: {listing}; an 'entry' without a share takes the rest")]
    return []


def check_exits_of_terminal(journey: Journey) -> list[Diagnostic]:
    """Nothing leaves a terminal stage: no transition, no trigger reroute."""
    terminal = {s.name for s in journey.stages if s.terminal}
    out = [
        _diag(journey, t.span, "E402", f"{_edge(t)} leaves the terminal stage '{t.source}'",
              f"a terminal stage is the end; drop 'terminal' from '{t.source}' or this line")
        for t in journey.transitions if t.source in terminal
    ]
    out.extend(
        _diag(journey, g.span, "E402",
              f"trigger '{g.name}' moves customers out of the terminal stage '{g.stage}'",
              "a terminal stage is the end; a trigger there may send, but not 'then'")
        for g in journey.triggers if g.stage in terminal and g.then_stage is not None
    )
    return out


def _zero_time_graph(journey: Journey) -> tuple[Adjacency, dict[tuple[str, str], Transition | Trigger]]:
    """Steps that can take no time: the rule of ``graph.zero_time_cycles``, plus trigger reroutes on enter.

    The graph, and what makes each step (the last statement given for it).
    """
    names = {s.name: s for s in journey.stages}
    what: dict[tuple[str, str], Transition | Trigger] = {}
    for t in journey.transitions:
        if t.source not in names:
            continue
        if t.kind == "rate":
            if (t.rate or 0.0) >= 1:  # 100% per period: leaves at once (Transition.hazard)
                what[t.source, t.target] = t
            continue
        delay = t.after if t.after is not None else names[t.source].dwell
        if delay is None or delay.can_be_zero():
            what[t.source, t.target] = t
    offsets = trigger_offsets(journey)
    for tg in journey.triggers:
        instant = tg.when != "every" and offsets.get(tg.name) == 0
        if instant and tg.then_stage is not None and tg.stage in names:
            what[tg.stage, tg.then_stage] = tg
    return adjacency(what), what


def check_zero_time_loops(journey: Journey) -> list[Diagnostic]:
    """No loop can be travelled in zero time (one report per loop group, linear time)."""
    g, what = _zero_time_graph(journey)
    out: list[Diagnostic] = []
    for comp in strongly_connected(g):
        if len(comp) == 1 and (comp[0], comp[0]) not in what:
            continue
        cycle = find_cycle(g, set(comp))
        nodes = [u for u, _v in cycle] + [cycle[0][0]]
        steps = [what[u, v] for u, v in cycle]
        first = min(steps, key=lambda w: (w.span.line, w.span.col) if w.span else (0, 0))
        rates = any(isinstance(w, Transition) and w.kind == "rate" for w in steps)
        hint = "give a stage on the loop a 'dwell' or a transition an 'after' delay"
        if rates:
            hint = "a rate of 100% per period leaves at once: use a rate below 100%, or " + hint
        out.append(_diag(journey, first.span, "E404",
                         f"the loop {' -> '.join(nodes)} can be travelled in zero time", hint))
    return out


def _reach_graph(journey: Journey) -> Adjacency:
    """Stages and the moves between them: transitions and trigger reroutes."""
    g = adjacency(((t.source, t.target) for t in journey.transitions), (s.name for s in journey.stages))
    for tg in journey.triggers:
        if tg.then_stage is not None and tg.stage in g and tg.then_stage in g and tg.then_stage not in g[tg.stage]:
            g[tg.stage].append(tg.then_stage)
    return g


def _reach(g: Adjacency, sources: list[str]) -> set[str]:
    """Nodes reachable from any of ``sources`` (themselves included), in one pass."""
    return reach(g, sources)


def check_reachability(journey: Journey) -> list[Diagnostic]:
    """Warnings: stages no entry reaches; stages with no way to a terminal stage and not active."""
    g = _reach_graph(journey)
    out: list[Diagnostic] = []
    reached = _reach(g, [s.name for s in journey.entries])
    ends = [s.name for s in journey.stages if s.terminal or s.active]
    can_end = _reach(reverse(g), ends)
    if not journey.entries:
        return out
    for s in journey.stages:
        if s.name not in reached and not s.goal:
            out.append(_diag(journey, s.span, "W501",
                             f"no entry stage can reach stage '{s.name}'",
                             "add a transition into it, or remove it"))
        if s.name not in can_end:
            out.append(_diag(journey, s.span, "W502",
                             f"stage '{s.name}' has no way to a terminal stage and is not 'active'",
                             "customers who get here stay for good; add a way out, or mark it"
                             " 'terminal' or 'active'"))
    return out


def check_goals(journey: Journey) -> list[Diagnostic]:
    """Warnings: a goal stage no entry can reach; no goal at all."""
    if not journey.entries:
        return []
    if not journey.goals:
        return [_diag(journey, journey.span and Span.point(journey.span.line, journey.span.col),
                      "W507", "no stage is a 'goal': conversion, LTV and CAC cannot be measured",
                      "mark the stage that counts as a conversion with 'goal'")]
    g = _reach_graph(journey)
    reached = _reach(g, [s.name for s in journey.entries])
    return [
        _diag(journey, s.span, "W504", f"the goal stage '{s.name}' cannot be reached",
              "no entry stage leads to it; add a transition into it")
        for s in journey.goals if s.name not in reached
    ]


def check_triggers(journey: Journey) -> list[Diagnostic]:
    """Warnings: a 'limit' that does nothing, a trigger that does nothing or waits past the horizon."""
    out: list[Diagnostic] = []
    offsets = trigger_offsets(journey)
    for g in journey.triggers:
        if g.limit is not None and g.when != "every":
            out.append(_diag(journey, g.span, "W506",
                             f"'limit' of trigger '{g.name}' has no effect: it fires at most once"
                             " a stay", "'limit' caps the firings of an 'every' trigger"))
        if not g.send and g.then_stage is None:
            out.append(_diag(journey, g.span, "W510",
                             f"trigger '{g.name}' neither sends a touchpoint nor moves anyone",
                             "add 'send TOUCHPOINT' or 'then 30% -> STAGE'"))
        wait = offsets.get(g.name) if g.behaviour else g.days if g.when in ("in", "every") else None
        if wait is not None and wait >= journey.horizon_days:
            out.append(_diag(journey, g.span, "W509",
                             f"trigger '{g.name}' waits {wait:g} days, not less than the"
                             f" horizon of {journey.horizon_days:g} days, so it never fires",
                             "shorten its wait or lengthen 'horizon'"))
    return out


def check_unused_touchpoints(journey: Journey) -> list[Diagnostic]:
    """Warning: a touchpoint that no stage, transition or trigger uses (base or changes)."""
    used = {t for s in journey.stages for t in s.touches}
    used |= {t.via for t in journey.transitions if t.via}
    used |= {s for g in journey.triggers for s in g.send}
    for ov in [s.overrides for s in journey.segments] + [s.overrides for s in journey.scenarios]:
        used |= {t for p in ov.stages for t in (p.touches or ())}
        used |= {t.via for t in ov.transitions if t.via}
        used |= {s for g in ov.triggers for s in (g.send or ())}
    return [
        _diag(journey, tp.span, "W511", f"touchpoint '{tp.name}' is never used",
              f"use it with 'touch {tp.name} on enter', 'via {tp.name}' or 'send {tp.name}',"
              " or remove it")
        for tp in journey.touchpoints if tp.name not in used
    ]


#: Every check, in the order they run.
CHECKS: tuple[Check, ...] = (
    check_names,
    check_references,
    check_share_ranges,
    check_branch_shares,
    check_rates,
    check_mixed_forms,
    check_segment_shares,
    check_limits,
    check_entries,
    check_exits_of_terminal,
    check_zero_time_loops,
    check_reachability,
    check_goals,
    check_triggers,
    check_behaviour,
    check_behaviour_answers,
    check_unused_touchpoints,
)

#: Checks that judge the base only: the variants have no segments or scenarios, and a
#: variant that cuts a path (``without ...``) leaves stages unused on purpose.
_BASE_ONLY = {
    check_segment_shares, check_names, check_reachability, check_goals, check_unused_touchpoints,
    check_behaviour_answers,
}


def _run(journey: Journey, checks: Iterable[Check]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for check in checks:
        out.extend(check(journey))
    return out


def _within(span: Span | None, outer: Span | None) -> bool:
    if span is None or outer is None:
        return False
    return (outer.line, outer.col) <= (span.line, span.col) and (span.line, span.col) <= (
        outer.end_line, outer.end_col)


def check_all(journey: Journey) -> list[Diagnostic]:
    """Run :data:`CHECKS` on the journey, each scenario and segment journey, and each
    segment inside each scenario.

    A variant's findings that the base does not have are reported once, with
    "in scenario 'x': " (or "in segment 'y'", or "in segment 'y' in scenario
    'x'") in front, at the override's span when it caused them, else at the
    scenario or segment itself.
    """
    base = _run(journey, CHECKS)
    seen = {(d.code, d.span, d.message) for d in base}
    # the base's own findings, wherever a variant's copy of the item points
    in_base = {(d.code, d.message) for d in base}
    out = list(base)
    if any(d.severity == "error" for d in base):
        return sorted(out, key=lambda d: d.sort_key)
    variant_checks = [c for c in CHECKS if c not in _BASE_ONLY]
    # (what to say, the blocks whose changes it merges (the last one is pointed at
    # when the finding is in none of them), the merged journey)
    variants: list[tuple[str, list[tuple[str, Span | None]], Journey]] = []
    seg_spans = {s.name: s.span for s in journey.segments}
    for name, _share, sj in journey.segment_journeys():
        if name != "default":
            variants.append((f"segment '{name}'", [("segment", seg_spans[name])], sj))
    for sc in journey.scenarios:
        for name, _share, sj in journey.with_scenario(sc.name).segment_journeys():
            if name == "default":
                variants.append((f"scenario '{sc.name}'", [("scenario", sc.span)], sj))
            else:
                variants.append((f"segment '{name}' in scenario '{sc.name}'",
                                 [("segment", seg_spans[name]), ("scenario", sc.span)], sj))
    for what, blocks, vj in variants:
        for d in _run(vj, variant_checks):
            key = (d.code, d.span, d.message)
            if key in seen or (d.code, d.message) in in_base:
                continue
            seen.add(key)
            where = next((d.span for _k, span in blocks if _within(d.span, span)), None)
            if where is None:
                kind, span = blocks[-1]
                where = Span(span.line, span.col, span.line, span.col + len(kind)) if span else None
            out.append(Diagnostic(where, d.severity, d.code, f"in {what}: {d.message}",
                                  d.hint, d.path))
    return sorted(out, key=lambda d: d.sort_key)

