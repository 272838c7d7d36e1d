"""Parameters: named, uncertain numbers, and the distributions they are drawn from.

A strategist writes ``25% ± 5%``, ``30 of 120``, ``95 EUR (75 EUR–130 EUR)``
or ``beta(30, 70)``; :func:`from_written` turns each form into a
:class:`Distribution` in the model's canonical units (shares as fractions,
durations in days, money in the journey's currency). Draws are made by
inverting the distribution function at uniform random numbers
(:meth:`Distribution.quantile`), so that the same random number gives the
same place in the distribution whatever its width: a scenario that moves a
parameter's mean moves every draw with it, and the 2.5% and 97.5% points the
tornado uses are the very quantiles the draws reproduce.

The incomplete beta and gamma functions the quantiles need are in
:mod:`journeydsl.language.special` (numpy, imported only when a distribution
is drawn from, so that compiling a journey does not import numpy).

>>> d = from_written("pm", "share", (0.25, 0.05))
>>> d.family, round(d.mean(), 12), round(d.sd() * 1.96, 12)
('beta', 0.25, 0.05)
>>> [round(float(x), 4) for x in d.quantile([0.025, 0.975])]
[0.2017, 0.3016]
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "PARAM_STREAM",
    "Distribution",
    "ParamError",
    "draw_uniforms",
    "from_written",
    "widest_share_spread",
]

Kind = Literal["share", "money", "duration", "count"]

#: The spawn key of the parameter draws' random stream (customers use keys 0, 1, ... per block).
PARAM_STREAM = 0x70617261  # "para"

_Z975 = 1.96  # the design: `A ± B` has sd B / 1.96


class ParamError(ValueError):
    """A parameter's value cannot be a distribution (the message says why, in a strategist's words)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Distribution:
    """A parameter's distribution, in canonical units.

    ``family`` and ``args``: ``fixed (v)``, ``beta (a, b)``, ``gamma (shape, scale)``,
    ``lognormal (mu, sigma)`` of the logarithm, ``uniform (low, high)``,
    ``normal (mean, sd)`` and ``triangular (low, mode, high)``. Draws are kept
    within ``[lower, upper]`` (0 to 1 for shares, at least 0 otherwise).
    """

    family: str
    args: tuple[float, ...]
    lower: float = 0.0
    upper: float = math.inf
    center: float | None = None  # the mean as written, when it was (kept exact, free of rounding)

    @property
    def uncertain(self) -> bool:
        """False for a plain constant (or a distribution of zero width)."""
        return self.family != "fixed" and self.sd() > 0

    def mean(self) -> float:
        """The mean (what every parameter takes without ``--draws``)."""
        f, a = self.family, self.args
        if self.center is not None:
            return self.center
        if f == "fixed":
            return a[0]
        if f == "beta":
            return a[0] / (a[0] + a[1])
        if f == "gamma":
            return a[0] * a[1]
        if f == "lognormal":
            return math.exp(a[0] + a[1] ** 2 / 2)
        if f == "uniform":
            return (a[0] + a[1]) / 2
        if f == "normal":
            return min(max(a[0], self.lower), self.upper)
        if f == "triangular":
            return (a[0] + a[1] + a[2]) / 3
        raise ValueError(f"unknown family {f}")  # pragma: no cover

    def sd(self) -> float:
        """The standard deviation."""
        f, a = self.family, self.args
        if f == "fixed":
            return 0.0
        if f == "beta":
            s = a[0] + a[1]
            return math.sqrt(a[0] * a[1] / (s * s * (s + 1)))
        if f == "gamma":
            return math.sqrt(a[0]) * a[1]
        if f == "lognormal":
            return math.sqrt((math.exp(a[1] ** 2) - 1) * math.exp(2 * a[0] + a[1] ** 2))
        if f == "uniform":
            return (a[1] - a[0]) / math.sqrt(12)
        if f == "normal":
            return a[1]
        lo, mo, hi = a
        return math.sqrt((lo * lo + mo * mo + hi * hi - lo * mo - lo * hi - mo * hi) / 18)

    def quantile(self, q: Sequence[float] | np.ndarray) -> np.ndarray:
        """The values below which a share ``q`` of draws fall (vectorised)."""
        import numpy as np

        from journeydsl.language.special import beta_ppf, gamma_ppf, norm_ppf

        qs = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
        f, a = self.family, self.args
        if f == "fixed":
            out = np.full(qs.shape, a[0])
        elif f == "beta":
            out = beta_ppf(qs, a[0], a[1])
        elif f == "gamma":
            out = gamma_ppf(qs, a[0]) * a[1]
        elif f == "lognormal":
            out = np.exp(a[0] + a[1] * norm_ppf(qs))
        elif f == "uniform":
            out = a[0] + qs * (a[1] - a[0])
        elif f == "normal":
            out = a[0] + a[1] * norm_ppf(qs)
        else:
            lo, mo, hi = a
            cut = (mo - lo) / (hi - lo) if hi > lo else 0.5
            left = lo + np.sqrt(qs * (hi - lo) * (mo - lo))
            right = hi - np.sqrt((1 - qs) * (hi - lo) * (hi - mo))
            out = np.where(qs < cut, left, right)
        return np.clip(out, self.lower, self.upper)

    def interval95(self) -> tuple[float, float]:
        """The 2.5% and 97.5% quantiles."""
        return _interval95(self)


@lru_cache(maxsize=4096)
def _interval95(d: Distribution) -> tuple[float, float]:
    lo, hi = d.quantile([0.025, 0.975])
    return float(lo), float(hi)


# --- building distributions from what was written ----------------------------------


def widest_share_spread(mean: float) -> float:
    """The widest ``± B`` a share of this mean can have (a Beta needs sd² < mean·(1 − mean)).

    >>> round(widest_share_spread(0.25), 4)
    0.8487
    """
    return _Z975 * math.sqrt(max(mean * (1 - mean), 0.0))


def _bounds(kind: Kind) -> tuple[float, float]:
    return (0.0, 1.0) if kind == "share" else (0.0, math.inf)


def from_written(form: str, kind: Kind, values: tuple[float, ...], family: str | None = None,
                 names: tuple[str | None, ...] = ()) -> Distribution:
    """The distribution a written form means (values already in canonical units).

    ``form``: ``fixed (v)``, ``pm (mean, half-width)``, ``range (mean, low, high)``,
    ``of (k, n)`` or ``dist`` (``family`` and its arguments, named by ``names``).
    Raises :class:`ParamError` when no distribution fits.
    """
    return _from_written(form, kind, tuple(values), family, tuple(names))


@lru_cache(maxsize=4096)
def _from_written(form: str, kind: Kind, values: tuple[float, ...], family: str | None,
                  names: tuple[str | None, ...]) -> Distribution:
    lower, upper = _bounds(kind)
    if form == "fixed":
        return Distribution("fixed", (values[0],), lower, upper)
    if form == "of":
        k, n = values
        if not (n >= 1 and 0 <= k <= n):
            raise ParamError(f"'{k:g} of {n:g}' needs 0 <= k <= n and n >= 1",
                             "write the successes first, then the trials: '30 of 120'")
        return Distribution("beta", (k + 1, n - k + 1), 0.0, 1.0)
    if form == "pm":
        mean, half = values
        if half < 0:
            raise ParamError("the spread after '±' must be at least 0")
        if half == 0:
            return Distribution("fixed", (mean,), lower, upper)
        return _by_moments(kind, mean, half / _Z975)
    if form == "range":
        mean, lo, hi = values
        if lo > hi:
            lo, hi = hi, lo
        if not lo <= mean <= hi:
            raise ParamError(
                f"the mean {_show(mean, kind)} is outside its range"
                f" {_show(lo, kind)}–{_show(hi, kind)}",
                "write the mean first and then the range around it: '25% (18%–33%)'",
            )
        if hi == lo:
            return Distribution("fixed", (mean,), lower, upper)
        return _by_width(kind, mean, lo, hi)
    assert family is not None
    return _explicit(kind, family, values, names)


def _show(v: float, kind: Kind) -> str:
    return f"{v * 100:.4g}%" if kind == "share" else f"{v:.6g}"


def _by_moments(kind: Kind, mean: float, sd: float) -> Distribution:
    if kind == "share":
        if not 0 < mean < 1:
            raise ParamError(f"a share with a spread needs a mean between 0% and 100%, got {_show(mean, kind)}")
        var = sd * sd
        if var >= mean * (1 - mean):
            widest = widest_share_spread(mean)
            raise ParamError(
                f"no share with mean {_show(mean, kind)} can spread ± {_show(sd * _Z975, kind)}",
                f"the widest spread around {_show(mean, kind)} is just under ± {widest * 100:.3g}"
                " percentage points; narrow it, or give a range like '25% (5%–60%)'",
            )
        c = mean * (1 - mean) / var - 1
        return Distribution("beta", (mean * c, (1 - mean) * c), 0.0, 1.0, mean)
    if mean <= 0:
        raise ParamError(f"a value with a spread needs a mean above 0, got {mean:g}")
    shape = (mean / sd) ** 2
    return Distribution("gamma", (shape, mean / shape), 0.0, math.inf, mean)


def _by_width(kind: Kind, mean: float, lo: float, hi: float) -> Distribution:
    """Mean ``mean`` and a 95% interval as wide as ``hi - lo`` (Beta for shares, gamma otherwise)."""
    width = hi - lo

    def make(log_c: float) -> Distribution:
        c = math.exp(log_c)
        if kind == "share":
            return Distribution("beta", (mean * c, (1 - mean) * c), 0.0, 1.0, mean)
        return Distribution("gamma", (c, mean / c), 0.0, math.inf, mean)

    def w(log_c: float) -> float:
        a, b = make(log_c).quantile([0.025, 0.975])
        return float(b - a)

    if kind == "share" and not 0 < mean < 1:
        raise ParamError(f"a share with a range needs a mean between 0% and 100%, got {_show(mean, kind)}")
    if kind != "share" and mean <= 0:
        raise ParamError(f"a value with a range needs a mean above 0, got {mean:g}")
    # start from the moments (sd = width / 3.92), then secant steps on log(width) against log(c)
    sd = width / (2 * _Z975)
    c0 = mean * (1 - mean) / min(sd * sd, mean * (1 - mean) * 0.999) - 1 if kind == "share" else (mean / sd) ** 2
    x0 = math.log(max(c0, 1e-2))
    x1 = x0 + 0.1

    def g(log_c: float) -> float:
        return math.log(max(w(log_c), 1e-300)) - math.log(width)

    g0, g1 = g(x0), g(x1)
    for _ in range(60):
        if abs(g1) < 1e-12 or g1 == g0:
            break
        x0, x1, g0 = x1, x1 - g1 * (x1 - x0) / (g1 - g0), g1
        x1 = min(max(x1, math.log(1e-3)), math.log(1e12))
        g1 = g(x1)
    if abs(g1) > 1e-6:
        raise ParamError(
            f"the range {_show(lo, kind)}–{_show(hi, kind)} is too wide for a mean of {_show(mean, kind)}",
            "narrow the range, or move the mean towards its middle",
        )
    return make(x1)


_FAMILY_ARGS: dict[str, tuple[str, ...]] = {
    "beta": ("a", "b"),
    "gamma": ("shape", "mean"),
    "lognormal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "triangular": ("low", "mode", "high"),
    "exponential": ("mean",),
}


def family_args(family: str) -> tuple[str, ...]:
    """The arguments of an explicit distribution, in the order they are written."""
    return _FAMILY_ARGS.get(family, ())


def _explicit(kind: Kind, family: str, values: tuple[float, ...], names: tuple[str | None, ...]) -> Distribution:
    order = _FAMILY_ARGS.get(family)
    if order is None:
        raise ParamError(f"'{family}' is not a parameter distribution",
                         "use beta, gamma, lognormal, uniform, normal or triangular")
    got: dict[str, float] = {}
    pos = 0
    for v, n in zip(values, names or (None,) * len(values), strict=True):
        key = order[pos] if n is None and pos < len(order) else n
        if n is None:
            pos += 1
        if key is None or key not in order:
            raise ParamError(f"{family} takes {', '.join(order)}" + (f", not '{n}'" if n else ""))
        got[key] = v
    missing = [k for k in order if k not in got]
    if missing:
        raise ParamError(f"{family} needs {', '.join(order)}; '{missing[0]}' is missing")
    lower, upper = _bounds(kind)
    if family == "beta":
        a, b = got["a"], got["b"]
        if a <= 0 or b <= 0:
            raise ParamError("beta needs two positive numbers, like 'beta(30, 70)'")
        return Distribution("beta", (a, b), 0.0, 1.0)
    if family in ("gamma", "exponential"):
        shape = got.get("shape", 1.0)
        if shape <= 0 or got["mean"] <= 0:
            raise ParamError(f"{family} needs a positive shape and mean")
        return Distribution("gamma", (shape, got["mean"] / shape), lower, upper, got["mean"])
    if family == "lognormal":
        m, s = got["mean"], got["sd"]
        if m <= 0 or s < 0:
            raise ParamError("lognormal needs a positive mean and an sd of at least 0")
        sigma2 = math.log1p((s / m) ** 2)
        return Distribution("lognormal", (math.log(m) - sigma2 / 2, math.sqrt(sigma2)), lower, upper, m)
    if family == "uniform":
        if got["low"] > got["high"]:
            raise ParamError(f"the low end {got['low']:g} is above the high end {got['high']:g}")
        return Distribution("uniform", (got["low"], got["high"]), lower, upper)
    if family == "normal":
        if got["sd"] < 0:
            raise ParamError("normal needs an sd of at least 0")
        return Distribution("normal", (got["mean"], got["sd"]), lower, upper)
    lo, mo, hi = got["low"], got["mode"], got["high"]
    if not lo <= mo <= hi:
        raise ParamError("triangular needs low <= mode <= high, like 'triangular(10%, 20%, 40%)'")
    return Distribution("triangular", (lo, mo, hi), lower, upper)


# --- draws --------------------------------------------------------------------------


def draw_uniforms(seed: int, name: str, draws: int) -> np.ndarray:
    """The uniform random numbers of parameter ``name`` for draws ``0 .. draws-1``.

    Each parameter has its own stream, spawned from ``seed`` with the keys
    ``(PARAM_STREAM, crc32(name))``: adding a parameter never changes the others'
    draws, and the customers' streams (keys ``0, 1, ...``) are never touched.
    """
    import numpy as np

    key = (PARAM_STREAM, zlib.crc32(name.encode("utf-8")))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
    return rng.random(draws)
