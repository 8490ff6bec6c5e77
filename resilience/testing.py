"""Helpers for testing code that uses callwise: a clock that never really sleeps."""

from __future__ import annotations

import asyncio
import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A clock whose time moves only when told to, or when someone sleeps on it.

    ``sleep(s)`` and ``asleep(s)`` return at once after moving the time forward by
    ``s``; ``advance(s)`` moves it without sleeping. Thread-safe. ``asleep`` yields to
    the event loop once, so other tasks get to run as they would during a real sleep.

    Example:
        >>> clock = FakeClock()
        >>> clock.sleep(60)
        >>> clock.monotonic()
        60.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []
        """Every duration slept, in order (seconds)."""

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` (>= 0)."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: a clock cannot go back")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"
