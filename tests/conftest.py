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


#: A Russian journey with uncertain parameters, a scenario, a plan with a budget and targets: every
#: section of the report and every command's table has something to show.
PLANNED_RU = """
journey "Школа: план запуска" {
    currency RUB
    language ru
    horizon 1 year
    param close "Доля закрытия" = 25% ± 5%
    param price "Цена курса" = 9_000 RUB ± 1_500 RUB
    stage lead "Заявка" { entry; dwell 5 days; touch call on enter }
    stage student "Студент" { goal; active; revenue price every month }
    stage gone "Ушёл" { terminal }
    touchpoint call "Звонок" { channel phone; cost 300 RUB; response 40% }
    lead -> student close
    lead -> gone otherwise
    student -> gone 10% per month
    scenario discount "Скидка 10%" { param price = 8_100 RUB ± 1_200 RUB }
    plan launch "Запуск 2027" { start 2027-01; months 6; arrivals 800 per month; budget 200_000 RUB per month }
    targets "Цели" {
        conversion_rate 20%
        retention 90 days 95%
        ltv 20_000 RUB
        cac at most 2_000 RUB
    }
}
"""


@pytest.fixture(scope="session")
def planned_text() -> str:
    """The text of :data:`PLANNED_RU`."""
    return PLANNED_RU
