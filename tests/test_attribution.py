"""Attribution: Shapley efficiency (exactly), removal effects against the exact algebra, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from journeydsl import api
from journeydsl.analysis.attribution import FIGURES, attribute, without
from journeydsl.engine.exact import solve

ROOT = Path(__file__).resolve().parent.parent

NUDGES = """journey "Nudges" {
    currency EUR
    horizon 10 years
    stage trial { entry; dwell exponential(mean 10 days) }
    stage customer { goal; terminal; revenue 100 EUR on enter }
    stage lost { terminal }
    touchpoint mail { channel email; cost 0.10 EUR }
    touchpoint call { channel phone; cost 5 EUR }
    touchpoint sms { channel sms; cost 0.20 EUR }
    trial -> customer 20%
    trial -> lost otherwise
    trigger early { when in trial for 2 days; send mail; then 10% -> customer }
    trigger late { when in trial for 6 days; send call; then 30% -> customer }
    trigger text { when enter trial; send sms }
}
"""


def test_shapley_values_add_up_to_all_minus_none_exactly() -> None:
    j = api.loads(NUDGES)
    for by in ("touchpoint", "trigger", "channel"):
        a = attribute(j, by, customers=4000, seed=2)  # type: ignore[arg-type]
        for f in FIGURES:
            total = sum(it["shapley"][f] for it in a.items)
            assert total == pytest.approx(a.all_items[f] - a.no_items[f], abs=1e-12)


def test_removal_effects_match_the_exact_algebra() -> None:
    j = api.loads(NUDGES)
    n = 200_000
    a = attribute(j, "trigger", customers=n, seed=5)
    full = solve(j.with_scenario("baseline")).conversion
    for it in a.items:
        exact = full - solve(without(j, "trigger", frozenset({it["name"]}))).conversion
        # on common random numbers the difference's noise is at most a binomial's on the customers it moves
        se = (max(abs(exact), 1e-4) * (1 - abs(exact)) / n) ** 0.5
        assert it["removal"]["conversion_rate"] == pytest.approx(exact, abs=5 * se + 1e-4), it["name"]
    assert a.items[2]["removal"]["conversion_rate"] == 0.0  # a trigger that only sends changes no route


def test_many_items_use_sampled_orders_and_still_add_up() -> None:
    tps = "\n".join(f"    touchpoint t{i} {{ channel c{i}; cost {i + 1} EUR }}" for i in range(11))
    touches = ", ".join(f"t{i}" for i in range(11))
    j = api.loads(f"""journey "Many" {{
        currency EUR
        stage a {{ entry; touch {touches} on enter }}
        stage won {{ goal; terminal }}
        stage lost {{ terminal }}
    {tps}
        a -> won 10%
        a -> lost otherwise
    }}""")
    a = attribute(j, "touchpoint", customers=300, seed=1)
    assert a.method.endswith("sampled orders")
    for f in FIGURES:
        assert sum(it["shapley"][f] for it in a.items) == pytest.approx(a.all_items[f] - a.no_items[f], abs=1e-9)
    # touches on enter only cost: each item's value is minus its own cost
    for i, it in enumerate(a.items):
        assert it["shapley"]["value_per_customer"] == pytest.approx(-(i + 1), abs=1e-9)


def test_cli(tmp_path: Path) -> None:
    path = tmp_path / "n.journey"
    path.write_text(NUDGES, encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "journeydsl", *args], capture_output=True, text=True,
                              cwd=ROOT, check=False)

    ok = run("attribute", str(path), "--by", "trigger", "-n", "2000", "-q", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["schema"] == "journeydsl.attribution/1" and [i["name"] for i in data["items"]] == [
        "early", "late", "text"]
    table = run("attribute", str(path), "-n", "2000", "-q")
    assert table.returncode == 0 and "Shapley" in table.stdout
    assert run("attribute", str(path), "--by", "campaign").returncode == 2


def test_first_last_and_linear_touch_credit_converters_as_a_crm_does() -> None:
    j = api.loads("""journey "Paths" {
        currency EUR
        stage a { entry; touch ad on enter }
        stage b { touch mail on enter }
        stage won { goal; terminal; revenue 10 EUR on enter; touch thanks on enter }
        stage lost { terminal }
        touchpoint ad { channel paid; cost 1 EUR }
        touchpoint mail { channel email; cost 0.1 EUR }
        touchpoint thanks { channel email; cost 0.1 EUR }
        a -> b 100% after 1 day
        b -> won 50% after 1 day
        b -> lost otherwise
    }""")
    a = attribute(j, "touchpoint", customers=10_000, seed=3)
    conv = a.all_items["conversion_rate"]
    crm = {it["name"]: it["crm"] for it in a.items}
    # every converter saw the ad first and the mail last; the thank-you comes after converting
    assert crm["ad"]["first"]["conversions"] == pytest.approx(conv)
    assert crm["mail"]["last"]["conversions"] == pytest.approx(conv)
    assert crm["ad"]["linear"]["conversions"] == pytest.approx(conv / 2)
    assert crm["thanks"]["first"]["conversions"] == crm["thanks"]["linear"]["conversions"] == 0.0
    # a converter's value (10 - 1 - 0.1 - 0.1) goes whole to the last touch
    assert crm["mail"]["last"]["value"] == pytest.approx(conv * 8.8, rel=1e-9)
    by_channel = attribute(j, "channel", customers=10_000, seed=3)
    email = next(it for it in by_channel.items if it["name"] == "email")
    assert email["crm"]["last"]["conversions"] == pytest.approx(conv)


def test_a_contribution_and_its_noise_hold_the_exact_removal_effect() -> None:
    # The late call's removal effect on conversion has a closed form (exact algebra). Over 60
    # seeds the estimate ± its noise must hold it about 95% of the time (at least 51 of 60:
    # binomial, 3.5 sigma): removing the call sends its responders elsewhere, and the random
    # numbers after them fall to other draws. The sms draws nothing and moves nobody: its
    # contribution and its noise are exactly zero.
    j = api.loads(NUDGES)
    exact_call = solve(j).conversion - solve(without(j, "touchpoint", frozenset({"call"}))).conversion
    held = 0
    for seed in range(60):
        a = attribute(j, "touchpoint", customers=2000, seed=seed)
        items = {it["name"]: it for it in a.items}
        half = items["call"]["noise"]["removal"]["conversion_rate"]
        assert half is not None and half > 0
        held += abs(items["call"]["removal"]["conversion_rate"] - exact_call) <= half
        assert items["sms"]["removal"]["conversion_rate"] == 0.0
        assert items["sms"]["noise"]["removal"]["conversion_rate"] == 0.0
    assert held >= 51, held
