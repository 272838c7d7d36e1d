"""Blocks on any executor give the same numbers as one process (issue 18).

A Dask ``LocalCluster`` with two worker processes stands in for a cluster; the
tests skip where the ``dask`` extra is not installed (CI installs it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import journeydsl as jd
from journeydsl.engine.montecarlo import executors

EXAMPLES = Path(__file__).parent.parent / "examples" / "journeys"


def _json(results: jd.Results) -> str:
    return json.dumps(results.to_dict(), sort_keys=True)


@pytest.fixture(scope="module")
def saas_one() -> tuple[jd.Journey, str]:
    """saas_trial and its JSON at 30,000 customers, seed 3, in this process."""
    journey = jd.load(EXAMPLES / "saas_trial.journey")
    return journey, _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None))


def test_any_executor_gives_the_numbers_of_one_process(saas_one: tuple[jd.Journey, str]) -> None:
    journey, one = saas_one
    with ThreadPoolExecutor(max_workers=3) as ex:
        threads = _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None, executor=ex))
    assert threads == one
    two = _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None, workers=2))
    assert two == one


class _LosesTasks(ThreadPoolExecutor):
    """Cancels its first ``lose`` tasks, as Dask does when the worker holding their scattered
    plans dies (dask/distributed#3149)."""

    def __init__(self, lose: int) -> None:
        super().__init__(max_workers=2)
        self.lose = lose

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.lose > 0:
            self.lose -= 1
            fut: Future[Any] = Future()
            fut.cancel()
            fut.set_running_or_notify_cancel()
            return fut
        return super().submit(fn, *args, **kwargs)


def test_tasks_cancelled_by_a_lost_worker_are_handed_out_again(saas_one: tuple[jd.Journey, str]) -> None:
    journey, one = saas_one
    with _LosesTasks(lose=3) as ex:
        again = _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None, executor=ex))
    assert again == one
    with _LosesTasks(lose=1000) as ex, pytest.raises(CancelledError):  # a cluster that keeps losing: give up
        jd.simulate(journey, customers=30_000, seed=3, scenarios=None, executor=ex)


def test_task_sizes_do_not_change_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    journey = jd.load(EXAMPLES / "b2b_pipeline.journey")
    one = _json(jd.simulate(journey, customers=20_000, seed=1, scenarios=None))
    from journeydsl.engine import montecarlo

    for seconds in (0.0, 1e9):  # one block per task; tasks as big as the share of what is left allows
        monkeypatch.setattr(montecarlo, "TASK_SECONDS", seconds)
        with ThreadPoolExecutor(max_workers=2) as ex:
            assert _json(jd.simulate(journey, customers=20_000, seed=1, scenarios=None, executor=ex)) == one


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_any_cut_into_tasks_gives_byte_identical_json(cut: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks of random sizes, across arms and runs (draws), in threads and in a local pool."""
    import random

    from journeydsl.analysis.uncertainty import simulate_draws
    from journeydsl.engine import montecarlo

    journey = jd.loads(SCALE)
    one = _json(jd.simulate(journey, customers=9_000, seed=cut))
    one_draws = _json(simulate_draws(journey, 3, customers=4_000, seed=cut, scenarios=None))
    pick = random.Random(cut)
    sizes: list[int] = []

    def any_size(remaining: int, per_unit: float | None, parallel: int) -> int:
        sizes.append(pick.randint(1, min(remaining, 45)))  # 45: more than one arm's 20 blocks
        return sizes[-1]

    monkeypatch.setattr(montecarlo, "task_units", any_size)
    with ThreadPoolExecutor(max_workers=3) as ex:
        assert _json(jd.simulate(journey, customers=9_000, seed=cut, executor=ex)) == one
        assert _json(simulate_draws(journey, 3, customers=4_000, seed=cut, scenarios=None, executor=ex)) == one_draws
    assert _json(jd.simulate(journey, customers=9_000, seed=cut, workers=2)) == one
    assert len(set(sizes)) > 3, sizes


#: A journey with uncertain parameters, a segment, a scenario, touchpoints and a plan: every command runs on it.
SCALE = """journey "Scale-out check" {
    currency EUR
    customers 30000
    param close "Close rate" = 25% ± 5%
    param check "Average check" = 95 EUR ± 20 EUR
    stage lead { entry; dwell 3 days }
    stage won { goal; active; revenue check on enter; revenue 10 EUR every month }
    stage churned { terminal }
    stage lost { terminal }
    touchpoint text { channel sms; cost 0.30 EUR }
    touchpoint mail { channel email; cost 0.05 EUR }
    lead -> won close via text
    lead -> lost otherwise
    won -> churned 10% per month
    segment big "Big accounts" 30% { lead -> won 35% ± 5% via mail }
    scenario reminder "SMS reminder" { lead -> won 27% via text }
    plan launch { start 2027-01; months 4; arrivals 500 per month }
}
"""


@pytest.mark.parametrize("seconds", [0.0, 1e9])  # one unit per task (tasks across draws); few big tasks
def test_draws_tornado_and_forecast_on_an_executor_give_the_numbers_of_one_process(
    seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    from journeydsl import api
    from journeydsl.analysis.forecast import add_draws, forecast
    from journeydsl.analysis.sensitivity import tornado
    from journeydsl.analysis.uncertainty import simulate_draws
    from journeydsl.engine import montecarlo as engine

    journey = jd.loads(SCALE)
    one_draws = _json(simulate_draws(journey, 3, customers=6_000, seed=2, scenarios=None))
    one_tornado = tornado(journey, scenario="reminder", customers=6_000, seed=2).to_dict()
    one_fc = api.forecast(journey, customers=6_000, seed=2, draws=2).to_dict()  # the API's draws= is add_draws
    monkeypatch.setattr(engine, "TASK_SECONDS", seconds)
    seen: list[float] = []
    with ThreadPoolExecutor(max_workers=3) as ex:
        draws = simulate_draws(journey, 3, customers=6_000, seed=2, scenarios=None, executor=ex,
                               progress=lambda done, total: seen.append(done / total))
        assert _json(draws) == one_draws
        assert tornado(journey, scenario="reminder", customers=6_000, seed=2, executor=ex).to_dict() == one_tornado
        fc = add_draws(forecast(journey, customers=6_000, seed=2, executor=ex), journey, 2, customers=6_000,
                       seed=2, executor=ex)
        assert fc.to_dict() == one_fc
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)


def test_scheduler_option_without_a_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    out = subprocess.run(
        [sys.executable, "-m", "journeydsl", "simulate", str(EXAMPLES / "saas_trial.journey"), "-n", "1000",
         "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "cannot reach the Dask scheduler" in out.stderr and "Traceback" not in out.stderr


def test_a_map_without_flows_never_connects_to_the_scheduler(tmp_path: Path) -> None:
    """JOURNEYDSL_SCHEDULER set for the simulations must not make a plain drawing wait for (or fail on) it."""
    pytest.importorskip("distributed")
    out = tmp_path / "map.dot"
    env = {**os.environ, executors.SCHEDULER_ENV: "tcp://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "journeydsl", "render", str(EXAMPLES / "saas_trial.journey"), "-o", str(out), "-q"],
        capture_output=True, text=True, check=False, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith("digraph")


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as lc, distributed.Client(lc) as client:
        yield lc, client


@pytest.mark.slow
def test_dask_cluster_gives_byte_identical_json(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lc, _client = cluster
    path = EXAMPLES / "subscription_winback.journey"
    cmd = [sys.executable, "-m", "journeydsl", "simulate", str(path), "-n", "60000", "--seed", "7",
           "-f", "json", "-q"]
    local = subprocess.run([*cmd, "--workers", "1"], capture_output=True, check=True, timeout=300).stdout
    on_dask = subprocess.run([*cmd, "--scheduler", lc.scheduler_address], capture_output=True, check=True,
                             timeout=300).stdout
    assert on_dask == local
    env = {**os.environ, executors.SCHEDULER_ENV: lc.scheduler_address}
    via_env = subprocess.run(cmd, capture_output=True, check=True, timeout=300, env=env).stdout
    assert via_env == local
    # this cluster's workers have Dask's default environment: without -q the user hears what it costs
    loud = subprocess.run([*cmd[:-1], "--scheduler", lc.scheduler_address], capture_output=True, check=True,
                          timeout=300, text=True)
    assert "2 of the cluster's workers run with MALLOC_TRIM_THRESHOLD_=65536" in loud.stderr, loud.stderr
    assert "docs/scaling.md" in loud.stderr and loud.stdout.encode() == local


#: Every command that runs the engine, small enough for a test (JSON out, no progress bar).
COMMANDS = {
    "simulate --draws": ["simulate", "-n", "20000", "--draws", "4", "--seed", "3", "-f", "json"],
    "sensitivity": ["sensitivity", "-n", "20000", "--scenario", "reminder", "-f", "json"],
    "forecast --draws": ["forecast", "-n", "20000", "--draws", "3", "-f", "json"],
    "attribute": ["attribute", "-n", "8000", "-f", "json"],
    "breakeven": ["breakeven", "--param", "close", "--scenario", "reminder", "-n", "4000", "-f", "json"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_run_command_gives_byte_identical_json_on_a_cluster(  # type: ignore[no-untyped-def]
    cluster, tmp_path: Path, command: str
) -> None:
    lc, _client = cluster
    path = tmp_path / "scale.journey"
    path.write_text(SCALE, encoding="utf-8")
    verb, *options = COMMANDS[command]
    cmd = [sys.executable, "-m", "journeydsl", verb, str(path), *options, "-q"]
    local = subprocess.run([*cmd, "--workers", "1"], capture_output=True, check=True, timeout=300).stdout
    on_dask = subprocess.run([*cmd, "--scheduler", lc.scheduler_address], capture_output=True, check=True,
                             timeout=300).stdout
    assert json.loads(local)  # a real answer, not two empty outputs
    assert on_dask == local


@pytest.mark.slow
def test_plans_scattered_to_one_worker_each_give_the_same_draws(cluster, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Beyond SCATTER_EVERYWHERE plans (many draws), each goes to one worker and moves where it is needed."""
    from journeydsl.analysis.uncertainty import simulate_draws
    from journeydsl.engine import montecarlo

    _lc, client = cluster
    journey = jd.loads(SCALE)
    one = _json(simulate_draws(journey, 5, customers=5_000, seed=4, scenarios=None))
    monkeypatch.setattr(montecarlo, "SCATTER_EVERYWHERE", 0)
    monkeypatch.setattr(montecarlo, "TASK_SECONDS", 0.0)  # tasks of one unit, spread over both workers
    on_dask = simulate_draws(journey, 5, customers=5_000, seed=4, scenarios=None,
                             executor=client.get_executor(pure=False))
    assert _json(on_dask) == one


@pytest.mark.slow
def test_a_worker_killed_mid_run_does_not_change_the_result(cluster, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from journeydsl.engine import montecarlo

    _lc, client = cluster
    journey = jd.load(EXAMPLES / "retail_recency.journey")
    one = _json(jd.simulate(journey, customers=40_000, seed=5, scenarios=None))
    monkeypatch.setattr(montecarlo, "TASK_SECONDS", 0.0)  # many small tasks, so some are in flight
    pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done >= 3 and not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    ex = client.get_executor(pure=False)
    start = time.monotonic()
    again = _json(jd.simulate(journey, customers=40_000, seed=5, scenarios=None, executor=ex, progress=kill_one))
    assert killed, "the run ended before a worker could be killed"
    assert again == one
    assert time.monotonic() - start < 240
