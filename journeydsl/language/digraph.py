"""The few directed-graph questions the checks and the engine ask, without networkx.

``check`` and ``simulate`` only ever need reachability, strongly connected
components and one cycle inside a component, over a few dozen (at most a few
thousand) stages. networkx answers them too, but importing it costs about a
third of a second, more than the whole check of a typical file; these
functions are plain dictionaries and lists and run in linear time.
``graph.to_graph`` still gives the networkx graph to whoever wants one.

A graph here is an adjacency mapping ``{node: [successor, ...]}``, every node a
key (see :func:`adjacency`); successors keep the order the edges were given in.

>>> g = adjacency([("a", "b"), ("b", "a"), ("b", "c")])
>>> sorted(reach(g, ["c"])), sorted(reach(g, ["a"]))
(['c'], ['a', 'b', 'c'])
>>> sorted(sorted(c) for c in strongly_connected(g))
[['a', 'b'], ['c']]
>>> find_cycle(g, {"a", "b"})
[('a', 'b'), ('b', 'a')]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

__all__ = ["Adjacency", "adjacency", "find_cycle", "reach", "reverse", "strongly_connected"]

Adjacency = dict[str, list[str]]


def adjacency(edges: Iterable[tuple[str, str]], nodes: Iterable[str] = ()) -> Adjacency:
    """The graph of ``edges`` (each once, in order) over ``nodes`` and the edges' ends."""
    g: Adjacency = {n: [] for n in nodes}
    seen: set[tuple[str, str]] = set()
    for u, v in edges:
        g.setdefault(u, [])
        g.setdefault(v, [])
        if (u, v) not in seen:
            seen.add((u, v))
            g[u].append(v)
    return g


def reverse(g: Mapping[str, Sequence[str]]) -> Adjacency:
    """The same graph with every edge turned round."""
    out: Adjacency = {n: [] for n in g}
    for u, succ in g.items():
        for v in succ:
            out[v].append(u)
    return out


def reach(g: Mapping[str, Sequence[str]], sources: Iterable[str]) -> set[str]:
    """The nodes some of ``sources`` reaches (themselves included; unknown sources are left out)."""
    seen = {n for n in sources if n in g}
    todo = list(seen)
    while todo:
        for m in g[todo.pop()]:
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def strongly_connected(g: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in g:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[str, int]] = [(root, 0)]  # (node, next successor to look at)
        while work:
            v, i = work[-1]
            succ = g[v]
            if i < len(succ):
                work[-1] = (v, i + 1)
                w = succ[i]
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def find_cycle(g: Mapping[str, Sequence[str]], within: Collection[str]) -> list[tuple[str, str]]:
    """A cycle through nodes of ``within`` (a strongly connected set), as its edges in order.

    Depth first from the first node of ``g`` in ``within``, successors in order; the
    cycle closes at the first edge back to a node on the current path. Empty when
    ``within`` holds no cycle.
    """
    for start in g:
        if start not in within:
            continue
        path = [start]
        on_path = {start: 0}
        done: set[str] = set()
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            v, i = work[-1]
            succ = g[v]
            if i < len(succ):
                work[-1] = (v, i + 1)
                w = succ[i]
                if w not in within or w in done:
                    continue
                if w in on_path:
                    nodes = path[on_path[w]:]
                    return list(zip(nodes, [*nodes[1:], w], strict=True))
                on_path[w] = len(path)
                path.append(w)
                work.append((w, 0))
                continue
            work.pop()
            done.add(path.pop())
            del on_path[v]
        return []
    return []
