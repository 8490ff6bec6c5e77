"""A rate limiter: at most ``rate`` cost units per ``per_s`` seconds, then wait or
``RateLimited``.

One :class:`RateLimiter` is one limit (GCRA, see :mod:`resilience._rate_store`): after an
idle spell ``burst`` units pass at once, then one every ``per_s / rate`` seconds. A call
that finds no room waits up to ``wait_s`` (0: refused at once) in the order calls
arrived, or raises :class:`~resilience.RateLimited` carrying ``retry_after``, the
seconds until it would be admitted. Calls weigh ``cost`` units (a number, or a function
of the call's arguments: tokens of a prompt, items of a batch), and ``key=`` partitions
the limit (one bucket per tenant, user or API key).

``a & b`` is a limit that admits a call only when both do (10 per second *and* 100 per
minute): a call one of them refuses consumes nothing from the other. Limits kept in the
process decide under their locks together; limits shared through one
:class:`~resilience.RedisRateStore` decide in one Lua script, one round trip; a mix of
the two decides the local ones first and gives their permits back when Redis refuses.

A thread waits with ``clock.sleep`` (so a :class:`~resilience.testing.FakeClock` waits
no real time), a task with ``await clock.asleep``. A waiter interrupted (cancelled, a
``KeyboardInterrupt``) gives its reservation back.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._rate_store import (
    EPS,
    PRUNE_AT,
    Ask,
    Decision,
    LocalState,
    RedisRateStore,
    decide_local,
    interval_of,
)
from ._recording import record_outside
from ._validate import Number, is_async, name_of, number, positive, positive_int
from ._validate import clock as valid_clock
from ._wraps import wraps
from .clock import Clock
from .errors import InvalidUsage, RateLimited
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger

__all__ = ["RateLimiter", "RateLimiterStatistics", "RateLimits", "RedisRateStore", "rate_limit"]

P = ParamSpec("P")
R = TypeVar("R")

_COST = Number(low=0, allowed="a finite number >= 0")


@dataclass(frozen=True, slots=True)
class RateLimiterStatistics:
    """A snapshot of a limiter's counters (this process's calls).

    Attributes:
        admitted: calls admitted so far (at once or after a wait).
        rejected: calls refused with ``RateLimited``.
        waiting: calls waiting for their turn now.
        waited_s: seconds the admitted calls waited, in all.
        remaining: cost units the unpartitioned limit would admit at once now (for a
            store in Redis: read from Redis, without consuming).
    """

    admitted: int
    rejected: int
    waiting: int
    waited_s: float
    remaining: int


def _limited(event: str, name: str) -> None:
    """Emit ``rate_limit.rejected`` or ``rate_limit.waited`` for the limit ``name``."""
    attributes: dict[str, str] = {"callwise.policy": name}
    if event == "rate_limit.rejected":
        attributes["callwise.outcome"] = "rate_limited"
        attributes["error.type"] = "resilience.errors.RateLimited"
    _emit(event, attributes)


class _Counters:
    __slots__ = ("admitted", "lock", "rejected", "waited_s", "waiting")

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock  # the limiter's own lock: counted where it decides
        self.admitted = self.rejected = self.waiting = 0
        self.waited_s = 0.0


class RateLimits:
    """Limits that must all admit a call; build one with ``limiter_a & limiter_b``.

    Used as a decorator like a :class:`RateLimiter`. It waits up to the shortest
    ``wait_s`` of its parts, and records into their ledger (they must share one).
    """

    parts: tuple[RateLimiter, ...]
    name: str | None
    wait_s: float
    clock: Clock
    ledger: Ledger | None
    _clock_given: bool

    def __init__(self, parts: Sequence[RateLimiter], *, name: str | None = None) -> None:
        if not parts or not all(isinstance(p, RateLimiter) for p in parts):
            raise InvalidUsage(f"parts={parts!r}: must be RateLimiter objects")
        clocks = {id(p.clock) for p in parts}
        if len(clocks) > 1:
            raise InvalidUsage("limits combined with & must share one clock")
        ledgers = {id(p.ledger): p.ledger for p in parts if p.ledger is not None}
        if len(ledgers) > 1:
            raise InvalidUsage("limits combined with & must record into one ledger (or none)")
        self.parts = tuple(parts)
        self.name = name or "&".join(p.name or "rate_limit" for p in parts)
        self.wait_s = min(p.wait_s for p in parts)
        self.clock: Clock = parts[0].clock
        self.ledger = next(iter(ledgers.values()), None)
        self._clock_given = any(p._clock_given for p in parts)

    def __and__(self, other: RateLimiter | RateLimits) -> RateLimits:
        return RateLimits((*self.parts, *_parts(other)))

    # -- deciding ------------------------------------------------------------------

    def _asks(
        self,
        args: tuple[Any, ...] | None,
        kwargs: dict[str, Any],
        cost: Any = None,
        key: Any = None,
    ) -> list[tuple[RateLimiter, Ask]]:
        return [(p, p._ask(args, kwargs, cost, key)) for p in self.parts]

    def _decide(
        self, asks: list[tuple[RateLimiter, Ask]], max_wait_s: float
    ) -> tuple[Decision, list[Any]]:
        """One decision over every part; the reservations made, to give back if unused."""
        local = [(p, a) for p, a in asks if p.store is None]
        remote: dict[int, list[tuple[RateLimiter, Ask]]] = {}
        for p, a in asks:
            if p.store is not None:
                remote.setdefault(id(p.store), []).append((p, a))
        made: list[Any] = []
        decisions: list[Decision] = []
        groups = ([local] if local else []) + list(remote.values())
        for group in groups:
            if group is local:
                decision = decide_local([(p._local, a) for p, a in local], self._now(), max_wait_s)
            else:
                decision = self._decide_remote(group, max_wait_s)
            # the index of the tightest limit among all the parts, not within its group
            tightest = self.parts.index(group[decision.tightest][0])
            decision = Decision(decision.admitted, decision.wait_s, decision.remaining, tightest)
            if not decision.admitted:
                self._refund(made)
                return decision, []
            decisions.append(decision)
            made += group
        worst = max(decisions, key=lambda d: d.wait_s)
        return Decision(
            True, worst.wait_s, min(d.remaining for d in decisions), worst.tightest
        ), made

    def _decide_remote(self, group: list[tuple[RateLimiter, Ask]], max_wait_s: float) -> Decision:
        store = cast("RedisRateStore", group[0][0].store)
        keys = [store.key(p._shared_name(), a.key) for p, a in group]
        now = self.clock.monotonic() if self._clock_given else None
        decision = store.decide(keys, [a for _, a in group], now, max_wait_s)
        if decision is not None:
            return decision
        if store.on_error == "open":
            return Decision(True, 0.0, 0)
        if store.on_error == "closed":
            return Decision(False, max(a.cost * a.interval_s for _, a in group), 0)
        return decide_local([(p._local, a) for p, a in group], self._now(), max_wait_s)

    def _refund(self, made: list[Any]) -> None:
        for part, ask in made:
            if part.store is None:
                part._local.refund(ask)
            else:
                part.store.refund(part.store.key(part._shared_name(), ask.key), ask)

    def _now(self) -> float:
        return self.clock.monotonic()

    def _count(self, decision: Decision) -> None:
        for part in self.parts:
            counters = part._counters
            with counters.lock:
                if decision.admitted:
                    counters.admitted += 1
                    counters.waited_s += decision.wait_s
                else:
                    counters.rejected += 1

    def _refused(self, decision: Decision, asks: list[tuple[RateLimiter, Ask]]) -> RateLimited:
        """The error for a refusal: named after the limit that refused."""
        self._count(decision)
        part, ask = asks[decision.tightest]
        name = part.name or self.name or "rate_limit"
        if _listening():
            _limited("rate_limit.rejected", name)
        return RateLimited(name, decision.wait_s, ask.key or None)

    def _waiting(self, delta: int) -> None:
        if delta > 0 and _listening():
            _limited("rate_limit.waited", self.name or self.parts[0].name or "rate_limit")
        for part in self.parts:
            with part._counters.lock:
                part._counters.waiting += delta

    # -- acquiring -------------------------------------------------------------------

    def _acquire_asks(self, asks: list[tuple[RateLimiter, Ask]]) -> None:
        decision, made = self._decide(asks, self.wait_s)
        if not decision.admitted:
            raise self._refused(decision, asks)
        self._count(decision)
        if decision.wait_s > 0:
            self._waiting(1)
            try:
                self.clock.sleep(decision.wait_s)
            except BaseException:
                self._refund(made)
                raise
            finally:
                self._waiting(-1)

    async def _acquire_asks_async(self, asks: list[tuple[RateLimiter, Ask]]) -> None:
        decision, made = self._decide(asks, self.wait_s)
        if not decision.admitted:
            raise self._refused(decision, asks)
        self._count(decision)
        if decision.wait_s > 0:
            self._waiting(1)
            try:
                await self.clock.asleep(decision.wait_s)
            except BaseException:
                self._refund(made)
                raise
            finally:
                self._waiting(-1)

    def acquire(self, *, cost: float | None = None, key: object = None) -> None:
        """Take ``cost`` units (default: the limiter's ``cost`` for a call without
        arguments) from partition ``key``, waiting up to ``wait_s``.

        Raises:
            RateLimited: no room within ``wait_s``; ``retry_after`` says when.
            InvalidUsage: a cost that is not a finite number >= 0, or above ``burst``.
        """
        self._acquire_asks(self._asks(None, {}, cost, key))

    async def acquire_async(self, *, cost: float | None = None, key: object = None) -> None:
        """:meth:`acquire` for a task: the wait is awaited."""
        await self._acquire_asks_async(self._asks(None, {}, cost, key))

    def try_acquire(self, *, cost: float | None = None, key: object = None) -> bool:
        """Take ``cost`` units now if there is room (never waits); True when taken."""
        decision, _ = self._decide(self._asks(None, {}, cost, key), 0.0)
        self._count(decision)
        return decision.admitted

    # -- decorating ------------------------------------------------------------------

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        if not callable(fn):
            raise InvalidUsage(f"rate_limit(...) decorates a callable, got {fn!r}")
        asynchronous = is_async(fn)
        guarded = self.decorate(fn, is_async=asynchronous)
        if self.ledger is None:
            return guarded
        return record_outside(self.ledger, fn, guarded, self.clock)

    def decorate(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """``fn`` behind the limit, with no ledger rows (what :class:`Policy` composes)."""
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), site))
        asks, acquire = self._asks, self._acquire_asks

        @wraps(fn)
        def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            acquire(asks(args, kwargs))
            return fn(*args, **kwargs)

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def _decorate_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        asks, acquire = self._asks, self._acquire_asks_async

        @wraps(fn)
        async def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            await acquire(asks(args, kwargs))
            return await fn(*args, **kwargs)

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def __repr__(self) -> str:
        return f"RateLimits({', '.join(map(repr, self.parts))})"


class RateLimiter(RateLimits):
    """One rate limit; build it with :func:`rate_limit`."""

    def __init__(
        self,
        rate: float,
        *,
        per_s: float = 1.0,
        burst: int = 1,
        wait_s: float = 0.0,
        cost: float | Callable[..., float] = 1,
        key: Callable[..., object] | None = None,
        store: RedisRateStore | None = None,
        name: str | None = None,
        clock: Clock | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.interval_s = interval_of(rate, per_s)
        self.rate, self.per_s = float(rate), float(per_s)
        self.burst = positive_int("burst", burst)
        self.wait_s = positive("wait_s", wait_s, allow_zero=True)
        if not callable(cost):
            cost = self._cost_checked(cost)
        self.cost = cost
        if key is not None and not callable(key):
            raise InvalidUsage(f"key={key!r}: must be a function of the call's arguments or None")
        self.key = key
        if store is not None and not isinstance(store, RedisRateStore):
            raise InvalidUsage(f"store={store!r}: must be a RedisRateStore or None (this process)")
        if store is not None and not name:
            raise InvalidUsage("name: a limit shared through Redis needs a name (its key)")
        if name is not None and not isinstance(name, str):
            raise InvalidUsage(f"name={name!r}: must be a string or None")
        self.store = store
        self.name = name
        self._clock_given = clock is not None
        self.clock = valid_clock("clock", clock)
        self.ledger = valid_ledger("ledger", ledger)
        self.parts = (self,)
        self._local = LocalState()
        self._counters = _Counters(self._local.lock)
        self._burst_s = self.burst * self.interval_s
        self._interval_arg = repr(self.interval_s)  # as the Redis script reads them
        self._wait_arg = repr(self.wait_s)
        self._cost_arg = "" if callable(cost) else repr(float(cost))
        self._redis_keys = {"": store.key(name or "", "")} if store is not None else {}

    def __and__(self, other: RateLimiter | RateLimits) -> RateLimits:
        return RateLimits((self, *_parts(other)))

    def _shared_name(self) -> str:
        return self.name or ""  # set at construction: a shared limit needs a name

    def _cost_checked(self, value: object) -> float:
        cost = number("cost", value, _COST)
        if cost > self.burst:
            raise InvalidUsage(
                f"cost={value!r}: more than burst={self.burst} admits at once, so it could "
                "never be admitted; raise burst or split the call"
            )
        return cost

    def _ask(
        self, args: tuple[Any, ...] | None, kwargs: dict[str, Any], cost: Any, key: Any
    ) -> Ask:
        """One call's share: from the call's arguments, or (``args`` None) a direct
        ``acquire(cost=..., key=...)``."""
        if args is None:
            cost = self._units(cost)
            args = ()
        elif cost is None:
            cost = self.cost(*args, **kwargs) if callable(self.cost) else self.cost
        if key is None and self.key is not None:
            key = self.key(*args, **kwargs)
        partition = "" if key is None else str(key)
        return Ask(self.interval_s, self.burst, partition, self._cost_checked(cost))

    # -- one limit in this process: the fast path --------------------------------------

    def _take(self, key: str, cost: float, max_wait_s: float) -> float:
        """Decide: the wait before starting (>= 0) when admitted, or minus the retry hint
        (< 0) when refused (nothing consumed)."""
        if self.store is not None:
            return self._take_shared(key, cost, max_wait_s)
        return self._take_local(key, cost, max_wait_s)

    def _take_shared(self, key: str, cost: float, max_wait_s: float) -> float:
        store = cast("RedisRateStore", self.store)
        now = repr(self.clock.monotonic()) if self._clock_given else ""
        name = self._redis_keys.get(key) or store.key(self._shared_name(), key)
        cost_arg = self._cost_arg if cost == self.cost else repr(float(cost))
        wait_arg = self._wait_arg if max_wait_s == self.wait_s else repr(max_wait_s)
        found = store.decide_one(name, now, wait_arg, self._interval_arg, self.burst, cost_arg)
        if found is None:  # Redis unreachable: as on_error says
            if store.on_error == "local":
                return self._take_local(key, cost, max_wait_s)
            found = (True, 0.0) if store.on_error == "open" else (False, cost * self.interval_s)
        admitted, wait_s = found
        counters = self._counters
        with counters.lock:
            if not admitted:
                counters.rejected += 1
                return -max(wait_s, EPS * 2)
            counters.admitted += 1
            counters.waited_s += wait_s
        return wait_s

    def _take_local(self, key: str, cost: float, max_wait_s: float) -> float:
        now = self.clock.monotonic()
        state, counters = self._local, self._counters
        with state.lock:
            tats = state.tats
            tat = tats.get(key, now)
            new_tat = (tat if tat > now else now) + cost * self.interval_s
            wait = new_tat - self._burst_s - now
            if wait > max_wait_s + EPS:
                counters.rejected += 1
                return -wait
            tats[key] = new_tat
            counters.admitted += 1
            if wait > EPS:
                counters.waited_s += wait
            else:
                wait = 0.0
            if len(tats) > PRUNE_AT:
                state.prune(now)
        return wait

    def _units(self, cost: object) -> float:
        """The cost of a direct ``acquire(cost=...)``: given, or the limiter's number."""
        if cost is not None:
            return self._cost_checked(cost)
        if callable(self.cost):
            raise InvalidUsage(
                "cost: this limit weighs calls with a function of their arguments; "
                "give acquire(cost=...)"
            )
        return self.cost

    def _call_cost_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, float]:
        cost = self._cost_checked(self.cost(*args, **kwargs)) if callable(self.cost) else self.cost
        key = "" if self.key is None else self._partition(self.key(*args, **kwargs))
        return key, cost

    @staticmethod
    def _partition(key: object) -> str:
        return "" if key is None else str(key)

    def _refusal(self, retry_after: float, key: str) -> RateLimited:
        if _listening():
            _limited("rate_limit.rejected", self.name or "rate_limit")
        return RateLimited(self.name or "rate_limit", retry_after, key or None)

    def _give_back(self, key: str, cost: float) -> None:
        ask = Ask(self.interval_s, self.burst, key, cost)
        if self.store is None:
            self._local.refund(ask)
        else:
            self.store.refund(self.store.key(self._shared_name(), key), ask)

    def _sleep(self, wait: float, key: str, cost: float) -> None:
        if _listening():
            _limited("rate_limit.waited", self.name or "rate_limit")
        counters = self._counters
        with counters.lock:
            counters.waiting += 1
        try:
            self.clock.sleep(wait)
        except BaseException:
            self._give_back(key, cost)
            raise
        finally:
            with counters.lock:
                counters.waiting -= 1

    async def _asleep(self, wait: float, key: str, cost: float) -> None:
        if _listening():
            _limited("rate_limit.waited", self.name or "rate_limit")
        counters = self._counters
        with counters.lock:
            counters.waiting += 1
        try:
            await self.clock.asleep(wait)
        except BaseException:
            self._give_back(key, cost)
            raise
        finally:
            with counters.lock:
                counters.waiting -= 1

    def acquire(self, *, cost: float | None = None, key: object = None) -> None:
        units = self._units(cost)
        partition = self._partition(key)
        wait = self._take(partition, units, self.wait_s)
        if wait < 0:
            raise self._refusal(-wait, partition)
        if wait:
            self._sleep(wait, partition, units)
        return None

    async def acquire_async(self, *, cost: float | None = None, key: object = None) -> None:
        units = self._units(cost)
        partition = self._partition(key)
        wait = self._take(partition, units, self.wait_s)
        if wait < 0:
            raise self._refusal(-wait, partition)
        if wait:
            await self._asleep(wait, partition, units)
        return None

    def try_acquire(self, *, cost: float | None = None, key: object = None) -> bool:
        units = self._units(cost)
        return self._take(self._partition(key), units, 0.0) >= 0

    def remaining(self, key: object = None) -> int:
        """Cost units partition ``key`` would admit at once now (nothing is consumed)."""
        ask = Ask(self.interval_s, self.burst, "" if key is None else str(key), 0.0)
        if self.store is None:
            return self._local.remaining(self.clock.monotonic(), ask)
        now = self.clock.monotonic() if self._clock_given else None
        found = self.store.decide(
            [self.store.key(self._shared_name(), ask.key)], [ask], now, 0.0, write=False
        )
        return -1 if found is None else found.remaining

    @property
    def statistics(self) -> RateLimiterStatistics:
        """A snapshot: admitted, rejected, waiting, waited_s, remaining."""
        c = self._counters
        with c.lock:
            admitted, rejected, waiting, waited = c.admitted, c.rejected, c.waiting, c.waited_s
        return RateLimiterStatistics(admitted, rejected, waiting, waited, self.remaining())

    def decorate(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        if self.name is None:
            self.name = name_of(fn)  # shown in RateLimited, as a bulkhead does
        if is_async:
            return cast("Callable[P, R]", self._decorate_local_async(cast("Any", fn), site))
        take, cost_key, wait_s = self._take, self._call_cost_key, self.wait_s

        @wraps(fn)
        def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            key, cost = cost_key(args, kwargs)
            wait = take(key, cost, wait_s)
            if wait:
                if wait < 0:
                    raise self._refusal(-wait, key)
                self._sleep(wait, key, cost)
            return fn(*args, **kwargs)

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def _decorate_local_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        take, cost_key, wait_s = self._take, self._call_cost_key, self.wait_s

        @wraps(fn)
        async def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            key, cost = cost_key(args, kwargs)
            wait = take(key, cost, wait_s)
            if wait:
                if wait < 0:
                    raise self._refusal(-wait, key)
                await self._asleep(wait, key, cost)
            return await fn(*args, **kwargs)

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def __repr__(self) -> str:
        shared = "" if self.store is None else f", store={self.store!r}"
        return (
            f"RateLimiter(rate={self.rate:g}, per_s={self.per_s:g}, burst={self.burst}, "
            f"wait_s={self.wait_s:g}, name={self.name!r}{shared})"
        )


def _parts(value: object) -> tuple[RateLimiter, ...]:
    if isinstance(value, RateLimits):
        return value.parts
    raise InvalidUsage(f"{value!r}: only rate limits combine with &")


def rate_limit(
    rate: float,
    *,
    per_s: float = 1.0,
    burst: int = 1,
    wait_s: float = 0.0,
    cost: float | Callable[..., float] = 1,
    key: Callable[..., object] | None = None,
    store: RedisRateStore | None = None,
    name: str | None = None,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
) -> RateLimiter:
    """Admit at most ``rate`` cost units per ``per_s`` seconds.

    Args:
        rate: cost units per ``per_s`` (> 0).
        per_s: the period, seconds (> 0): ``rate=100, per_s=60`` is 100 per minute.
        burst: cost units admitted at once after an idle spell (an int >= 1; 1 is strict
            pacing, one unit every ``per_s / rate`` seconds).
        wait_s: how long a call may wait for its turn, seconds (0: refused at once).
        cost: units a call weighs: a number >= 0, or a function of the call's arguments
            returning one (checked at each call: above ``burst`` it could never pass, an
            error, not an endless wait).
        key: a function of the call's arguments giving its partition (one limit per
            value: per tenant, user or API key); None: one limit for all calls.
        store: None (this process) or a :class:`RedisRateStore` shared by processes
            (then ``name`` is required: it is the key).
        name: shown in ``RateLimited`` and its Redis key (default: the function's name).
        clock: where threads sleep while waiting; with Redis, the time of decisions too
            (default None: the server's ``TIME``).
        ledger: record one attempt and one call row per call (a refusal is a
            ``rate_limited`` attempt).

    Returns:
        A :class:`RateLimiter`, to use as a decorator (or with ``acquire()``);
        ``.statistics`` has its counters; ``a & b`` combines limits.

    Example:
        >>> from resilience.testing import FakeClock
        >>> clock = FakeClock()
        >>> limit = rate_limit(2, per_s=1, burst=2, clock=clock, name="api")
        >>> @limit
        ... def call() -> str:
        ...     return "ok"
        >>> call(), call()
        ('ok', 'ok')
        >>> try:
        ...     call()
        ... except RateLimited as exc:
        ...     print(round(exc.retry_after, 3))
        0.5
        >>> clock.advance(0.5); call()
        'ok'
    """
    return RateLimiter(
        rate,
        per_s=per_s,
        burst=burst,
        wait_s=wait_s,
        cost=cost,
        key=key,
        store=store,
        name=name,
        clock=clock,
        ledger=ledger,
    )
