"""Syntax -> the validated :class:`~journeydsl.language.model.Journey`.

Names are resolved (with did-you-mean hints), units converted to the model's
canonical ones (days; shares and the discount as fractions; one currency),
overrides of segments and scenarios built and checked to name things that
exist, and every problem is reported at the span it was written at. After a
clean compile the checks of :mod:`journeydsl.language.checks` run on the journey and
on each scenario and segment journey.

Public entry points: :func:`compile_source`, :func:`compile_text`, :func:`load`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from journeydsl.language import syntax as sx
from journeydsl.language.checks import (
    MAX_CUSTOMERS,
    check_all,
)
from journeydsl.language.compile_plan import compile_plans, compile_targets
from journeydsl.language.compile_policy import compile_calendar, compile_policy, policy_channels
from journeydsl.language.compile_values import (
    _fmt_num,
    _pydantic_message,
)
from journeydsl.language.compile_variants import VariantCompiler
from journeydsl.language.errors import (
    Diagnostic,
    DiagnosticBag,
    JourneyError,
    JourneyValidationError,
    did_you_mean,
)
from journeydsl.language.model import (
    Journey,
    Scenario,
    Segment,
    Transition,
)
from journeydsl.language.parser import parse, too_large
from journeydsl.language.source import FileTooLarge, Source, Span, read_bounded

__all__ = ["compile_source", "compile_syntax", "compile_text", "load", "read_source", "recompile"]







class _Compiler(VariantCompiler):
    """Turns one :class:`~journeydsl.language.syntax.JourneyNode` into a model, collecting diagnostics."""


    # --- values -------------------------------------------------------------










    # --- parameters and uncertain values ------------------------------------------







    # --- names --------------------------------------------------------------



    # --- the journey --------------------------------------------------------------

    def journey(self, node: sx.JourneyNode) -> Journey | None:
        items = node.items
        for it in items:
            if isinstance(it, sx.CurrencySetting) and self.currency is None:
                self.currency, self.currency_span = it.code, it.span
        settings: dict[str, Any] = {}
        seen_settings: dict[str, Span | None] = {}
        stages: list[tuple[sx.StageNode, str | None]] = []
        phases: list[str] = []
        for it in items:
            if isinstance(it, sx.PhaseNode):
                if it.label not in phases:
                    phases.append(it.label)
                stages.extend((s, it.label) for s in it.stages)
            elif isinstance(it, sx.StageNode):
                stages.append((it, None))
            elif isinstance(
                it,
                sx.CurrencySetting | sx.HorizonSetting | sx.DiscountSetting | sx.CustomersSetting
                | sx.LtvWindowSetting | sx.LanguageSetting | sx.ArrivalsSetting,
            ):
                self.setting(it, settings, seen_settings)

        self.items = items
        # the working week, read first: business days in triggers need it
        calendar = compile_calendar(self, [it for it in items if isinstance(it, sx.CalendarNode)])
        self.has_calendar = calendar is not None
        for it in items:
            if isinstance(it, sx.ParamDecl):
                self.declare_param(it, self.params)

        # declare names first: references may point forward
        for s, _ in stages:
            self.declare(s.name, self.stage_names, "stage")
        touchpoints = [it for it in items if isinstance(it, sx.TouchpointNode)]
        triggers = [it for it in items if isinstance(it, sx.TriggerNode)]
        for t in touchpoints:
            self.declare(t.name, self.touchpoint_names, "touchpoint")
        for g in triggers:
            self.declare(g.name, self.trigger_names, "trigger")
        self.gather_sends(items)

        model_stages = [self.stage(s, phase) for s, phase in stages]
        self.fill_entries(model_stages, [s for s, _ in stages])
        transitions: list[Transition] = []
        for it in items:
            if isinstance(it, sx.TransitionNode):
                tr = self.transition(it, self.transition_keys)
                if tr is not None:
                    transitions.append(tr)
        model_tps = [self.touchpoint(t) for t in touchpoints]
        model_trs = [self.trigger(g) for g in triggers]

        segments: list[Segment] = []
        scenarios: list[Scenario] = []
        seg_names: dict[str, Span | None] = {}
        sc_names: dict[str, Span | None] = {}
        # segments first: a scenario applies on top of every segment, and may change or
        # remove what a segment adds
        for it in items:
            if isinstance(it, sx.SegmentNode):
                seg = self.segment(it, seg_names)
                if seg is not None:
                    segments.append(seg)
                    self.note_segment_additions(seg.overrides)
        for it in items:
            if isinstance(it, sx.ScenarioNode):
                sc = self.scenario(it, sc_names)
                if sc is not None:
                    scenarios.append(sc)

        # calendar plans and KPI targets (journeydsl.language.compile_plan)
        plans = compile_plans(self, [it for it in items if isinstance(it, sx.PlanNode)], sc_names)
        targets = compile_targets(self, [it for it in items if isinstance(it, sx.TargetsNode)])
        # the contact policy (journeydsl.language.compile_policy): caps name the channels in use
        policy = compile_policy(
            self, [it for it in items if isinstance(it, sx.PolicyNode)],
            policy_channels(touchpoints, [o for it in items if isinstance(it, sx.SegmentNode | sx.ScenarioNode)
                                          for o in it.overrides]),
        )

        for name, (_param, _d) in self.params.items():
            if name not in self.used:
                self.bag.warning(
                    self.param_spans.get(name), "W601", f"parameter '{name}' is never used",
                    f"use it where a number of its kind goes, like 'lead -> won {name}', or remove it",
                )
        if self.bag.has_errors:
            return None
        try:
            journey = Journey(
                params=tuple(p for p, _d in self.params.values()) + tuple(self.inline),
                name=node.label or node.name or "journey",
                currency=self.currency,
                phases=tuple(phases),
                stages=tuple(s for s in model_stages if s is not None),
                transitions=tuple(transitions),
                touchpoints=tuple(t for t in model_tps if t is not None),
                triggers=tuple(t for t in model_trs if t is not None),
                segments=tuple(segments),
                scenarios=tuple(scenarios),
                plans=tuple(plans),
                targets=targets,
                policy=policy,
                calendar=calendar,
                span=node.span,
                **settings,
            )
        except ValidationError as exc:
            self.bag.error(node.span, "E300", _pydantic_message(exc), None)
            return None
        self.try_variants(journey)
        return None if self.bag.has_errors else journey

    def setting(
        self, it: sx.Setting, out: dict[str, Any], seen: dict[str, Span | None]
    ) -> None:
        key = type(it).__name__.removesuffix("Setting").lower()
        if key in seen:
            first = seen[key]
            self.bag.error(
                it.span, "E211", f"'{key}' is set twice",
                f"first set at line {first.line}" if first else None,
            )
            return
        seen[key] = it.span
        self.no_params_in_settings(it)
        if any(isinstance(getattr(it, f, None), sx.ParamRef | sx.Uncertain) for f in ("duration", "rate", "per")):
            return
        if isinstance(it, sx.HorizonSetting):
            out["horizon_days"] = self.limited_days(it.duration, "horizon")
        elif isinstance(it, sx.LtvWindowSetting):
            out["ltv_window_days"] = self.limited_days(it.duration, "LTV window")
        elif isinstance(it, sx.DiscountSetting):
            self.discount(it, out)
        elif isinstance(it, sx.CustomersSetting):
            n = it.count.value
            if not math.isfinite(n) or n < 1 or n != int(n):
                self.bag.error(
                    it.count.span, "E309",
                    f"'customers' is a whole number of at least 1, got {_fmt_num(n)}", None,
                )
                return
            if n > MAX_CUSTOMERS:
                self.bag.error(
                    it.count.span, "E315",
                    f"'customers' is {n:,.0f}, more than the {MAX_CUSTOMERS:,} one run can simulate",
                    "a million customers already gives intervals of a fraction of a percent",
                )
                return
            out["customers"] = int(n)
        elif isinstance(it, sx.ArrivalsSetting):
            n = it.count.value
            days = self.days(it.per, what="period")
            if not math.isfinite(n) or n <= 0:
                self.bag.error(
                    it.count.span, "E309", f"'arrivals' is a number of customers above 0, got {_fmt_num(n)}",
                    "write how many new customers arrive, like 'arrivals 60 per day'",
                )
                return
            if days > 0:
                out["arrivals_per_day"] = n / days
        elif isinstance(it, sx.LanguageSetting):
            from journeydsl.language.model import LANGUAGES

            code = it.code.text
            if code not in LANGUAGES:
                self.bag.error(
                    it.code.span, "E300",
                    f"unknown language '{code}' (expected one of {', '.join(LANGUAGES)})",
                    did_you_mean(code, LANGUAGES) or "reports and maps are written in en, ru or bg",
                )
                return
            out["language"] = code
        # currency was read up front



    # --- stages ---------------------------------------------------------------




    # --- transitions ------------------------------------------------------------


    # --- touchpoints, triggers ----------------------------------------------------





    # --- segments, scenarios ------------------------------------------------------

































# --- entry points -------------------------------------------------------------------


def compile_syntax(node: sx.JourneyNode, path: str = "<journey>") -> tuple[Journey | None, list[Diagnostic]]:
    """Compile parsed syntax; returns the journey (``None`` on errors) and every diagnostic.

    The checks of :mod:`journeydsl.language.checks` run when the compile itself is clean.
    """
    bag = DiagnosticBag(path)
    journey = _Compiler(bag).journey(node)
    diags = list(bag.items)
    if journey is not None:
        journey = journey.model_copy(update={"source": path, "syntax": node})
        diags.extend(
            Diagnostic(d.span, d.severity, d.code, d.message, d.hint, path)
            for d in check_all(journey)
        )
    diags.sort(key=lambda d: d.sort_key)
    return journey, diags


def recompile(
    journey: Journey,
    *,
    quantiles: dict[str, float] | None = None,
    values: dict[str, float] | None = None,
) -> Journey:
    """``journey`` compiled again with some parameters drawn or set (no checks run).

    ``quantiles`` maps a parameter's name to the point of its distribution to
    take (``0.025`` for its low end; a uniform random number for a draw);
    ``values`` sets a parameter to a value outright. Parameters not named take
    their mean, as in the plain compile. A journey with no parameters (or one
    built in Python, with no syntax) is returned as it is.
    """
    if journey.syntax is None or not (quantiles or values):
        return journey
    bag = DiagnosticBag(journey.source or "<journey>")
    out = _Compiler(bag, quantiles=quantiles, values=values).journey(journey.syntax)
    if out is None:  # pragma: no cover - the same text compiled cleanly before
        raise ValueError("the journey no longer compiles with these parameter values: "
                         + "; ".join(d.message for d in bag.items if d.severity == "error"))
    return out.model_copy(update={"source": journey.source, "syntax": journey.syntax})


def compile_source(source: Source) -> tuple[Journey, list[Diagnostic]]:
    """Parse, compile and check ``source``; the journey and its warnings.

    Raises :class:`~journeydsl.language.errors.JourneyError` holding every error and
    warning (sorted by position) when there is any error.

    >>> j, warnings = compile_source(Source("x.journey",
    ...     'journey "J" { stage a { entry }; stage b { goal; terminal }; a -> b 100% }'))
    >>> (j.stage("a").entry, j.transitions[0].share, warnings)
    (1.0, 1.0, [])
    """
    node = parse(source)
    journey, diags = compile_syntax(node, source.path)
    if journey is None or any(d.severity == "error" for d in diags):
        raise JourneyValidationError(diags, source)
    return journey, diags


def compile_text(text: str, path: str = "<journey>") -> tuple[Journey, list[Diagnostic]]:
    """:func:`compile_source` for a string."""
    return compile_source(Source(path, text))


def read_source(path: str | Path) -> Source:
    """Read a journey file; unreadable, binary or non-UTF-8 files raise :class:`JourneyError`."""
    shown = str(path)
    try:
        return Source.read(path)
    except FileTooLarge as exc:
        raise too_large(shown, exc.size) from None
    except UnicodeDecodeError as exc:
        data = read_bounded(path)
        pos = exc.start
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        kind = "binary data" if b"\x00" in data[:8192] else "text that is not UTF-8"
        diag = Diagnostic(
            Span.point(line, col), "error", "E106",
            f"the file holds {kind} (byte 0x{data[pos]:02x} at line {line})",
            "save the journey as UTF-8 text", shown,
        )
        raise JourneyError([diag]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        diag = Diagnostic(
            None, "error", "E106", f"cannot read '{shown}': {reason.lower()}", None, shown
        )
        raise JourneyError([diag]) from None


def load(path: str | Path) -> Journey:
    """Read, parse, compile and check a ``.journey`` file (raises :class:`JourneyError`)."""
    journey, _ = compile_source(read_source(path))
    return journey


