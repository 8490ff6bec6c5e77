"""Work fanned out to a ``dask.distributed`` cluster, or run here when there is none.

One place decides where costmodel's independent tasks run (log files or byte ranges,
simulation seeds, grid points): on the cluster of the ``client`` given, else on the
active client (the one a ``with Client(...)`` block or ``Client()`` made current), else in
this process, one task after the other. The results come back in the order of the
tasks either way, so a caller combines them the same way and a distributed run equals the
serial one.

costmodel never imports ``distributed`` itself unless given a client: the active client
is looked for only once the application has imported it, so ``import costmodel`` and a
serial run stay light and the core needs no Dask (the ``dask`` extra brings it).

>>> run_tasks(pow, [(2, 3), (3, 2)], client=False)
[8, 9]
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .errors import InvalidUsage

__all__ = ["client_for", "run_tasks"]

R = TypeVar("R")


def client_for(client: Any = None) -> Any:
    """The ``dask.distributed`` client a computation runs on, or None to run here.

    Args:
        client: a ``distributed.Client``; None: the active client if there is one (none
            while ``distributed`` was never imported, so looking costs no import); False:
            run here, never on a cluster.

    >>> client_for(False) is None
    True
    """
    if client is False:
        return None
    if client is None:
        if "distributed" not in sys.modules:  # never imported: no client can be active
            return None
        from distributed import default_client

        try:
            return default_client()
        except ValueError:  # no client is active
            return None
    if not (hasattr(client, "submit") and hasattr(client, "gather")):
        raise InvalidUsage(
            f"client={client!r}: must be a dask.distributed Client, None (the active "
            "client, if any) or False (run in this process)"
        )
    return client


def run_tasks(
    fn: Callable[..., R],
    tasks: Iterable[Sequence[Any]],
    *,
    client: Any = None,
    progress: bool = False,
    name: str | None = None,
) -> list[R]:
    """``fn(*task)`` for every task, in the tasks' order: on the cluster when there is one.

    On a cluster every task is one Dask task (``pure=False``: equal arguments still run
    twice, as they would here); a task's exception is raised here, as in a serial run.
    ``fn`` and the arguments must pickle: module-level functions and plain values.

    Args:
        fn: what each task runs.
        tasks: the positional arguments of each call.
        client: see :func:`client_for`.
        progress: show Dask's own progress display while the tasks run (a widget in a
            notebook, a text bar in a terminal); nothing when they run here.
        name: the tasks' key prefix on the cluster's dashboard (``fn``'s name by default).
    """
    items = [tuple(task) for task in tasks]
    cluster = client_for(client)
    if cluster is None:
        return [fn(*task) for task in items]
    prefix = name or getattr(fn, "__name__", "task")
    # a token per call: two runs on one cluster (two users, two threads) must not share a
    # key, or the second would be given the first's results (the dashboard drops the token)
    token = uuid.uuid4().hex
    futures = [
        cluster.submit(fn, *task, pure=False, key=f"{prefix}-{token}-{i}")
        for i, task in enumerate(items)
    ]
    if progress:
        from distributed import progress as show

        with cluster.as_current():  # the display looks for the client as the current one
            show(futures)
    return list(cluster.gather(futures))
