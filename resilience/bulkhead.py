"""A bulkhead: at most N concurrent calls, an optional wait, then ``BulkheadFull``.

One :class:`Bulkhead` is one pool of slots. Every function it decorates, plain or
``async def``, in any thread and on any event loop, draws from the same pool: give
one bulkhead to all the functions that call one dependency, and that dependency never
sees more than ``max_concurrent`` calls from this process.

A call that finds no free slot waits up to ``max_wait_s`` (0: rejected at once;
``None``: waits as long as it takes), then raises :class:`~resilience.BulkheadFull`.
Waiters are served first come, first served: a freed slot is handed directly to the
oldest waiter, so a newcomer cannot overtake a call that is already waiting.

A thread waits on a ``threading.Event``, for ``max_wait_s`` on ``clock=``: with the
system clock (the default) in one plain blocking wait, in real time; with any other
clock (:class:`resilience.testing.FakeClock`, a simulator's clock) in short real
slices (2 ms), looking at ``clock.monotonic()`` between them, so a clock moved past
the deadline (``FakeClock.advance``, or a holder's ``clock.sleep``) ends the wait
without real waiting. A task waits on a future of its own event loop, woken with
``call_soon_threadsafe``, under ``asyncio.timeout`` (the loop's clock: virtual time
under the simulator). Nothing is bound to one loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import observe_call as _observe_call
from ._observe import register as _register
from ._observe import switches as _switches
from ._recording import record_outside
from ._validate import clock as valid_clock
from ._validate import is_async, name_of, positive, positive_int
from ._waiters import TaskWaiter, ThreadWaiter, wait_for
from ._wraps import wraps
from .clock import Clock
from .errors import BulkheadFull, InvalidUsage
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger

__all__ = ["Bulkhead", "BulkheadStatistics", "bulkhead"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class BulkheadStatistics:
    """A snapshot of a bulkhead.

    Attributes:
        max_concurrent: maximum concurrent calls.
        active: calls holding a slot now.
        waiting: calls waiting for a slot now.
        rejected: calls rejected with ``BulkheadFull`` so far.
    """

    max_concurrent: int
    active: int
    waiting: int
    rejected: int


class Bulkhead:
    """A concurrency limit; build it with :func:`bulkhead`."""

    def __init__(
        self,
        max_concurrent: int,
        *,
        max_wait_s: float | None = 0.0,
        name: str | None = None,
        clock: Clock | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.max_concurrent = positive_int("max_concurrent", max_concurrent)
        self.max_wait_s = (
            None if max_wait_s is None else positive("max_wait_s", max_wait_s, allow_zero=True)
        )
        if name is not None and not isinstance(name, str):
            raise InvalidUsage(f"name={name!r}: must be a string or None")
        self.name = name
        self.clock: Clock = valid_clock("clock", clock)
        self.ledger = valid_ledger("ledger", ledger)
        self._lock = threading.Lock()
        self._active = 0
        self._rejected = 0
        self._waiters: deque[ThreadWaiter | TaskWaiter] = deque()
        _register(self)  # the in-flight and limit gauges see it while it lives

    # -- slots ---------------------------------------------------------------------

    @property
    def statistics(self) -> BulkheadStatistics:
        """A snapshot of the slots in use, the waiters and the rejections."""
        with self._lock:
            return BulkheadStatistics(
                self.max_concurrent, self._active, len(self._waiters), self._rejected
            )

    def _full(self, name: str) -> BulkheadFull:
        with self._lock:
            self._rejected += 1
        return self._refusal(name)

    def _refusal(self, name: str) -> BulkheadFull:
        """The error for a refused call (counted by the caller), and its event."""
        if _listening():
            _emit(
                "bulkhead.rejected",
                {
                    "callwise.policy": self.name or name,
                    "callwise.function": name,
                    "callwise.outcome": "bulkhead_full",
                    "error.type": "resilience.errors.BulkheadFull",
                },
            )
        return BulkheadFull(self.name or name, self.max_concurrent)

    def _try_acquire(self) -> bool:
        """Take a free slot at once (never ahead of a waiter); caller holds the lock."""
        if self._active < self.max_concurrent and not self._waiters:
            self._active += 1
            return True
        return False

    def _release(self) -> None:
        """Hand the slot to the oldest live waiter, or free it."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True
                if waiter.wake():
                    return
            self._active -= 1

    def _acquire(self, name: str) -> None:
        with self._lock:
            if self._try_acquire():
                return
            if self.max_wait_s == 0:
                self._rejected += 1
                raise self._refusal(name)
            waiter = ThreadWaiter()
            self._waiters.append(waiter)
        if self._wait(waiter.event):
            return
        with self._lock:
            if waiter.granted:  # granted just as the wait ran out: keep it
                return
            self._waiters.remove(waiter)
        raise self._full(name)

    def _wait(self, event: threading.Event) -> bool:
        """Wait for ``event`` at most ``max_wait_s`` on the clock; True when it was set."""
        return wait_for(event, self.max_wait_s, self.clock)

    async def _acquire_async(self, name: str) -> None:
        with self._lock:
            if self._try_acquire():
                return
            if self.max_wait_s == 0:
                self._rejected += 1
                raise self._refusal(name)
            waiter = TaskWaiter(asyncio.get_running_loop())
            self._waiters.append(waiter)
        limit = asyncio.timeout(self.max_wait_s)
        try:
            async with limit:
                await waiter.future
        except BaseException:  # timed out or cancelled while waiting
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:
                self._release()  # pass on the slot we were handed
            if limit.expired():
                raise self._full(name) from None
            raise

    # -- decorating ----------------------------------------------------------------

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        if not callable(fn):
            raise InvalidUsage(f"bulkhead(...) decorates a callable, got {fn!r}")
        asynchronous = is_async(fn)
        if self.ledger is None:
            return self.decorate(fn, is_async=asynchronous)
        guarded = self.decorate(fn, is_async=asynchronous)
        return record_outside(self.ledger, fn, guarded, self.clock)

    def decorate(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """``fn`` behind the bulkhead, with no ledger rows (what :class:`Policy` composes)."""
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), site))
        acquire, release, name = self._acquire, self._release, name_of(fn)

        @wraps(fn)
        def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            acquire(name)
            try:
                return fn(*args, **kwargs)
            finally:
                release()

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def _decorate_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        acquire, release, name = self._acquire_async, self._release, name_of(fn)

        @wraps(fn)
        async def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            await acquire(name)
            try:
                return await fn(*args, **kwargs)
            finally:
                release()

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def __repr__(self) -> str:
        return (
            f"Bulkhead(max_concurrent={self.max_concurrent}, max_wait_s={self.max_wait_s!r}, "
            f"name={self.name!r})"
        )


def bulkhead(
    max_concurrent: int,
    *,
    max_wait_s: float | None = 0.0,
    name: str | None = None,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
) -> Bulkhead:
    """Allow at most ``max_concurrent`` concurrent calls; the others wait, then fail.

    Args:
        max_concurrent: slots (>= 1), shared by every function this bulkhead decorates.
        max_wait_s: how long a call waits for a slot, seconds (0: not at all; None:
            without limit). Threads wait on ``clock``, tasks on their loop's clock.
        name: shown in ``BulkheadFull`` (None, the default: the function's name).
        clock: the waits of threads (see the module docstring) and the times of
            ledger rows.
        ledger: record one attempt row and one call row per call (a rejection is a
            ``rejected`` attempt).

    Returns:
        A :class:`Bulkhead`, to use as a decorator; ``.statistics`` has its counters.

    Example:
        >>> pool = bulkhead(2, name="payments")
        >>> @pool
        ... def charge(amount: int) -> int:
        ...     return amount
        >>> charge(5), pool.statistics.active
        (5, 0)
    """
    return Bulkhead(max_concurrent, max_wait_s=max_wait_s, name=name, clock=clock, ledger=ledger)
