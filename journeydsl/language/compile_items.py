"""Compiling the journey's touchpoints and triggers (stages and transitions are in
:mod:`journeydsl.language.compile_stages`).

The ``*_fields`` methods read a statement's fields; segments and scenarios
(:mod:`journeydsl.language.compile_variants`) reuse them for partial blocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from journeydsl.language import syntax as sx
from journeydsl.language.compile_stages import StageCompiler
from journeydsl.language.compile_values import (
    _fmt_num,
    _fmt_pct,
    _written_unit,
)
from journeydsl.language.errors import did_you_mean
from journeydsl.language.model import (
    Touchpoint,
    Trigger,
)
from journeydsl.language.source import Span


class ItemCompiler(StageCompiler):
    """Touchpoints and triggers, on top of stages and transitions."""

    def touchpoint_fields(self, node: sx.TouchpointNode) -> dict[str, Any]:
        f: dict[str, Any] = {}
        seen: set[str] = set()
        if node.kind == "task":
            f["kind"] = "task"
        for p in node.props:
            if isinstance(p, sx.TouchpointCostProp) and p.on_response:
                key = "cost on response"
            else:
                key = {
                    sx.ChannelProp: "channel", sx.TouchpointCostProp: "cost",
                    sx.ResponseProp: "response", sx.FunnelProp: "response", sx.CapacityProp: "capacity",
                    sx.TransactionalProp: "transactional",
                }[type(p)]
            if key in seen:
                self.bag.error(
                    p.span, "E211", f"'{key}' is given twice for {node.kind} '{node.name.text}'",
                    "a funnel is one statement: 'response opens 40%, clicks 25%'" if key == "response" else None,
                )
                continue
            seen.add(key)
            self.context = f"{node.name.text} {key}"
            if isinstance(p, sx.TransactionalProp):
                f["transactional"] = True
            elif isinstance(p, sx.ChannelProp):
                f["channel"] = p.channel.text
            elif isinstance(p, sx.TouchpointCostProp):
                f["response_cost" if p.on_response else "cost"] = self.money(p.money, key)
            elif isinstance(p, sx.ResponseProp):
                f["response"] = self.share(p.share, "response")
            elif isinstance(p, sx.FunnelProp):
                self.funnel(node, p, f)
            elif isinstance(p, sx.CapacityProp):
                if node.kind != "task":
                    self.bag.error(
                        p.span, "E311", f"'capacity' is for tasks, and '{node.name.text}' is a touchpoint",
                        f"declare manager work as 'task {node.name.text} {{ ... }}'",
                    )
                    continue
                self.capacity(p, f)
        return f

    def funnel(self, node: sx.TouchpointNode, p: sx.FunnelProp, f: dict[str, Any]) -> None:
        """``response opens 40%, clicks 25%``: steps, each a share of those contacted, not growing."""
        steps: list[tuple[str, float]] = []
        names: dict[str, Span | None] = {}
        for st in p.steps:
            self.context = f"{node.name.text} {st.name.text}"
            share = self.share(st.share, f"'{st.name.text}' share")
            if st.name.text in names:
                self.bag.error(
                    st.name.span, "E210", f"step '{st.name.text}' is named twice in the funnel of '{node.name.text}'",
                    "each step of a funnel has its own name",
                )
                return
            names[st.name.text] = st.name.span
            if steps and share > steps[-1][1] + 1e-12:
                prev, prev_share = steps[-1]
                self.bag.error(
                    st.span, "E316",
                    f"step '{st.name.text}' ({_fmt_pct(share)}) is more than the step before it, "
                    f"'{prev}' ({_fmt_pct(prev_share)})",
                    "each step is a share of everyone contacted, so it is at most the step before it",
                )
                return
            steps.append((st.name.text, share))
        if steps:
            f["steps"] = tuple(steps)
            f["response"] = steps[-1][1]

    def capacity(self, p: sx.CapacityProp, f: dict[str, Any]) -> None:
        """``capacity 40 per day``: tasks a day the team completes."""
        n = p.count.value if isinstance(p.count, sx.Number) else self.valued(p.count, "number", "capacity")
        days = self.days(p.per, what="period")
        if not math.isfinite(n) or n <= 0:
            self.bag.error(
                p.count.span, "E309", f"'capacity' is a number of tasks above 0, got {_fmt_num(n)}",
                "write how many tasks the team completes, like 'capacity 40 per day'",
            )
            return
        if days > 0:
            f["capacity_per_day"] = n / days

    def gather_sends(self, items: Sequence[object]) -> None:
        """Which stages' triggers of the base journey send each touchpoint, and each
        touchpoint's funnel steps (in any layer): what behaviour conditions are resolved against.
        A segment or scenario resolves its own with :meth:`sends_with`."""
        self.base_triggers = [it for it in items if isinstance(it, sx.TriggerNode)]
        for it in items:
            if isinstance(it, sx.TouchpointNode):
                self.note_steps(it)
            elif isinstance(it, sx.SegmentNode | sx.ScenarioNode):
                for ov in it.overrides:
                    if isinstance(ov, sx.TouchpointNode):
                        self.note_steps(ov)
        self.sent_in = _sends(self.base_triggers)

    def sends_with(self, changes: Sequence[object]) -> dict[str, list[str]]:
        """The stages sending each touchpoint once a segment's or scenario's trigger changes
        are made (a change's WHEN and ``send`` replace the base trigger's)."""
        return _sends([*self.base_triggers, *(c for c in changes if isinstance(c, sx.TriggerNode))])

    base_triggers: list[sx.TriggerNode]

    def note_steps(self, node: sx.TouchpointNode) -> None:
        for p in node.props:
            if isinstance(p, sx.FunnelProp):
                known = self.step_names.get(node.name.text, ())
                self.step_names[node.name.text] = known + tuple(
                    s.name.text for s in p.steps if s.name.text not in known
                )

    def response_ref(self, ref: sx.ResponseRef) -> tuple[str, str | None] | None:
        """``email`` or ``email.clicks``: the touchpoint (E202) and its funnel step (E205)."""
        if not self.ref(ref.touchpoint, self.touchpoint_names, "touchpoint", "E202"):
            return None
        tp = ref.touchpoint.text
        if ref.step is None:
            return tp, None
        steps = self.step_names.get(tp, ())
        if ref.step.text not in steps:
            if steps:
                hint = did_you_mean(ref.step.text, steps) or "its steps are " + ", ".join(f"'{s}'" for s in steps)
            else:
                hint = (f"'{tp}' has one response; refer to it as '{tp}', or give it steps: "
                        "'response opens 40%, clicks 25%'")
            self.bag.error(ref.step.span, "E205", f"touchpoint '{tp}' has no step '{ref.step.text}'", hint)
            return None
        return tp, ref.step.text

    def behaviour_stage(self, node: sx.TriggerNode, ref: sx.ResponseRef) -> str | None:
        """The stage of a behaviour trigger: the one stage whose triggers send what it answers."""
        tp = ref.touchpoint.text
        stages = self.sent_in.get(tp, [])
        if len(stages) == 1:
            return stages[0]
        if not stages:
            self.bag.error(
                ref.touchpoint.span, "E406",
                f"no trigger sends '{tp}', so trigger '{node.name.text}' never fires",
                f"a behaviour condition answers a contact a trigger sends: add 'send {tp}' to one",
            )
        else:
            shown = " and ".join(f"'{s}'" for s in stages)
            self.bag.error(
                ref.touchpoint.span, "E406",
                f"'{tp}' is sent by triggers in stages {shown}; trigger '{node.name.text}' must follow one",
                "a behaviour condition follows the contacts of one stage: use a touchpoint per stage",
            )
        return None

    def touchpoint(self, node: sx.TouchpointNode) -> Touchpoint | None:
        f = self.touchpoint_fields(node)
        if node.kind == "task":
            f.setdefault("channel", "task")
        if "channel" not in f:
            self.bag.error(
                node.name.span, "E310", f"touchpoint '{node.name.text}' has no channel",
                "add 'channel email' (or sms, phone, chatbot, paid_social, ...)",
            )
            return None
        return Touchpoint(name=node.name.text, label=node.label, span=node.span, **f)

    def trigger_fields(self, node: sx.TriggerNode, stage_names: dict[str, Span | None]
                       ) -> dict[str, Any]:
        f: dict[str, Any] = {}
        seen: dict[str, Span | None] = {}
        for p in node.props:
            key = {
                sx.WhenEnter: "when", sx.WhenIn: "when", sx.WhenEvery: "when",
                sx.WhenResponse: "when", sx.WhenNoResponse: "when",
                sx.SendProp: "send", sx.ResponseProp: "response", sx.ThenProp: "then",
                sx.LimitProp: "limit", sx.UnlessProp: "unless",
            }[type(p)]
            if key in seen and key != "unless":
                self.bag.error(
                    p.span, "E211",
                    f"'{key}' is given twice for trigger '{node.name.text}'",
                    "a trigger has one 'when' (or 'every'); write another trigger for another"
                    " moment" if key == "when" else None,
                )
                continue
            seen[key] = p.span
            self.context = f"{node.name.text} {'wait' if key == 'when' else key}"
            if isinstance(p, sx.WhenEnter):
                f["when"] = "enter"
                f["business"] = False
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenIn):
                f["when"] = "in"
                f["days"] = self.days(p.duration, positive=False, what="waiting time")
                f["unit"] = _written_unit(p.duration)
                f["business"] = isinstance(p.duration, sx.Duration) and p.duration.business
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenEvery):
                f["when"] = "every"
                f["business"] = False
                f["days"] = self.days(p.duration, what="period")
                f["unit"] = _written_unit(p.duration)
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["stage"] = p.stage.text
            elif isinstance(p, sx.WhenResponse | sx.WhenNoResponse):
                f["when"] = "response" if isinstance(p, sx.WhenResponse) else "no_response"
                if isinstance(p, sx.WhenNoResponse):
                    f["days"] = self.days(p.duration, positive=False, what="waiting time")
                    f["unit"] = _written_unit(p.duration)
                ref = self.response_ref(p.ref)
                if ref is not None:
                    f["on_touch"], f["on_step"] = ref
                    stage = self.behaviour_stage(node, p.ref)
                    if stage is not None:
                        f["stage"] = stage
            elif isinstance(p, sx.UnlessProp):
                ref = self.response_ref(p.ref)
                if ref is not None:
                    f["unless"] = (*f.get("unless", ()), ref)
            elif isinstance(p, sx.SendProp):
                sends: list[str] = []
                for name in p.touchpoints:
                    if not self.ref(name, self.touchpoint_names, "touchpoint", "E202"):
                        continue
                    if name.text in sends:
                        self.bag.error(
                            name.span, "E211", f"'{name.text}' is sent twice by trigger '{node.name.text}'",
                            "each touchpoint is named once; a trigger sends one contact of each",
                        )
                        continue
                    sends.append(name.text)
                f["send"] = tuple(sends)
            elif isinstance(p, sx.ResponseProp):
                f["response"] = self.share(p.share, "response")
            elif isinstance(p, sx.ThenProp):
                f["then_share"] = 1.0 if p.share is None else self.share(p.share)
                if self.ref(p.stage, stage_names, "stage", "E201"):
                    f["then_stage"] = p.stage.text
            elif isinstance(p, sx.LimitProp):
                n = p.count.value
                if not math.isfinite(n) or n < 1 or n != int(n):
                    self.bag.error(
                        p.count.span, "E309",
                        f"'limit' is a whole number of at least 1, got {_fmt_num(n)}", None,
                    )
                else:
                    f["limit"] = int(n)
        return f

    def trigger(self, node: sx.TriggerNode) -> Trigger | None:
        f = self.trigger_fields(node, self.stage_names)
        if "when" not in f:
            self.bag.error(
                node.name.span, "E310", f"trigger '{node.name.text}' has no 'when'",
                "add 'when enter STAGE', 'when in STAGE for 7 days', 'every 30 days in STAGE'"
                " or 'when no response to TOUCHPOINT within 2 days'",
            )
            return None
        if "stage" not in f:
            return None  # the unknown stage was reported
        return Trigger(name=node.name.text, label=node.label, span=node.span, **f)


def _sends(nodes: Sequence[sx.TriggerNode]) -> dict[str, list[str]]:
    """Touchpoint -> the stages whose triggers send it; a later node of the same name changes
    an earlier one (its WHEN and its ``send``). Behaviour triggers take the stage of what they
    answer, found when exactly one stage sends it."""
    stage_of: dict[str, str] = {}
    answers: dict[str, str] = {}  # behaviour trigger -> the touchpoint it answers
    sends: dict[str, list[str]] = {}
    for g in nodes:
        for p in g.props:
            if isinstance(p, sx.WhenEnter | sx.WhenIn | sx.WhenEvery):
                stage_of[g.name.text] = p.stage.text
                answers.pop(g.name.text, None)
            elif isinstance(p, sx.WhenResponse | sx.WhenNoResponse):
                answers[g.name.text] = p.ref.touchpoint.text
                stage_of.pop(g.name.text, None)
            elif isinstance(p, sx.SendProp):
                sends[g.name.text] = [n.text for n in p.touchpoints]
    sent: dict[str, list[str]] = {}
    for _round in range(len(sends) + 1):
        changed = False
        for name, tps in sends.items():
            stage = stage_of.get(name)
            if stage is None and name in answers:
                found = sent.get(answers[name])
                if found and len(found) == 1:
                    stage = stage_of[name] = found[0]
            if stage is None:
                continue
            for tp in tps:
                where = sent.setdefault(tp, [])
                if stage not in where:
                    where.append(stage)
                    changed = True
        if not changed:
            break
    return sent
