"""The Python API as a notebook user meets it: one import, every step callable on its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import journeydsl as jd
from journeydsl.api import parse_duration

SAAS = Path(__file__).resolve().parent.parent / "examples" / "journeys" / "saas_trial.journey"


def test_the_package_exports_each_step() -> None:
    for name in ("load", "loads", "check", "simulate", "compare", "render", "solve_exact"):
        assert callable(getattr(jd, name)), name
    # submodules must not shadow the functions after they are imported

    assert callable(jd.simulate) and callable(jd.render)


def test_simulate_picks_scenarios() -> None:
    journey = jd.load(SAAS)
    only_base = jd.simulate(journey, customers=1000, seed=1).to_dict()
    assert [a["name"] for a in only_base["scenarios"]] == ["baseline"]
    every = jd.simulate(journey, customers=1000, seed=1, scenarios=None).to_dict()
    assert [(a["name"], a["label"]) for a in every["scenarios"]] == [
        ("baseline", "Baseline"),
        ("faster_demo", "Demo on day 3"),
    ]
    # the baseline arm is the same run whether or not scenarios ride along
    assert every["scenarios"][0]["metrics"] == only_base["scenarios"][0]["metrics"]
    with pytest.raises(KeyError, match="did you mean 'faster_demo'"):
        jd.simulate(journey, customers=1000, scenarios=["faster_dem"])


def test_compare_names_arms_after_files_and_keeps_them_apart(tmp_path: Path) -> None:
    a = jd.load(SAAS)
    copy = tmp_path / "saas_trial.journey"
    copy.write_text(SAAS.read_text(encoding="utf-8"), encoding="utf-8")
    b = jd.load(copy)
    data = jd.compare([a, b], customers=1000, seed=2).to_dict()
    assert [s["name"] for s in data["scenarios"]] == ["saas_trial", "saas_trial_2"]
    # the same journey twice: every difference is exactly zero
    assert data["scenarios"][1]["versus_baseline"]["value_per_customer"]["delta"] == 0.0
    with pytest.raises(ValueError, match="at least two"):
        jd.compare([a])


def test_check_returns_diagnostics_not_exceptions(tmp_path: Path) -> None:
    assert jd.check(SAAS) == []
    bad = tmp_path / "bad.journey"
    bad.write_text('journey "b" {\n    stage a { entry }\n    a -> nowhere 50%\n}\n', encoding="utf-8")
    diags = jd.check(bad)
    assert [d.severity for d in diags].count("error") >= 1
    assert any("nowhere" in d.message for d in diags)


def test_render_with_a_previous_run_draws_its_flows() -> None:
    journey = jd.load(SAAS)
    results = jd.simulate(journey, customers=2000, seed=3)
    dot = jd.render(journey, format="dot", flows=results)
    assert isinstance(dot, str) and "per 1,000" in dot
    plain = jd.render(journey, format="dot")
    assert "per 1,000" not in plain


def test_a_journey_shows_as_its_map_in_a_notebook() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed")
    svg = jd.load(SAAS)._repr_svg_()
    assert svg is not None and "<svg" in svg and "Free trial" in svg


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("730", 730.0),
        ("90 days", 90.0),
        ("2 years", 730.0),
        ("1 week", 7.0),
        ("6 months", 182.5),
        ("1.5 quarters", 136.875),
    ],
)
def test_parse_duration(text: str, days: float) -> None:
    assert parse_duration(text) == pytest.approx(days)


def test_parse_duration_says_what_it_wants() -> None:
    with pytest.raises(ValueError, match="unknown unit 'fortnight'"):
        parse_duration("2 fortnights")
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("soon")


def test_import_and_help_do_not_load_the_heavy_libraries() -> None:
    """`import journeydsl` and `journeydsl --help` stay fast: numpy, pydantic, lark and
    networkx load only when a command or API call needs them (PEP 562 lazy names)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys, journeydsl, journeydsl.cli\n"
        "heavy = ('numpy', 'pydantic', 'lark', 'networkx', 'matplotlib')\n"
        "before = [m for m in heavy if m in sys.modules]\n"
        "journeydsl.load\n"
        "print(json.dumps([before, [m for m in heavy if m in sys.modules]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after = json.loads(out)
    assert before == []
    assert {"pydantic", "lark"} <= set(after)  # the first real use loads what it needs


def test_check_and_simulate_do_not_load_networkx() -> None:
    """`check` and `simulate` ask only reachability, strongly connected components and one
    cycle (language.digraph); networkx (about 0.3 s to import) is for `graph.to_graph` users."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from journeydsl.cli import main\n"
        f"main(['check', {str(root / 'examples/journeys/retail_recency.journey')!r}])\n"
        f"main(['simulate', '-q', '-n', '200', {str(root / 'examples/journeys/retail_recency.journey')!r}])\n"
        "print('networkx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_check_does_not_load_numpy_or_matplotlib() -> None:
    """`check` compiles and validates: numpy (about a fifth of its start-up) is imported only
    when a distribution is drawn from (a range like `25% (18%–33%)` is fitted by its quantiles)
    or a journey simulated, matplotlib only for charts."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    files = sorted(str(p) for p in (root / "examples" / "journeys").glob("*.journey"))
    code = (
        "import sys\n"
        "from journeydsl.cli import main\n"
        f"code = main(['check', *{files!r}])\n"
        "print(code, [m for m in ('numpy', 'matplotlib') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"
