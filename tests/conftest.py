"""Shared test settings and fixtures (running the command, a small journey in a file).

Hypothesis runs derandomized by default: the same generated examples every
run, so the statistical property tests compare against exact answers with
fixed draws and can never flake in CI. To explore new examples while
developing, run with ``JOURNEYDSL_HYPOTHESIS=explore``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("JOURNEYDSL_HYPOTHESIS", "ci"))


# --- the journeydsl command as a user runs it --------------------------------------------

#: A small journey every command runs on in a moment: four stages, one scenario.
SMALL = """\
journey "Small funnel" {
    currency EUR
    horizon 1 year
    customers 4000
    stage visitor { entry; dwell exponential(mean 2 days) }
    stage customer { goal; active; revenue 20 EUR every month }
    stage churned { terminal }
    stage lost { terminal }
    visitor -> customer 20%
    visitor -> lost otherwise
    customer -> churned 10% per month

    scenario better_landing "Better landing page" {
        visitor -> customer 25%
    }
}
"""

#: What the ``cli`` fixture is: ``cli("simulate", path, "-q") -> (exit code, stdout, stderr)``.
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``journeydsl ARGS...`` in this process; a traceback or an internal error fails the test."""
    from journeydsl.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert "internal error" not in err
        return code, out, err

    return run


@pytest.fixture
def journey_file(tmp_path: Path) -> Callable[..., Path]:
    """``journey_file(text, name="journey.journey")``: the text written to a file in ``tmp_path``."""

    def write(text: str, name: str = "journey.journey") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def small_text() -> str:
    """The text of :data:`SMALL` (for tests that change it or compare a file with it)."""
    return SMALL


@pytest.fixture
def small(journey_file: Callable[..., Path]) -> Path:
    """:data:`SMALL` written to ``small.journey`` in ``tmp_path``."""
    return journey_file(SMALL, "small.journey")
