"""What each touchpoint, trigger or channel contributes: removal effects and Shapley values.

An *item* is a touchpoint, a trigger or a channel (all its touchpoints). The
journey *without* an item: its triggers that send it are gone, transitions
``via`` it no longer contact anyone, stages no longer ``touch`` it (for a
trigger: the trigger is gone). Every subset of items is simulated as one arm
of a single run, so every variant sees the same customers (common random
numbers) and differences between them are the items' own effects.

- the **removal effect** of an item is "all" minus "all but it";
- its **Shapley value** averages its marginal effect over every order in
  which the items could be added, exactly over all subsets when there are at
  most :data:`EXACT_ITEMS` items, else over sampled orders; either way the
  values add up exactly to "all" minus "none" (each order telescopes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from journeydsl.engine.results import noise_of
from journeydsl.language.checks import DEFAULT_MAX_WORK
from journeydsl.language.model import Journey

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from journeydsl.engine.montecarlo import WorkEstimate

__all__ = ["EXACT_ITEMS", "Attribution", "attribute", "items_of", "without"]

EXACT_ITEMS = 10
PERMUTATIONS = 200
FIGURES = ("conversion_rate", "revenue_per_customer", "cost_per_customer", "value_per_customer")

By = Literal["touchpoint", "trigger", "channel"]


def items_of(journey: Journey, by: By) -> list[tuple[str, str]]:
    """The items to attribute to, as ``(name, title)``, in file order."""
    if by == "trigger":
        return [(t.name, t.title) for t in journey.triggers]
    if by == "channel":
        return [(c, c) for c in dict.fromkeys(t.channel for t in journey.touchpoints)]
    return [(t.name, t.title) for t in journey.touchpoints]


def without(journey: Journey, by: By, removed: frozenset[str]) -> Journey:
    """``journey`` with the ``removed`` items taken out (see the module's description)."""
    if not removed:
        return journey
    if by == "trigger":
        return journey.model_copy(update={"triggers": tuple(t for t in journey.triggers if t.name not in removed)})
    tps = {t.name for t in journey.touchpoints if t.channel in removed} if by == "channel" else set(removed)
    stages = tuple(s.model_copy(update={"touches": tuple(x for x in s.touches if x not in tps)})
                   for s in journey.stages)
    transitions = tuple(t.model_copy(update={"via": None}) if t.via in tps else t for t in journey.transitions)
    # a trigger loses the contacts taken out; one left with none (or answering one) goes
    triggers = tuple(
        t.model_copy(update={"send": tuple(s for s in t.send if s not in tps)})
        for t in journey.triggers
        if not (t.send and set(t.send) <= tps) and t.on_touch not in tps
    )
    return journey.model_copy(update={"stages": stages, "transitions": transitions, "triggers": triggers})


@dataclass
class Attribution:
    """Per item: removal effects, Shapley values and the item's own cost, for each figure."""

    by: str
    customers: int
    seed: int
    currency: str | None
    items: list[dict[str, Any]] = field(default_factory=list)
    all_items: dict[str, float] = field(default_factory=dict)
    no_items: dict[str, float] = field(default_factory=dict)
    method: str = "exact"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "journeydsl.attribution/1", "by": self.by, "customers": self.customers,
            "seed": self.seed, "currency": self.currency, "shapley": self.method,
            "all": self.all_items, "none": self.no_items, "items": self.items,
        }


def _figures(arm_dict: dict[str, Any]) -> dict[str, float]:
    m = arm_dict["metrics"]
    out = {}
    for f in FIGURES:
        v = m.get(f, {}).get("mean")
        out[f] = float(v) if isinstance(v, int | float) and math.isfinite(v) else 0.0
    return out


def attribute(
    journey: Journey,
    by: By = "touchpoint",
    customers: int | None = None,
    seed: int = 0,
    *,
    workers: int = 1,
    progress: Callable[[float, int], None] | None = None,
    executor: Executor | None = None,
    max_work: float | None = DEFAULT_MAX_WORK,
    on_estimate: Callable[[WorkEstimate], None] | None = None,
) -> Attribution:
    """Removal effects and Shapley values of every item of the baseline journey, on common random numbers.

    Every combination is an arm of one run; ``workers``, ``executor``, ``max_work`` and
    ``on_estimate`` are that run's (see :func:`~journeydsl.engine.montecarlo.run`).
    """
    from journeydsl.engine.montecarlo import run

    base = journey.with_scenario("baseline")
    items = items_of(base, by)
    names = [n for n, _t in items]
    n_items = len(names)
    full = frozenset(names)
    if n_items <= EXACT_ITEMS:
        subsets = [frozenset(c) for k in range(n_items + 1) for c in combinations(names, k)]
        orders: list[list[str]] = []
        method = "exact"
    else:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x61747472,)))
        orders = [list(rng.permutation(names)) for _ in range(PERMUTATIONS)]
        seen: dict[frozenset[str], None] = {frozenset(): None, full: None}
        for order in orders:
            for k in range(1, n_items):
                seen[frozenset(order[:k])] = None
        seen.update({full - {i}: None for i in names})
        subsets = list(seen)
        method = f"{PERMUTATIONS} sampled orders"
    # arms are "what is kept": the full journey first, so comparisons are against it
    subsets.sort(key=lambda s: (-len(s), sorted(s)))
    arms = [(f"keep:{'+'.join(sorted(s)) or '-'}", without(base, by, full - s)) for s in subsets]
    n = journey.customers if customers is None else customers
    res = run(arms, n, seed, workers=workers, progress=progress, touch_paths=by != "trigger", executor=executor,
              max_work=max_work, on_estimate=on_estimate)
    value = {s: _figures(a.to_dict()) for s, a in zip(subsets, res.arms, strict=True)}
    own_cost = _own_costs(res.arms[0].to_dict(), base, by)

    shap: dict[str, dict[str, float]] = {i: dict.fromkeys(FIGURES, 0.0) for i in names}
    # each Shapley value as a weighted sum of arms (arm index -> weight), for its noise
    arm_of = {s: k for k, s in enumerate(subsets)}
    weights: dict[str, dict[int, float]] = {i: {} for i in names}

    def add(i: str, with_i: frozenset[str], without_i: frozenset[str], w: float, per: int = 1) -> None:
        """Item ``i``'s marginal effect from ``without_i`` to ``with_i``, times ``w / per``."""
        for f in FIGURES:
            shap[i][f] += w * (value[with_i][f] - value[without_i][f]) / per
        for k, sign in ((arm_of[with_i], w / per), (arm_of[without_i], -w / per)):
            weights[i][k] = weights[i].get(k, 0.0) + sign

    if method == "exact":
        fact = math.factorial
        for i in names:
            for s in subsets:
                if i not in s:
                    add(i, s | {i}, s, fact(len(s)) * fact(n_items - len(s) - 1) / fact(n_items))
    else:
        for order in orders:
            kept: frozenset[str] = frozenset()
            for i in order:
                add(i, kept | {i}, kept, 1.0, len(orders))
                kept = kept | {i}
    removal = {i: {f: value[full][f] - value[full - {i}][f] for f in FIGURES} for i in names}

    def noise(arms: dict[int, float]) -> dict[str, float | None]:
        return {f: noise_of(res, f, list(arms.items())) for f in FIGURES}
    total_removal = {f: sum(removal[i][f] for i in names) for f in FIGURES}
    out = Attribution(by, n, seed, journey.currency, method=method,
                      all_items=value[full], no_items=value[frozenset()])
    crm = _crm_credit(res.arms[0].tally, base, by, n)
    for name, title in items:
        cost = own_cost.get(name, 0.0)
        revenue = shap[name]["revenue_per_customer"]
        out.items.append({
            "name": name, "label": title,
            "removal": removal[name],
            "removal_share": {f: (removal[name][f] / total_removal[f] if total_removal[f] else None) for f in FIGURES},
            "shapley": shap[name],
            # half the 95% interval of each, from the run's paired batches (common random numbers
            # cancel most of the noise between variants, not all; see engine.results.noise_of)
            "noise": {"removal": noise({arm_of[full]: 1.0, arm_of[full - {name}]: -1.0}),
                      "shapley": noise(weights[name])},
            "cost_per_customer": cost,
            "roi": (revenue - cost) / cost if cost > 0 else None,
            **({"crm": crm[name]} if name in crm else {}),
        })
    return out


def _crm_credit(tally: Any, journey: Journey, by: By, customers: int) -> dict[str, dict[str, dict[str, float]]]:
    """First-, last- and linear-touch figures per item, per entering customer (as a CRM credits them).

    Each converter's conversion (and value) goes whole to the first or the last
    touchpoint that contacted it before it converted, or is split evenly over
    all those contacts (linear). Channels add up their touchpoints; triggers get none
    (a CRM credits contacts, not the rules that sent them).
    """
    if by == "trigger":
        return {}
    names = list(tally.shape.touchpoints)
    nt = len(names)
    credit = np.asarray(tally.touch_credit, dtype=float)
    if credit.size != 6 * nt or nt == 0:
        return {}
    per: dict[str, dict[str, dict[str, float]]] = {}
    channel = {t.name: t.channel for t in journey.touchpoints}
    for i, tp in enumerate(names):
        key = channel.get(tp, tp) if by == "channel" else tp
        entry = per.setdefault(key, {m: {"conversions": 0.0, "value": 0.0} for m in ("first", "last", "linear")})
        for j, model in enumerate(("first", "last", "linear")):
            entry[model]["conversions"] += float(credit[j * nt + i]) / customers
            entry[model]["value"] += float(credit[(3 + j) * nt + i]) / customers
    return per


def _own_costs(arm: dict[str, Any], journey: Journey, by: By) -> dict[str, float]:
    """What each item itself spends per entering customer (its contacts' cost), in the full journey."""
    tps = arm.get("touchpoints") or {}

    def cost(tp: str) -> float:
        v = (tps.get(tp) or {}).get("cost_per_customer")
        return float(v) if isinstance(v, int | float) else 0.0

    if by == "touchpoint":
        return {t.name: cost(t.name) for t in journey.touchpoints}
    if by == "channel":
        out: dict[str, float] = {}
        for t in journey.touchpoints:
            out[t.channel] = out.get(t.channel, 0.0) + cost(t.name)
        return out
    # a trigger's own cost: the contacts it made (its firings times its touchpoint's cost)
    trig = arm.get("triggers") or {}
    out = {}
    for g in journey.triggers:
        fired = (trig.get(g.name) or {}).get("fired_per_customer")
        total = 0.0
        for s in g.send:
            contacts = (tps.get(s) or {}).get("contacts_per_customer")
            if isinstance(fired, int | float) and isinstance(contacts, int | float) and contacts:
                # the touchpoint's (discounted) cost, in the share of its contacts this trigger made
                total += cost(s) * min(1.0, float(fired) / float(contacts))
        out[g.name] = total
    return out
