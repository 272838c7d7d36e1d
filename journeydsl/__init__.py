"""journeydsl: plan, simulate and compare customer journeys.

Write a journey in a ``.journey`` file, then from Python::

    import journeydsl as jd
    journey = jd.load("examples/journeys/saas_trial.journey")
    results = jd.simulate(journey, customers=20_000, seed=42, scenarios=None)
    results.to_dict()["scenarios"][0]["metrics"]["conversion_rate"]

Each step of the tool is a function here: :func:`load` / :func:`loads`,
:func:`check`, :func:`simulate`, :func:`compare`, :func:`render`,
:func:`solve_exact`.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeydsl.api import check, compare, load, loads, render, simulate
    from journeydsl.engine.exact import ExactResult, ExactUnsupported
    from journeydsl.engine.exact import solve as solve_exact
    from journeydsl.engine.results import Results
    from journeydsl.language.errors import Diagnostic, JourneyError
    from journeydsl.language.model import Journey

# Names are imported on first use (PEP 562), so `import journeydsl` and
# `journeydsl --help` do not pay for numpy, pydantic, lark and networkx.
_LAZY = {
    "check": ("journeydsl.api", "check"),
    "compare": ("journeydsl.api", "compare"),
    "load": ("journeydsl.api", "load"),
    "loads": ("journeydsl.api", "loads"),
    "render": ("journeydsl.api", "render"),
    "simulate": ("journeydsl.api", "simulate"),
    "Diagnostic": ("journeydsl.language.errors", "Diagnostic"),
    "JourneyError": ("journeydsl.language.errors", "JourneyError"),
    "ExactResult": ("journeydsl.engine.exact", "ExactResult"),
    "ExactUnsupported": ("journeydsl.engine.exact", "ExactUnsupported"),
    "solve_exact": ("journeydsl.engine.exact", "solve"),
    "Journey": ("journeydsl.language.model", "Journey"),
    "Results": ("journeydsl.engine.results", "Results"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'journeydsl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Diagnostic",
    "ExactResult",
    "ExactUnsupported",
    "Journey",
    "JourneyError",
    "Results",
    "__version__",
    "check",
    "compare",
    "load",
    "loads",
    "render",
    "simulate",
    "solve_exact",
]
