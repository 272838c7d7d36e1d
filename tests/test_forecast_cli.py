"""`journeydsl forecast`, targets in `simulate` and the report: what a user sees, exit codes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from journeydsl.analysis.forecast import load_schema as forecast_schema
from journeydsl.analysis.targets import status
from journeydsl.api import loads, simulate
from journeydsl.engine.results import load_schema as results_schema

#: The ``cli`` fixture (tests/conftest.py): ``cli(*args) -> (exit code, stdout, stderr)``.
Cli = Callable[..., tuple[int, str, str]]

PLANNED = """journey "Trial to paid" {
    currency EUR
    customers 4000
    stage trial { entry; dwell 14 days; cost 2 EUR on enter }
    stage paid { goal; active; revenue 30 EUR every month }
    stage churned { terminal }
    stage lost { terminal }
    trial -> paid 40%
    trial -> lost otherwise
    paid -> churned 8% per month
    scenario cheap { paid { revenue 20 EUR every month } }
    plan launch "Launch $ 2027" {
        start 2027-01
        months 6
        arrivals 500 per month growing 10% per month
        arrivals 900 in 2027-03
        seasonality jun 120%
    }
    plan capped { start 2027-01; months 4; arrivals 2000 per month; budget 3000 EUR per month }
    targets "KPI" {
        conversion_rate 35%
        retention 90 days 99%
        ltv 50 EUR
        cac at most 5 EUR
    }
}
"""


@pytest.fixture
def planned(tmp_path: Path) -> Path:
    path = tmp_path / "planned.journey"
    path.write_text(PLANNED, encoding="utf-8")
    return path


def test_forecast_table_shows_months_and_targets(cli: Cli, planned: Path) -> None:
    code, out, err = cli("forecast", str(planned), "-q")
    assert code == 0, err
    assert "Forecast: Launch $ 2027 — Trial to paid (Jan 2027 to Jun 2027" in out  # months as people write them
    assert sum(ln[:3] in ("Jan", "Feb", "Mar", "Apr", "May", "Jun") for ln in out.splitlines()) == 6
    assert [ln.split()[2:4] for ln in out.splitlines() if ln.startswith("Mar 2027")] == [["900", "±59"]]
    assert "Targets" in out and "off track" in out  # retention 99% is out of reach


def test_forecast_formats(cli: Cli, planned: Path, tmp_path: Path) -> None:
    code, out, _ = cli("forecast", str(planned), "-f", "json", "-q", "--seed", "4")
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, forecast_schema())
    assert data["plan"] == "launch" and [m["month"] for m in data["months"]][:2] == ["2027-01", "2027-02"]
    assert {t["kpi"]: t["status"] for t in data["targets"]}["retention 90 days"] == "off track"

    code, out, _ = cli("forecast", str(planned), "-f", "csv", "-q")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6 and float(rows[2]["arrivals"]) == 900
    assert float(rows[0]["conversions_low"]) <= float(rows[0]["conversions"]) <= float(rows[0]["conversions_high"])

    code, out, _ = cli("forecast", str(planned), "-f", "markdown", "-q")
    assert code == 0 and out.startswith("## Forecast") and "| Jan 2027 |" in out

    svg = tmp_path / "cake.svg"
    code, _, err = cli("forecast", str(planned), "-f", "svg", "-o", str(svg))
    assert code == 0 and f"wrote {svg}" in err
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg") and "Launch $ 2027" in text and "cohort (month of arrival)" in text


def test_forecast_budget_is_reported(cli: Cli, planned: Path) -> None:
    code, out, _ = cli("forecast", str(planned), "--plan", "capped", "-f", "json", "-q")
    data = json.loads(out)
    assert code == 0 and data["budget"]["per_month"] == 3000
    capped = data["budget"]["capped"]
    assert capped and capped[0]["arrivals"] < capped[0]["planned"] == 2000
    for row in data["months"]:  # trial costs are all acquisition here: 1,500 trials a month
        assert row["arrivals"]["mean"] == pytest.approx(1500)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plan", "lunch"], "--plan: no plan 'lunch'; did you mean 'launch'?"),
        (["--draws", "5"], "--draws: "),  # this journey has no uncertain parameters
        (["-f", "pdf"], "invalid choice: 'pdf'"),
    ],
)
def test_forecast_usage_errors_exit_2(
    cli: Cli, planned: Path, argv: list[str], message: str
) -> None:
    code, _, err = cli("forecast", str(planned), *argv)
    assert code == 2 and message in err


def test_forecast_without_a_plan_says_how_to_write_one(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "plain.journey"
    path.write_text('journey "J" { stage a { entry; goal }; stage b { terminal }; a -> b 100% }', encoding="utf-8")
    code, _, err = cli("forecast", str(path))
    assert code == 2 and "has no plan; add one, e.g. 'plan launch { start 2027-01" in err


def test_forecast_invalid_plan_exits_1(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.journey"
    path.write_text(PLANNED.replace("start 2027-01\n", "start 2027-13\n"), encoding="utf-8")
    code, _, err = cli("forecast", str(path))
    assert code == 1 and "'2027-13' is not a calendar month" in err and "^^^^^^^" in err


def test_simulate_json_and_table_carry_targets(cli: Cli, planned: Path) -> None:
    code, out, _ = cli("simulate", str(planned), "-f", "json", "-q", "-n", "3000")
    data = json.loads(out)
    jsonschema.validate(data, results_schema())
    assert set(data["targets"]) == {"baseline", "cheap"}
    rows = {r["kpi"]: r for r in data["targets"]["baseline"]}
    assert rows["cac"]["bound"] == "at most" and rows["cac"]["unit"] == "money"
    assert rows["retention 90 days"]["status"] == "off track"
    conv = data["scenarios"][0]["metrics"]["conversion_rate"]
    assert rows["conversion_rate"]["forecast"] == conv["mean"]
    code, out, _ = cli("simulate", str(planned), "-q", "-n", "3000")
    assert code == 0 and "Targets (Baseline)" in out and "Targets (cheap)" in out
    assert "Retention at 90 days" in out and "retention 90 days" not in out  # the figure's name, not the key


def test_simulate_without_targets_has_no_targets_key(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "plain.journey"
    path.write_text('journey "J" { stage a { entry; goal }; stage b { terminal }; a -> b 100% }', encoding="utf-8")
    code, out, _ = cli("simulate", str(path), "-f", "json", "-q", "-n", "200")
    assert code == 0 and "targets" not in json.loads(out)


def test_report_has_forecast_and_targets_sections(cli: Cli, planned: Path, tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    code, _, err = cli("report", str(planned), "-o", str(html), "-n", "2000", "-q")
    assert code == 0, err
    text = html.read_text(encoding="utf-8")
    assert 'id="forecast"' in text and 'id="targets"' in text
    assert 'href="#forecast"' in text and 'href="#targets"' in text
    assert "Forecast by calendar month" in text and "Jun 2027" in text


@pytest.mark.parametrize(
    ("target", "bound", "expected"),
    [
        (0.30, "least", "on track"),  # below the whole interval: good for "at least"
        (0.35, "least", "at risk"),
        (0.40, "least", "off track"),
        (0.40, "most", "on track"),
        (0.35, "most", "at risk"),
        (0.30, "most", "off track"),
        (0.33, "least", "at risk"),  # the interval's own end counts as inside
    ],
)
def test_target_status_rule(target: float, bound: str, expected: str) -> None:
    assert status(target, bound, 0.33, 0.37) == expected


def test_retention_target_between_the_reported_points() -> None:
    """A retention target at a day that is not a headline point is read off the product-limit curve."""
    j = loads(PLANNED.replace("retention 90 days 99%", "retention 45 days 1%"))
    res = simulate(j, 3000, seed=2)
    assert res.targets is not None
    row = {r["kpi"]: r for r in res.targets["baseline"]}["retention 45 days"]
    assert row["status"] == "on track" and 0.8 < row["forecast"] < 0.95  # 8% churn a month: about 88%


DRAWN = """journey "Draws" {
    currency EUR
    customers 3000
    param close = 40% ± 10%
    stage trial { entry; dwell 14 days; cost 2 EUR on enter }
    stage paid { goal; active; revenue 30 EUR every month }
    stage churned { terminal }
    stage lost { terminal }
    trial -> paid close
    trial -> lost otherwise
    paid -> churned 8% per month
    plan p { start 2027-01; months 3; arrivals 500 per month }
}
"""


def test_forecast_draws_widen_the_intervals_around_the_same_means(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "drawn.journey"
    path.write_text(DRAWN, encoding="utf-8")
    _, out, _ = cli("forecast", str(path), "-f", "json", "-q")
    plain = json.loads(out)
    code, out, err = cli("forecast", str(path), "-f", "json", "-q", "--draws", "8")
    assert code == 0, err
    drawn = json.loads(out)
    jsonschema.validate(drawn, forecast_schema())
    assert (plain["draws"], drawn["draws"]) == (None, 8)
    for a, b in zip(plain["months"], drawn["months"], strict=True):
        for key in ("conversions", "active_end", "revenue"):
            assert b[key]["mean"] == a[key]["mean"]  # still the forecast at the parameters' means
            assert b[key]["ci95"][1] - b[key]["ci95"][0] > a[key]["ci95"][1] - a[key]["ci95"][0]
        assert b["arrivals"] == a["arrivals"]  # arrivals do not depend on the parameters here
    assert any("8 draws of the uncertain parameters" in n for n in drawn["notes"])


def test_forecast_refuses_a_job_over_the_work_limit_before_it_starts(tmp_path: Path) -> None:
    # forecast had no work limit: 100,000 draws of the fitness example ran out of memory after six
    # minutes. It now judges the cohort and its draws together, like simulate, and says so at once.
    import subprocess
    import sys

    example = Path(__file__).resolve().parent.parent / "examples" / "journeys" / "fitness_app_launch.journey"
    proc = subprocess.run([sys.executable, "-m", "journeydsl", "forecast", str(example), "-n", "1000", "--draws",
                           "5", "--max-work", "1000"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "in each of 6 runs" in proc.stderr and "fewer --draws" in proc.stderr
    assert "--horizon" not in proc.stderr  # forecast has none to shorten
    ok = subprocess.run([sys.executable, "-m", "journeydsl", "forecast", str(example), "-n", "1000", "--draws",
                         "5", "--max-work", "1000", "--force", "-q", "--format", "json"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and '"schema": "journeydsl.forecast/1"' in ok.stdout
