"""The journeydsl command as a user runs it: exit codes, what lands on stdout and stderr, files written."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from journeydsl.engine.results import load_schema

#: The ``cli`` fixture (tests/conftest.py): ``cli(*args) -> (exit code, stdout, stderr)``.
Cli = Callable[..., tuple[int, str, str]]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "journeys"
SAAS = EXAMPLES / "saas_trial.journey"


BROKEN = """\
journey "Broken" {
    stage visitor { entry }
    stage lost { terminal }
    visitor -> lsot 30%
    visitor -> lost otherwise
}
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.journey"
    path.write_text(BROKEN, encoding="utf-8")
    return path


# --- check --------------------------------------------------------------


def test_check_every_example_is_clean(cli: Cli) -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.journey"))
    code, out, _ = cli("check", *files)
    assert code == 0
    assert out.count(": ok") == len(files)


def test_check_points_at_the_mistake_with_a_hint(cli: Cli, broken: Path) -> None:
    code, _, err = cli("check", str(broken))
    assert code == 1
    assert f"{broken}:4:16: error: unknown stage 'lsot'" in err
    assert "   4 |     visitor -> lsot 30%\n     |                ^^^^\n" in err
    assert "hint: did you mean 'lost'?" in err
    assert "found 1 error in broken.journey" in err


def test_check_json_gives_one_object_per_diagnostic(cli: Cli, broken: Path) -> None:
    code, out, _ = cli("check", "--format", "json", str(broken))
    assert code == 1
    items = json.loads(out)
    assert [(d["line"], d["column"], d["severity"]) for d in items] == [(4, 16, "error")]
    assert items[0]["hint"] == "did you mean 'lost'?"


def test_check_strict_fails_on_warnings(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "warn.journey"
    path.write_text(
        'journey "w" {\n    stage a { entry }\n    stage b { terminal }\n    stage orphan { terminal }\n'
        "    a -> b otherwise\n}\n",
        encoding="utf-8",
    )
    assert cli("check", str(path))[0] == 0
    code, _, err = cli("check", "--strict", str(path))
    assert code == 1
    assert "warning:" in err and "orphan" in err


def test_missing_file_is_a_usage_error_with_did_you_mean(cli: Cli) -> None:
    code, _, err = cli("check", str(EXAMPLES / "saas_trail.journey"))
    assert code == 2
    assert "no such file" in err and "saas_trial.journey" in err


def test_binary_file_is_an_invalid_journey_not_a_crash(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "photo.journey"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    code, _, err = cli("check", str(path))
    assert code == 1
    assert str(path) in err and "error" in err


def test_bad_option_is_a_usage_error(cli: Cli) -> None:
    assert cli("simulate", str(SAAS), "--customers", "many")[0] == 2
    assert cli("simulate", str(SAAS), "--customers", "0")[0] == 2
    assert cli("simulate", str(SAAS), "--format", "xml")[0] == 2
    assert cli("launch")[0] == 2
    code, _, err = cli("simulate", str(SAAS), "--horizon", "2 fortnights")
    assert code == 2 and "unknown unit 'fortnight'" in err


# --- simulate -----------------------------------------------------------


def test_simulate_json_follows_the_schema_and_runs_scenarios(cli: Cli, small: Path) -> None:
    code, out, _ = cli("simulate", str(small), "--format", "json", "--seed", "7")
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, load_schema())
    assert data["customers"] == 4000 and data["seed"] == 7 and data["horizon_days"] == 365
    assert [a["name"] for a in data["scenarios"]] == ["baseline", "better_landing"]
    assert "versus_baseline" in data["scenarios"][1]


def test_simulate_is_reproducible_whatever_the_workers(cli: Cli, small: Path) -> None:
    outs = [cli("simulate", str(small), "-f", "json", "--seed", "3", "--workers", k)[1] for k in ("1", "2")]
    assert outs[0] == outs[1]
    other_seed = cli("simulate", str(small), "-f", "json", "--seed", "4")[1]
    assert other_seed != outs[0]


def test_simulate_table_is_for_people(cli: Cli, small: Path) -> None:
    code, out, _ = cli("simulate", str(small), "--seed", "1")
    assert code == 0
    assert out.startswith("Small funnel — 4,000 customers, seed 1, horizon 365 days")
    assert "Conversion rate" in out and "%" in out and "EUR" in out
    assert "Versus baseline" in out and "Better landing page" in out and "better_landing" not in out
    assert "Ranked by value per customer" in out
    ids = cli("simulate", str(small), "--seed", "1", "--ids")[1]
    assert "better_landing" in ids and "Better landing page" not in ids


def test_simulate_no_scenarios_and_picking_one(cli: Cli, small: Path) -> None:
    data = json.loads(cli("simulate", str(small), "-f", "json", "--no-scenarios")[1])
    assert [a["name"] for a in data["scenarios"]] == ["baseline"]
    data = json.loads(cli("simulate", str(small), "-f", "json", "--scenario", "better_landing")[1])
    assert [a["name"] for a in data["scenarios"]] == ["baseline", "better_landing"]
    code, _, err = cli("simulate", str(small), "--scenario", "beter_landing")
    assert code == 2 and "did you mean 'better_landing'?" in err


def test_simulate_csv_and_markdown(cli: Cli, small: Path) -> None:
    out = cli("simulate", str(small), "-f", "csv")[1]
    rows = list(csv.DictReader(io.StringIO(out)))
    conv = [r for r in rows if r["metric"] == "conversion_rate" and r["segment"] == "all"]
    assert [r["scenario"] for r in conv] == ["baseline", "better_landing"]
    assert 0.1 < float(conv[0]["mean"]) < 0.3 and float(conv[0]["ci_low"]) < float(conv[0]["mean"])
    md = cli("simulate", str(small), "-f", "markdown")[1]
    assert "| figure | Baseline | Better landing page |" in md
    md_ids = cli("simulate", str(small), "-f", "markdown", "--ids")[1]
    assert "| figure | baseline | better_landing |" in md_ids


def test_simulate_output_file_is_written_whole(cli: Cli, small: Path, tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    code, out, _ = cli("simulate", str(small), "-f", "json", "-o", str(target))
    assert code == 0 and out == ""
    jsonschema.validate(json.loads(target.read_text(encoding="utf-8")), load_schema())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "small.journey"]


def test_failed_command_leaves_no_file(cli: Cli, broken: Path, tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    assert cli("simulate", str(broken), "-o", str(target))[0] == 1
    assert not target.exists()
    assert cli("report", str(broken), "-o", str(tmp_path / "r.html"))[0] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.journey"]


def test_simulate_exact(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "exact.journey"
    path.write_text(
        'journey "e" {\n    currency EUR\n    stage a { entry; dwell 2 days }\n'
        "    stage won { goal; terminal; revenue 100 EUR on enter }\n    stage lost { terminal }\n"
        "    a -> a 50%\n    a -> won 25%\n    a -> lost otherwise\n}\n",
        encoding="utf-8",
    )
    code, out, _ = cli("simulate", str(path), "--exact", "-f", "json")
    assert code == 0
    (data,) = json.loads(out)["scenarios"]
    assert data["name"] == "baseline"
    assert data["conversion_rate"] == pytest.approx(0.5)
    assert data["visits_per_customer"]["a"] == pytest.approx(2.0)
    assert data["revenue_on_enter_per_customer"] == pytest.approx(50.0)
    # every scenario gets its own exact answer, side by side in the table
    code, out, _ = cli("simulate", str(SAAS), "--exact")
    assert code == 0 and "Baseline" in out and "Conversion rate" in out and "faster_demo" not in out
    code, out, _ = cli("simulate", str(SAAS), "--exact", "--ids")
    assert code == 0 and "baseline" in out and "faster_demo" in out
    loop = tmp_path / "loop.journey"
    loop.write_text(
        'journey "loop" {\n    stage a { entry; active; dwell 1 day }\n    stage b { active; dwell 1 day }\n'
        "    a -> b otherwise\n    b -> a otherwise\n}\n",
        encoding="utf-8",
    )
    code, out, _ = cli("simulate", str(loop), "--exact")
    assert code == 0 and "no exact answer for 'Baseline'" in out
    assert "run without --exact to simulate it" in out


def test_quiet_keeps_stderr_empty(cli: Cli, small: Path, tmp_path: Path) -> None:
    code, _, err = cli("simulate", str(small), "-q", "-o", str(tmp_path / "x.txt"))
    assert code == 0 and err == ""


# --- compare ------------------------------------------------------------


def test_compare_files_as_arms(cli: Cli, small: Path, tmp_path: Path, small_text: str) -> None:
    other = tmp_path / "small_v2.journey"
    other.write_text(small_text.replace("visitor -> customer 20%", "visitor -> customer 30%"), encoding="utf-8")
    code, out, _ = cli("compare", str(small), str(other), "-f", "json", "-n", "4000")
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, load_schema())
    assert [a["name"] for a in data["scenarios"]] == ["small", "small_v2"]
    delta = data["scenarios"][1]["versus_baseline"]["conversion_rate"]
    assert delta["ci95"][0] > 0  # 20% -> 30% is plain to see at 4,000 customers
    assert cli("compare", str(small))[0] == 2


def test_compared_files_are_called_by_their_journeys_names(cli: Cli, small: Path, tmp_path: Path,
                                                           small_text: str) -> None:
    """Eight files side by side: the table heads each column with the journey's name, not the file's
    stem (``--ids`` gives the stems, which also stay the JSON names)."""
    files = [str(small)]
    for i in range(2, 9):
        path = tmp_path / f"v{i}.journey"
        path.write_text(small_text.replace('"Small funnel"', f'"Channel mix {i}"'), encoding="utf-8")
        files.append(str(path))
    code, out, _ = cli("compare", *files, "-n", "300", "-q")
    head = out.splitlines()[2]
    assert code == 0 and "Small funnel" in head and "Channel mix 8" in head and " v8 " not in f" {head} "
    code, out, _ = cli("compare", *files, "-n", "300", "-q", "--ids")
    assert code == 0 and "v8" in out.splitlines()[2] and "Channel mix 8" not in out


# --- render, init, fmt, report -------------------------------------------


def test_render_dot_to_stdout_and_svg_next_to_file(cli: Cli, small: Path) -> None:
    code, out, _ = cli("render", str(small), "-f", "dot", "-o", "-")
    assert code == 0 and out.startswith("digraph")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    code, _, _ = cli("render", str(small))
    assert code == 0
    svg = small.with_suffix(".svg")
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    code, _, _ = cli("render", str(small), "--scenario", "better_landing", "--flows", "-n", "2000")
    assert code == 0 and (small.parent / "small.better_landing.svg").exists()


def test_render_unknown_scenario(cli: Cli, small: Path) -> None:
    code, _, err = cli("render", str(small), "--scenario", "better_landin", "-f", "dot")
    assert code == 2 and "did you mean 'better_landing'?" in err


def test_init_writes_a_template_that_checks(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "mine.journey"
    assert cli("init", str(target))[0] == 0
    assert cli("check", str(target))[0] == 0
    assert cli("init", str(target))[0] == 2  # refuses to overwrite
    code, _, err = cli("init", "--template", "b2b_pipelin", str(tmp_path / "b.journey"))
    assert code == 2 and "did you mean 'b2b_pipeline'?" in err
    code, out, _ = cli("init", "--list")
    assert code == 0 and "saas_trial" in out and "b2b_pipeline" in out


def test_fmt_check_and_rewrite(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "messy.journey"
    path.write_text('journey "m" {\nstage a {entry}\n  stage b {terminal}\na->b otherwise\n}\n', encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    code, _, err = cli("fmt", "--check", str(path))
    assert code == 1 and "would be reformatted" in err
    assert path.read_text(encoding="utf-8") == before
    assert cli("fmt", str(path))[0] == 0
    assert cli("fmt", "--check", str(path))[0] == 0
    assert cli("check", str(path))[0] == 0


def test_report_writes_one_html_file(cli: Cli, small: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, _, _ = cli("report", str(small), "-o", str(target), "-n", "2000")
    assert code == 0
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "better_landing" in html


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "journeydsl", "check", str(SAAS)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


def test_grammar_cache_is_per_user_and_survives_corruption(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("JOURNEYDSL_NO_CACHE", None)
    cmd = [sys.executable, "-m", "journeydsl", "check", str(SAAS)]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    cached = list((tmp_path / "cache" / "journeydsl").glob("grammar-*"))
    assert first.returncode == 0 and len(cached) == 1
    cached[0].write_bytes(b"not a cache at all")
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, first.stderr)
    env["JOURNEYDSL_NO_CACHE"] = "1"
    env["XDG_CACHE_HOME"] = str(tmp_path / "other")
    off = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert off.returncode == 0 and not (tmp_path / "other").exists()


def test_fmt_writes_nothing_when_any_file_is_invalid(
    cli: Cli, broken: Path, tmp_path: Path
) -> None:
    messy = tmp_path / "messy.journey"
    text = 'journey "m" {\nstage a {entry}\n  stage b {terminal}\na->b otherwise\n}\n'
    messy.write_text(text, encoding="utf-8")
    code, _, err = cli("fmt", str(messy), str(broken))
    assert code == 1
    assert "unknown stage 'lsot'" in err and "nothing was reformatted" in err
    assert messy.read_text(encoding="utf-8") == text


def test_simulate_shows_warnings_with_their_place_unless_quiet(cli: Cli, tmp_path: Path, small_text: str) -> None:
    path = tmp_path / "w.journey"
    orphan = "    stage lost { terminal }\n    stage orphan { terminal }\n"
    path.write_text(small_text.replace("    stage lost { terminal }\n", orphan), encoding="utf-8")
    code, _, err = cli("simulate", str(path), "-n", "200", "-f", "json")
    assert code == 0
    assert "warning: no entry stage can reach stage 'orphan'" in err and "^" in err
    code, _, err = cli("simulate", str(path), "-n", "200", "-f", "json", "--quiet")
    assert code == 0 and err == ""
