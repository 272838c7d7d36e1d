"""Reading written values: parameters, uncertain values and the state one compile keeps.

The first layer of the compiler (:mod:`journeydsl.language.compile`): a value
as written (``25%``, ``price``, ``25% ± 5%``) becomes a number, with its
parameter recorded, and names are declared and resolved with did-you-mean hints.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from journeydsl.language import syntax as sx
from journeydsl.language.checks import MAX_MONEY
from journeydsl.language.errors import (
    DiagnosticBag,
    did_you_mean,
)
from journeydsl.language.model import (
    DAYS,
    UNIT_WORDS,
    Param,
)
from journeydsl.language.params import Distribution, ParamError, from_written
from journeydsl.language.source import Span

#: Names the language gives a meaning of its own.
RESERVED_SCENARIO = "baseline"
RESERVED_SEGMENT = "default"


_KIND_WORDS = {"share": "a share", "money": "money", "duration": "a duration", "number": "a plain number"}

_KIND_HINTS = {
    "share": "a share is written like '25%' or '25% ± 5%'",
    "money": "money is written like '49 EUR' or '95 EUR ± 20 EUR'",
    "duration": "a duration is written like '14 days' or '14 days ± 4 days'",
    "number": "a plain number is written like '0.5' or '2 ± 0.5'",
}

_EXAMPLES = {
    "fixed": ("3 days", "49 EUR"),
    "exponential": ("exponential(mean 2 days)", "exponential(mean 50 EUR)"),
    "gamma": ("gamma(shape 2, mean 5 days)", "gamma(shape 2, mean 50 EUR)"),
    "lognormal": ("lognormal(mean 5 days, sd 2 days)", "lognormal(mean 120 EUR, sd 40 EUR)"),
    "uniform": ("uniform(7 days, 14 days)", "uniform(10 EUR, 20 EUR)"),
    "weibull": ("weibull(shape 1.5, scale 30 days)", "weibull(shape 1.5, scale 100 EUR)"),
    "normal": ("normal(mean 10 days, sd 3 days)", "normal(mean 100 EUR, sd 20 EUR)"),
}


def _pydantic_message(exc: ValidationError) -> str:
    """The first problem pydantic found, in our style (no 'Value error,' prefix)."""
    for err in exc.errors():
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err.get("loc", ()))
        if err.get("type") == "missing":
            return f"'{loc}' is missing"
        if loc and err.get("type") != "value_error":
            return f"'{loc}': {msg[0].lower() + msg[1:]}"
        return msg[0].lower() + msg[1:] if msg else "invalid value"
    return "invalid value"  # pragma: no cover


def _fmt_pct(v: float) -> str:
    """A share as the percentage a strategist writes: ``0.25`` -> ``25%``."""
    return f"{v * 100:.10g}%"


def _fmt_num(v: float) -> str:
    return f"{v:g}"


def _quantity_text(q: sx.Quantity) -> str:
    """A quantity as written: ``2 days``, ``1 day``, ``49 EUR``."""
    if q.unit:
        return f"{_fmt_num(q.value)} {q.unit}{'' if q.value == 1 else 's'}"
    return f"{_fmt_num(q.value)} {q.currency}" if q.currency else _fmt_num(q.value)


def _fits(kind: str, want: str) -> bool:
    """Whether a parameter of ``kind`` may stand where a ``want`` goes."""
    return kind == want or (want == "money" and kind == "number")


def _canonical(a: sx.Amount, kind: str) -> float:
    if a.percent:
        return a.value / 100.0
    if a.unit:
        return a.value * DAYS[a.unit]
    return a.value


def _amount_text(a: sx.Amount) -> str:
    if a.percent:
        return f"{_fmt_num(a.value)}%"
    if a.unit:
        return f"{_fmt_num(a.value)} {a.unit}{'' if a.value == 1 else 's'}"
    return f"{_fmt_num(a.value)} {a.currency}" if a.currency else _fmt_num(a.value)


def _uncertain_text(u: sx.Uncertain) -> str:
    """A value as a strategist wrote it (canonical spelling): ``25% ± 5%``, ``30 of 120``."""
    t = [_amount_text(a) for a in u.amounts]
    if u.form == "fixed":
        return t[0]
    if u.form == "pm":
        return f"{t[0]} ± {t[1]}"
    if u.form == "range":
        return f"{t[0]} ({t[1]}–{t[2]})"
    if u.form == "of":
        return f"{t[0]} of {t[1]}"
    args = ", ".join(f"{n} {v}" if n else v for n, v in zip(u.arg_names or (None,) * len(t), t, strict=True))
    return f"{u.kind}({args})"


def _param_refs(node: object) -> set[str]:
    """The names of the parameters a syntax node uses (anywhere inside it)."""
    found: set[str] = set()
    stack: list[object] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, sx.ParamRef):
            found.add(cur.name.text)
        elif isinstance(cur, tuple | list):
            stack.extend(cur)
        elif hasattr(cur, "__dataclass_fields__"):
            stack.extend(getattr(cur, f) for f in cur.__dataclass_fields__ if f != "span")
    return found


def _plist(names: Iterable[str]) -> str:
    items = [f"'{n}'" for n in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pct(v: float) -> str:
    return f"{v * 100:.4g}%"


def _example(kind: str, measure: str) -> str:
    return _EXAMPLES[kind][0 if measure == "time" else 1]


def _example_hint(kind: str, measure: str) -> str:
    return f"for example: {_example(kind, measure)}"


def _written_unit(node: object) -> str | None:
    """The unit a duration was written in (``month`` in ``6 months``); None for a parameter or a range."""
    unit = getattr(node, "unit", None) if isinstance(node, (sx.Duration, sx.Quantity)) else None
    return unit if isinstance(unit, str) else None



class ValueReader:
    """The state of one compile and reading values as written."""

    def __init__(
        self,
        bag: DiagnosticBag,
        quantiles: dict[str, float] | None = None,
        values: dict[str, float] | None = None,
    ) -> None:
        self.bag = bag
        # parameters: declared ones, the variant's own, inline ones; where a value
        # is drawn (``quantiles``: name -> u) or set (``values``: name -> value)
        self.quantiles = quantiles or {}
        self.values = values or {}
        self.params: dict[str, tuple[Param, Distribution]] = {}
        self.param_spans: dict[str, Span | None] = {}
        self.scope: dict[str, tuple[Param, Distribution]] = {}
        self.scope_owner: str | None = None
        self.inline: list[Param] = []
        self.inline_spans: dict[Span, Param] = {}
        self.items: tuple[sx.BodyItem, ...] = ()
        self.used: set[str] = set()
        self.broken: set[str] = set()  # declared, but with a value that was reported
        self.context: str = "value"
        self.currency: str | None = None
        self.currency_span: Span | None = None
        self.stage_names: dict[str, Span | None] = {}
        self.touchpoint_names: dict[str, Span | None] = {}
        self.has_calendar = False  # whether the journey sets a calendar (business days need one)
        self.step_names: dict[str, tuple[str, ...]] = {}  # touchpoint -> its funnel steps (all layers)
        self.sent_in: dict[str, list[str]] = {}  # touchpoint -> stages whose triggers send it
        self.trigger_names: dict[str, Span | None] = {}
        self.transition_keys: set[tuple[str, str]] = set()
        # what the segments add to the base: a scenario may change or remove these too
        self.segment_tps: dict[str, Span | None] = {}
        self.segment_triggers: dict[str, Span | None] = {}
        self.segment_keys: set[tuple[str, str]] = set()

    def ref(self, name: sx.Name, table: dict[str, Span | None], kind: str, code: str) -> bool:
        if name.text in table:
            return True
        hint = did_you_mean(name.text, table)
        if hint is None and not table:
            hint = f"there is no {kind} in this journey yet; define one with '{kind} {name.text}'"
        elif hint is None:
            shown = ", ".join(f"'{n}'" for n in sorted(table)[:8])
            hint = f"the {kind}s are {shown}" + (", ..." if len(table) > 8 else "")
        self.bag.error(name.span, code, f"unknown {kind} '{name.text}'", hint)
        return False

    def declare(self, name: sx.Name, table: dict[str, Span | None], kind: str) -> bool:
        if name.text in table:
            first = table[name.text]
            where = f" (first at line {first.line})" if first else ""
            self.bag.error(
                name.span, "E210", f"duplicate {kind} '{name.text}'",
                f"each {kind} has its own name{where}",
            )
            return False
        table[name.text] = name.span
        return True

    def pick(self, name: str, dist: Distribution) -> float:
        """The value a parameter takes in this compile: set, drawn at a quantile, or its mean."""
        if name in self.values:
            return float(min(max(self.values[name], dist.lower), dist.upper))
        if name in self.quantiles:
            return float(dist.quantile([self.quantiles[name]])[0])
        return dist.mean()

    def written_text(self, node: sx.Valued) -> str | None:
        """How an uncertain share reads on a map: ``25% ± 5%``, or ``Close rate 25% ± 5%`` for a parameter
        (called by its label, like everything a person reads; by its name when it has none)."""
        if isinstance(node, sx.Uncertain):
            return None if node.form == "fixed" else _uncertain_text(node)
        entry = self.scope.get(node.name.text) or self.params.get(node.name.text)
        if entry is None:
            return None
        param, dist = entry
        if not dist.uncertain:
            return param.title
        return f"{param.title} {param.text}"

    def no_params_in_settings(self, it: sx.Setting) -> None:
        for v in (getattr(it, "duration", None), getattr(it, "rate", None), getattr(it, "per", None)):
            if isinstance(v, sx.ParamRef):
                self.used.add(v.name.text)
            if isinstance(v, sx.ParamRef | sx.Uncertain):
                self.bag.error(v.span, "E604", "a setting takes a plain value, not a parameter or a range",
                               "settings such as the horizon and the discount are fixed; write the value itself")

    def written(self, node: sx.Uncertain, want: str | None) -> tuple[str, Distribution] | None:
        """The kind and distribution of a written value (``want``: the kind its place needs)."""
        amounts = node.amounts
        names = node.arg_names or (None,) * len(amounts)
        kinds: list[str] = []
        for a, n in zip(amounts, names, strict=True):
            if n == "shape":
                continue
            k = ("share" if a.percent else "money" if a.currency else "duration" if a.unit else "number")
            if a.currency:
                self.check_currency(a.currency, a.span)
            kinds.append(k)
        if node.form == "of" or (node.form == "dist" and node.kind == "beta"):
            kind = "share"
            if any(a.percent or a.unit or a.currency for a in amounts):
                self.bag.error(node.span, "E602", "'k of n' and beta take plain numbers",
                               "write '30 of 120' or 'beta(30, 70)'")
                return None
        else:
            typed = [k for k in kinds if k != "number"]
            kind = typed[0] if typed else "number"
            if kind == "number" and want == "share" and node.form in ("pm", "range"):
                kind = "share"  # `0.25 ± 0.05` where a share goes: fractions
            for a, n in zip(amounts, names, strict=True):
                k = ("share" if a.percent else "money" if a.currency else "duration" if a.unit else "number")
                if n == "shape" or k == kind or (k == "number" and kind in ("money", "number")):
                    continue
                if k == "number" and kind == "share" and not any(x.percent for x in amounts):
                    continue
                self.bag.error(
                    a.span, "E602",
                    f"'{_amount_text(a)}' is {_KIND_WORDS[k]}, but this value is {_KIND_WORDS[kind]}",
                    "write every part of one value in the same unit, like '25% ± 5%' or '95 EUR ± 20 EUR'",
                )
                return None
        vals = tuple(_canonical(a, kind) if n != "shape" else a.value for a, n in zip(amounts, names, strict=True))
        try:
            dist = from_written(node.form, kind if kind != "number" else "count", vals,  # type: ignore[arg-type]
                                node.kind, tuple(names))
        except ParamError as exc:
            self.bag.error(node.span, "E603", str(exc), exc.hint)
            return None
        return kind, dist

    def check_currency(self, code: str | None, span: Span | None) -> None:
        if code is None:
            return
        if self.currency is None:
            self.currency, self.currency_span = code, span
        elif code != self.currency:
            where = f" (line {self.currency_span.line})" if self.currency_span else ""
            self.bag.error(
                span, "E304",
                f"currency mismatch: '{code}' here, but the journey uses '{self.currency}'",
                f"one journey has one currency{where}; write amounts in '{self.currency}'",
            )

    def money_limit(self, amount: float, span: Span | None, what: str) -> None:
        if abs(amount) > MAX_MONEY:
            self.bag.error(
                span, "E315", f"{what} is {_fmt_num(amount)}, more than the {MAX_MONEY:g} an amount"
                " can be", "amounts up to a trillion are summed exactly over every customer",
            )

    def declare_param(self, node: sx.ParamDecl, table: dict[str, tuple[Param, Distribution]],
                      prefix: str = "") -> None:
        """``param NAME ["Label"] = VALUE``: into ``table`` (the journey's, or a variant's own)."""
        name = node.name.text
        if name in table:
            first = self.param_spans.get(prefix + name)
            where = f" (first at line {first.line})" if first else ""
            self.bag.error(node.name.span, "E210", f"duplicate parameter '{name}'",
                           f"each parameter has its own name{where}")
            return
        if name in self.stage_names or name in self.touchpoint_names or name in self.trigger_names:
            pass  # names live in their own places; a stage may share a parameter's name
        got = self.written(node.value, None)
        if got is None:
            self.broken.add(name)
            return
        kind, dist = got
        base = self.params.get(name) if prefix else None
        if prefix and base is None:
            hint = did_you_mean(name, self.params) or (
                "declare it at journey level first: 'param " + name + " = ...'")
            self.bag.error(node.name.span, "E601", f"unknown parameter '{name}'", hint)
            return
        if base is not None and base[0].kind != kind:
            self.bag.error(
                node.value.span, "E602",
                f"'{name}' is {_KIND_WORDS[base[0].kind]}, but this value is {_KIND_WORDS[kind]}",
                f"give '{name}' a value of the same kind, like '{base[0].text}'",
            )
            return
        label = node.label if node.label is not None else (base[0].label if base else None)
        param = Param(name=name, label=label, kind=kind, family=dist.family, args=dist.args,
                      lower=dist.lower, upper=dist.upper, center=dist.center, text=_uncertain_text(node.value),
                      span=node.span)
        table[name] = (param, dist)
        self.param_spans[prefix + name] = node.name.span

    def valued(self, node: sx.Valued, want: str, what: str) -> float:
        """The value of a parameter used by name, or of an uncertain value written in place."""
        if isinstance(node, sx.ParamRef):
            name = node.name.text
            entry = self.scope.get(name) or self.params.get(name)
            if entry is None and name in self.broken:
                return 0.0 if want != "duration" else 1.0  # its declaration was reported
            if entry is None:
                # where a duration goes, a bare word is as likely a misspelt unit ('per mnth')
                units = list(UNIT_WORDS) if want == "duration" else []
                hint = did_you_mean(name, [*self.params, *units])
                if hint is None:
                    hint = (f"declare it with 'param {name} = ...'" if not self.params else
                            "the parameters are " + ", ".join(f"'{n}'" for n in sorted(self.params)[:8]))
                what_word = "unit or parameter" if units else "parameter"
                self.bag.error(node.span, "E601", f"unknown {what_word} '{name}'", hint)
                return 0.0 if want != "duration" else 1.0
            param, dist = entry
            self.used.add(name)
            if not _fits(param.kind, want):
                self.bag.error(
                    node.span, "E602",
                    f"'{name}' is {_KIND_WORDS[param.kind]} ({param.text}), but {_KIND_WORDS[want]}"
                    f" goes here", _KIND_HINTS[want],
                )
                return 0.0 if want != "duration" else 1.0
            key = f"{self.scope_owner}: {name}" if name in self.scope and self.scope_owner else name
            if key not in self.values and key not in self.quantiles:
                key = name
            value = self.pick(key, dist)
            return value if want != "duration" or value > 0 else 1e-9
        got = self.written(node, want)
        if got is None:
            return 0.0 if want != "duration" else 1.0
        kind, dist = got
        if not _fits(kind, want):
            self.bag.error(node.span, "E602",
                           f"this value is {_KIND_WORDS[kind]}, but {_KIND_WORDS[want]} goes here",
                           _KIND_HINTS[want])
            return 0.0 if want != "duration" else 1.0
        if node.form == "fixed":
            return dist.mean()
        known = self.inline_spans.get(node.span) if node.span is not None else None
        if known is not None and self.scope_owner is not None:
            return self.pick(known.name, dist)  # a base statement compiled again for a variant
        name = self.context if self.scope_owner is None else f"{self.scope_owner}: {self.context}"
        taken = {p.name for p in self.inline} | set(self.params)
        if name in taken:
            k = 2
            while f"{name} ({k})" in taken:
                k += 1
            name = f"{name} ({k})"
        param = Param(
            name=name, kind=kind, family=dist.family, args=dist.args,
            lower=dist.lower, upper=dist.upper, center=dist.center, text=_uncertain_text(node), inline=True,
            span=node.span,
        )
        self.inline.append(param)
        if self.scope_owner is None and node.span is not None:
            self.inline_spans[node.span] = param
        value = self.pick(name, dist)
        return value if want != "duration" or value > 0 else 1e-9
