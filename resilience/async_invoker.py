"""Asynchronous invocation, as a FaaS platform does it, for your own functions.

``submit()`` hands an event over and returns its id at once; workers run it later.
A failed attempt is retried after a delay from a schedule (the platforms' default: 1
minute, then 2 minutes), at most ``max_retries`` times; an event older than
``max_event_age_s`` when it comes due is dropped as expired instead of being run.
Every event ends in exactly one destination: ``on_success(event, result)`` or
``on_failure(event, reason)``, where the reason is one of

- ``"error"``: the last attempt raised (``reason.exception``), no retry left;
- ``"expired"``: the event was too old to run (``reason.exception`` is the error of
  the previous attempt, if there was one);
- ``"rejected"``: the queue was full when it was submitted (``max_queue``);
- ``"shutdown"``: the invoker was closed before the event could finish.

Two flavours share these rules: :class:`AsyncInvoker` runs plain functions on worker
threads; :class:`AsyncioInvoker` runs coroutine functions as tasks on the running
event loop.

How time passes. One scheduler owns the delayed events, ordered by due time. On the
system clock it waits for the earliest one on a condition, so a ``close()`` or an
earlier retry interrupts the wait. On any other clock (``clock=``, e.g.
:class:`resilience.testing.FakeClock` or a simulator's virtual clock) it is the only
one that sleeps on the clock, and only while nothing is ready or running, for exactly
the time to the next due event (holding the invoker's lock, so such a clock should be
virtual: its sleep returns at once): the invoker then behaves like a discrete-event
simulation, hours of retries run in milliseconds, and an event's age when it runs is
the sum of its retry delays (plus any time its own attempts spent on the clock).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import inspect
import itertools
import math
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from ._observe import hooks as _hooks
from ._observe import logger as _logger_named
from ._observe import names as _names
from ._validate import Number, is_async, name_of, number, positive, positive_int
from ._validate import clock as valid_clock
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .errors import InvalidUsage, InvokerClosed

__all__ = [
    "AsyncInvoker",
    "AsyncioInvoker",
    "Event",
    "FailureKind",
    "FailureReason",
    "InvokerStatistics",
]

logger = _logger_named("resilience.async_invoker")

FailureKind = Literal["error", "expired", "rejected", "shutdown"]

_MAX_WAIT_S = 1.0
"""Longest real wait of the scheduler while workers are busy (seconds)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One submitted call, as its destination sees it.

    Attributes:
        id: the id ``submit()`` returned: a random prefix per invoker, then a
            counter (unique, and ordered by submit within one invoker).
        function: name of the function.
        submitted_at_s: clock time of the submit, seconds.
        attempts: how many times the function was run (0 when it never ran).
        finished_at_s: clock time the event reached its destination, seconds.
        args: positional arguments given to ``submit`` (not in the repr).
        kwargs: keyword arguments given to ``submit`` (not in the repr).
    """

    id: str
    function: str
    submitted_at_s: float
    attempts: int
    finished_at_s: float
    args: tuple[Any, ...] = field(default=(), repr=False)
    kwargs: dict[str, Any] = field(default_factory=dict, repr=False, hash=False)

    @property
    def age_s(self) -> float:
        """Seconds from submit to destination."""
        return self.finished_at_s - self.submitted_at_s


@dataclass(frozen=True, slots=True)
class FailureReason:
    """Why an event went to ``on_failure``.

    Attributes:
        kind: ``"error"``, ``"expired"``, ``"rejected"`` or ``"shutdown"``.
        exception: the exception of the last attempt, or None when no attempt failed.
    """

    kind: FailureKind
    exception: BaseException | None = None


@dataclass(frozen=True, slots=True)
class InvokerStatistics:
    """Counters of an invoker (a snapshot).

    ``accepted == succeeded + failed + expired + shutdown + pending`` at any moment;
    ``rejected`` events were never accepted.

    Attributes:
        accepted: events taken by ``submit``.
        rejected: events refused by ``submit`` because the queue was full.
        succeeded: events delivered to ``on_success``.
        failed: events delivered to ``on_failure`` with reason ``"error"``.
        expired: events delivered to ``on_failure`` with reason ``"expired"``.
        shutdown: events delivered to ``on_failure`` with reason ``"shutdown"``.
        retried: retry attempts run (attempts after the first).
        pending: accepted events not finished yet (queued, running or delayed).
    """

    accepted: int = 0
    rejected: int = 0
    succeeded: int = 0
    failed: int = 0
    expired: int = 0
    shutdown: int = 0
    retried: int = 0
    pending: int = 0


@dataclass(slots=True, eq=False)
class _Job:
    id: str
    fn: Callable[..., Any]
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    submitted_at_s: float
    context: contextvars.Context
    attempts: int = 0
    last_error: BaseException | None = None
    link: object = None  # telemetry: the producer span's context, for the consumer's link


SuccessCallback = Callable[[Event, Any], object]
FailureCallback = Callable[[Event, FailureReason], object]


def _retry_delays(value: Sequence[float], max_retries: int) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidUsage(
            f"retry_delays_s={value!r}: must be a sequence of seconds >= 0, e.g. (60, 120)"
        )
    delays = []
    for item in value:
        ok = isinstance(item, (int, float)) and not isinstance(item, bool)
        if not (ok and math.isfinite(item) and item >= 0):
            raise InvalidUsage(
                f"retry_delays_s={value!r}: {item!r} is not a finite number of seconds >= 0"
            )
        delays.append(float(item))
    if max_retries > 0 and not delays:
        raise InvalidUsage(
            f"retry_delays_s={value!r}: give at least one delay when max_retries={max_retries}"
        )
    return tuple(delays)


class _InvokerBase:
    """Configuration, counters and routing rules shared by both invokers."""

    #: The most workers one invoker starts (threads or tasks are started at once).
    MAX_WORKERS = 1024
    _worker_kind = "threads"

    def __init__(
        self,
        *,
        workers: int,
        max_queue: int | None,
        max_retries: int,
        retry_delays_s: Sequence[float],
        max_event_age_s: float,
        on_success: SuccessCallback | None,
        on_failure: FailureCallback | None,
        clock: Clock,
    ) -> None:
        self.workers: int = number(  # type: ignore[assignment]  # an integral rule: the int
            "workers",
            workers,
            Number(
                low=1,
                high=self.MAX_WORKERS,
                integral=True,
                types=(int,),
                allowed=f"an integer in [1, {self.MAX_WORKERS}] ({self._worker_kind})",
            ),
        )
        self.max_queue = None if max_queue is None else positive_int("max_queue", max_queue)
        self.max_retries = positive_int("max_retries", max_retries, allow_zero=True)
        self.retry_delays_s = _retry_delays(retry_delays_s, self.max_retries)
        self.max_event_age_s = positive("max_event_age_s", max_event_age_s)
        for name, callback in (("on_success", on_success), ("on_failure", on_failure)):
            if callback is not None and not callable(callback):
                raise InvalidUsage(f"{name}={callback!r}: must be a callable or None")
        self._on_success = on_success
        self._on_failure = on_failure
        self._clock = valid_clock("clock", clock)
        self._id_prefix = uuid.uuid4().hex[:16]
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._seq = 0  # tie-breaker for equal due times in the delay heap
        self._delayed: list[tuple[float, int, _Job]] = []
        self._running = 0
        self._accepted = 0
        self._rejected = 0
        self._succeeded = 0
        self._failed = 0
        self._expired = 0
        self._shutdown = 0
        self._retried = 0
        self._pending = 0

    # -- shared rules -----------------------------------------------------------------

    def _new_job(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> _Job:
        function = name_of(fn)
        hooks = _hooks()
        return _Job(
            f"{self._id_prefix}-{next(self._ids):08x}",
            fn,
            function,
            args,
            kwargs,
            self._clock.monotonic(),
            contextvars.copy_context(),
            link=None if hooks is None else hooks.producer_link(function),
        )

    @staticmethod
    def _runnable(job: _Job) -> Callable[..., Any]:
        """``job.fn``, inside a consumer span linked to the submit's when tracing."""
        hooks = _hooks()
        if hooks is None or job.link is None:
            return job.fn
        return hooks.consumer(job.fn, job.link, job.function, job.attempts)

    def _event(self, job: _Job) -> Event:
        return Event(
            job.id,
            job.function,
            job.submitted_at_s,
            job.attempts,
            self._clock.monotonic(),
            job.args,
            job.kwargs,
        )

    def _is_expired(self, job: _Job) -> bool:
        return self._clock.monotonic() - job.submitted_at_s > self.max_event_age_s

    def _retry_due(self, job: _Job, exc: BaseException) -> float | None:
        """Clock time the next attempt is due, or None when no retry is left."""
        if job.attempts > self.max_retries or not isinstance(exc, Exception):
            return None
        delays = self.retry_delays_s
        return self._clock.monotonic() + delays[min(job.attempts, len(delays)) - 1]

    def _push_delayed(self, due: float, job: _Job) -> None:
        """Add a retry to the heap (caller holds the lock or runs on the loop)."""
        self._seq += 1
        heapq.heappush(self._delayed, (due, self._seq, job))

    def _pop_due(self) -> list[_Job]:
        now = self._clock.monotonic()
        due: list[_Job] = []
        while self._delayed and self._delayed[0][0] <= now:
            due.append(heapq.heappop(self._delayed)[2])
        return due

    def _count(self, kind: str, job: _Job, *, ran: bool) -> None:
        """Book one finished event (caller holds the lock or runs on the loop)."""
        if kind == "success":
            self._succeeded += 1
        elif kind == "error":
            self._failed += 1
        elif kind == "expired":
            self._expired += 1
        else:
            self._shutdown += 1
        if ran and job.attempts > 1:
            self._retried += 1
        self._pending -= 1

    def _log_callback_error(self, which: str, event: Event) -> None:
        logger.exception(
            "%s callback raised for event %s (%s)",
            which,
            event.id,
            event.function,
            extra=_names(function=event.function),
        )

    def _log_unrouted(self, event: Event, reason: FailureReason) -> None:
        logger.warning(
            "event %s (%s) failed with reason %r and no on_failure is set: %r",
            event.id,
            event.function,
            reason.kind,
            reason.exception,
            extra=_names(function=event.function),
        )

    def _snapshot(self) -> InvokerStatistics:
        return InvokerStatistics(
            accepted=self._accepted,
            rejected=self._rejected,
            succeeded=self._succeeded,
            failed=self._failed,
            expired=self._expired,
            shutdown=self._shutdown,
            retried=self._retried,
            pending=self._pending,
        )

    def _describe(self) -> str:
        return (
            f"workers={self.workers}, max_queue={self.max_queue}, "
            f"max_retries={self.max_retries}, retry_delays_s={self.retry_delays_s}, "
            f"max_event_age_s={self.max_event_age_s:g}, closed={self._closed}"
        )


class AsyncInvoker(_InvokerBase):
    """Run plain functions asynchronously on worker threads, with retries and destinations.

    Args:
        workers: worker threads (each runs one event at a time), 1 to 1,024; they start
            with the invoker.
        max_queue: at most this many accepted, unfinished events (queued, running or
            waiting for a retry); a ``submit`` beyond it still returns an id, and the
            event goes straight to ``on_failure`` with reason ``"rejected"``, called
            in the submitting thread. None: no bound.
        max_retries: retries after the first attempt (0: none).
        retry_delays_s: seconds to wait before retry 1, 2, ...; the last value repeats.
        max_event_age_s: an event older than this (seconds since submit) when it
            comes due is not run but sent to ``on_failure`` as ``"expired"``.
        on_success: called as ``on_success(event, result)`` in a worker thread.
        on_failure: called as ``on_failure(event, reason)`` (a :class:`FailureReason`).
            Without it, failures are logged as warnings on ``resilience.async_invoker``.
        clock: where time comes from and where retry delays are waited.

    A callback that raises is logged on the ``resilience.async_invoker`` logger and does not
    stop the worker. The function runs in a copy of the submitter's context
    (``contextvars``). Worker threads start on the first submit and are daemons:
    call :meth:`close` (or use ``with``), or pending events are lost at exit.

    Example:
        >>> from resilience.testing import FakeClock
        >>> done = []
        >>> with AsyncInvoker(clock=FakeClock(), on_success=lambda e, r: done.append(r)) as inv:
        ...     _ = inv.submit(pow, 2, 10)
        >>> done
        [1024]
    """

    def __init__(
        self,
        *,
        workers: int = 4,
        max_queue: int | None = None,
        max_retries: int = 2,
        retry_delays_s: Sequence[float] = (60.0, 120.0),
        max_event_age_s: float = 21_600.0,
        on_success: SuccessCallback | None = None,
        on_failure: FailureCallback | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(
            workers=workers,
            max_queue=max_queue,
            max_retries=max_retries,
            retry_delays_s=retry_delays_s,
            max_event_age_s=max_event_age_s,
            on_success=on_success,
            on_failure=on_failure,
            clock=clock,
        )
        for name, callback in (("on_success", on_success), ("on_failure", on_failure)):
            if callback is not None and is_async(callback):
                raise InvalidUsage(
                    f"{name}={name_of(callback)}: AsyncInvoker calls its destinations from "
                    "worker threads; give a plain function (or use AsyncioInvoker)"
                )
        self._ready: deque[_Job] = deque()
        self._has_work = threading.Condition(self._lock)
        self._wake_scheduler = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []

    # -- public API -------------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> str:
        """Hand ``fn(*args, **kwargs)`` over and return the event id at once.

        Raises:
            InvokerClosed: after :meth:`close`.
            InvalidUsage: ``fn`` is a coroutine function (use :class:`AsyncioInvoker`).
        """
        if is_async(fn):
            raise InvalidUsage(
                f"fn={name_of(fn)}: is a coroutine function; AsyncInvoker runs plain "
                "functions on threads, use AsyncioInvoker for coroutines"
            )
        job = self._new_job(fn, args, kwargs)
        with self._lock:
            job.submitted_at_s = self._clock.monotonic()
            if self._closed:
                raise InvokerClosed(f"submit() after close(): event for {job.function} refused")
            if self.max_queue is not None and self._pending >= self.max_queue:
                self._rejected += 1
                rejected = True
            else:
                rejected = False
                self._accepted += 1
                self._pending += 1
                if not self._threads:
                    self._start()
                self._ready.append(job)
                self._has_work.notify()
        if rejected:
            self._deliver_failure(self._event(job), FailureReason("rejected"))
        return job.id

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every accepted event has reached its destination.

        Args:
            timeout_s: give up after this many real seconds (None: wait as long as it
                takes; with the system clock and the default schedule, minutes).

        Returns:
            True when nothing is pending.

        Do not call it from a destination: the event being delivered is still pending.
        """
        if timeout_s is not None:
            positive("timeout_s", timeout_s, allow_zero=True)
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self) -> None:
        """Stop: accept nothing more and lose nothing accepted.

        Events still queued or waiting for a retry go to ``on_failure`` with reason
        ``"shutdown"`` (called in this thread). Attempts already running finish; if one
        fails with a retry left, it too goes to ``on_failure`` as ``"shutdown"``. Waits
        for the worker threads to end. Calling it again does nothing. To finish every
        event first, call :meth:`drain` before.
        """
        with self._lock:
            if self._closed:
                leftovers: list[_Job] = []
            else:
                self._closed = True
                leftovers = list(self._ready) + [job for _, _, job in sorted(self._delayed)]
                self._ready.clear()
                self._delayed.clear()
                self._has_work.notify_all()
                self._wake_scheduler.notify_all()
        for job in leftovers:
            self._finish_failure(
                job, FailureReason("shutdown", job.last_error), ran=False, running=False
            )
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def statistics(self) -> InvokerStatistics:
        """A snapshot of the counters."""
        with self._lock:
            return self._snapshot()

    def __enter__(self) -> AsyncInvoker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drain, then close; when the block raised, close at once."""
        if exc_type is None:
            self.drain()
        self.close()

    def __repr__(self) -> str:
        return f"AsyncInvoker({self._describe()})"

    # -- machinery --------------------------------------------------------------------

    def _start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(
                target=self._work, name=f"AsyncInvoker-worker-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        scheduler = threading.Thread(
            target=self._schedule, name="AsyncInvoker-scheduler", daemon=True
        )
        scheduler.start()
        self._threads.append(scheduler)

    def _work(self) -> None:
        lock = self._lock
        while True:
            with lock:
                while not self._ready:
                    if self._closed:
                        return
                    self._has_work.wait()
                job = self._ready.popleft()
                self._running += 1
            self._attempt(job)

    def _attempt(self, job: _Job) -> None:
        if self._is_expired(job):
            self._finish_failure(job, FailureReason("expired", job.last_error), ran=False)
            return
        job.attempts += 1
        try:
            result = job.context.run(self._runnable(job), *job.args, **job.kwargs)
        except BaseException as exc:  # every outcome has a destination
            job.last_error = exc
            due = self._retry_due(job, exc)
            if due is not None:
                with self._lock:
                    if not self._closed:
                        if job.attempts > 1:
                            self._retried += 1
                        self._push_delayed(due, job)
                        self._running -= 1
                        self._wake_scheduler.notify()
                        return
                self._finish_failure(job, FailureReason("shutdown", exc), ran=True)
            else:
                self._finish_failure(job, FailureReason("error", exc), ran=True)
        else:
            event = self._event(job)
            if self._on_success is not None:
                try:
                    self._on_success(event, result)
                except Exception:
                    self._log_callback_error("on_success", event)
            self._settle("success", job, ran=True, running=True)

    def _finish_failure(
        self, job: _Job, reason: FailureReason, *, ran: bool, running: bool = True
    ) -> None:
        self._deliver_failure(self._event(job), reason)
        self._settle(reason.kind, job, ran=ran, running=running)

    def _deliver_failure(self, event: Event, reason: FailureReason) -> None:
        if self._on_failure is None:
            self._log_unrouted(event, reason)
            return
        try:
            self._on_failure(event, reason)
        except Exception:
            self._log_callback_error("on_failure", event)

    def _settle(self, kind: str, job: _Job, *, ran: bool, running: bool) -> None:
        with self._lock:
            self._count(kind, job, ran=ran)
            if running:
                self._running -= 1
            if self._pending == 0:
                self._idle.notify_all()
            if self._delayed:
                self._wake_scheduler.notify()

    def _schedule(self) -> None:
        clock = self._clock
        real_time = isinstance(clock, SystemClock)
        with self._lock:
            while not self._closed:
                due = self._pop_due()
                if due:
                    self._ready.extend(due)
                    self._has_work.notify(len(due))
                if not self._delayed:
                    self._wake_scheduler.wait()
                    continue
                remaining = max(self._delayed[0][0] - clock.monotonic(), 0.0)
                if real_time:
                    # Interruptible: a close() or an earlier retry wakes us.
                    self._wake_scheduler.wait(remaining)
                elif self._ready or self._running:
                    # Workers are busy (and may move the clock): they wake us.
                    self._wake_scheduler.wait(min(remaining, _MAX_WAIT_S))
                else:
                    # Idle until the next retry is due: let exactly that much time
                    # pass, holding the lock so no submit sees the clock mid-jump.
                    clock.sleep(remaining)


class AsyncioInvoker(_InvokerBase):
    """Run coroutine functions asynchronously as tasks, with retries and destinations.

    The same rules as :class:`AsyncInvoker` (see the module docstring), on the
    running event loop: ``submit`` is a plain method (call it from a coroutine or a
    callback on the loop) that returns the event id at once; ``workers`` tasks run the
    events; retry delays are awaited on ``clock.asleep``. Destinations may be plain
    functions or coroutine functions. Use ``await drain()`` and ``await close()``, or
    ``async with``.

    Args:
        workers: concurrent tasks running events, 1 to 100,000.
        max_queue: at most this many accepted, unfinished events; a ``submit`` beyond
            it returns an id and the event goes to ``on_failure`` as ``"rejected"``.
        max_retries: retries after the first attempt (0: none).
        retry_delays_s: seconds to wait before retry 1, 2, ...; the last value repeats.
        max_event_age_s: an event older than this when it comes due is ``"expired"``.
        on_success: ``on_success(event, result)``, plain or ``async``.
        on_failure: ``on_failure(event, reason)``, plain or ``async``.
        clock: where time comes from and where retry delays are awaited.

    Each attempt runs in a copy of the submitter's context. The invoker is bound to
    the event loop of its first ``submit``. A ``CancelledError`` raised by the
    function itself (say it awaited a task that something else cancelled) fails the
    event with reason ``"error"`` and is not retried; only cancelling a worker task
    stops it (its event then goes to ``on_failure`` as ``"shutdown"``).
    """

    MAX_WORKERS = 100_000
    _worker_kind = "tasks"

    def __init__(
        self,
        *,
        workers: int = 16,
        max_queue: int | None = None,
        max_retries: int = 2,
        retry_delays_s: Sequence[float] = (60.0, 120.0),
        max_event_age_s: float = 21_600.0,
        on_success: SuccessCallback | None = None,
        on_failure: FailureCallback | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(
            workers=workers,
            max_queue=max_queue,
            max_retries=max_retries,
            retry_delays_s=retry_delays_s,
            max_event_age_s=max_event_age_s,
            on_success=on_success,
            on_failure=on_failure,
            clock=clock,
        )
        self._success_is_async = on_success is not None and is_async(on_success)
        self._failure_is_async = on_failure is not None and is_async(on_failure)
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[None]] = set()

    # -- public API -------------------------------------------------------------------

    def submit(self, fn: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> str:
        """Hand ``await fn(*args, **kwargs)`` over and return the event id at once.

        Raises:
            InvokerClosed: after :meth:`close`.
            InvalidUsage: ``fn`` is not a coroutine function (use :class:`AsyncInvoker`).
            RuntimeError: no running event loop, or not the loop of the first submit.
        """
        if not is_async(fn):
            raise InvalidUsage(
                f"fn={name_of(fn)}: is not a coroutine function; AsyncioInvoker runs "
                "coroutine functions, use AsyncInvoker for plain ones"
            )
        if self._closed:
            raise InvokerClosed(f"submit() after close(): event for {name_of(fn)} refused")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("AsyncioInvoker.submit() needs a running event loop") from None
        if self._loop is None:
            self._start(loop)
        elif loop is not self._loop:
            raise RuntimeError("AsyncioInvoker is bound to the event loop of its first submit()")
        job = self._new_job(fn, args, kwargs)
        if self.max_queue is not None and self._pending >= self.max_queue:
            self._rejected += 1
            task = loop.create_task(
                self._deliver_failure(self._event(job), FailureReason("rejected"))
            )
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)
            return job.id
        self._accepted += 1
        self._pending += 1
        self._idle.clear()
        self._queue.put_nowait(job)
        return job.id

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every accepted event has reached its destination.

        Args:
            timeout_s: give up after this many seconds on the event loop's clock
                (real time on a normal loop; None: wait as long as it takes).

        Returns:
            True when nothing is pending (rejected events' deliveries included).

        Do not await it from a destination: the event being delivered is still pending.
        """
        if timeout_s is not None:
            positive("timeout_s", timeout_s, allow_zero=True)
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
                while self._side_tasks:  # asyncio.wait: a timeout must not cancel them
                    await asyncio.wait(list(self._side_tasks))
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop: accept nothing more and lose nothing accepted.

        Queued and delayed events go to ``on_failure`` as ``"shutdown"``; running
        attempts finish (a failure with a retry left goes as ``"shutdown"`` too). Waits
        for the worker tasks. Calling it again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        leftovers: list[_Job] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                leftovers.append(item)
        leftovers += [job for _, _, job in sorted(self._delayed)]
        self._delayed.clear()
        for job in leftovers:
            await self._finish_failure(
                job, FailureReason("shutdown", job.last_error), ran=False, running=False
            )
        for _ in range(self.workers):
            self._queue.put_nowait(None)
        self._wake.set()
        if self._tasks:
            await asyncio.gather(*self._tasks)
        while self._side_tasks:
            await asyncio.gather(*list(self._side_tasks))

    @property
    def closed(self) -> bool:
        """True after :meth:`close` began."""
        return self._closed

    @property
    def statistics(self) -> InvokerStatistics:
        """A snapshot of the counters."""
        return self._snapshot()

    async def __aenter__(self) -> AsyncioInvoker:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drain, then close; when the block raised, close at once."""
        if exc_type is None:
            await self.drain()
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncioInvoker({self._describe()})"

    # -- machinery --------------------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._tasks = [loop.create_task(self._work()) for _ in range(self.workers)]
        self._tasks.append(loop.create_task(self._schedule()))

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job is None:
                return
            self._running += 1
            await self._attempt(job)

    async def _attempt(self, job: _Job) -> None:
        if self._is_expired(job):
            await self._finish_failure(job, FailureReason("expired", job.last_error), ran=False)
            return
        job.attempts += 1
        try:
            coro = self._runnable(job)(*job.args, **job.kwargs)
            result = await asyncio.get_running_loop().create_task(coro, context=job.context)
        except asyncio.CancelledError as exc:
            worker = asyncio.current_task()
            if worker is not None and worker.cancelling():
                # This worker is being cancelled (the loop is going away): the event
                # cannot finish, and the worker must stop.
                job.last_error = exc
                await self._finish_failure(job, FailureReason("shutdown", exc), ran=True)
                raise
            # The function itself raised it (e.g. it awaited a task that something
            # else cancelled): that is this attempt's failure, like any other error
            # (never retried: CancelledError is not an Exception).
            await self._failed_attempt(job, exc)
        except BaseException as exc:  # every outcome has a destination
            await self._failed_attempt(job, exc)
        else:
            event = self._event(job)
            if self._on_success is not None:
                await self._call(
                    self._on_success, self._success_is_async, "on_success", event, result
                )
            self._settle("success", job, ran=True, running=True)

    async def _failed_attempt(self, job: _Job, exc: BaseException) -> None:
        """Route an attempt that raised ``exc``: a delayed retry, or a destination."""
        job.last_error = exc
        due = self._retry_due(job, exc)
        if due is None:
            await self._finish_failure(job, FailureReason("error", exc), ran=True)
        elif self._closed:
            await self._finish_failure(job, FailureReason("shutdown", exc), ran=True)
        else:
            if job.attempts > 1:
                self._retried += 1
            self._push_delayed(due, job)
            self._running -= 1
            self._wake.set()

    async def _finish_failure(
        self, job: _Job, reason: FailureReason, *, ran: bool, running: bool = True
    ) -> None:
        await self._deliver_failure(self._event(job), reason)
        self._settle(reason.kind, job, ran=ran, running=running)

    async def _deliver_failure(self, event: Event, reason: FailureReason) -> None:
        if self._on_failure is None:
            self._log_unrouted(event, reason)
            return
        await self._call(self._on_failure, self._failure_is_async, "on_failure", event, reason)

    async def _call(
        self, callback: Callable[..., object], is_coro: bool, which: str, event: Event, arg: object
    ) -> None:
        try:
            outcome = callback(event, arg)
            if is_coro and inspect.isawaitable(outcome):
                await outcome
        except Exception:
            self._log_callback_error(which, event)

    def _settle(self, kind: str, job: _Job, *, ran: bool, running: bool) -> None:
        self._count(kind, job, ran=ran)
        if running:
            self._running -= 1
        if self._pending == 0:
            self._idle.set()
        if self._delayed:
            self._wake.set()

    async def _schedule(self) -> None:
        clock = self._clock
        real_time = isinstance(clock, SystemClock)
        while not self._closed:
            for job in self._pop_due():
                self._queue.put_nowait(job)
            if not self._delayed:
                self._wake.clear()
                await self._wake.wait()
                continue
            remaining = max(self._delayed[0][0] - clock.monotonic(), 0.0)
            if real_time or self._running or not self._queue.empty():
                # Wait for the due time, or until a close(), an earlier retry or a
                # finished attempt (which may have moved the clock) wakes us.
                self._wake.clear()
                limit = remaining if real_time else min(remaining, _MAX_WAIT_S)
                try:
                    async with asyncio.timeout(limit):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            # Idle until the next retry is due: let exactly that much time pass.
            await clock.asleep(remaining)
