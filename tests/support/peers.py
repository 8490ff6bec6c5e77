"""Helpers for running pybreaker, cachetools and tenacity side by side with callwise.

pybreaker reads the wall clock (``datetime.now``); :func:`drive_pybreaker` makes it read
a :class:`WallClock` driven by the test's FakeClock, so that both breakers see the same
fake seconds and no test sleeps. The thread helpers never sleep either: they wait on
barriers and events, or yield the GIL, and fail instead of hanging.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pybreaker
import pytest

from resilience.testing import FakeClock

WAIT_S = 20.0
"""Upper bound on any wait for another thread (a hung test fails instead of hanging)."""

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""What the wall clock reads when the FakeClock reads 0."""


class WallClock:
    """The wall clock pybreaker reads: the FakeClock's seconds plus any jumps.

    A jump moves the wall clock alone, as an NTP step or a daylight-saving change does.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.jumped_s = 0.0

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.clock.monotonic() + self.jumped_s)

    def jump(self, seconds: float) -> None:
        """Move the wall clock by ``seconds`` (either way); the FakeClock stays put."""
        self.jumped_s += seconds


def drive_pybreaker(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> WallClock:
    """Make pybreaker's ``datetime.now`` read a WallClock on ``clock`` (undone at teardown)."""
    wall = WallClock(clock)

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            value = wall.now()
            return value if tz is not None else value.replace(tzinfo=None)

    monkeypatch.setattr(pybreaker, "datetime", FakeDatetime)
    return wall


def run_threads(target: Callable[[], object], count: int) -> None:
    """Run ``target`` in ``count`` threads released together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(WAIT_S)
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    join_all(threads)
    if errors:
        raise errors[0]


def join_all(threads: list[threading.Thread]) -> None:
    """Join each thread (at most WAIT_S each) and fail if one is still running."""
    for thread in threads:
        thread.join(WAIT_S)
    assert not [thread.name for thread in threads if thread.is_alive()], "threads still running"


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Yield the GIL until ``predicate()`` holds (no timed sleep); fail after WAIT_S."""
    deadline = time.perf_counter() + WAIT_S
    while not predicate():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0)
