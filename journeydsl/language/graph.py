"""The journey as a networkx graph, and graph questions as plain functions.

Nodes are stage names with the stage's attributes (``label``, ``phase``,
``roles``, ``entry``); edges are transitions with ``kind``, ``share``,
``otherwise``, ``rate``, ``period_days``, ``hazard``, ``after``, ``via``. Self-loops
are allowed; there is at most one edge per ordered pair of stages.
"""

from __future__ import annotations

import networkx as nx

from journeydsl.language.model import Journey, Stage

__all__ = [
    "can_reach_exit",
    "reachable_from_entries",
    "roles",
    "to_graph",
    "zero_time_cycles",
]


def roles(stage: Stage) -> tuple[str, ...]:
    """The stage's roles in a fixed order: entry, goal, active, terminal."""
    flags = (
        ("entry", stage.entry is not None),
        ("goal", stage.goal),
        ("active", stage.active),
        ("terminal", stage.terminal),
    )
    return tuple(name for name, on in flags if on)


def to_graph(journey: Journey) -> nx.DiGraph:
    """A directed graph of the journey's stages and transitions.

    >>> from journeydsl.language.model import Journey, Stage, Transition
    >>> j = Journey(name="j", stages=(Stage(name="a", entry=1.0), Stage(name="b", terminal=True)),
    ...             transitions=(Transition(source="a", target="b", otherwise=True),))
    >>> sorted(to_graph(j).edges)
    [('a', 'b')]
    """
    g = nx.DiGraph(name=journey.name)
    for s in journey.stages:
        g.add_node(
            s.name, label=s.title, phase=s.phase, roles=roles(s), entry=s.entry, stage=s
        )
    for t in journey.transitions:
        g.add_edge(
            t.source,
            t.target,
            kind=t.kind,
            share=t.share,
            otherwise=t.otherwise,
            rate=t.rate,
            period_days=t.period_days,
            hazard=t.hazard if t.kind == "rate" else None,
            after=t.after,
            via=t.via,
            transition=t,
        )
    return g


def reachable_from_entries(g: nx.DiGraph) -> set[str]:
    """Stages some entry stage can reach (entries included)."""
    out: set[str] = set()
    for node, entry in g.nodes(data="entry"):
        if entry is not None:
            out |= nx.descendants(g, node) | {node}
    return out


def can_reach_exit(g: nx.DiGraph) -> set[str]:
    """Stages from which a terminal or an ``active`` stage can be reached (themselves included)."""
    ends = [n for n, r in g.nodes(data="roles") if "terminal" in r or "active" in r]
    out: set[str] = set()
    for n in ends:
        out |= nx.ancestors(g, n) | {n}
    return out


def zero_time_cycles(journey: Journey) -> list[list[str]]:
    """Cycles every step of which can take zero time (an infinite loop at one instant).

    A step takes zero time when it is a branch with no ``after`` delay out of a
    stage with no ``dwell`` (or whose delay can be exactly zero), or a rate
    of 100% per period (it leaves at once). Other rate edges take time.
    """
    g = nx.DiGraph()
    for t in journey.transitions:
        if t.kind == "rate":
            if (t.rate or 0.0) >= 1:
                g.add_edge(t.source, t.target)
            continue
        delay = t.after if t.after is not None else journey.stage(t.source).dwell
        if delay is None or delay.can_be_zero():
            g.add_edge(t.source, t.target)
    return [list(c) for c in nx.simple_cycles(g)]
