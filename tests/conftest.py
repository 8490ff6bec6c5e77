"""Shared fixtures. No test sleeps for real: time-aware objects get a FakeClock."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import costmodel
import resilience
from resilience.testing import FakeClock

if TYPE_CHECKING:
    from support.redis_server import RedisServer


ROOT = Path(__file__).resolve().parent.parent

if os.environ.get("CALLWISE_TEST_INSTALLED"):
    # `make test-installed`: the suite must test the installed wheel, not the checkout.
    for _package in (resilience, costmodel):
        if Path(_package.__file__ or "").resolve().parent == ROOT / _package.__name__:
            where = _package.__file__
            raise RuntimeError(f"{_package.__name__} imports from the checkout: {where}")


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts at 1000 s and only moves when told to or slept on."""
    return FakeClock(start=1000.0)


def _redis_server(*, tcp: bool) -> Iterator[RedisServer]:
    from support.redis_server import MISSING, RedisServer  # needs the redis package: import late

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(MISSING, pytrace=False)
    # A short private directory (mode 700): a unix socket path must stay under 108 bytes.
    with tempfile.TemporaryDirectory(prefix="redis-") as directory:
        server = RedisServer(binary, directory=Path(directory), tcp=tcp)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a private unix socket, stopped at teardown; fails when missing."""
    yield from _redis_server(tcp=False)


@pytest.fixture
def redis_tcp_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port of 127.0.0.1 (checked to be ours); fails when missing."""
    yield from _redis_server(tcp=True)


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A real ``dask.distributed`` LocalCluster: 2 worker processes of 1 thread each, no
    dashboard, on 127.0.0.1; one per test process (pytest-xdist worker), closed at the end.

    Tasks must pickle: module-level functions of costmodel and plain values (a worker
    process does not import the test modules).
    """
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # a free port: None still tries 8787 and warns when taken
        silence_logs=50,  # CRITICAL: worker start-up chatter stays out of the test output
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
