"""Shared fixtures. No test sleeps for real: time-aware objects get a FakeClock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from resilience.testing import FakeClock

if TYPE_CHECKING:
    from redis_server import RedisServer


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts at 1000 s and only moves when told to or slept on."""
    return FakeClock(start=1000.0)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free port, stopped at teardown; fails when it is missing."""
    from redis_server import MISSING, RedisServer  # needs the redis package: import late

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(MISSING, pytrace=False)
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
