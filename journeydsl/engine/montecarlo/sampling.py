"""Drawing from the language's distributions, vectorised, with a generator passed in.

Each :class:`~journeydsl.language.model.Dist` becomes a :class:`Sampler`: a small
picklable value with a ``draw(rng, n)`` method giving ``n`` non-negative
float64 values. Parameters are converted once (lognormal mean/sd to
mu/sigma, gamma mean to scale) so the hot loop only calls numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from journeydsl.language.model import Dist

__all__ = ["Sampler", "make_rng", "sampler"]

FloatArray = np.ndarray

#: A chance below which a delay is taken never to reach a time (:meth:`Sampler.below`): numpy's
#: own draws resolve no finer (an exponential draw, say, is a function of a 53-bit uniform).
NEGLIGIBLE = 2.0**-53
_LOG_NEGLIGIBLE = math.log(NEGLIGIBLE)


def make_rng(seed: int | np.random.SeedSequence) -> np.random.Generator:
    """The one place a numpy Generator is made from a seed (PCG64).

    >>> make_rng(1).random() == make_rng(1).random()
    True
    """
    return np.random.default_rng(seed)


@dataclass(frozen=True, slots=True)
class Sampler:
    """A distribution ready to draw from: ``kind`` and two numeric parameters.

    ``kind`` is one of ``fixed`` (a), ``exponential`` (scale a), ``gamma``
    (shape a, scale b), ``lognormal`` (mu a, sigma b), ``uniform`` (low a,
    high b), ``weibull`` (shape a, scale b), ``normal`` (mean a, sd b,
    truncated at zero by redrawing the negative draws).
    """

    kind: str
    a: float
    b: float = 0.0
    mean: float = 0.0

    def draw(self, rng: np.random.Generator, n: int) -> FloatArray:
        """``n`` independent draws as a float64 array."""
        k = self.kind
        if k == "fixed":
            return np.full(n, self.a)
        if k == "exponential":
            return rng.exponential(self.a, n)
        if k == "gamma":
            return rng.gamma(self.a, self.b, n)
        if k == "lognormal":
            return rng.lognormal(self.a, self.b, n)
        if k == "uniform":
            return rng.uniform(self.a, self.b, n)
        if k == "weibull":
            out = rng.weibull(self.a, n)
            out *= self.b
            return out
        if k == "normal":
            out = rng.normal(self.a, self.b, n)
            bad = np.flatnonzero(out < 0)
            while bad.size:
                redraw = rng.normal(self.a, self.b, bad.size)
                out[bad] = redraw
                bad = bad[redraw < 0]
            return out
        raise ValueError(f"unknown distribution kind '{k}'")

    @property
    def summable(self) -> bool:
        """Whether :meth:`draw_sum` can draw the sum of many draws at once."""
        return self.kind in ("fixed", "exponential", "gamma")

    def draw_sum(self, rng: np.random.Generator, n: int) -> float:
        """The sum of ``n`` independent draws, in one draw: a sum of exponentials or of gammas
        of one scale is a gamma (``summable`` kinds only).

        >>> Sampler("fixed", 2.0).draw_sum(make_rng(1), 3)
        6.0
        """
        if n == 0:
            return 0.0
        k = self.kind
        if k == "fixed":
            return n * self.a
        if k == "exponential":
            return float(rng.gamma(n, self.a))
        if k == "gamma":
            return float(rng.gamma(n * self.a, self.b))
        raise ValueError(f"no sum of '{k}' draws in one draw")

    def below(self, x: float) -> bool:
        """Whether a draw reaches ``x`` or more with a chance under :data:`NEGLIGIBLE` (by a bound:
        False when unsure).

        >>> Sampler("exponential", 2.0).below(365.0), Sampler("exponential", 2.0).below(30.0)
        (True, False)
        """
        k = self.kind
        if k == "fixed":
            return self.a < x
        if k == "exponential":
            return -x / self.a < _LOG_NEGLIGIBLE
        if k == "gamma":
            z, shape = x / self.b, self.a  # Chernoff: P(X >= z) <= (z/k)^k e^(k - z) for z > k
            return z > shape and shape * math.log(z / shape) + shape - z < _LOG_NEGLIGIBLE
        return False


def sampler(dist: Dist) -> Sampler:
    """Turn a model distribution into a :class:`Sampler` (degenerate ones become ``fixed``).

    >>> sampler(Dist(kind="gamma", shape=2, mean=5))
    Sampler(kind='gamma', a=2.0, b=2.5, mean=5.0)
    >>> sampler(Dist(kind="lognormal", mean=49, sd=0)).kind
    'fixed'
    """
    p = dist.params()
    m = dist.expected()
    k = dist.kind
    if k == "fixed":
        return Sampler("fixed", p["value"], mean=m)
    if k == "exponential":
        return Sampler("exponential", p["mean"], mean=m)
    if k == "gamma":
        return Sampler("gamma", p["shape"], p["mean"] / p["shape"], mean=m)
    if k == "lognormal":
        if p["sd"] == 0:
            return Sampler("fixed", p["mean"], mean=m)
        sigma2 = math.log1p((p["sd"] / p["mean"]) ** 2)
        return Sampler("lognormal", math.log(p["mean"]) - sigma2 / 2, math.sqrt(sigma2), mean=m)
    if k == "uniform":
        if p["low"] == p["high"]:
            return Sampler("fixed", p["low"], mean=m)
        return Sampler("uniform", p["low"], p["high"], mean=m)
    if k == "weibull":
        return Sampler("weibull", p["shape"], p["scale"], mean=m)
    if k == "normal":
        if p["sd"] == 0:
            return Sampler("fixed", p["mean"], mean=m)
        return Sampler("normal", p["mean"], p["sd"], mean=m)
    raise ValueError(f"unknown distribution kind '{k}'")
