"""Indented JSON text, the same as ``json.dumps(obj, indent=2, ensure_ascii=False,
allow_nan=False)`` character for character, in about half the time.

Python's ``json`` writes indented text with its pure-Python encoder (the C one only
writes compact text), one generator step per value: the results of a journey of a
thousand stages and seventeen arms are about a million values. This writer appends
the same pieces to one list instead.

>>> import json
>>> obj = {"a": [1, 2.5, None, True], "b": {}, "c": [], "d": {"é": "x\\"y"}, "e": [[{}]]}
>>> dumps_indented(obj) == json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
True
"""

from __future__ import annotations

import json.encoder
from typing import Any

__all__ = ["dumps_indented"]

_STR = json.encoder.encode_basestring  # the C encoder's string quoting when it is there
_FLOAT = float.__repr__
_INT = int.__repr__
_INF = float("inf")
_JOIN_LEVEL = 2  # containers this deep are joined on their own (see dumps_indented.joined)


def _float(o: float) -> str:
    if o != o or o == _INF or o == -_INF:
        raise ValueError("Out of range float values are not JSON compliant: " + repr(o))
    return _FLOAT(o)


def _key(k: Any) -> str:
    """A dict key as ``json`` writes it (keys that are not strings become strings)."""
    if isinstance(k, str):
        return k
    if isinstance(k, float):
        return _float(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        return _INT(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


def dumps_indented(obj: Any, indent: int = 2) -> str:
    """``obj`` as JSON text indented by ``indent`` spaces (see the module's docstring)."""
    out: list[str] = []
    put = out.append
    pad = ["\n"]  # pad[k]: a newline and the indent of level k

    def newline(level: int) -> str:
        while len(pad) <= level:
            pad.append("\n" + " " * (indent * len(pad)))
        return pad[level]

    def write(o: Any, level: int) -> None:
        if isinstance(o, str):
            put(_STR(o))
        elif o is None:
            put("null")
        elif o is True:
            put("true")
        elif o is False:
            put("false")
        elif isinstance(o, int):
            put(_INT(o))
        elif isinstance(o, float):
            put(_float(o))
        elif isinstance(o, (list, tuple)):
            if not o:
                put("[]")
                return
            inner = newline(level + 1)
            sep = "[" + inner
            child = joined if level + 1 == _JOIN_LEVEL else write
            for v in o:
                put(sep)
                sep = "," + inner
                child(v, level + 1)
            put(newline(level) + "]")
        elif isinstance(o, dict):
            if not o:
                put("{}")
                return
            inner = newline(level + 1)
            sep = "{" + inner
            child = joined if level + 1 == _JOIN_LEVEL else write
            for k, v in o.items():
                put(sep)
                sep = "," + inner
                put(_STR(_key(k)))
                put(": ")
                child(v, level + 1)
            put(newline(level) + "}")
        else:
            raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")

    def joined(o: Any, level: int) -> None:
        """``o`` written into a list of its own, put as one string: the pieces of one
        subtree at a time are alive, not those of the whole text (which would take
        several times the text's size)."""
        nonlocal put
        if not (o and isinstance(o, (list, tuple, dict))):
            write(o, level)
            return
        outer = put
        own: list[str] = []
        put = own.append
        try:
            write(o, level)
        finally:
            put = outer
        put("".join(own))

    write(obj, 0)
    return "".join(out)
