"""Shared fixtures. No test sleeps for real: time-aware objects get a FakeClock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from redis_server import MISSING, RedisServer

from resilience.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts at 1000 s and only moves when told to or slept on."""
    return FakeClock(start=1000.0)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port, stopped at teardown; fails when it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(MISSING, pytrace=False)
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
