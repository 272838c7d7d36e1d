"""Compiling the journey's stages and transitions.

``stage_fields`` reads a stage statement's fields; segments and scenarios
(:mod:`journeydsl.language.compile_variants`) reuse it for partial blocks.
Touchpoints and triggers are compiled one layer up, in
:mod:`journeydsl.language.compile_items`.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from journeydsl.language import syntax as sx
from journeydsl.language.compile_units import UnitReader
from journeydsl.language.compile_values import (
    _fmt_num,
    _pydantic_message,
    _written_unit,
)
from journeydsl.language.model import (
    CashFlow,
    Purchases,
    Stage,
    Transition,
)
from journeydsl.language.source import Span


class StageCompiler(UnitReader):
    """Stages and the transitions between them."""


    def stage_fields(self, node: sx.StageNode) -> dict[str, Any]:
        """The fields a stage's properties set (only those written)."""
        f: dict[str, Any] = {}
        seen: dict[str, Span | None] = {}
        revenue: list[CashFlow] = []
        costs: list[CashFlow] = []
        purchases: list[Purchases] = []
        touches: list[str] = []
        for p in node.props:
            key = {
                sx.EntryProp: "entry", sx.DwellProp: "dwell", sx.RefersProp: "refers",
            }.get(type(p))
            if isinstance(p, sx.FlagProp):
                key = p.flag
            if key is not None:
                if key in seen:
                    self.bag.error(
                        p.span, "E211",
                        f"'{key}' is given twice for stage '{node.name.text}'", None,
                    )
                    continue
                seen[key] = p.span
            self.context = f"{node.name.text} {key or getattr(p, 'kind', 'purchases')}"
            if isinstance(p, sx.EntryProp):
                f["entry"] = None if p.share is None else self.share(p.share, "entry share")
                f["_entry_bare"] = p.share is None
            elif isinstance(p, sx.FlagProp):
                f[p.flag] = True
            elif isinstance(p, sx.DwellProp):
                f["dwell"] = self.dist(p.dist, "time")
            elif isinstance(p, sx.TouchProp):
                for t in p.touchpoints:
                    if self.ref(t, self.touchpoint_names, "touchpoint", "E202"):
                        touches.append(t.text)
            elif isinstance(p, sx.CashProp):
                amount = self.money(p.money, p.kind)
                period = None if p.every is None else self.days(p.every, what="period")
                try:
                    flow = CashFlow(amount=amount, period_days=period, span=p.span,
                                    unit=_written_unit(p.every))
                except ValidationError:
                    continue  # the period was reported above
                (revenue if p.kind == "revenue" else costs).append(flow)
            elif isinstance(p, sx.RefersProp):
                if p.per.text != "customer":
                    self.bag.error(p.per.span, "E101", f"expected 'customer' after 'per', got '{p.per.text}'",
                                   "write 'refers 0.3 per customer': the new arrivals each entry brings")
                    continue
                if isinstance(p.count, sx.ParamRef | sx.Uncertain):
                    f["refers"] = self.valued(p.count, "number", "referrals")
                elif not math.isfinite(p.count.value) or p.count.value < 0:
                    self.bag.error(p.count.span, "E309",
                                   f"referrals per customer must be at least 0, got {_fmt_num(p.count.value)}", None)
                else:
                    f["refers"] = p.count.value
            elif isinstance(p, sx.PurchasesProp):
                per = self.days(p.per, what="period")
                worth = self.dist(p.worth, "money")
                if isinstance(p.rate, sx.ParamRef | sx.Uncertain):
                    rate = self.valued(p.rate, "number", "purchase rate")
                else:
                    rate = p.rate.value
                    if not math.isfinite(rate) or rate < 0:
                        self.bag.error(
                            p.rate.span, "E309",
                            f"a purchase rate must be at least 0, got {_fmt_num(rate)}", None,
                        )
                        continue
                if worth is None or per <= 0:
                    continue
                purchases.append(
                    Purchases(rate=rate, per_days=per, worth=worth, span=p.span, unit=_written_unit(p.per))
                )
        if touches:
            f["touches"] = tuple(touches)
        if revenue:
            f["revenue"] = tuple(revenue)
        if costs:
            f["costs"] = tuple(costs)
        if purchases:
            f["purchases"] = tuple(purchases)
        return f

    def stage(self, node: sx.StageNode, phase: str | None) -> Stage | None:
        f = self.stage_fields(node)
        f.pop("_entry_bare", None)
        if f.get("dwell", 0) is None:
            f.pop("dwell")
        try:
            return Stage(name=node.name.text, label=node.label, phase=phase, span=node.span, **f)
        except ValidationError as exc:  # pragma: no cover - every field is checked above
            self.bag.error(node.span, "E300", _pydantic_message(exc), None)
            return None

    def fill_entries(self, stages: list[Stage | None], nodes: list[sx.StageNode]) -> None:
        """A lone bare ``entry`` gets 100%, or the remainder of the other entries' shares."""
        bare = [
            (i, n) for i, n in enumerate(nodes)
            if any(isinstance(p, sx.EntryProp) and p.share is None for p in n.props)
        ]
        if not bare:
            return
        given = sum(
            s.entry for s in stages
            if s is not None and s.entry is not None
        )
        if len(bare) > 1:
            _first_i, first = bare[0]
            for _, n in bare[1:]:
                self.bag.error(
                    n.name.span, "E313",
                    f"stages '{first.name.text}' and '{n.name.text}' are both entries"
                    " without a share",
                    "give each entry stage its share of entering customers, like 'entry 60%'",
                )
            return
        i, _ = bare[0]
        st = stages[i]
        if st is not None:
            stages[i] = st.model_copy(update={"entry": max(0.0, 1.0 - given)})

    def transition(
        self, node: sx.TransitionNode, keys: set[tuple[str, str]]
    ) -> Transition | None:
        ok = self.ref(node.source, self.stage_names, "stage", "E201")
        ok = self.ref(node.target, self.stage_names, "stage", "E201") and ok
        key = (node.source.text, node.target.text)
        self.context = f"{key[0]} -> {key[1]}"
        if ok and key in keys:
            self.bag.error(
                node.span, "E210",
                f"duplicate transition '{key[0]} -> {key[1]}'",
                "there is one transition per pair of stages; merge the two lines",
            )
            ok = False
        keys.add(key)
        if len(node.after) > 1:
            self.bag.error(node.after[1].span, "E211", "'after' is given twice", None)
            ok = False
        if len(node.via) > 1:
            self.bag.error(
                node.via[1].span, "E211", "'via' is given twice",
                "a transition contacts at most one touchpoint",
            )
            ok = False
        via = None
        if node.via:
            if self.ref(node.via[0], self.touchpoint_names, "touchpoint", "E202"):
                via = node.via[0].text
            else:
                ok = False
        fields: dict[str, Any] = {"source": key[0], "target": key[1], "via": via}
        if node.per is not None:
            if node.otherwise:
                self.bag.error(
                    node.span, "E311", "'otherwise' cannot be a rate",
                    "write a rate like '5% per month', or 'otherwise' alone",
                )
                return None
            assert node.share is not None
            fields["rate"] = self.share(node.share, "rate")
            fields["period_days"] = self.days(node.per, what="period")
            fields["unit"] = _written_unit(node.per)
            if node.after:
                self.bag.error(
                    node.after[0].span, "E311", "a rate transition cannot have 'after'",
                    "the time to leave by a rate follows from the rate itself",
                )
                ok = False
        elif node.otherwise:
            fields["otherwise"] = True
        else:
            assert node.share is not None
            fields["share"] = self.share(node.share)
        if node.after:
            self.context = f"{key[0]} -> {key[1]} delay"
            after = self.dist(node.after[0], "time")
            if after is None:
                ok = False
            fields["after"] = after
        if not ok or fields.get("period_days", 1) <= 0:
            return None
        if isinstance(node.share, sx.ParamRef | sx.Uncertain):
            fields["uncertainty"] = self.written_text(node.share)
        try:
            return Transition(span=node.span, **fields)
        except ValidationError as exc:  # pragma: no cover - the forms are checked above
            self.bag.error(node.span, "E300", _pydantic_message(exc), None)
            return None
