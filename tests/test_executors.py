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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import journeydsl as jd
from journeydsl.engine.montecarlo import executors

EXAMPLES = Path(__file__).parent.parent / "examples" / "journeys"


def _json(results: jd.Results) -> str:
    return json.dumps(results.to_dict(), sort_keys=True)


def test_any_executor_gives_the_numbers_of_one_process() -> None:
    journey = jd.load(EXAMPLES / "saas_trial.journey")
    one = _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None))
    with ThreadPoolExecutor(max_workers=3) as ex:
        threads = _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None, executor=ex))
    assert threads == one
    two = _json(jd.simulate(journey, customers=30_000, seed=3, scenarios=None, workers=2))
    assert two == one


def test_task_sizes_do_not_change_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    journey = jd.load(EXAMPLES / "b2b_pipeline.journey")
    one = _json(jd.simulate(journey, customers=20_000, seed=1, scenarios=None))
    from journeydsl.engine import montecarlo

    for seconds in (0.0, 1e9):  # one block per task; every block in one task
        monkeypatch.setattr(montecarlo, "TASK_SECONDS", seconds)
        with ThreadPoolExecutor(max_workers=2) as ex:
            assert _json(jd.simulate(journey, customers=20_000, seed=1, scenarios=None, executor=ex)) == one


def test_scheduler_option_without_a_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    out = subprocess.run(
        [sys.executable, "-m", "journeydsl", "simulate", str(EXAMPLES / "saas_trial.journey"), "-n", "1000",
         "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "cannot reach the Dask scheduler" in out.stderr and "Traceback" not in out.stderr


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
