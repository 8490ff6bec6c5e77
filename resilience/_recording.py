"""Ledger rows for decorators, written once for every decorator given ``ledger=``.

A :class:`Recorder` wraps a function in two kinds of layers:

- a **call** layer records one ``kind="call"`` row per logical call the caller made;
- an **attempt** layer records one ``kind="attempt"`` row each time the guarded
  function is tried (or rejected before being tried), with the sizes an invoker
  reported through :func:`resilience.ledger.report_sizes`.

The layers share a per-call state carried by a context variable, keyed by the ledger
and the function name. That makes hand-stacked decorators that share one ledger
behave like one :class:`resilience.Policy`: only the outermost call layer records the
call, and only the innermost attempt layer records each attempt (an outer attempt
layer sees that an inner one recorded and stays silent; a decorator that would put its
attempt layer right around a function already recording into the same ledger leaves
it out, so a cache hit inside is not taken for an attempt). Attempt numbers are the order
of the attempt rows within the call: 1, 2, ... A decorator that produces a result
without calling the function reports it with :func:`mark_cache_hit` or
:func:`mark_fallback`, which sets the outcome of the call row.

Each attempt layer also sets a box of its own in a context variable, which a chaos layer
deep inside marks with :func:`mark_injected`; the attempt row carries the mark as
``injected``. The box belongs to the attempt (not to the call), so attempts of one call
running at once in several tasks or threads (hedging) each carry their own mark; a worker
thread that runs the attempt in a copy of the caller's context (the sync timeout) marks
the same box.

Cancellation (``asyncio.CancelledError``, ``KeyboardInterrupt``) ends a call as a
``cancelled`` row with that type: the time was spent and a bill counts it.

Hedged attempts: :func:`resilience.hedge` runs each attempt of a group in a context of
its own after :func:`enter_hedge` put a :class:`HedgeMember` there. The attempt layer
then writes that attempt's row with ``hedge=k`` and ``hedge_result``: ``won`` for the
attempt that claims the group's win (:meth:`HedgeGroup.claim`, first success only),
``lost`` for every other. All members of a group share one ``attempt`` number (the
try of the call, as a retry counts them); the call row's ``attempt`` counts every
attempt launched, hedges included (a detached loser's row may be written after the
call row, when the loser ends).
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._validate import is_async, name_of
from ._wraps import wraps
from .clock import Clock
from .errors import BulkheadFull, CircuitOpenError, RateLimited
from .ledger import Ledger, collect_sizes

__all__ = [
    "HedgeGroup",
    "HedgeMember",
    "Recorder",
    "chain_hooks",
    "enter_hedge",
    "error_type_of",
    "hedge_member",
    "mark_cache_hit",
    "mark_fallback",
    "mark_injected",
    "outcome_of",
    "record_inside",
    "record_outside",
    "with_cache_hook",
    "with_fallback_hook",
]

P = ParamSpec("P")
R = TypeVar("R")


def error_type_of(exc: BaseException) -> str:
    """The qualified name of ``exc``'s class, e.g. ``builtins.ConnectionError``."""
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def outcome_of(exc: BaseException) -> str:
    """The ledger outcome of an attempt or call that raised ``exc``.

    ``rejected`` for an open breaker, ``rate_limited`` for our rate limiter,
    ``bulkhead_full`` for a full bulkhead, ``timeout`` for any ``TimeoutError`` (ours,
    ``asyncio``'s, a socket's), ``cancelled`` for a cancellation or an interrupt (not an
    ``Exception``), ``error`` otherwise.
    """
    if not isinstance(exc, Exception):
        return "cancelled"
    if isinstance(exc, CircuitOpenError):
        return "rejected"
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, BulkheadFull):
        return "bulkhead_full"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "error"


@dataclass(slots=True)
class _CallState:
    ledger: Ledger
    function: str
    attempts: int = 0
    outcome: str | None = None
    error_type: str | None = None
    tries: int = 0  # numbers given to hedged groups (their shared ``attempt``)


_MARK = "__callwise_ledger__"  # on wrappers that record into a ledger

_current: contextvars.ContextVar[_CallState | None] = contextvars.ContextVar(
    "callwise_call", default=None
)


# The injection mark of the attempt being recorded: a one-item box set by each attempt
# layer, marked by a chaos layer inside it.
_injected: contextvars.ContextVar[list[str | None] | None] = contextvars.ContextVar(
    "callwise_injected", default=None
)


def mark_injected(kind: str) -> None:
    """Tell the attempt being recorded (if any) that chaos injected ``kind`` into it
    (``latency``, ``fault`` or ``outcome``; a later mark replaces an earlier one)."""
    box = _injected.get()
    if box is not None:
        box[0] = kind


def mark_cache_hit() -> None:
    """Tell the call being recorded (if any) that its result came from a cache."""
    state = _current.get()
    if state is not None:
        state.outcome = "cache_hit"


def mark_fallback(exc: BaseException | None = None) -> None:
    """Tell the call being recorded (if any) that a fallback produced its result.

    Args:
        exc: the error that caused the fallback; its type goes on the call row.
    """
    state = _current.get()
    if state is not None:
        state.outcome = "fallback"
        state.error_type = error_type_of(exc) if exc is not None else None


class HedgeGroup:
    """The attempts of one hedged try: which one won, and the ``attempt`` they share.

    Thread-safe: members of a sync hedge run in worker threads.
    """

    __slots__ = ("_lock", "attempt", "winner")

    _CLOSED = -1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempt: int | None = None
        self.winner: int | None = None

    def claim(self, k: int) -> bool:
        """Whether member ``k``'s success wins the group (the first claim does)."""
        with self._lock:
            if self.winner is None:
                self.winner = k
            return self.winner == k

    def close(self) -> None:
        """End the group without a winner: a later success is a loser."""
        with self._lock:
            if self.winner is None:
                self.winner = self._CLOSED

    def _count(self, state: _CallState) -> None:
        with self._lock:
            state.attempts += 1

    def _number(self, state: _CallState) -> int:
        with self._lock:
            if self.attempt is None:
                state.tries += 1
                self.attempt = state.tries
            return self.attempt


@dataclass(slots=True)
class HedgeMember:
    """Attempt ``k`` (0: the primary) of a hedged ``group``, as its context knows it."""

    group: HedgeGroup
    k: int
    owner: tuple[Ledger, str] | None = None  # the recorder that writes its row
    recorded: bool = False


_member: contextvars.ContextVar[HedgeMember | None] = contextvars.ContextVar(
    "callwise_hedge", default=None
)


def enter_hedge(group: HedgeGroup, k: int) -> None:
    """Mark the current context (an attempt's own task or thread) as member ``k``."""
    _member.set(HedgeMember(group, k))


def hedge_member() -> HedgeMember | None:
    """The hedged attempt the current context runs, if any."""
    return _member.get()


def _state_for(ledger: Ledger, function: str) -> _CallState | None:
    state = _current.get()
    if state is not None and state.ledger is ledger and state.function == function:
        return state
    return None


@dataclass(frozen=True, slots=True)
class Recorder:
    """Records the calls and attempts of one function into one ledger.

    Args:
        ledger: where rows go.
        function: the name written on every row.
        clock: gives start times and durations (seconds).
    """

    ledger: Ledger
    function: str
    clock: Clock

    # -- rows ---------------------------------------------------------------------

    def _call_row(self, state: _CallState, start_s: float, exc: BaseException | None) -> None:
        error_type: str | None
        if exc is not None:
            outcome, error_type = outcome_of(exc), error_type_of(exc)
        else:
            outcome, error_type = state.outcome or "ok", state.error_type
        self.ledger.record(
            function=self.function,
            kind="call",
            start_s=start_s,
            duration_s=self.clock.monotonic() - start_s,
            outcome=outcome,
            attempt=state.attempts,
            error_type=error_type,
        )

    def _attempt_row(
        self,
        member: HedgeMember | None,
        state: _CallState | None,
        before: int,
        start_s: float,
        exc: BaseException | None,
        sizes: Any,
        injected: str | None,
    ) -> None:
        """The row of one attempt: a hedge member's (``member``), or a plain attempt's,
        written only if no inner attempt layer already wrote it (``state.attempts`` still
        ``before``)."""
        if member is not None:
            self._member_row(member, start_s, exc, sizes, injected)
            return
        assert state is not None
        if state.attempts != before:
            return  # an inner attempt layer recorded this try
        state.attempts += 1
        self.ledger.record(
            function=self.function,
            kind="attempt",
            start_s=start_s,
            duration_s=self.clock.monotonic() - start_s,
            outcome="ok" if exc is None else outcome_of(exc),
            attempt=state.attempts,
            error_type=None if exc is None else error_type_of(exc),
            request_bytes=sizes.request_bytes,
            response_bytes=sizes.response_bytes,
            injected=injected,
        )

    def _member_row(
        self,
        member: HedgeMember,
        start_s: float,
        exc: BaseException | None,
        sizes: Any,
        injected: str | None,
    ) -> None:
        if member.recorded:
            return  # an inner attempt layer of the same member wrote it
        member.recorded = True
        group = member.group
        won = exc is None and group.claim(member.k)
        self.ledger.record(
            function=self.function,
            kind="attempt",
            start_s=start_s,
            duration_s=self.clock.monotonic() - start_s,
            outcome="ok" if exc is None else outcome_of(exc),
            attempt=group._number(self._attempt_state()),
            error_type=None if exc is None else error_type_of(exc),
            request_bytes=sizes.request_bytes,
            response_bytes=sizes.response_bytes,
            hedge=member.k,
            hedge_result="won" if won else "lost",
            injected=injected,
        )

    def _owns(self, member: HedgeMember) -> bool:
        """Whether this recorder writes ``member``'s row: the first attempt layer to see
        it takes it (and counts it on the call row); a function called from inside the
        attempt, recording elsewhere, records as usual."""
        if member.owner is None:
            member.owner = (self.ledger, self.function)
            member.group._count(self._attempt_state())
            return True
        ledger, function = member.owner
        return ledger is self.ledger and function == self.function

    def _open(self) -> tuple[_CallState, contextvars.Token[_CallState | None]] | None:
        if _state_for(self.ledger, self.function) is not None:
            return None  # an outer layer already records this call
        state = _CallState(self.ledger, self.function)
        return state, _current.set(state)

    def _attempt_state(self) -> _CallState:
        # Outside any call layer (e.g. a worker thread without the context), the
        # attempt still gets a row, as attempt 1 of a call we cannot see.
        return _state_for(self.ledger, self.function) or _CallState(self.ledger, self.function)

    # -- layers -------------------------------------------------------------------

    def call(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """Wrap ``fn`` in a layer that records one call row per call (and, at ``site``,
        where telemetry observes each call: a Policy's outermost layer)."""
        if is_async:
            return cast("Callable[P, R]", self._call_async(cast("Any", fn), site))
        clock = self.clock

        @wraps(fn)
        def call_layer(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            opened = self._open()
            if opened is None:
                return fn(*args, **kwargs)
            state, token = opened
            start_s = clock.monotonic()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._call_row(state, start_s, exc)
                raise
            finally:
                _current.reset(token)
            self._call_row(state, start_s, None)
            return result

        me = weakref.ref(call_layer)  # for observe_call: no reference cycle

        return call_layer

    def _call_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        clock = self.clock

        @wraps(fn)
        async def call_layer(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            opened = self._open()
            if opened is None:
                return await fn(*args, **kwargs)
            state, token = opened
            start_s = clock.monotonic()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._call_row(state, start_s, exc)
                raise
            finally:
                _current.reset(token)
            self._call_row(state, start_s, None)
            return result

        me = weakref.ref(call_layer)  # for observe_call: no reference cycle

        return call_layer

    def attempt(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """Wrap ``fn`` in a layer that records one attempt row per try (innermost wins);
        at ``site``, telemetry observes each try too (inside the row's timing)."""
        if is_async:
            return cast("Callable[P, R]", self._attempt_async(cast("Any", fn), site))
        clock = self.clock
        where = cast(Site, site)  # read only when site is not None

        @wraps(fn)
        def attempt_layer(*args: P.args, **kwargs: P.kwargs) -> R:
            active = None if site is None else _switches.hooks
            member = _member.get()
            if member is not None and not self._owns(member):
                member = None  # another recorder's hedge member: record as usual
            state = None if member is not None else self._attempt_state()
            before = 0 if state is None else state.attempts
            start_s = clock.monotonic()
            box: list[str | None] = [None]
            token = _injected.set(box)
            with collect_sizes() as sizes:
                try:
                    result = (
                        fn(*args, **kwargs)
                        if active is None
                        else active.run_attempt(where, fn, args, kwargs)
                    )
                except BaseException as exc:
                    _injected.reset(token)
                    self._attempt_row(member, state, before, start_s, exc, sizes, box[0])
                    raise
            _injected.reset(token)
            self._attempt_row(member, state, before, start_s, None, sizes, box[0])
            return result

        return attempt_layer

    def _attempt_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        clock = self.clock
        where = cast(Site, site)  # read only when site is not None

        @wraps(fn)
        async def attempt_layer(*args: P.args, **kwargs: P.kwargs) -> R:
            active = None if site is None else _switches.hooks
            member = _member.get()
            if member is not None and not self._owns(member):
                member = None  # another recorder's hedge member: record as usual
            state = None if member is not None else self._attempt_state()
            before = 0 if state is None else state.attempts
            start_s = clock.monotonic()
            box: list[str | None] = [None]
            token = _injected.set(box)
            with collect_sizes() as sizes:
                try:
                    result = await (
                        fn(*args, **kwargs)
                        if active is None
                        else active.arun_attempt(where, fn, args, kwargs)
                    )
                except BaseException as exc:
                    _injected.reset(token)
                    self._attempt_row(member, state, before, start_s, exc, sizes, box[0])
                    raise
            _injected.reset(token)
            self._attempt_row(member, state, before, start_s, None, sizes, box[0])
            return result

        return attempt_layer

    def wrap(
        self,
        fn: Callable[P, R],
        decorate: Callable[[Callable[P, R]], Callable[P, R]],
        *,
        is_async: bool,
        attempt_inside: bool,
    ) -> Callable[P, R]:
        """``decorate(fn)`` with a call layer outside and an attempt layer.

        Args:
            fn: the function being guarded.
            decorate: applies the decorator itself (without any recording).
            is_async: whether ``fn`` is a coroutine function.
            attempt_inside: put the attempt layer between the decorator and ``fn``
                (retry, cache, fallback: each real try is an attempt) rather than
                around the decorator (breaker, bulkhead, timeout: a rejection or a
                timeout is an attempt too).
        """
        if attempt_inside:
            if getattr(fn, _MARK, None) is self.ledger:
                # fn records its own attempts in this ledger (decorators stacked by
                # hand): an attempt layer here would count a cache hit inside it as
                # an attempt, and each real attempt twice.
                inner = decorate(fn)
            else:
                inner = decorate(self.attempt(fn, is_async=is_async))
        else:
            inner = self.attempt(decorate(fn), is_async=is_async)
        wrapped = self.call(inner, is_async=is_async)
        setattr(wrapped, _MARK, self.ledger)
        return wrapped


# -- for the decorators' ``ledger=`` ------------------------------------------------------


def record_outside(
    ledger: Ledger, fn: Callable[..., Any], guarded: Callable[P, R], clock: Clock
) -> Callable[P, R]:
    """Record calls and attempts around ``guarded`` (``fn`` already decorated).

    For guards that can fail an attempt without calling ``fn`` (breaker, bulkhead,
    timeout): a rejection or a timeout is an attempt of its own.
    """
    asynchronous = is_async(fn)
    recorder = Recorder(ledger, name_of(fn), clock)
    attempt = recorder.attempt(guarded, is_async=asynchronous)
    wrapped = recorder.call(attempt, is_async=asynchronous)
    setattr(wrapped, _MARK, ledger)
    return wrapped


def record_inside(
    ledger: Ledger,
    fn: Callable[P, R],
    decorate: Callable[[Callable[P, R]], Callable[P, R]],
    clock: Clock,
) -> Callable[P, R]:
    """``decorate(fn)`` with a call layer outside and an attempt layer around ``fn``.

    For guards that call ``fn`` zero or more times per call (retry, cache, fallback).
    """
    asynchronous = is_async(fn)
    recorder = Recorder(ledger, name_of(fn), clock)
    return recorder.wrap(fn, decorate, is_async=asynchronous, attempt_inside=True)


def chain_hooks(first: Callable[[Any], object] | None, then: Callable[[Any], object]) -> Any:
    """A hook that calls the user's hook (if any), then ours."""
    if first is None:
        return then

    def both(arg: Any) -> None:
        first(arg)
        then(arg)

    return both


def _hit(_kind: object) -> None:
    mark_cache_hit()


def with_cache_hook(part: Any) -> Any:
    """A copy of a ``cached(...)`` config that marks its hits as ``cache_hit``, no ledger."""
    return dataclasses.replace(part, on_hit=chain_hooks(part.on_hit, _hit), ledger=None)


def with_fallback_hook(part: Any) -> Any:
    """A copy of a ``fallback(...)`` config that marks its answers as ``fallback``, no ledger."""
    return dataclasses.replace(
        part, on_fallback=chain_hooks(part.on_fallback, mark_fallback), ledger=None
    )
