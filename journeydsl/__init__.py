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

from journeydsl.api import check, compare, load, loads, render, simulate
from journeydsl.errors import Diagnostic, JourneyError
from journeydsl.exact import ExactResult, ExactUnsupported
from journeydsl.exact import solve as solve_exact
from journeydsl.model import Journey
from journeydsl.results import Results

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
