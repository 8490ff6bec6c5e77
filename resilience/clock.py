"""Clocks: where every time-aware object in callwise gets the time and sleeps.

A clock is any object with ``monotonic() -> float`` (seconds), ``sleep(seconds)`` and
``async asleep(seconds)``. Objects take it as ``clock=``; the default is
:data:`SYSTEM_CLOCK`. Tests pass :class:`resilience.testing.FakeClock`, which advances
instantly, and the simulator passes a clock driven by a virtual-time event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What callwise needs of a clock."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.sleep`` and ``asyncio.sleep``."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK: Clock = SystemClock()
"""The clock used when none is given."""
