"""The JSON writer of the results contract writes exactly what ``json.dumps`` writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.api import load, simulate
from journeydsl.outputs.jsontext import dumps_indented


def _reference(obj: object) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_any_json_value_is_written_as_json_dumps_writes_it(obj: object) -> None:
    assert dumps_indented(obj) == _reference(obj)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_number_json_cannot_hold_is_refused_like_json_dumps(bad: float) -> None:
    with pytest.raises(ValueError):
        _reference({"x": [bad]})
    with pytest.raises(ValueError, match="not JSON compliant"):
        dumps_indented({"x": [bad]})


def test_an_object_json_cannot_write_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"x": [object()]})


def test_the_results_of_a_journey_with_scenarios_are_written_as_json_dumps_writes_them() -> None:
    journey = load(Path(__file__).parent.parent / "examples" / "journeys" / "b2b_pipeline.journey")
    data = simulate(journey, customers=2000, seed=1).to_dict()
    assert dumps_indented(data) == _reference(data)
