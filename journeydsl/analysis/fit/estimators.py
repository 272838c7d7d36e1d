"""The statistics of a fit: stays in a stage -> shares, time in stage and exit rates.

Every estimator uses the stays still open at the cut-off (right-censored),
because leaving them out biases the figures: the slow exits are the ones
still open, so counting closed stays only over-weights the fast ones.

- Branch shares: the Aalen–Johansen estimate of each exit's cumulative
  incidence at the longest follow-up, with its Greenwood-type variance
  (Marubini & Valsecchi 2004, as in lifelines' ``AalenJohansenFitter``),
  normalised over the exits; the uncertainty is a Beta with the same mean
  and variance (its *effective sample size*).
- Time in stage: maximum likelihood with right-censoring over exponential,
  gamma, lognormal and Weibull (``scipy.stats`` ``fit`` on ``CensoredData``),
  ranked by AIC.
- Rates: the constant-hazard maximum likelihood ``exits / time at risk``,
  with the exact Poisson (chi-square) interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Curve",
    "DwellCandidate",
    "ExitTimes",
    "Rate",
    "SegmentFit",
    "Share",
    "aalen_johansen",
    "fit_dwell",
    "fit_exit_times",
    "fit_rates",
    "fit_segment_shares",
    "fit_shares",
]

#: stays are never shorter than a minute for the time-in-stage fit (the log of zero has no likelihood)
MIN_DAYS = 1.0 / 1440.0
#: the distributions are fitted to a seeded random sample of this many stays when a stage has more
FIT_SAMPLE = 20_000
#: the joint fit of each exit's time uses a seeded sample of this many stays (a slower likelihood)
EXIT_SAMPLE = 5_000
KINDS = ("exponential", "gamma", "lognormal", "weibull")


# --- cumulative incidence ---------------------------------------------------------------------------


@dataclass
class Curve:
    """The Aalen–Johansen cumulative incidence of each exit at the distinct exit times (days)."""

    times: np.ndarray  # (T,)
    cif: np.ndarray  # (K, T)
    survival: np.ndarray  # (T,) still in the stage just after each time
    variance_end: np.ndarray  # (K,) variance of each cif at the last time


def aalen_johansen(days: np.ndarray, cause: np.ndarray, k: int) -> Curve:
    """Cumulative incidence of ``k`` competing exits; ``cause`` -1 marks a stay still open at ``days``.

    >>> c = aalen_johansen(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, -1, 1, 0]), 2)
    >>> [round(float(x), 4) for x in c.cif[:, -1]]
    [0.625, 0.375]
    """
    event = cause >= 0
    if not event.any():
        return Curve(np.zeros(0), np.zeros((k, 0)), np.zeros(0), np.zeros(k))
    times, inverse = np.unique(days[event], return_inverse=True)
    sorted_days = np.sort(days)
    at_risk = (days.size - np.searchsorted(sorted_days, times, side="left")).astype(np.float64)
    by_cause = np.bincount(inverse * k + cause[event], minlength=times.size * k).reshape(times.size, k).T
    d = by_cause.sum(axis=0).astype(np.float64)
    surv = np.cumprod(1.0 - d / at_risk)
    lag = np.concatenate(([1.0], surv[:-1]))
    cif = np.cumsum(lag * by_cause / at_risk, axis=1)
    # variance at the last time (Marubini & Valsecchi; lifelines' AalenJohansenFitter)
    f_end = cif[:, -1:]
    gap = f_end - cif
    left = at_risk - d
    first = np.where(left > 0, gap**2 * d / (at_risk * np.where(left > 0, left, 1.0)), 0.0).sum(axis=1)
    second = (lag**2 * by_cause * (at_risk - by_cause) / at_risk**3).sum(axis=1)
    third = (gap * lag * by_cause / at_risk**2).sum(axis=1)
    var = np.maximum(first + second - 2.0 * third, 0.0)
    return Curve(times, cif, surv, var)


@dataclass
class Share:
    """One exit's fitted share, its 95% interval and Beta uncertainty."""

    target: int
    exits: int
    share: float
    low: float
    high: float
    alpha: float
    beta: float

    @property
    def half_width(self) -> float:
        """About half the 95% interval (the ``±`` of ``docs/language.md``)."""
        return 1.96 * math.sqrt(self.alpha * self.beta / ((self.alpha + self.beta) ** 2 * (self.alpha + self.beta + 1)))


def fit_shares(curve: Curve, targets: list[int], exits: np.ndarray) -> tuple[list[Share], float]:
    """Shares of each exit (normalised cumulative incidence) and the part still undecided at the end.

    The undecided part is ``1 - sum(cif)`` at the longest follow-up: stays
    that outlast every exit seen. The shares assume they split like the rest.
    """
    from scipy import stats

    if curve.times.size == 0:
        return [], 1.0
    ends = curve.cif[:, -1]
    total = float(ends.sum())
    out = []
    for j, target in enumerate(targets):
        p = float(ends[j] / total)
        var = float(curve.variance_end[j]) / total**2
        if exits[j] == 0 or p <= 0.0:
            out.append(Share(target, 0, 0.0, 0.0, 0.0, 0.0, 1.0))
            continue
        if p >= 1.0 or var <= 0.0:
            n = float(exits.sum())
            a, b = p * n + 0.5, (1.0 - p) * n + 0.5  # Jeffreys when the variance vanishes (one exit)
        else:
            n_eff = max(p * (1 - p) / var - 1.0, 1.0)
            a, b = p * n_eff, (1.0 - p) * n_eff
        low, high = (float(x) for x in stats.beta.ppf([0.025, 0.975], a, b))
        out.append(Share(target, int(exits[j]), p, low, high, a, b))
    return out, 1.0 - total


# --- time in stage --------------------------------------------------------------------------------------


@dataclass
class DwellCandidate:
    """One distribution fitted to the time in a stage, with its log-likelihood on every stay."""

    kind: str
    params: dict[str, float]
    loglik: float
    aic: float
    mean: float

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """The fitted chance of having left by ``t`` days."""
        return np.asarray(_frozen(self).cdf(t), dtype=np.float64)


def _frozen(c: DwellCandidate) -> Any:
    from scipy import stats

    p = c.params
    if c.kind == "exponential":
        return stats.expon(scale=p["mean"])
    if c.kind == "gamma":
        return stats.gamma(p["shape"], scale=p["mean"] / p["shape"])
    if c.kind == "lognormal":
        return stats.lognorm(p["sigma"], scale=math.exp(p["mu"]))
    return stats.weibull_min(p["shape"], scale=p["scale"])


def _loglik(c: DwellCandidate, done: np.ndarray, open_: np.ndarray) -> float:
    frozen = _frozen(c)
    return float(np.sum(frozen.logpdf(done)) + np.sum(frozen.logsf(open_)))


def fit_dwell(days: np.ndarray, left: np.ndarray, *, seed: int = 0) -> list[DwellCandidate]:
    """Every family fitted to the stays (``left`` False: still open), best AIC first.

    Empty when no stay has ended. Above :data:`FIT_SAMPLE` stays the shapes
    are fitted on a seeded random sample; the likelihood and AIC are always
    computed on every stay.
    """
    from scipy import stats

    days = np.maximum(np.asarray(days, dtype=np.float64), MIN_DAYS)
    done, open_ = days[left], days[~left]
    if done.size == 0:
        return []
    mean = float(days.sum() / done.size)
    found = [DwellCandidate("exponential", {"mean": mean}, 0.0, 0.0, mean)]
    if done.size >= 3 and np.ptp(done) > 0:
        sample_done, sample_open = done, open_
        if days.size > FIT_SAMPLE:
            rng = np.random.default_rng(seed)
            keep = rng.random(days.size) < FIT_SAMPLE / days.size
            sample_done, sample_open = days[keep & left], days[keep & ~left]
        data = stats.CensoredData(uncensored=sample_done, right=sample_open)
        for kind, dist in (("gamma", stats.gamma), ("lognormal", stats.lognorm), ("weibull", stats.weibull_min)):
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    shape, _loc, scale = dist.fit(data, floc=0)
            except Exception:  # an optimiser failure drops the family, never the fit
                continue
            if not (np.isfinite(shape) and np.isfinite(scale) and shape > 0 and scale > 0):
                continue
            if kind == "gamma":
                params, m = {"shape": float(shape), "mean": float(shape * scale)}, float(shape * scale)
            elif kind == "lognormal":
                mu, sigma = math.log(scale), float(shape)
                params = {"mu": mu, "sigma": sigma}
                m = math.exp(mu + sigma**2 / 2)
                params["mean"], params["sd"] = m, m * math.sqrt(math.expm1(sigma**2))
            else:
                params = {"shape": float(shape), "scale": float(scale)}
                m = float(scale * math.gamma(1 + 1 / shape))
            found.append(DwellCandidate(kind, params, 0.0, 0.0, m))
    for c in found:
        with np.errstate(all="ignore"):
            c.loglik = _loglik(c, done, open_)
        c.aic = 2 * (1 if c.kind == "exponential" else 2) - 2 * c.loglik
    found = [c for c in found if math.isfinite(c.aic)]
    return sorted(found, key=lambda c: c.aic)


# --- rates -----------------------------------------------------------------------------------------------


@dataclass
class Rate:
    """A constant exit hazard per day with its exact 95% interval."""

    target: int
    exits: int
    exposure_days: float
    per_day: float
    low: float
    high: float

    def chance(self, per_days: float, hazard: float | None = None) -> float:
        """The chance of leaving by this exit within ``per_days`` if it were the only one."""
        return -math.expm1(-(self.per_day if hazard is None else hazard) * per_days)


def fit_rates(days: np.ndarray, cause: np.ndarray, targets: list[int]) -> list[Rate]:
    """Constant-hazard rate of each exit: exits over the total time at risk (open stays included)."""
    from scipy import stats

    exposure = float(np.sum(days))
    out = []
    for j, target in enumerate(targets):
        n = int(np.sum(cause == j))
        if exposure <= 0:
            out.append(Rate(target, n, 0.0, 0.0, 0.0, 0.0))
            continue
        low = float(stats.chi2.ppf(0.025, 2 * n) / 2) if n > 0 else 0.0
        high = float(stats.chi2.ppf(0.975, 2 * n + 2) / 2)
        out.append(Rate(target, n, exposure, n / exposure, low / exposure, high / exposure))
    return out


# --- time to each exit ------------------------------------------------------------------------------


@dataclass
class ExitTimes:
    """Each exit with its own time distribution (the journey's ``after``), fitted jointly with the shares.

    The censored mixture likelihood: a stay that ended by exit j at t counts
    ``p_j f_j(t)``; a stay still open at c counts ``sum_j p_j S_j(c)``.
    ``aic`` is set against ``common_aic``, the same data with one time in
    stage for every exit (the journey's ``dwell``).
    """

    kind: str
    by_target: dict[int, DwellCandidate]
    shares: dict[int, float]
    aic: float
    common_aic: float

    @property
    def better_by(self) -> float:
        """How much lower (better) the AIC is than one time in stage for all exits."""
        return self.common_aic - self.aic


def log_density(kind: str, x: np.ndarray, shape: float, scale: float) -> np.ndarray:
    """``scipy.stats``' ``logpdf`` of the four families (loc 0), through ``scipy.special`` directly.

    The joint fit calls it thousands of times; building a frozen distribution
    each time costs more than the sums. ``tests/test_fit.py`` checks it
    against ``scipy.stats``.
    """
    from scipy import special

    z = x / scale
    if kind == "exponential":
        return np.asarray(-z - math.log(scale))
    if kind == "gamma":
        return np.asarray((shape - 1) * np.log(z) - z - special.gammaln(shape) - math.log(scale))
    if kind == "lognormal":
        return np.asarray(-0.5 * (np.log(z) / shape) ** 2 - np.log(x * shape * math.sqrt(2 * math.pi)))
    return np.asarray(math.log(shape / scale) + (shape - 1) * np.log(z) - z**shape)


def survival(kind: str, x: np.ndarray, shape: float, scale: float) -> np.ndarray:
    """``scipy.stats``' ``sf`` of the four families (loc 0), through ``scipy.special`` directly."""
    from scipy import special

    z = x / scale
    if kind == "exponential":
        return np.asarray(np.exp(-z))
    if kind == "gamma":
        return np.asarray(special.gammaincc(shape, z))
    if kind == "lognormal":
        return np.asarray(special.ndtr(-np.log(z) / shape))
    return np.asarray(np.exp(-(z**shape)))


def _candidate(kind: str, shape: float, scale: float) -> DwellCandidate:
    if kind == "exponential":
        return DwellCandidate(kind, {"mean": scale}, 0.0, 0.0, scale)
    if kind == "gamma":
        return DwellCandidate(kind, {"shape": shape, "mean": shape * scale}, 0.0, 0.0, shape * scale)
    if kind == "lognormal":
        m = scale * math.exp(shape**2 / 2)
        return DwellCandidate(kind, {"mu": math.log(scale), "sigma": shape, "mean": m,
                                     "sd": m * math.sqrt(math.expm1(shape**2))}, 0.0, 0.0, m)
    return DwellCandidate(kind, {"shape": shape, "scale": scale}, 0.0, 0.0, scale * math.gamma(1 + 1 / shape))


def fit_exit_times(days: np.ndarray, cause: np.ndarray, targets: list[int], common: DwellCandidate,
                   *, seed: int = 0, min_exits: int = 10) -> ExitTimes | None:
    """Per-exit time distributions by censored mixture maximum likelihood (``scipy.optimize`` over
    ``scipy.stats``' densities through ``scipy.special``), one family for all exits, the lowest AIC;
    ``None`` with fewer than two or more than five exits, or one seen fewer than ``min_exits`` times."""
    from scipy import optimize, stats

    k = len(targets)
    counts = np.bincount(cause[cause >= 0], minlength=k)
    if k < 2 or k > 5 or counts.min() < min_exits:
        return None
    days = np.maximum(np.asarray(days, dtype=np.float64), MIN_DAYS)
    if days.size > EXIT_SAMPLE:
        keep = np.random.default_rng(seed).random(days.size) < EXIT_SAMPLE / days.size
        days, cause = days[keep], cause[keep]
        counts = np.bincount(cause[cause >= 0], minlength=k)
        if counts.min() < min_exits:
            return None
    open_ = days[cause < 0]
    done = [days[cause == j] for j in range(k)]
    # one time in stage for all exits: shares are then the exits' proportions
    frozen_common = _frozen(common)
    common_ll = float(np.sum(counts * np.log(counts / counts.sum()))
                      + np.sum(frozen_common.logpdf(days[cause >= 0])) + np.sum(frozen_common.logsf(open_)))
    common_aic = 2 * (k - 1 + (1 if common.kind == "exponential" else 2)) - 2 * common_ll
    families = {"exponential": stats.expon, "gamma": stats.gamma, "lognormal": stats.lognorm,
                "weibull": stats.weibull_min}
    best: ExitTimes | None = None
    for kind, dist in families.items():
        two = kind != "exponential"

        def unpack(theta: np.ndarray, two: bool = two) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            logits = np.concatenate(([0.0], theta[: k - 1]))
            p = np.exp(logits - logits.max())
            p /= p.sum()
            rest = np.exp(np.clip(theta[k - 1:], -30, 30))
            shapes, scales = (rest[0::2], rest[1::2]) if two else (np.ones(k), rest)
            return p, shapes, scales

        def nll(theta: np.ndarray, unpack: Any = unpack, kind: str = kind) -> float:
            p, shapes, scales = unpack(theta)
            total = float(np.sum(counts * np.log(p)))
            sf = np.zeros(open_.size)
            for j in range(k):
                total += float(np.sum(log_density(kind, done[j], shapes[j], scales[j])))
                if open_.size:
                    sf += p[j] * survival(kind, open_, shapes[j], scales[j])
            if open_.size:
                total += float(np.sum(np.log(np.maximum(sf, 1e-300))))
            return -total if math.isfinite(total) else 1e300

        start = [math.log(counts[j] / counts[0]) for j in range(1, k)]
        for j in range(k):
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if two:
                        shape, _loc, scale = dist.fit(done[j], floc=0)
                    else:
                        shape, scale = 1.0, float(done[j].mean())
                except Exception:
                    shape, scale = 1.0, float(done[j].mean())
            start += [math.log(max(shape, 1e-3)), math.log(max(scale, 1e-6))] if two else [math.log(scale)]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = optimize.minimize(nll, np.array(start), method="L-BFGS-B")
        if not math.isfinite(res.fun) or res.fun >= 1e299:
            continue
        p, shapes, scales = unpack(res.x)
        n_params = (k - 1) + k * (2 if two else 1)
        aic = 2 * n_params + 2 * float(res.fun)
        if best is None or aic < best.aic:
            best = ExitTimes(kind, {t: _candidate(kind, float(shapes[j]), float(scales[j]))
                                    for j, t in enumerate(targets)},
                             {t: float(p[j]) for j, t in enumerate(targets)}, aic, common_aic)
    return best


@dataclass
class StageFit:
    """Everything fitted for one stage of the data."""

    key: int
    entries: int = 0
    open: int = 0
    unknown_start: int = 0
    targets: list[int] = field(default_factory=list)
    exits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    curve: Curve | None = None
    shares: list[Share] = field(default_factory=list)
    undecided: float = 0.0
    dwell: list[DwellCandidate] = field(default_factory=list)
    rates: list[Rate] = field(default_factory=list)
    mean_amount: float | None = None
    exposure_days: float = 0.0
    closed_only: dict[int, float] = field(default_factory=dict)
    exit_times: ExitTimes | None = None

    @property
    def left(self) -> int:
        return int(self.exits.sum())

    def share_of(self, target: int) -> Share | None:
        return next((s for s in self.shares if s.target == target), None)

    def rate_of(self, target: int) -> Rate | None:
        return next((r for r in self.rates if r.target == target), None)


def fit_stage(key: int, days: np.ndarray, dest: np.ndarray, *, unknown_start: int = 0,
              amounts: np.ndarray | None = None, seed: int = 0) -> StageFit:
    """Shares, time in stage and rates out of one stage from its stays (``dest`` -1: still open)."""
    fit = StageFit(key, entries=int(days.size), open=int(np.sum(dest < 0)), unknown_start=unknown_start,
                   exposure_days=float(np.sum(days)))
    targets, cause = np.unique(dest[dest >= 0], return_inverse=True)
    full_cause = np.full(dest.size, -1, dtype=np.int64)
    full_cause[dest >= 0] = cause
    fit.targets = [int(t) for t in targets]
    fit.exits = np.bincount(cause, minlength=len(fit.targets)).astype(np.int64)
    if fit.targets:
        fit.curve = aalen_johansen(days, full_cause, len(fit.targets))
        fit.shares, fit.undecided = fit_shares(fit.curve, fit.targets, fit.exits)
        fit.closed_only = {t: float(n / fit.exits.sum()) for t, n in zip(fit.targets, fit.exits, strict=True)}
    fit.dwell = fit_dwell(days, dest >= 0, seed=seed + key)
    fit.rates = fit_rates(days, full_cause, fit.targets)
    if fit.dwell and len(fit.targets) >= 2:
        fit.exit_times = fit_exit_times(days, full_cause, fit.targets, fit.dwell[0], seed=seed + key)
    if amounts is not None:
        known = amounts[np.isfinite(amounts)]
        if known.size:
            fit.mean_amount = float(known.mean())
    return fit


@dataclass
class SegmentFit:
    """One segment of the data: its share of the cases and the shares in it that differ from everyone's."""

    name: str
    cases: int
    share: float
    #: (stage key, the segment's share of one exit, everyone's share of it) where the 95% intervals do not overlap
    differs: list[tuple[int, Share, Share]] = field(default_factory=list)


#: a segment needs this many cases to be fitted apart, and a stage this many of its stays
MIN_SEGMENT_CASES = 30
MIN_SEGMENT_STAYS = 20


def fit_segment_shares(fit: StageFit, days: np.ndarray, dest: np.ndarray) -> list[tuple[Share, Share]]:
    """The exits of one stage whose share in a segment's stays differs beyond both 95% intervals."""
    if days.size < MIN_SEGMENT_STAYS or not fit.targets:
        return []
    index = {t: j for j, t in enumerate(fit.targets)}
    cause = np.array([index.get(int(d), -1) if d >= 0 else -1 for d in dest], dtype=np.int64)
    exits = np.bincount(cause[cause >= 0], minlength=len(fit.targets))
    if exits.sum() == 0:
        return []
    shares, _ = fit_shares(aalen_johansen(days, cause, len(fit.targets)), fit.targets, exits)
    out = []
    for s in shares:
        everyone = fit.share_of(s.target)
        if everyone is not None and s.exits and (s.high < everyone.low or s.low > everyone.high):
            out.append((s, everyone))
    return out

