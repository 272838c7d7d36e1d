"""Where blocks run: this process, a local process pool, or any ``concurrent.futures`` executor.

A Dask cluster is used through its own executor (``distributed.Client(...).get_executor()``),
so journeydsl has no cluster code of its own; ``distributed`` is an optional extra
(``pip install 'journeydsl[dask]'``), imported only here and only when asked for.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

__all__ = ["SCHEDULER_ENV", "Shared", "dask_executor", "executor_width", "share_with"]

#: Environment variable naming a Dask scheduler (``tcp://host:8786``) when ``--scheduler`` is not given.
SCHEDULER_ENV = "JOURNEYDSL_SCHEDULER"


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
    client = _client(ex)
    if client is None:
        return value
    return client.scatter(Shared(value), broadcast=broadcast, hash=False)


def executor_width(ex: Executor) -> int:
    """How many tasks ``ex`` runs at once (Dask: the cluster's threads), for sizing tasks."""
    client = _client(ex)
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # the scheduler may be out of reach for a moment: guess
            return os.cpu_count() or 1
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
