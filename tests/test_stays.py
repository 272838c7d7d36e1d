"""The engine's stays: retention bins found by arithmetic are those a search finds."""

from __future__ import annotations

import numpy as np

from journeydsl.engine.montecarlo.stays import _edges_below, _edges_upto, unit_edges
from journeydsl.engine.results import TallyShape


def _shape(horizon: float) -> TallyShape:
    return TallyShape(stages=("a",), touchpoints=(), triggers=(), retention_days=(30.0, 90.0),
                      horizon_days=horizon)


def test_whole_day_edges_are_found_by_arithmetic_exactly_as_by_search() -> None:
    edges = _shape(730.0).km_edges
    assert unit_edges(edges)
    rng = np.random.default_rng(5)
    whole = np.arange(-3.0, 735.0)
    x = np.concatenate([
        whole, whole + 1e-9, whole - 1e-9, np.nextafter(whole, np.inf), np.nextafter(whole, -np.inf),
        730.0 - rng.uniform(0, 730, 10_000) + 1e-9, rng.uniform(-5, 740, 10_000),
        [np.inf, -np.inf, 0.0, -0.0, 729.0, 730.0, 731.0, 1e300, -1e300],
    ])
    np.testing.assert_array_equal(_edges_below(edges, True, x), np.searchsorted(edges, x, side="left"))
    np.testing.assert_array_equal(_edges_upto(edges, True, x), np.searchsorted(edges, x, side="right"))


def test_other_edges_are_searched() -> None:
    assert not unit_edges(_shape(100.5).km_edges)  # the horizon is not a whole day
    assert not unit_edges(_shape(20 * 365.0).km_edges)  # past ten years: 3,650 equal steps
    edges = _shape(100.5).km_edges
    x = np.array([-1.0, 0.0, 0.5, 100.0, 100.25, 100.5, 101.0, np.inf])
    np.testing.assert_array_equal(_edges_below(edges, False, x), np.searchsorted(edges, x, side="left"))
    np.testing.assert_array_equal(_edges_upto(edges, False, x), np.searchsorted(edges, x, side="right"))
