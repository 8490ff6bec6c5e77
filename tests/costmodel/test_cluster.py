"""costmodel.cluster: where independent tasks run (a real LocalCluster, or here)."""

from __future__ import annotations

import os

import pytest

from costmodel import InvalidUsage
from costmodel.cluster import client_for, run_tasks


def test_runs_here_without_a_cluster() -> None:
    assert client_for(False) is None
    assert run_tasks(divmod, [(7, 2), (9, 4)], client=False) == [(3, 1), (2, 1)]


def test_no_active_client_means_here() -> None:
    pytest.importorskip("distributed")
    assert client_for(None) is None


def test_a_client_must_be_a_client() -> None:
    with pytest.raises(InvalidUsage, match=r"client='local'.*dask.distributed Client"):
        client_for("local")


def test_tasks_run_on_the_worker_processes_in_order(dask_client: object) -> None:
    pids = run_tasks(os.getpid, [()] * 8, client=dask_client)
    assert os.getpid() not in pids  # separate worker processes, not this one
    assert run_tasks(pow, [(2, k) for k in range(10)], client=dask_client) == [
        2**k for k in range(10)
    ]


def test_the_active_client_is_found(dask_client: object) -> None:
    with dask_client.as_current():  # type: ignore[attr-defined]
        assert client_for(None) is dask_client
        assert run_tasks(abs, [(-3,)]) == [3]


def test_a_task_error_is_raised_here(dask_client: object) -> None:
    with pytest.raises(ZeroDivisionError):
        run_tasks(divmod, [(1, 0)], client=dask_client)
