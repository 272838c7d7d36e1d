"""Where blocks run: this process, a local process pool, or any ``concurrent.futures`` executor.

A Dask cluster is used through its own executor (``distributed.Client(...).get_executor()``),
so journeydsl has no cluster code of its own; ``distributed`` is an optional extra
(``pip install 'journeydsl[dask]'``), imported only here and only when asked for.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any

__all__ = ["DASK_SETTINGS", "MALLOC_SETTINGS", "SCHEDULER_ENV", "Shared", "dask_executor", "executor_width",
           "malloc_settings", "share_each", "share_with", "slow_allocator_workers"]

#: Environment variable naming a Dask scheduler (``tcp://host:8786``) when ``--scheduler`` is not given.
SCHEDULER_ENV = "JOURNEYDSL_SCHEDULER"


#: glibc malloc settings that, given in a process's environment, fix its mmap threshold at 128 KiB
#: (glibc then stops raising it to the size of the blocks a program frees): every array of the
#: engine's blocks is then mapped fresh, its pages faulted in and zeroed, and unmapped. Dask's
#: nanny sets ``MALLOC_TRIM_THRESHOLD_`` for its workers by default (see docs/scaling.md).
MALLOC_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


#: Dask settings for the processes of a cluster that runs journeydsl (``dask.config.set(DASK_SETTINGS)``
#: before starting a ``LocalCluster``; the YAML of docs/scaling.md for ``dask scheduler`` and
#: ``dask worker``): no malloc threshold in the workers' environment (see above), and the
#: servers' clocks slowed down: the event loop's health tick (20 ms by default), the system
#: monitor (0.5 s) and the workers' statistical profiler (every 10 ms) cost an idle two-worker
#: LocalCluster about 14% of a core between its three processes, 4% with these (they only feed
#: the dashboard and the unresponsive-loop warnings).
DASK_SETTINGS: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.profile.enabled": False,
}


def malloc_settings() -> list[str]:
    """This process's :data:`MALLOC_SETTINGS`, as ``NAME=value``."""
    return [f"{name}={os.environ[name]}" for name in MALLOC_SETTINGS if name in os.environ]


def slow_allocator_workers(client: Any) -> dict[str, list[str]]:
    """The workers of a Dask ``client`` whose environment has :data:`MALLOC_SETTINGS`, with them.

    The engine runs about 1.8 times slower in such a worker (docs/scaling.md);
    the numbers are the same. Empty when every worker is fine or they cannot be asked.
    """
    try:
        found = client.run(malloc_settings)
    except Exception:  # an old or locked-down cluster: say nothing rather than fail the run
        return {}
    return {worker: list(settings) for worker, settings in found.items() if settings}


class Shared:
    """A value sent once to every worker (scattered) and handed to each task by reference."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _client(ex: Executor) -> Any:
    """The Dask client behind ``ex``, or None for any other executor."""
    client = getattr(ex, "_client", None)
    return client if client is not None and hasattr(client, "scatter") else None


def share_with(ex: Executor, value: Any, *, broadcast: bool = True) -> Any:
    """``value`` as tasks on ``ex`` should receive it: scattered to the Dask workers once
    (a future the scheduler resolves for each task), as is for other executors.

    ``broadcast``: a copy on every worker now; otherwise on one, and copied to
    another worker the first time a task there needs it (then kept there).
    """
    return share_each(ex, [value], broadcast=broadcast)[0]


def share_each(ex: Executor, values: list[Any], *, broadcast: bool = True) -> list[Any]:
    """Each of ``values`` as :func:`share_with` gives it, all scattered in one exchange."""
    client = _client(ex)
    if client is None:
        return list(values)
    futures: list[Any] = client.scatter([Shared(v) for v in values], broadcast=broadcast, hash=False)
    return futures


def executor_width(ex: Executor) -> int:
    """How many tasks ``ex`` runs at once (Dask: the cluster's threads), for sizing tasks."""
    client = _client(ex)
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # the scheduler may be out of reach for a moment: guess
            return os.cpu_count() or 1
    from concurrent.futures import ProcessPoolExecutor  # here: its modules are slow to import

    if isinstance(ex, ProcessPoolExecutor):
        return getattr(ex, "_max_workers", None) or os.cpu_count() or 1
    return os.cpu_count() or 1


def dask_executor(address: str, **client_options: Any) -> tuple[Any, Executor]:
    """A Dask client connected to the scheduler at ``address`` and its executor.

    Close the client (``client.close()``) when done. Raises :class:`ImportError`
    with the install hint when the ``dask`` extra is missing.
    """
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "running on a Dask cluster needs the dask extra: pip install 'journeydsl[dask]'"
        ) from exc
    client = Client(address, **client_options)
    return client, client.get_executor(pure=False)
