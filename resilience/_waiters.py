"""Waiters for a slot of a concurrency limit (the bulkhead, the adaptive limit).

A waiter is queued first come, first served; the holder that frees a slot hands it
directly to the oldest live waiter (``granted = True``, then ``wake()``), so a newcomer
cannot overtake a call that is already waiting. A thread waits on a ``threading.Event``;
a task on a future of its own event loop, resolved with ``call_soon_threadsafe`` (so a
slot freed in another thread or on another loop wakes it).
"""

from __future__ import annotations

import asyncio
import threading

from .clock import Clock, SystemClock

__all__ = ["POLL_S", "TaskWaiter", "ThreadWaiter", "wait_for"]

POLL_S = 0.002
"""Real time between two looks at a clock other than the system's (seconds)."""


def wait_for(event: threading.Event, max_wait_s: float | None, clock: Clock) -> bool:
    """Wait for ``event`` at most ``max_wait_s`` on ``clock`` (None: without limit); True
    when it was set.

    The system clock: one blocking wait. Any other clock: real slices of :data:`POLL_S`
    and a look at ``clock.monotonic()`` after each (no lock held), so a clock moved past
    the deadline (``FakeClock.advance``) ends the wait without real waiting.
    """
    if max_wait_s is None:
        return event.wait()
    if isinstance(clock, SystemClock):
        return event.wait(max_wait_s)
    monotonic = clock.monotonic
    deadline_s = monotonic() + max_wait_s
    while not event.wait(POLL_S):
        if monotonic() >= deadline_s:
            return False
    return True


class ThreadWaiter:
    """A thread waiting for a slot. ``in_flight``: what the limit recorded when granting."""

    __slots__ = ("event", "granted", "in_flight")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.granted = False
        self.in_flight = 0

    def wake(self) -> bool:
        """Wake the thread; always reachable."""
        self.event.set()
        return True


class TaskWaiter:
    """A task waiting for a slot on ``loop``."""

    __slots__ = ("future", "granted", "in_flight", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted = False
        self.in_flight = 0

    def wake(self) -> bool:
        """Wake the task; False when its loop is closed (nobody waits any more)."""
        try:
            self.loop.call_soon_threadsafe(self._resolve)
        except RuntimeError:  # its loop is closed: nobody is waiting any more
            return False
        return True

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)
