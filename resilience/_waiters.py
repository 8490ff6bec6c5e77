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

__all__ = ["TaskWaiter", "ThreadWaiter"]


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
