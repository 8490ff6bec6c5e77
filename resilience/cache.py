"""Cache: remember results, call once for many concurrent misses, serve stale on errors.

``@cached(ttl=60)`` keeps each result for 60 s (clock seconds) in a cachetools
store: :class:`cachetools.TTLCache` for a fixed ``ttl``, :class:`cachetools.TLRUCache`
when ``ttl`` is a function ``(key, value) -> seconds`` (a per-item time to live, given
the cache key and the result; 0 or less means "do not cache this value"; an exception
it raises counts as a failed call), :class:`cachetools.LRUCache` when ``ttl`` is None
(no expiry). Every store is bounded by ``maxsize`` entries, least recently used
first out. Works on plain and ``async def`` functions (decided once, at decoration).

Behaviour:
    * Thread-safe: one lock guards the store, held only around store access, never
      across the wrapped call. A miss takes it once before the call (the lookup that
      found no value also decides who calls) and once after; something to wait on
      (an Event, or a future per task) is made only when a second caller joins.
      The lock is reentrant (as in ``cachetools.func``): a key whose ``__eq__`` or
      ``__hash__`` calls the cached function again does not deadlock.
    * Single-flight: concurrent misses on one key (threads, or tasks on any event
      loop) make ONE call; every caller gets its result, or its exception. When the
      caller making the call is cancelled (``asyncio.CancelledError``, or any other
      ``BaseException`` such as ``KeyboardInterrupt``), the callers waiting on it are
      not poisoned: one of them makes the call again. A waiter gets
      ``CancelledError`` only when it is cancelled itself.
    * ``stale_if_error=s``: a value is kept ``s`` seconds past its expiry; when the
      refresh raises an Exception during that window, the expired value is served
      (to the caller that refreshed and to every caller that waited on it) and the
      error is logged at DEBUG level on the ``resilience.cache`` logger. Each later
      call tries the refresh again (one call at a time per key).
    * Negative caching, off by default (exceptions are never cached unless asked):
      ``cache_errors=(LookupError, ...)`` remembers an exception of those types for
      ``error_ttl`` seconds (default: ``ttl``) and re-raises the same exception object
      without calling. A success removes the remembered error. With
      ``stale_if_error``, a remembered error serves the stale value, as a fresh error
      would.
    * ``cache_info()`` returns :class:`CacheInfo` (hits, misses, coalesced,
      stale serves, error hits, current size, maxsize); ``cache_clear()`` empties the
      store and the counters (a call in flight during the clear does not store its
      result).

Keys: ``key=`` builds the key from the call's arguments; the default is
:func:`cachetools.keys.hashkey`, so arguments must be hashable and ``f(1)`` and
``f(x=1)`` are different keys.

Hook for composition: ``on_hit=callback`` is called as ``callback(kind)`` in the
caller's own thread or task whenever a call was answered without calling the wrapped
function, with ``kind`` one of :data:`HIT_KINDS`: ``"fresh"`` (a cached value),
``"shared"`` (the result of a call another caller made: single-flight), ``"stale"``
(an expired value served on error) or ``"error"`` (a remembered error is about to be
re-raised). :class:`resilience.Policy` uses it to record the outcome ``cache_hit``.
It costs one ``is None`` test on the hit path when not given.

Example:
    >>> from resilience.testing import FakeClock
    >>> clock = FakeClock()
    >>> @cached(ttl=60, clock=clock)
    ... def price(item):
    ...     return len(item)
    >>> price("apple"), price("apple")
    (5, 5)
    >>> price.cache_info().hits
    1
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, NoReturn, ParamSpec, Protocol, TypeVar, cast

import cachetools
from cachetools.keys import hashkey

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import logger as _logger_named
from ._observe import names as _names
from ._observe import observe_call as _observe_call
from ._observe import register as _register
from ._observe import switches as _switches
from ._recording import record_inside, with_cache_hook
from ._validate import Number, exception_types, is_async, name_of, number, positive, positive_int
from ._validate import clock as valid_clock
from ._wraps import wraps
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .errors import InvalidUsage
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger

__all__ = ["HIT_KINDS", "CacheInfo", "Cached", "CachedFunction", "HitKind", "cached"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

HitKind = Literal["fresh", "shared", "stale", "error"]
HIT_KINDS: tuple[str, ...] = ("fresh", "shared", "stale", "error")

_log = _logger_named("resilience.cache")

ItemTtl = Callable[[Hashable, Any], float]
"""A per-item time to live: ``(key, value) -> seconds``; 0 or less: do not cache."""


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """Counters of a cached function since creation or the last ``cache_clear()``.

    Every call is either a hit or a miss; ``coalesced``, ``error_hits`` and
    ``stale_serves`` break the misses down. Calls of the wrapped function
    = misses - coalesced - error_hits (plus re-calls after a cancelled caller).

    Attributes:
        hits: calls answered with a fresh cached value.
        misses: calls that found no fresh value.
        coalesced: misses that waited for a call another caller had in flight.
        stale_serves: misses answered with an expired value (``stale_if_error``).
        error_hits: misses answered by a remembered error (``cache_errors``), without
            a call.
        currsize: values held now, including expired ones kept for ``stale_if_error``.
        maxsize: the most values held at once.
    """

    hits: int
    misses: int
    coalesced: int
    stale_serves: int
    error_hits: int
    currsize: int
    maxsize: int


class CachedFunction(Protocol[P, R_co]):
    """What :class:`Cached` returns: the function, plus ``cache_info``/``cache_clear``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_info(self) -> CacheInfo:
        """The counters and sizes, see :class:`CacheInfo`."""
        ...

    def cache_clear(self) -> None:
        """Forget every value and remembered error, and reset the counters."""
        ...

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Callable[..., R_co]:
        """On a method: the bound method (arguments after ``self`` are not checked)."""
        ...


@dataclass(frozen=True, slots=True)
class Cached:
    """A cache configuration; apply it to a function to cache the function's results.

    Build it with :func:`cached`, which validates every field. Each function it is
    applied to gets its own store and counters.
    """

    ttl: float | ItemTtl | None
    maxsize: int
    key: Callable[..., Hashable]
    clock: Clock
    stale_if_error: float
    cache_errors: tuple[type[Exception], ...]
    error_ttl: float | None
    on_hit: Callable[[HitKind], object] | None
    ledger: Ledger | None = None

    def __call__(self, fn: Callable[P, R]) -> CachedFunction[P, R]:
        """Wrap ``fn`` (plain or ``async def``) with a cache of its own."""
        return self.observed(fn)

    def observed(
        self, fn: Callable[P, R], *, site: Site | None = None, attempts: Site | None = None
    ) -> CachedFunction[P, R]:
        """Wrap ``fn``; telemetry observes each call at ``site`` (the wrapper is a Policy's
        outermost) and each call of ``fn`` as an attempt at ``attempts`` (what
        :class:`resilience.Policy` uses)."""
        if not callable(fn):
            raise InvalidUsage(f"fn={fn!r}: cached(...) decorates a function or callable")
        if self.ledger is not None:
            recorded = record_inside(self.ledger, fn, with_cache_hook(self), self.clock)
            return cast(CachedFunction[P, R], recorded)
        asynchronous = is_async(fn)
        core = _Core(self, fn, threaded=not asynchronous, attempts=attempts)
        wrapper = _async_wrapper(core, site) if asynchronous else _sync_wrapper(core, site)
        wraps(fn)(wrapper)
        wrapper.cache_info = core.info  # type: ignore[attr-defined]
        wrapper.cache_clear = core.clear  # type: ignore[attr-defined]
        _register(wrapper)  # the cache size gauge sees it while it lives
        return cast(CachedFunction[P, R], wrapper)


def cached(
    *,
    ttl: float | ItemTtl | None = None,
    maxsize: int = 1024,
    key: Callable[..., Hashable] = hashkey,
    clock: Clock = SYSTEM_CLOCK,
    stale_if_error: float = 0.0,
    cache_errors: type[Exception] | Iterable[type[Exception]] = (),
    error_ttl: float | None = None,
    on_hit: Callable[[HitKind], object] | None = None,
    ledger: Ledger | None = None,
) -> Cached:
    """Cache a function's results, with single-flight misses and stale-if-error.

    Args:
        ttl: seconds a value stays fresh; or a function ``(key, value) -> seconds``
            for a per-item time to live (0 or less: do not cache that value); or None
            (default) for no expiry.
        maxsize: the most values held at once (least recently used out first); 0 holds
            none, as in cachetools: every call goes to the function (concurrent calls
            with one key still make one call).
        key: builds the cache key from the call's ``(*args, **kwargs)``; default
            :func:`cachetools.keys.hashkey`. A plain function.
        clock: where time comes from (``clock.monotonic()``, seconds).
        stale_if_error: seconds past expiry during which an expired value is served
            when the refresh raises an Exception; 0 (default) turns it off. Needs
            ``ttl``.
        cache_errors: exception type(s) to remember (negative caching); default none.
        error_ttl: seconds an error is remembered; default ``ttl`` (required when
            ``ttl`` is not a number).
        ledger: a :class:`resilience.Ledger` recording each call (outcome ``cache_hit``
            when answered without calling) and each call of the function.
        on_hit: called as ``on_hit(kind)`` when a call is answered without calling
            the function (see :data:`HIT_KINDS`). A plain function.

    Returns:
        A :class:`Cached`, to apply to a function as a decorator.

    Raises:
        InvalidUsage: a parameter out of range or of the wrong kind.
    """
    ttl = _check_ttl(ttl)
    maxsize = positive_int("maxsize", maxsize, allow_zero=True)
    stale_if_error = _check_stale_if_error(stale_if_error, ttl)
    errors = _check_cache_errors(cache_errors)
    error_ttl = _error_ttl(error_ttl, errors, ttl=ttl, cache_errors=cache_errors)
    _check_plain_function("key", key)
    if on_hit is not None:
        _check_plain_function("on_hit", on_hit)
    clock = valid_clock("clock", clock)
    valid_ledger("ledger", ledger)
    return Cached(
        ttl=ttl,
        maxsize=maxsize,
        key=key,
        clock=clock,
        stale_if_error=stale_if_error,
        cache_errors=errors,
        error_ttl=error_ttl,
        on_hit=on_hit,
        ledger=ledger,
    )


_TTL = Number(
    low=0,
    low_open=True,
    message="{name}={value}: must be a finite number of seconds > 0, a plain function "
    "(key, value) -> seconds, or None for no expiry",
)


def _check_ttl(ttl: object) -> float | ItemTtl | None:
    """``ttl`` if it is None, a plain function or a finite number of seconds > 0 (an int
    as a float)."""
    if ttl is None or (callable(ttl) and not is_async(ttl)):
        return ttl
    seconds = number("ttl", ttl, _TTL)
    return ttl if isinstance(ttl, float) else seconds  # a float subclass stays as given


def _check_stale_if_error(stale_if_error: float, ttl: float | ItemTtl | None) -> float:
    """``stale_if_error`` as seconds >= 0; more than 0 needs a ``ttl``."""
    stale_if_error = positive("stale_if_error", stale_if_error, allow_zero=True)
    if stale_if_error and ttl is None:
        raise InvalidUsage(
            f"stale_if_error={stale_if_error!r}: needs ttl=...; without a ttl values "
            "never expire, so nothing is ever stale"
        )
    return stale_if_error


def _check_cache_errors(
    cache_errors: type[Exception] | Iterable[type[Exception]],
) -> tuple[type[Exception], ...]:
    """``cache_errors`` as a tuple of Exception subclasses (the types to remember)."""
    errors = exception_types("cache_errors", cache_errors)
    for item in errors:
        if not issubclass(item, Exception):
            raise InvalidUsage(
                f"cache_errors={cache_errors!r}: {item.__qualname__} is not an Exception "
                "subclass; only Exception subclasses can be remembered"
            )
    return cast(tuple[type[Exception], ...], errors)


def _error_ttl(
    error_ttl: float | None,
    errors: tuple[type[Exception], ...],
    *,
    ttl: float | ItemTtl | None,
    cache_errors: object,
) -> float | None:
    """Seconds an error is remembered: ``error_ttl`` (only with ``cache_errors``), else a
    number ``ttl`` when there are errors to remember; None when there are none."""
    if error_ttl is not None:
        error_ttl = positive("error_ttl", error_ttl)
        if not errors:
            raise InvalidUsage(
                f"error_ttl={error_ttl!r}: has no effect without cache_errors=(...); "
                "give the exception types to remember"
            )
        return error_ttl
    if not errors:
        return None
    if not isinstance(ttl, float):
        raise InvalidUsage(
            f"cache_errors={cache_errors!r} with ttl={ttl!r}: give error_ttl= (seconds "
            "an error is remembered); it defaults to ttl only when ttl is a number"
        )
    return ttl


def _check_plain_function(name: str, fn: object) -> None:
    """``fn`` must be a plain (not async) callable."""
    if not callable(fn) or is_async(fn):
        raise InvalidUsage(f"{name}={fn!r}: must be a plain (not async) function")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What a caller that missed does next (see _Core.decide).
_LEAD, _JOIN, _HIT, _STALE, _ERROR = range(5)
# How a flight settled (_Flight.outcome).
_VALUE, _STALE_VALUE, _RAISED, _ABANDONED = range(4)


class _Flight:
    """One call in flight for one key, and its outcome once settled.

    Nothing to wait on is made until a second caller joins: ``event`` (threads) and
    ``waiters`` (tasks) are created under the core's lock by the first caller that
    joins. The leader removes the flight from ``_Core.flights`` under that same lock
    before it settles, so after that no one can join, and a flight nobody joined
    settles without waking anyone.
    """

    __slots__ = ("event", "generation", "outcome", "owner", "result", "waiters")

    def __init__(self, owner: object, generation: int) -> None:
        self.owner = owner
        self.generation = generation
        self.event: threading.Event | None = None
        self.waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] | None = None
        # Set when settled, before waking: outcome is one of _VALUE, _STALE_VALUE,
        # _RAISED, _ABANDONED; result is the value, or (exception, traceback).
        self.outcome = _ABANDONED
        self.result: Any = None

    def wake(self) -> None:
        """Release every waiter (call after settling, outside the lock)."""
        if self.event is not None:
            self.event.set()
        if not self.waiters:
            return
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, future in self.waiters:
            if loop is current:
                _release(future)
            else:
                with contextlib.suppress(RuntimeError):  # a closed loop: its waiter is gone
                    loop.call_soon_threadsafe(_release, future)


def _release(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Core:
    """The state of one cached function: store, lock, flights and counters."""

    __slots__ = (
        "attempts",
        "check_fresh",
        "coalesced",
        "error_hits",
        "errors",
        "fixed_ttl",
        "flights",
        "fn",
        "generation",
        "hits",
        "item_ttl",
        "key",
        "lock",
        "maxsize",
        "misses",
        "name",
        "negative",
        "on_hit",
        "stale_if_error",
        "stale_serves",
        "store",
        "threaded",
        "timer",
    )

    def __init__(
        self,
        config: Cached,
        fn: Callable[..., Any],
        *,
        threaded: bool,
        attempts: Site | None = None,
    ) -> None:
        self.fn = fn
        self.attempts = attempts  # where telemetry observes each call of fn as an attempt
        self.name = name_of(fn)
        self.threaded = threaded  # callers wait on a threading.Event, else on futures
        self.key = config.key
        self.on_hit = config.on_hit
        clock = config.clock
        timer: Callable[[], float] = (
            time.monotonic if isinstance(clock, SystemClock) else clock.monotonic
        )
        self.timer = timer
        self.maxsize = config.maxsize
        self.stale_if_error = config.stale_if_error
        # Values are stored as (value, fresh_until). The store itself drops them
        # stale_if_error seconds after fresh_until, so freshness needs its own check
        # only when that window is open.
        self.check_fresh = config.stale_if_error > 0
        self.fixed_ttl: float | None = None
        self.item_ttl: ItemTtl | None = None
        store: cachetools.Cache[Hashable, tuple[Any, float]]
        if config.ttl is None:
            store = cachetools.LRUCache(config.maxsize)
        elif callable(config.ttl):
            self.item_ttl = config.ttl
            keep = config.stale_if_error
            store = cachetools.TLRUCache(
                config.maxsize, lambda _key, entry, _now: entry[1] + keep, timer
            )
        else:
            self.fixed_ttl = config.ttl
            store = cachetools.TTLCache(config.maxsize, config.ttl + config.stale_if_error, timer)
        self.store = store
        self.negative = config.cache_errors
        self.errors: cachetools.TTLCache[Hashable, tuple[BaseException, TracebackType | None]]
        self.errors = cachetools.TTLCache(config.maxsize, config.error_ttl or math.inf, timer)
        self.lock = threading.RLock()  # reentrant: a key's __eq__ may call the cache
        self.flights: dict[Hashable, _Flight] = {}
        self.generation = 0
        self.hits = self.misses = self.coalesced = self.stale_serves = self.error_hits = 0

    # -- bookkeeping -------------------------------------------------------------

    def info(self) -> CacheInfo:
        with self.lock:
            return CacheInfo(
                hits=self.hits,
                misses=self.misses,
                coalesced=self.coalesced,
                stale_serves=self.stale_serves,
                error_hits=self.error_hits,
                currsize=len(self.store),
                maxsize=self.maxsize,
            )

    def clear(self) -> None:
        with self.lock:
            self.store.clear()
            self.errors.clear()
            self.generation += 1
            self.hits = self.misses = self.coalesced = self.stale_serves = self.error_hits = 0

    def notify(self, kind: HitKind) -> None:
        if self.on_hit is not None:
            self.on_hit(kind)
        if _listening():
            self.event("cache.stale" if kind == "stale" else "cache.hit", kind)

    def event(self, name: str, kind: str | None) -> None:
        """Emit ``cache.hit``, ``cache.stale`` or ``cache.miss`` for this function."""
        attributes = {"callwise.function": self.name}
        if kind is not None:
            attributes["callwise.cache.kind"] = kind
        if name != "cache.miss" and kind != "error":
            attributes["callwise.outcome"] = "cache_hit"
        _emit(name, attributes)

    # -- the miss path, shared by sync and async ---------------------------------

    def decide(self, k: Hashable, entry: tuple[Any, float] | None, first: bool) -> tuple[int, Any]:
        """With the lock held: what a caller that found no fresh value does now.

        ``entry`` is what the store holds for ``k`` (expired, or None). ``first`` is
        False for a caller trying again after the call it waited on was abandoned
        (it was counted as coalesced; it is not counted as a miss again).

        Returns ``(_LEAD, flight)`` (make the call), ``(_JOIN, flight)`` for a thread
        (wait on ``flight.event``), ``(_JOIN, (flight, future))`` for a task, ``(_STALE,
        value)`` or ``(_ERROR, (exc, tb))`` (a remembered error).
        """
        if first:
            self.misses += 1
        flight = self.flights.get(k)
        if flight is None:
            if self.negative:
                remembered = self.errors.get(k)
                if remembered is not None:
                    if not first:
                        self.coalesced -= 1
                    self.error_hits += 1
                    if entry is not None:  # expired, kept for stale_if_error
                        self.stale_serves += 1
                        return _STALE, entry[0]
                    return _ERROR, remembered
            if not first:
                self.coalesced -= 1
            owner = threading.get_ident() if self.threaded else asyncio.current_task()
            flight = self.flights[k] = _Flight(owner, self.generation)
            return _LEAD, flight
        owner = threading.get_ident() if self.threaded else asyncio.current_task()
        if owner is not None and flight.owner == owner:
            raise RecursionError(
                f"{self.name} called itself with the same cache key while "
                "computing it; that would wait for itself forever"
            )
        if first:
            self.coalesced += 1
        if self.threaded:
            if flight.event is None:
                flight.event = threading.Event()
            return _JOIN, flight
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if flight.waiters is None:
            flight.waiters = []
        flight.waiters.append((loop, future))
        return _JOIN, (flight, future)

    def again(self, k: Hashable) -> tuple[int, Any]:
        """For a caller whose leader was abandoned: look again, then decide."""
        with self.lock:
            try:
                entry = self.store[k]
            except KeyError:
                entry = None
            if entry is not None and (not self.check_fresh or self.timer() < entry[1]):
                return _HIT, entry[0]
            return self.decide(k, entry, False)

    def item_seconds(self, item_ttl: ItemTtl, k: Hashable, value: Any) -> float:
        """How long ``value`` stays fresh by the per-item ttl (seconds). Outside the lock."""
        seconds = item_ttl(k, value)
        if not (_is_number(seconds) and math.isfinite(seconds)):
            raise InvalidUsage(
                f"ttl function {name_of(item_ttl)} returned {seconds!r} for "
                f"{self.name}: must return a finite number of seconds"
            )
        return seconds

    def succeed(self, k: Hashable, flight: _Flight, value: Any, seconds: float | None) -> None:
        """Store a fresh value and settle the flight (waking its waiters, if any)."""
        with self.lock:
            if flight.generation == self.generation and self.maxsize:
                if seconds is None:
                    self.store[k] = (value, math.inf)
                elif seconds > 0:
                    self.store[k] = (value, self.timer() + seconds)
                else:  # "do not cache this value": drop the older one, even if stale
                    with contextlib.suppress(KeyError):
                        del self.store[k]
                if self.negative:
                    self.errors.pop(k, None)
            del self.flights[k]
            if flight.event is None and flight.waiters is None:
                return  # nobody joined, and nobody can any more
            flight.outcome = _VALUE
            flight.result = value
        flight.wake()

    def fail(self, k: Hashable, flight: _Flight, exc: Exception) -> bool:
        """Settle a failed call; True when a stale value is served instead."""
        with self.lock:
            if (
                flight.generation == self.generation
                and self.maxsize
                and isinstance(exc, self.negative)
            ):
                self.errors[k] = (exc, exc.__traceback__)
            entry = None
            if self.check_fresh:
                try:
                    entry = self.store[k]
                except KeyError:
                    entry = None
            del self.flights[k]
            if entry is not None:
                flight.outcome = _STALE_VALUE
                flight.result = entry[0]
                self.stale_serves += 1
            else:
                flight.outcome = _RAISED
                flight.result = (exc, exc.__traceback__)
        if entry is not None:
            _log.debug(
                "%s raised %s; serving the value that expired %.3f s ago",
                self.name,
                type(exc).__qualname__,
                self.timer() - entry[1],
                exc_info=exc,
                extra=_names(function=self.name),
            )
        flight.wake()
        return entry is not None

    def abandon(self, k: Hashable, flight: _Flight) -> None:
        """The leader was cancelled or interrupted: let a waiter make the call."""
        with self.lock:
            del self.flights[k]
            flight.outcome = _ABANDONED
        _log.debug(
            "%s: the caller computing a value was interrupted; a waiter retries",
            self.name,
            extra=_names(function=self.name),
        )
        flight.wake()

    def joined(self, flight: _Flight) -> Any:
        """The outcome of a settled flight, for a caller that waited on it."""
        if flight.outcome == _RAISED:
            exc, tb = flight.result
            raise exc.with_traceback(tb)
        if flight.outcome == _STALE_VALUE:
            with self.lock:
                self.stale_serves += 1
            self.notify("stale")
        else:
            self.notify("shared")
        return flight.result

    def remembered(self, error: tuple[BaseException, TracebackType | None]) -> NoReturn:
        self.notify("error")
        raise error[0].with_traceback(error[1])

    def miss_sync(
        self, k: Hashable, step: tuple[int, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """The rest of a call that missed, from the step ``decide`` chose."""
        action, payload = step
        while True:
            if action == _LEAD:
                flight: _Flight = payload
                try:
                    active = _switches.hooks
                    if active is None or self.attempts is None:
                        value = self.fn(*args, **kwargs)
                    else:
                        value = active.run_attempt(self.attempts, self.fn, args, kwargs)
                    seconds = self.fixed_ttl
                    if self.item_ttl is not None:
                        seconds = self.item_seconds(self.item_ttl, k, value)
                except Exception as exc:
                    if self.fail(k, flight, exc):
                        self.notify("stale")
                        return flight.result
                    raise
                except BaseException:
                    self.abandon(k, flight)
                    raise
                self.succeed(k, flight, value, seconds)
                return value
            if action == _JOIN:
                flight = payload
                assert flight.event is not None
                flight.event.wait()
                if flight.outcome != _ABANDONED:
                    return self.joined(flight)
                action, payload = self.again(k)
                continue
            if action == _HIT:
                self.notify("fresh")
                return payload
            if action == _STALE:
                self.notify("stale")
                return payload
            self.remembered(payload)

    async def miss_async(
        self, k: Hashable, step: tuple[int, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """The rest of a call that missed, from the step ``decide`` chose."""
        action, payload = step
        while True:
            if action == _LEAD:
                flight: _Flight = payload
                try:
                    active = _switches.hooks
                    if active is None or self.attempts is None:
                        value = await self.fn(*args, **kwargs)
                    else:
                        value = await active.arun_attempt(self.attempts, self.fn, args, kwargs)
                    seconds = self.fixed_ttl
                    if self.item_ttl is not None:
                        seconds = self.item_seconds(self.item_ttl, k, value)
                except Exception as exc:
                    if self.fail(k, flight, exc):
                        self.notify("stale")
                        return flight.result
                    raise
                except BaseException:
                    self.abandon(k, flight)
                    raise
                self.succeed(k, flight, value, seconds)
                return value
            if action == _JOIN:
                flight, future = payload
                await future
                if flight.outcome != _ABANDONED:
                    return self.joined(flight)
                action, payload = self.again(k)
                continue
            if action == _HIT:
                self.notify("fresh")
                return payload
            if action == _STALE:
                self.notify("stale")
                return payload
            self.remembered(payload)


def _sync_wrapper(core: _Core, site: Site | None = None) -> Callable[..., Any]:
    key, lock, store, timer = core.key, core.lock, core.store, core.timer
    check_fresh, on_hit, decide, miss = core.check_fresh, core.on_hit, core.decide, core.miss_sync

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _switches.hooks is not None and site is not None and _entering(site):
            return _observe_call(site, me, args, kwargs)
        k = key(*args, **kwargs)
        with lock:  # one lookup serves both the hit and the miss decision
            try:
                entry = store[k]
            except KeyError:
                entry = None
            if entry is not None and (not check_fresh or timer() < entry[1]):
                core.hits += 1
                value = entry[0]
                step = None
            else:
                step = decide(k, entry, True)
        if step is not None:
            if _switches.listening:  # listening(), without its frame on the hit path
                core.event("cache.miss", None)
            return miss(k, step, args, kwargs)
        if on_hit is not None:
            on_hit("fresh")
        if _switches.listening:  # listening(), without its frame on the hit path
            core.event("cache.hit", "fresh")
        return value

    me = weakref.ref(wrapper)  # for observe_call: no reference cycle

    return wrapper


def _async_wrapper(core: _Core, site: Site | None = None) -> Callable[..., Any]:
    key, lock, store, timer = core.key, core.lock, core.store, core.timer
    check_fresh, on_hit, decide, miss = core.check_fresh, core.on_hit, core.decide, core.miss_async

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _switches.hooks is not None and site is not None and _entering(site):
            return await _aobserve_call(site, me, args, kwargs)
        k = key(*args, **kwargs)
        with lock:  # one lookup serves both the hit and the miss decision
            try:
                entry = store[k]
            except KeyError:
                entry = None
            if entry is not None and (not check_fresh or timer() < entry[1]):
                core.hits += 1
                value = entry[0]
                step = None
            else:
                step = decide(k, entry, True)
        if step is not None:
            if _switches.listening:  # listening(), without its frame on the hit path
                core.event("cache.miss", None)
            return await miss(k, step, args, kwargs)
        if on_hit is not None:
            on_hit("fresh")
        if _switches.listening:  # listening(), without its frame on the hit path
            core.event("cache.hit", "fresh")
        return value

    me = weakref.ref(wrapper)  # for observe_call: no reference cycle

    return wrapper
