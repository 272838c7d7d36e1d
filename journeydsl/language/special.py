"""Special functions for :mod:`journeydsl.language.params`, vectorised with numpy.

The incomplete beta and gamma functions (continued fractions and series) and
their inverses (safeguarded Newton steps), rather than scipy's, so that every
command works with the base install; their accuracy (about 1e-12) is tested
against closed forms. Kept apart from ``params`` so that compiling a journey
(``journeydsl check``) does not import numpy: only drawing from a
distribution does.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = ["beta_cdf", "beta_ppf", "gamma_cdf", "gamma_ppf", "norm_ppf"]

_NORMAL = NormalDist()


def norm_ppf(q: np.ndarray) -> np.ndarray:
    """The standard normal quantiles of ``q`` (-inf at 0, inf at 1)."""
    flat = [(-math.inf if x <= 0 else math.inf if x >= 1 else _NORMAL.inv_cdf(float(x))) for x in q.ravel()]
    return np.array(flat, dtype=float).reshape(q.shape)


def _lentz_step(an: float | np.ndarray, bn: float | np.ndarray, c: np.ndarray, d: np.ndarray,
                tiny: float = 1e-300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of the modified Lentz method for a continued fraction with terms ``an / bn``:
    the new ``c`` and ``d`` (kept away from zero by ``tiny``) and the factor to multiply
    the running value by."""
    d = bn + an * d
    d = 1.0 / np.where(np.abs(d) < tiny, tiny, d)
    c = bn + an / c
    c = np.where(np.abs(c) < tiny, tiny, c)
    return c, d, d * c


def _betacf(a: float, b: float, x: np.ndarray) -> np.ndarray:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < tiny, tiny, d)
    d = 1.0 / d
    h = d.copy()
    for m in range(1, 1000):
        m2 = 2 * m
        c, d, delta = _lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), 1.0, c, d)
        h *= delta
        c, d, delta = _lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), 1.0, c, d)
        h *= delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    return h


def beta_cdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """The regularised incomplete beta function I_x(a, b)."""
    x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    inner = (x > 0) & (x < 1)
    xi = np.where(inner, x, 0.5)
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * np.log(xi) + b * np.log1p(-xi)
    bt = np.exp(lbt)
    direct = xi < (a + 1) / (a + b + 2)
    left = bt * _betacf(a, b, np.where(direct, xi, 0.5)) / a
    right = 1.0 - bt * _betacf(b, a, np.where(direct, 0.5, 1 - xi)) / b
    out = np.where(direct, left, right)
    return np.where(x <= 0, 0.0, np.where(x >= 1, 1.0, out))


def _beta_pdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    xi = np.clip(x, 1e-300, 1 - 1e-16)
    return np.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                  + (a - 1) * np.log(xi) + (b - 1) * np.log1p(-xi))


def gamma_cdf(x: np.ndarray, a: float) -> np.ndarray:
    """The regularised lower incomplete gamma function P(a, x) (scale 1)."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    out = np.zeros_like(x)
    gln = math.lgamma(a)
    series = (x > 0) & (x < a + 1)
    if series.any():
        xs = x[series]
        ap = np.full_like(xs, a)
        term = np.full_like(xs, 1.0 / a)
        total = term.copy()
        for _ in range(10000):
            ap += 1
            term *= xs / ap
            total += term
            if np.all(np.abs(term) < np.abs(total) * 1e-15):
                break
        out[series] = total * np.exp(-xs + a * np.log(xs) - gln)
    frac = x >= a + 1
    if frac.any():
        xf = x[frac]
        tiny = 1e-300
        b = xf + 1.0 - a
        c = np.full_like(xf, 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        for i in range(1, 10000):
            b = b + 2.0
            c, d, delta = _lentz_step(-i * (i - a), b, c, d)
            h *= delta
            if np.all(np.abs(delta - 1.0) < 1e-15):
                break
        out[frac] = 1.0 - np.exp(-xf + a * np.log(xf) - gln) * h
    return out


def _gamma_pdf(x: np.ndarray, a: float) -> np.ndarray:
    xi = np.maximum(x, 1e-300)
    return np.exp((a - 1) * np.log(xi) - xi - math.lgamma(a))


def _invert(cdf: Any, pdf: Any, q: np.ndarray, lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Safeguarded Newton: each step stays inside the bracket, else bisects it."""
    for _ in range(200):
        f = cdf(x) - q
        if np.all(np.abs(f) < 1e-14):
            return x
        lo = np.where(f < 0, x, lo)
        hi = np.where(f > 0, x, hi)
        p = pdf(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - f / p
        bad = ~np.isfinite(step) | (step < lo) | (step > hi)
        new = np.where(np.abs(f) < 1e-15, x, np.where(bad, (lo + hi) / 2, step))
        if np.all(np.abs(new - x) <= 1e-13 * np.maximum(1.0, np.abs(x))):
            return new
        x = new
    return x


def beta_ppf(q: np.ndarray, a: float, b: float) -> np.ndarray:
    """The quantiles of Beta(a, b) at ``q``."""
    flat = q.ravel()
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    start = np.clip(mean + sd * norm_ppf(np.clip(flat, 1e-12, 1 - 1e-12)), 1e-9, 1 - 1e-9)
    x = _invert(lambda v: beta_cdf(v, a, b), lambda v: _beta_pdf(v, a, b), flat,
                np.zeros_like(flat), np.ones_like(flat), start)
    x = np.where(flat <= 0, 0.0, np.where(flat >= 1, 1.0, x))
    return x.reshape(q.shape)


def gamma_ppf(q: np.ndarray, a: float) -> np.ndarray:
    """The quantiles of a gamma distribution of shape ``a`` and scale 1 at ``q``."""
    flat = q.ravel()
    hi = np.full_like(flat, a + 50 * math.sqrt(a) + 200)
    z = norm_ppf(np.clip(flat, 1e-12, 1 - 1e-12))
    start = a * np.maximum(1 - 1 / (9 * a) + z / (3 * math.sqrt(a)), 1e-3) ** 3  # Wilson-Hilferty
    if a > 2000:  # as good as exact here (relative error below 1e-7), and the series would be slow
        return np.where(flat <= 0, 0.0, np.where(flat >= 1, math.inf, start)).reshape(q.shape)
    x = _invert(lambda v: gamma_cdf(v, a), lambda v: _gamma_pdf(v, a), flat,
                np.zeros_like(flat), hi, np.clip(start, 1e-12, hi / 2))
    x = np.where(flat <= 0, 0.0, np.where(flat >= 1, math.inf, x))
    return x.reshape(q.shape)
