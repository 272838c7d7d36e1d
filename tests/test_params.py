"""Parameter distributions: quantiles against closed forms, and draws that reproduce them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from journeydsl.language.params import Distribution, ParamError, draw_uniforms, from_written

Q = np.array([0.001, 0.025, 0.1, 0.5, 0.9, 0.975, 0.999])


@pytest.mark.parametrize("a", [0.3, 1.0, 2.5, 40.0])
def test_beta_quantiles_match_closed_forms(a: float) -> None:
    # Beta(a, 1) has F(x) = x^a; Beta(1, a) has F(x) = 1 - (1 - x)^a
    assert Distribution("beta", (a, 1.0), 0, 1).quantile(Q) == pytest.approx(Q ** (1 / a), abs=1e-11)
    assert Distribution("beta", (1.0, a), 0, 1).quantile(Q) == pytest.approx(1 - (1 - Q) ** (1 / a), abs=1e-11)


def test_gamma_quantiles_match_closed_forms() -> None:
    # shape 1 is exponential; shape 2 has F(x) = 1 - e^-x (1 + x)
    assert Distribution("gamma", (1.0, 3.0)).quantile(Q) == pytest.approx(-3.0 * np.log1p(-Q), rel=1e-11)
    x = Distribution("gamma", (2.0, 1.0)).quantile(Q)
    assert 1 - np.exp(-x) * (1 + x) == pytest.approx(Q, abs=1e-12)


def test_lognormal_and_normal_and_triangular() -> None:
    d = from_written("dist", "money", (100.0, 30.0), "lognormal", ("mean", "sd"))
    assert d.mean() == 100.0
    assert d.quantile([0.5])[0] == pytest.approx(100.0 / math.sqrt(1 + 0.09), rel=1e-12)
    n = from_written("dist", "share", (0.25, 0.02), "normal", ("mean", "sd"))
    assert n.interval95() == pytest.approx((0.25 - 0.02 * 1.959964, 0.25 + 0.02 * 1.959964), abs=1e-6)
    t = from_written("dist", "share", (0.0, 0.5, 1.0), "triangular", (None, None, None))
    assert t.quantile([0.125, 0.5])[:2] == pytest.approx([0.25, 0.5])


@pytest.mark.parametrize("spec", [("pm", "share", (0.25, 0.05)), ("of", "share", (30, 120)),
                                  ("pm", "money", (95.0, 20.0)), ("range", "share", (0.25, 0.18, 0.33))])
def test_draws_reproduce_the_quantiles(spec: tuple[str, str, tuple[float, ...]]) -> None:
    d = from_written(*spec)  # type: ignore[arg-type]
    n = 20_000
    draws = d.quantile(draw_uniforms(11, "x", n))
    for q in (0.025, 0.25, 0.5, 0.75, 0.975):
        # the share of draws below the q-quantile is binomial(n, q): within 4.5 standard errors
        below = float(np.mean(draws <= d.quantile([q])[0]))
        assert abs(below - q) < 4.5 * math.sqrt(q * (1 - q) / n)
    assert draws.mean() == pytest.approx(d.mean(), abs=4.5 * d.sd() / math.sqrt(n))


def test_draw_streams_depend_on_the_seed_and_name_only() -> None:
    a = draw_uniforms(5, "close", 100)
    assert np.array_equal(a[:40], draw_uniforms(5, "close", 40))
    assert not np.array_equal(a, draw_uniforms(5, "check", 100))
    assert not np.array_equal(a, draw_uniforms(6, "close", 100))


def test_widest_spread_is_refused_with_the_limit() -> None:
    with pytest.raises(ParamError) as info:
        from_written("pm", "share", (0.5, 0.99))
    assert "98" in (info.value.hint or "")  # 1.96 * sqrt(0.25) = 0.98
    assert from_written("pm", "share", (0.5, 0.97)).family == "beta"
