"""Syntax nodes compare, hash and show exactly as plain frozen dataclasses of the same fields would.

Their ``__eq__``, ``__hash__`` and ``__repr__`` come from one base class (``syntax._Node``) rather
than from ``@dataclass``, which compiles them for every class at start-up.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from journeydsl.language import syntax as sx
from journeydsl.language.parser import parse
from journeydsl.language.source import Source, Span

NODES = sorted(
    (c for _, c in inspect.getmembers(sx, inspect.isclass)
     if dataclasses.is_dataclass(c) and c.__module__ == sx.__name__),
    key=lambda c: c.__name__,
)


def _twin(cls: type) -> type:
    """The same fields under ``@dataclass(frozen=True, slots=True)``, with everything generated."""
    return dataclasses.make_dataclass(
        cls.__name__, [(f.name, object) for f in dataclasses.fields(cls)], frozen=True, slots=True
    )


def _values(cls: type, tag: str) -> list[object]:
    line = len(tag)
    return [Span(line, i + 1, line, i + 2) if f.name == "span" else (f"{tag}{i}", i)
            for i, f in enumerate(dataclasses.fields(cls))]


def test_every_node_class_uses_the_shared_methods() -> None:
    assert len(NODES) >= 70
    for cls in NODES:
        assert issubclass(cls, sx._Node), cls
        for name in ("__eq__", "__hash__", "__repr__"):
            assert name not in cls.__dict__, (cls, name)
        # the shared methods walk __match_args__: every field must be in it, compared, hashed and shown
        fields = dataclasses.fields(cls)
        assert cls.__match_args__ == tuple(f.name for f in fields), cls
        assert all(f.init and f.compare and f.repr and f.hash is None and not f.kw_only for f in fields), cls


@pytest.mark.parametrize("cls", NODES, ids=lambda c: c.__name__)
def test_node_behaves_as_its_dataclass_twin(cls: type) -> None:
    twin = _twin(cls)
    a, b, t = cls(*_values(cls, "v")), cls(*_values(cls, "v")), twin(*_values(cls, "v"))
    assert repr(a) == repr(t)
    assert a == b
    assert (a != b) is False  # __ne__ from __eq__
    assert hash(a) == hash(b) == hash(t)
    assert (a == t) is False  # another class, even with the same fields
    assert a != cls(*_values(cls, "other"))
    assert a.__eq__(object()) is NotImplemented
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.span = None
    assert not hasattr(a, "__dict__")
    assert pickle.loads(pickle.dumps(a)) == a
    assert dataclasses.replace(a) == a


def test_parsed_trees_compare_and_show_as_before() -> None:
    text = 'journey "T" {\n  stage a { entry }\n  stage b { terminal }\n  a -> b 30% after 2 days\n}\n'
    one, two = parse(Source("t.journey", text)), parse(Source("t.journey", text))
    assert one == two and hash(one) == hash(two)
    assert repr(one).startswith("JourneyNode(name=None, label='T', items=(StageNode(")
    assert len({one, two}) == 1
