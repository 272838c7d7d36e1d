"""Compiling segments and scenarios: overrides of the base, checked to name what exists.

The merge precedence (base, then segment, then scenario) is applied by
:func:`journeydsl.language.model.apply_overrides`; here each override is read
and every segment is tried inside every scenario.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from journeydsl.language import syntax as sx
from journeydsl.language.compile_items import ItemCompiler
from journeydsl.language.compile_policy import compile_policy, policy_channels
from journeydsl.language.compile_values import (
    RESERVED_SCENARIO,
    RESERVED_SEGMENT,
    _param_refs,
    _pydantic_message,
)
from journeydsl.language.errors import did_you_mean
from journeydsl.language.model import (
    Journey,
    Overrides,
    Removal,
    Scenario,
    Segment,
    StagePatch,
    TouchpointPatch,
    Transition,
    TriggerPatch,
    apply_overrides,
)
from journeydsl.language.source import Span


class VariantCompiler(ItemCompiler):
    """Segments and scenarios."""

    def note_segment_additions(self, ov: Overrides) -> None:
        """Remember the touchpoints, triggers and transitions a segment adds to the base."""
        for tp in ov.touchpoints:
            if tp.name not in self.touchpoint_names:
                self.segment_tps.setdefault(tp.name, tp.span)
        for tg in ov.triggers:
            if tg.name not in self.trigger_names:
                self.segment_triggers.setdefault(tg.name, tg.span)
        self.segment_keys |= {t.key for t in ov.transitions} - self.transition_keys

    def overrides(
        self, items: Sequence[sx.Override], owner: str, *, scenario: bool = False
    ) -> Overrides:
        """The overrides of one segment or scenario; touchpoints it adds can be used inside it.

        A segment's changes are written against the base; a scenario's also
        against what the segments add (it applies on top of each segment).
        """
        base_tps = self.touchpoint_names
        self.touchpoint_names = dict(base_tps)
        for it in items:
            if isinstance(it, sx.TouchpointNode) and it.name.text not in base_tps:
                self.touchpoint_names[it.name.text] = it.name.span
        known_tps = base_tps
        if scenario:
            known_tps = base_tps | self.segment_tps
            triggers = self.trigger_names | self.segment_triggers
            keys = self.transition_keys | self.segment_keys
        else:
            triggers, keys = self.trigger_names, self.transition_keys
        base_inline, self.inline = self.inline, []
        self.scope, self.scope_owner = {}, owner.split("'")[1] if "'" in owner else owner
        try:
            for it in items:
                if isinstance(it, sx.ParamDecl):
                    self.declare_param(it, self.scope, prefix=f"{self.scope_owner}: ")
            ov = self._overrides(items, owner, known_tps, triggers, keys)
            if self.scope:
                ov = self.restate(ov, items)
            own = tuple(p.model_copy(update={"name": f"{self.scope_owner}: {p.name}",
                                             "label": f"{p.title} ({self.scope_owner})"})
                        for p, _d in self.scope.values())
            return ov.model_copy(update={"params": own + tuple(self.inline)})
        finally:
            self.touchpoint_names = base_tps
            self.inline = base_inline
            self.scope, self.scope_owner = {}, None

    def restate(self, ov: Overrides, items: Sequence[sx.Override]) -> Overrides:
        """Base statements that use a parameter this variant gives its own value, compiled with it.

        They join the variant's overrides (its own changes of the same statement win),
        so the merged journey uses the variant's value everywhere.
        """
        names = set(self.scope)
        own_keys = {(t.source.text, t.target.text) for t in items if isinstance(t, sx.TransitionNode)}
        removed = {(t.source.text, t.target.text) for t in items if isinstance(t, sx.WithoutTransition)}
        stages = {p.name: p for p in ov.stages}
        tps = {p.name: p for p in ov.touchpoints}
        tgs = {p.name: p for p in ov.triggers}
        transitions = list(ov.transitions)
        base_stages = [st for it in self.items for st in (it.stages if isinstance(it, sx.PhaseNode) else [it])
                       if isinstance(st, sx.StageNode)]
        for st in base_stages:
            if _param_refs(st.props) & names:
                f = self.stage_fields(st)
                f.pop("_entry_bare", None)
                f.pop("entry", None)
                if f.get("dwell", 0) is None:
                    f.pop("dwell")
                mine = stages.get(st.name.text)
                if mine is not None:
                    f.update({k: v for k, v in mine if v is not None and k not in ("name", "span")})
                stages[st.name.text] = StagePatch(name=st.name.text, span=st.span, **f)
        for it in self.items:
            if isinstance(it, sx.TransitionNode) and _param_refs(it) & names:
                key = (it.source.text, it.target.text)
                if key in own_keys or key in removed:
                    continue
                tr = self.transition(it, set())
                if tr is not None:
                    transitions.append(tr)
            elif isinstance(it, sx.TouchpointNode) and _param_refs(it.props) & names:
                f = self.touchpoint_fields(it)
                mine_tp = tps.get(it.name.text)
                if mine_tp is not None:
                    f.update({k: v for k, v in mine_tp if v is not None and k not in ("name", "span")})
                tps[it.name.text] = TouchpointPatch(name=it.name.text, span=it.span, **f)
            elif isinstance(it, sx.TriggerNode) and _param_refs(it.props) & names:
                f = self.trigger_fields(it, self.stage_names)
                mine_tg = tgs.get(it.name.text)
                if mine_tg is not None:
                    f.update({k: v for k, v in mine_tg if v is not None and k not in ("name", "span")})
                tgs[it.name.text] = TriggerPatch(name=it.name.text, span=it.span, **f)
        policy = ov.policy
        if policy is None:  # the base policy, when it uses one of this variant's parameters
            base_policies = [it for it in self.items if isinstance(it, sx.PolicyNode)]
            if base_policies and _param_refs(base_policies[0].props) & names:
                channels = policy_channels([it for it in self.items if isinstance(it, sx.TouchpointNode)])
                policy = compile_policy(self, base_policies[:1], channels)
        return ov.model_copy(update={
            "stages": tuple(stages.values()), "transitions": tuple(transitions),
            "touchpoints": tuple(tps.values()), "triggers": tuple(tgs.values()), "policy": policy,
        })

    def _overrides(
        self, items: Sequence[sx.Override], owner: str, base_tps: dict[str, Span | None],
        trigger_names: dict[str, Span | None], transition_keys: set[tuple[str, str]],
    ) -> Overrides:
        stages: list[StagePatch] = []
        transitions: list[Transition] = []
        tps: list[TouchpointPatch] = []
        tgs: list[TriggerPatch] = []
        removals: list[Removal] = []
        base_sent, self.sent_in = self.sent_in, self.sends_with(items)  # behaviour conditions see the changes
        keys: set[tuple[str, str]] = set()
        changed = {
            (t.source.text, t.target.text) for t in items if isinstance(t, sx.TransitionNode)
        }
        changed_triggers = {t.name.text for t in items if isinstance(t, sx.TriggerNode)}
        patched: dict[tuple[str, str], Span | None] = {}

        def once(kind: str, name: sx.Name) -> bool:
            if (kind, name.text) in patched:
                self.bag.error(
                    name.span, "E210", f"{kind} '{name.text}' is changed twice in {owner}",
                    "merge the two blocks into one",
                )
                return False
            patched[(kind, name.text)] = name.span
            return True

        for it in items:
            if isinstance(it, sx.StageNode):
                if not self.ref(it.name, self.stage_names, "stage", "E201"):
                    continue
                if not once("stage", it.name):
                    continue
                f = self.stage_fields(it)
                bare = f.pop("_entry_bare", False)
                if bare:
                    f["entry"] = 1.0
                if f.get("dwell", 0) is None:
                    f.pop("dwell")
                stages.append(StagePatch(name=it.name.text, label=it.label, span=it.span, **f))
            elif isinstance(it, sx.TransitionNode):
                tr = self.transition(it, keys)
                if tr is not None:
                    transitions.append(tr)
            elif isinstance(it, sx.TouchpointNode):
                if not once("touchpoint", it.name):
                    continue
                f = self.touchpoint_fields(it)
                if it.kind == "task":
                    f.setdefault("channel", "task")
                if it.name.text not in base_tps and "channel" not in f:
                    self.bag.error(
                        it.name.span, "E310",
                        f"new touchpoint '{it.name.text}' in {owner} has no channel",
                        did_you_mean(it.name.text, base_tps)
                        or "a new touchpoint needs 'channel ...'; to change one, use its name",
                    )
                    continue
                tps.append(TouchpointPatch(name=it.name.text, label=it.label, span=it.span, **f))
            elif isinstance(it, sx.TriggerNode):
                if not once("trigger", it.name):
                    continue
                f = self.trigger_fields(it, self.stage_names)
                if it.name.text not in trigger_names and "when" not in f:
                    self.bag.error(
                        it.name.span, "E310",
                        f"new trigger '{it.name.text}' in {owner} has no 'when'",
                        did_you_mean(it.name.text, trigger_names)
                        or "a new trigger needs 'when ...'; to change one, use its name",
                    )
                    continue
                if "when" in f and "stage" not in f:
                    continue
                tgs.append(TriggerPatch(name=it.name.text, label=it.label, span=it.span, **f))
            elif isinstance(it, sx.WithoutTrigger):
                if not self.ref(it.name, trigger_names, "trigger", "E203"):
                    continue
                if it.name.text in changed_triggers:
                    self.bag.error(
                        it.span, "E311",
                        f"{owner} both changes and removes trigger '{it.name.text}'",
                        "keep the change or the 'without', not both",
                    )
                    continue
                removals.append(Removal(kind="trigger", names=(it.name.text,), span=it.span))
            elif isinstance(it, sx.WithoutTransition):
                ok = self.ref(it.source, self.stage_names, "stage", "E201")
                ok = self.ref(it.target, self.stage_names, "stage", "E201") and ok
                key = (it.source.text, it.target.text)
                if ok and key not in transition_keys:
                    outs = sorted(t for s, t in transition_keys if s == key[0])
                    self.bag.error(
                        it.span, "E204", f"there is no transition '{key[0]} -> {key[1]}'",
                        (f"'{key[0]}' leads to " + ", ".join(f"'{t}'" for t in outs))
                        if outs else f"no transition leaves '{key[0]}'",
                    )
                elif ok and key in changed:
                    self.bag.error(
                        it.span, "E311",
                        f"{owner} both changes and removes '{key[0]} -> {key[1]}'",
                        "keep the change or the 'without', not both",
                    )
                elif ok:
                    removals.append(Removal(kind="transition", names=key, span=it.span))
        policies = [it for it in items if isinstance(it, sx.PolicyNode)]
        policy = None
        if policies and owner.startswith("segment"):
            self.bag.error(
                policies[0].span, "E311", f"{owner} has a policy; the policy is the same for every customer",
                "write the policy in the journey, or in a scenario to try another one",
            )
        elif policies:
            channels = policy_channels(
                [it for it in self.items if isinstance(it, sx.TouchpointNode)],
                [o for it in self.items if isinstance(it, sx.SegmentNode | sx.ScenarioNode) for o in it.overrides],
            )
            policy = compile_policy(self, policies, channels, owner)
        self.sent_in = base_sent
        return Overrides(
            stages=tuple(stages),
            transitions=tuple(transitions),
            touchpoints=tuple(tps),
            triggers=tuple(tgs),
            removals=tuple(removals),
            policy=policy,
        )

    def segment(self, node: sx.SegmentNode, names: dict[str, Span | None]) -> Segment | None:
        ok = self.declare(node.name, names, "segment")
        if node.name.text == RESERVED_SEGMENT:
            self.bag.error(
                node.name.span, "E212",
                f"'{RESERVED_SEGMENT}' names the customers in no segment; choose another name",
                None,
            )
            ok = False
        share = self.share(node.share, "segment share")
        ov = self.overrides(node.overrides, f"segment '{node.name.text}'")
        if not ok:
            return None
        return Segment(
            name=node.name.text, label=node.label, share=share, overrides=ov, span=node.span
        )

    def scenario(self, node: sx.ScenarioNode, names: dict[str, Span | None]) -> Scenario | None:
        ok = self.declare(node.name, names, "scenario")
        if node.name.text == RESERVED_SCENARIO:
            self.bag.error(
                node.name.span, "E212",
                f"'{RESERVED_SCENARIO}' names the journey without scenarios;"
                " choose another name", None,
            )
            ok = False
        ov = self.overrides(node.overrides, f"scenario '{node.name.text}'", scenario=True)
        rollout = None
        if node.rollout is not None:
            rollout = self.share(node.rollout, "rollout share")
            if not 0.0 < rollout <= 1.0:
                self.bag.error(
                    node.rollout.span, "E301",
                    "a scenario is rolled out to more than 0% and at most 100% of the customers,"
                    f" got {rollout * 100:.4g}%",
                    "write the share of customers who get the scenario, like 'scenario s 50% { ... }'",
                )
                ok = False
        if not ok:
            return None
        return Scenario(name=node.name.text, label=node.label, overrides=ov, rollout=rollout, span=node.span)

    def try_variants(self, journey: Journey) -> None:
        """Merge every segment, scenario and segment in a scenario once, so that a bad
        merge is reported here, not raised later by ``simulate``."""
        for seg in journey.segments:
            try:
                apply_overrides(journey, seg.overrides)
            except ValidationError as exc:
                self.bag.error(seg.span, "E300", f"in segment '{seg.name}': "
                               + _pydantic_message(exc), None)
        for sc in journey.scenarios:
            try:
                journey.with_scenario(sc.name).segment_journeys()
            except ValidationError as exc:
                self.bag.error(sc.span, "E300", f"in scenario '{sc.name}': "
                               + _pydantic_message(exc), None)
            except ValueError as exc:
                self.bag.error(sc.span, "E300", f"in scenario '{sc.name}': {exc}", None)
