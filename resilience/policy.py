"""One Policy that composes every guard in one documented order, with a ledger.

``Policy(fallback=..., cache=..., retry=..., hedge=..., breaker=..., rate_limit=...,
bulkhead=..., timeout=..., chaos=...)`` is a decorator for plain and ``async def``
functions. Every part is optional; the parts present are applied in this order, outermost
first::

    fallback -> cache -> retry -> hedge -> breaker -> rate_limit -> bulkhead | adaptive limit
        -> timeout -> chaos -> the function

Why this order (it is the one Polly and resilience4j recommend):

- **fallback outermost**, so it catches everything that can go wrong inside it: the
  function's error after the last retry, an open breaker, a full bulkhead, a timeout,
  and a refresh error the cache could not cover.
- **cache before retry**, so a hit is answered at once and never retried, and a miss
  is cached only once the retries produced a value.
- **retry outside the breaker**, so each attempt goes through the breaker: the breaker
  counts every failed attempt (and trips on them), and once it is open the next
  attempt is rejected with ``CircuitOpenError``, which ``retry`` never retries: an
  open breaker stops the retries at once.
- **hedge inside retry, outside the breaker**: a retry re-runs a hedged group only when
  all its attempts failed (the group raises the primary's error). Each hedged attempt
  goes through the breaker, the limits and the timeout on its own, so the breaker sees
  every attempt (a slow loser that fails counts as a failure), an open breaker rejects
  the hedges too (a hedge never bypasses it) and its ``CircuitOpenError`` stops further
  hedges; each attempt gets its own full timeout. A hedge's ``action`` (another region)
  runs innermost, in place of the function, through the same layers.
- **rate limit inside the breaker**, so an open breaker spends no permits; the
  limiter's refusals (``RateLimited``) say nothing about the dependency's health, so the
  breaker counts them as neither success nor failure (and a half-open probe refused by
  the limiter gives its probe slot back).
- **bulkhead inside the rate limit**, so a call the breaker or the limit rejects never
  takes a concurrency slot, and the slots go to calls that will really be made.
- **timeout innermost**, so the limit bounds each attempt, not the whole retry
  sequence (a slow attempt fails alone and the next one gets its full time), and the
  breaker sees a timeout as the attempt's failure.
- **chaos innermost** (inside the timeout), so every layer above sees an injected fault
  as a real one: the timeout bounds an injected latency, the breaker counts injected
  faults, retries retry them, a fallback answers for them. A chaos part whose
  ``enabled`` is the constant False builds no layer at all: the Policy returns exactly
  the wrapper it would without it.

Shorthands: ``retry=3`` is ``retry(attempts=3)``, ``bulkhead=10`` is ``bulkhead(10)``,
``timeout=2.0`` is ``timeout(2.0)``, each built with the Policy's ``clock``. Otherwise
give the decorator objects: ``fallback(...)``, ``cached(...)``, ``retry(...)``,
``CircuitBreaker(...)``, ``bulkhead(...)``, ``timeout(...)``. Stateful parts (breaker,
bulkhead, retry budget) are shared by every function the Policy decorates, so one
Policy per dependency is the natural use.

Ledger: with ``ledger=``, each logical call adds one ``kind="call"`` row (outcome
``ok``, ``error``, ``timeout``, ``rejected``, ``rate_limited``, ``fallback`` or
``cache_hit``; ``attempt``
is the number of attempts made, hedges included, 0 for a cache hit) and each attempt one
``kind="attempt"`` row (outcome ``ok``, ``error``, ``timeout``, ``rejected`` for an
open breaker or a full bulkhead, ``rate_limited`` for the rate limit, ``cancelled`` for a
hedge's loser cancelled by the win; attempt number 1..n, shared by the attempts of one
hedged group, which ``hedge`` (0 for the primary) and ``hedge_result`` (``won`` /
``lost``) tell apart; the request and response bytes an invoker reported). Start times and durations
come from the Policy's ``clock``. An attempt a chaos part injected into carries
``injected="latency" | "fault" | "outcome"``. The rows are written under the Policy's ``name``
(default: the function's name). Give the ledger to the Policy, not to its parts.

Names: the Policy's ``name`` also names the parts given without one, so the log line of
``Policy(name="prices", breaker=CircuitBreaker())`` reads ``circuit 'prices' opened``:
the breaker, the rate limit, the bulkhead and the timeout. A Policy without a name gives an unnamed
breaker the name of the first function it decorates. A part's own name always stays.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from ._observe import Site, attempt_layer, call_layer
from ._recording import Recorder, with_cache_hook, with_fallback_hook
from ._validate import clock as valid_clock
from ._validate import is_async, name_of, positive, positive_int
from .adaptive_limit import AdaptiveLimiter
from .breaker import CircuitBreaker
from .bulkhead import Bulkhead
from .cache import Cached
from .chaos import Chaos
from .clock import Clock
from .errors import InvalidUsage
from .fallback import Fallback
from .hedge import Hedge
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger
from .rate_limit import RateLimits
from .retry import Retry
from .timeout import Timeout

__all__ = ["Policy"]

P = ParamSpec("P")
R = TypeVar("R")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Policy:
    """Compose fallback, cache, retry, hedge, breaker, limits, timeout and chaos around a function.

    Args:
        name: written on ledger rows (default: the decorated function's name), and
            given to the breaker, bulkhead and timeout that have no name of their own.
        fallback: a :func:`resilience.fallback` object.
        cache: a :func:`resilience.cached` object.
        retry: a :func:`resilience.retry` object, or the number of attempts.
        hedge: a :func:`resilience.hedge` object.
        breaker: a :class:`resilience.CircuitBreaker`.
        rate_limit: a :func:`resilience.rate_limit` object (or limits combined with ``&``).
        bulkhead: a :func:`resilience.bulkhead` object, the number of slots, or a
            :func:`resilience.adaptive_limit` (a bulkhead whose limit moves).
        timeout: a :func:`resilience.timeout` object, or the limit in seconds.
        chaos: a :func:`resilience.chaos` spec (fault injection), innermost; its
            injected latency sleeps on the Policy's ``clock`` unless it has its own.
        ledger: a :class:`resilience.Ledger` for one row per call and per attempt.
        clock: times ledger rows and drives the shorthand parts (default: the
            system clock).

    Raises:
        InvalidUsage: a part of the wrong kind, a bad shorthand, or a part with a
            ledger of its own while the Policy has one.

    Example:
        >>> from resilience import Ledger, retry
        >>> from resilience.testing import FakeClock
        >>> ledger, tries = Ledger(), []
        >>> @Policy(name="quote", retry=retry(attempts=3, clock=FakeClock()), ledger=ledger)
        ... def quote() -> float:
        ...     tries.append(1)
        ...     if len(tries) < 2:
        ...         raise ConnectionError("reset")
        ...     return 9.5
        >>> quote()
        9.5
        >>> [(r.kind, r.attempt, r.outcome) for r in ledger.records()]
        [('attempt', 1, 'error'), ('attempt', 2, 'ok'), ('call', 2, 'ok')]
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        fallback: Fallback | None = None,
        cache: Cached | None = None,
        retry: Retry | int | None = None,
        hedge: Hedge | None = None,
        breaker: CircuitBreaker | None = None,
        rate_limit: RateLimits | None = None,
        bulkhead: Bulkhead | AdaptiveLimiter | int | None = None,
        timeout: Timeout | float | None = None,
        chaos: Chaos | None = None,
        ledger: Ledger | None = None,
        clock: Clock | None = None,
    ) -> None:
        if name is not None and not (isinstance(name, str) and name):
            raise InvalidUsage(f"name={name!r}: must be a non-empty string or None")
        self.name = name
        self.clock: Clock = valid_clock("clock", clock)
        self.ledger = valid_ledger("ledger", ledger)
        self.fallback = _kind("fallback", fallback, Fallback, "resilience.fallback(value)")
        self.cache = _kind("cache", cache, Cached, "resilience.cached(ttl=60)")
        self.hedge = _kind("hedge", hedge, Hedge, "resilience.hedge(attempts=2, delay_s=0.05)")
        self.breaker = _kind("breaker", breaker, CircuitBreaker, "resilience.CircuitBreaker()")
        self.rate_limit = _kind(
            "rate_limit", rate_limit, RateLimits, "resilience.rate_limit(10, per_s=1)"
        )
        self.retry: Retry | None
        if _is_number(retry) and isinstance(retry, int):
            self.retry = Retry(attempts=positive_int("retry", retry), clock=self.clock)
        else:
            self.retry = _kind("retry", retry, Retry, "3 or resilience.retry(attempts=3)")
        self.bulkhead: Bulkhead | AdaptiveLimiter | None
        if _is_number(bulkhead) and isinstance(bulkhead, int):
            self.bulkhead = Bulkhead(positive_int("bulkhead", bulkhead), clock=self.clock)
        elif isinstance(bulkhead, AdaptiveLimiter):
            self.bulkhead = bulkhead
        else:
            self.bulkhead = _kind(
                "bulkhead", bulkhead, Bulkhead,
                "10, resilience.bulkhead(10) or resilience.adaptive_limit('aimd')",
            )  # fmt: skip
        self.timeout: Timeout | None
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            self.timeout = Timeout(positive("timeout", timeout), clock=self.clock)
        else:
            self.timeout = _kind("timeout", timeout, Timeout, "2.0 or resilience.timeout(2.0)")
        self.chaos: Chaos | None = _kind(
            "chaos", chaos, Chaos, "resilience.chaos(fault=ConnectionError, rate=0.01)"
        )
        if name is not None:
            self._name_parts(name)
        if ledger is not None:
            for part in _PARTS:
                if getattr(getattr(self, part), "ledger", None) is not None:
                    raise InvalidUsage(
                        f"{part}=...: has a ledger of its own; inside a Policy give "
                        "ledger= to the Policy only, which records every call and attempt"
                    )

    def _name_parts(self, name: str) -> None:
        """Give ``name`` to the parts that have none: the breaker (its log lines, errors
        and listeners), the bulkhead (``BulkheadFull``) and the timeout
        (``TimeoutExceeded``), a single rate limit (``RateLimited``). A part's own name
        stays."""
        if self.breaker is not None:
            self.breaker.inherit_name(name)
        for part in (self.hedge, self.rate_limit, self.bulkhead, self.timeout):
            if part is not None and part.name is None:
                part.name = name

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``) with every part, in order."""
        if not callable(fn):
            raise InvalidUsage(f"Policy(...) decorates a callable, got {fn!r}")
        if self.name is None and self.breaker is not None:  # the first function names it
            self.breaker.inherit_name(name_of(fn))
        asynchronous = is_async(fn)
        recorder = (
            Recorder(self.ledger, self.name or name_of(fn), self.clock)
            if self.ledger is not None
            else None
        )
        site = Site(self.name or name_of(fn), name_of(fn), self.clock, whole=self._whole(recorder))
        # telemetry observes each call in the outermost wrapper, each attempt in its caller
        at = _Sites(site, None if recorder is not None else self._outermost(fn))
        caller = self._attempt_caller(recorder)
        inner = self._attempt_chain(fn, recorder, at, asynchronous)
        if self.hedge is not None:  # each attempt of a group is an attempt row of its own
            inner = self.hedge.decorate(inner, is_async=asynchronous, site=at.call("hedge"))
        if self.retry is not None:
            attempts = site if caller == "retry" else None
            inner = self.retry.observed(inner, site=at.call("retry"), attempts=attempts)
        cache, fallback = self.cache, self.fallback
        if recorder is not None:  # the parts tell the call row about hits and fallbacks
            if cache is not None:
                cache = with_cache_hook(cache)
            if fallback is not None:
                fallback = with_fallback_hook(fallback)
        if cache is not None:
            attempts = site if caller == "cache" else None
            inner = cache.observed(inner, site=at.call("cache"), attempts=attempts)
        if fallback is not None:
            attempts = site if caller == "fallback" else None
            inner = fallback.observed(inner, site=at.call("fallback"), attempts=attempts)
        if recorder is not None:
            inner = recorder.call(inner, is_async=asynchronous, site=site)
        elif at.top is None:  # no part's wrapper to observe in: telemetry's own layer
            inner = call_layer(inner, site, is_async=asynchronous)
        inner.policy = self  # type: ignore[attr-defined]
        return inner

    # Telemetry observes at two boundaries, inside wrappers that are on the path anyway, so
    # that while it is off a Policy adds no Python frame: each call in the outermost
    # wrapper (the ledger's call layer, or the outermost part's), each attempt in the
    # wrapper that calls it (the ledger's attempt layer, the retry, the cache, the
    # fallback). Only inside a hedge (attempts in threads or tasks of their own), in a
    # Policy without parts and around a part with a ledger of its own does an observing
    # layer of its own do it.

    def _whole(self, recorder: Recorder | None) -> bool:
        """Whether the call boundary observes the one attempt too (nothing between)."""
        return recorder is None and all(
            getattr(self, part) is None for part in ("fallback", "cache", "retry", "hedge")
        )

    def _outermost(self, fn: Callable[..., Any]) -> str | None:
        """The part whose wrapper is outermost (None: no part, a chaos part that builds no
        layer, or a breaker around a generator function, whose wrapper cannot observe)."""
        for part in _PARTS:
            value = getattr(self, part)
            if value is None or (part == "chaos" and value.off):
                continue
            if getattr(value, "ledger", None) is not None:
                return None  # its wrapper is the recording one, which does not observe
            if part == "breaker" and inspect.isgeneratorfunction(fn):
                return None
            return part
        return None

    def _attempt_caller(self, recorder: Recorder | None) -> str | None:
        """Which wrapper observes each attempt as it calls it: ``recorder``, ``retry``,
        ``cache`` or ``fallback``; ``layer`` for telemetry's own layer (inside a hedge);
        None when the call boundary observes the one attempt (``Site.whole``)."""
        if recorder is not None:
            return "recorder"
        if self.hedge is not None:
            return "layer"
        for part in ("retry", "cache", "fallback"):
            value = getattr(self, part)
            if value is not None:  # with a ledger of its own, it records, not observes
                return "layer" if value.ledger is not None else part
        return None

    def _attempt_chain(
        self, fn: Callable[P, R], recorder: Recorder | None, at: _Sites, asynchronous: bool
    ) -> Callable[P, R]:
        """What each attempt goes through: breaker -> rate limit -> bulkhead -> timeout ->
        chaos -> ``fn`` (or a hedge's action), with the ledger's attempt layer outside
        them (or telemetry's inside a hedge)."""
        inner: Callable[P, R] = fn
        if self.hedge is not None:  # its action runs in place of fn, through every layer
            inner = self.hedge.dispatch(inner, is_async=asynchronous)
        inner = self._chaos_layer(inner, asynchronous, self.name or name_of(fn), at.call("chaos"))
        for name in ("timeout", "bulkhead", "rate_limit"):
            part = getattr(self, name)
            if part is None:
                continue
            if part.ledger is not None:  # its own rows (a Policy without a ledger)
                inner = part(inner)
            else:
                inner = part.decorate(inner, is_async=asynchronous, site=at.call(name))
        if self.breaker is not None:
            inner = self.breaker.observed(inner, site=at.call("breaker"))
        if recorder is not None:
            return recorder.attempt(inner, is_async=asynchronous, site=at.site)
        if self._attempt_caller(recorder) == "layer":
            return attempt_layer(inner, at.site, is_async=asynchronous)  # telemetry's
        return inner

    def _chaos_layer(
        self, fn: Callable[P, R], asynchronous: bool, label: str, site: Site | None
    ) -> Callable[P, R]:
        """``fn`` behind the chaos part, innermost; ``fn`` itself when there is none or
        its ``enabled`` is the constant False (no layer at all)."""
        if self.chaos is None or self.chaos.off:
            return fn
        return self.chaos.decorate(
            fn, is_async=asynchronous, label=label, clock=self.clock, site=site
        )

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}"] if self.name else []
        for part in (*_PARTS, "ledger"):
            value = getattr(self, part)
            if value is not None:
                parts.append(f"{part}={value!r}")
        return f"Policy({', '.join(parts)})"


_PARTS = (
    "fallback", "cache", "retry", "hedge", "breaker", "rate_limit", "bulkhead", "timeout",
    "chaos",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Sites:
    """Where telemetry observes a Policy's calls: ``site``, in the wrapper of ``top``
    (the outermost part; None: the ledger's call layer or telemetry's own layer)."""

    site: Site
    top: str | None

    def call(self, part: str) -> Site | None:
        """The site for ``part``'s wrapper: ``site`` when it is the outermost."""
        return self.site if part == self.top else None


def _kind(parameter: str, value: Any, kind: type[Any], example: str) -> Any:
    if value is None or isinstance(value, kind):
        return value
    raise InvalidUsage(
        f"{parameter}={value!r}: must be a {kind.__qualname__} or None, e.g. {parameter}={example}"
    )
