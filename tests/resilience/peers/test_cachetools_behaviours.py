"""cachetools' own tests (tests/, 7.0.x), ported to resilience.cached.

callwise wraps cachetools' stores, so the tests port the decorator behaviours
(tests/test_cached.py, tests/test_func.py, tests/test_threading.py, tests/test_keys.py)
and the LRU, TTL and TLRU semantics (tests/test_lru.py, test_ttl.py, test_tlru.py) as
a caller of a decorated function sees them: which calls reach the function, what comes
back, ``cache_info()`` and ``cache_clear()``. Each test runs ``cachetools.cached`` (or a
``cachetools.func`` decorator) next to ours on the same calls; cachetools' ``timer=`` is
the test's FakeClock, so nothing sleeps. Where callwise differs on purpose the test
asserts both behaviours and names the difference (see DIFFERENCES.md).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from typing import Any

import cachetools
import cachetools.func
import pytest
from cachetools.keys import hashkey, typedkey
from support.modes import MODES, call
from support.modes import make_without_yield as make
from support.peers import WAIT_S, join_all, wait_until

from resilience import InvalidUsage, cached
from resilience.testing import FakeClock

KINDS = ["lru", "ttl", "tlru"]
"""The three stores: no ttl (LRU), a fixed ttl (TTL), a per-item ttl (TLRU)."""

TTL_S = 60.0


class Counter:
    """A function returning how many times it was called before (0, 1, 2, ...), as in
    cachetools' DecoratorTestMixin.func; ``calls`` lists the arguments of each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> int:
        self.calls.append(args + tuple(sorted(kwargs.items())))
        return len(self.calls) - 1


class Echo(Counter):
    """A function returning its first argument; ``calls`` lists the arguments of each call."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        super().__call__(*args, **kwargs)
        return args[0]


def theirs_store(kind: str, maxsize: int, clock: FakeClock) -> cachetools.Cache[Any, Any]:
    """cachetools' store for ``kind``, on the FakeClock."""
    if kind == "lru":
        return cachetools.LRUCache(maxsize)
    if kind == "ttl":
        return cachetools.TTLCache(maxsize, TTL_S, timer=clock.monotonic)
    return cachetools.TLRUCache(maxsize, lambda _k, _v, now: now + TTL_S, timer=clock.monotonic)


def ours_ttl(kind: str) -> Any:
    """Our ``ttl=`` for ``kind``."""
    return {"lru": None, "ttl": TTL_S, "tlru": lambda _key, _value: TTL_S}[kind]


def side_by_side(
    kind: str, mode: str, clock: FakeClock, maxsize: int, **options: Any
) -> tuple[Any, Counter, Any, Counter, cachetools.Cache[Any, Any]]:
    """Ours and cachetools' decorated Counter: (ours, its counter, theirs, its counter, store)."""
    mine, peers = Counter(), Counter()
    ours = cached(ttl=ours_ttl(kind), maxsize=maxsize, clock=clock, **options)(make(mode, mine))
    store = theirs_store(kind, maxsize, clock)
    theirs = cachetools.cached(store, **options)(peers)
    return ours, mine, theirs, peers, store


def info4(fn: Any) -> tuple[int, int, int | None, int]:
    """``(hits, misses, maxsize, currsize)``, the fields and order of cachetools' CacheInfo."""
    info = fn.cache_info()
    return (info.hits, info.misses, info.maxsize, info.currsize)


# ---- keys, hits and the store (tests/test_cached.py) --------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_equal_arguments_share_one_entry(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_decorator: 1 and 1.0 are one key; each new key is one entry."""
    ours, _, theirs, _, store = side_by_side(kind, mode, clock, maxsize=2)
    seen = []
    for arg in (0, 1, 1, 1.0, 1.0):
        seen.append((call(mode, ours, arg), ours.cache_info().currsize))
        assert seen[-1] == (theirs(arg), len(store))
    assert seen == [(0, 1), (1, 2), (1, 2), (1, 2), (1, 2)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_typed_keys_tell_int_from_float(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_decorator_typed: with key=typedkey, 1 and 1.0 are two entries."""
    ours, _, theirs, _, store = side_by_side(kind, mode, clock, maxsize=3, key=typedkey)
    seen = []
    for arg in (0, 1, 1, 1.0, 1.0):
        seen.append((call(mode, ours, arg), ours.cache_info().currsize))
        assert seen[-1] == (theirs(arg), len(store))
    assert seen == [(0, 1), (1, 2), (1, 2), (2, 3), (2, 3)]


@pytest.mark.parametrize("mode", MODES)
def test_wrapped_is_the_function_and_bypasses_the_cache(mode: str, clock: FakeClock) -> None:
    """After cachetools' test_decorator_wrapped: __wrapped__ calls the function, uncached."""
    fn, peers = make(mode, Counter()), Counter()
    ours = cached(ttl=60, maxsize=2, clock=clock)(fn)
    store = cachetools.TTLCache(2, 60, timer=clock.monotonic)
    theirs = cachetools.cached(store)(peers)
    assert ours.__wrapped__ is fn and theirs.__wrapped__ is peers
    seen = []
    for fn, peer in ((ours.__wrapped__, theirs.__wrapped__), (ours, theirs), (ours, theirs)):
        seen.append((call(mode, fn, 0), ours.cache_info().currsize))
        assert seen[-1] == (peer(0), len(store))
    assert seen == [(0, 0), (1, 1), (1, 1)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_cache_clear_empties_the_store(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_decorator_clear: cache_clear() forgets every value."""
    ours, _mine, theirs, _peers, store = side_by_side(kind, mode, clock, maxsize=2)
    assert call(mode, ours, 0) == theirs(0) == 0
    assert ours.cache_info().currsize == len(store) == 1
    ours.cache_clear()
    theirs.cache_clear()
    assert ours.cache_info().currsize == len(store) == 0
    assert call(mode, ours, 0) == theirs(0) == 1  # called again


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_cache_info_counts_hits_misses_and_sizes(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_decorator_info: the four counters agree after each step.

    Difference (cache_info): ours is a dataclass with three more counters (coalesced,
    stale_serves, error_hits), not a namedtuple; compare it by field name.
    """
    ours = cached(ttl=ours_ttl(kind), maxsize=2, clock=clock)(make(mode, Counter()))
    theirs = cachetools.cached(theirs_store(kind, 2, clock), info=True)(Counter())
    seen = [info4(ours)]
    assert info4(ours) == theirs.cache_info() == (0, 0, 2, 0)
    for arg in (0, 1, 0):
        assert call(mode, ours, arg) == theirs(arg)
        seen.append(info4(ours))
        assert seen[-1] == theirs.cache_info()
    ours.cache_clear()
    theirs.cache_clear()
    assert info4(ours) == theirs.cache_info() == (0, 0, 2, 0)
    assert seen == [(0, 0, 2, 0), (0, 1, 2, 1), (0, 2, 2, 2), (1, 2, 2, 2)]
    info = ours.cache_info()
    assert isinstance(theirs.cache_info(), tuple) and not isinstance(info, tuple)
    assert (info.coalesced, info.stale_serves, info.error_hits) == (0, 0, 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_maxsize_zero_holds_nothing_and_counts_misses(
    mode: str, kind: str, clock: FakeClock
) -> None:
    """After cachetools' test_zero_size_cache_decorator, test_zero_size_cache_decorator_info
    and test_func.py's test_decorator_nocache: maxsize=0 stores nothing."""
    ours, _mine, _, _, _ = side_by_side(kind, mode, clock, maxsize=0)
    theirs = cachetools.cached(theirs_store(kind, 0, clock), info=True)(Counter())
    assert info4(ours) == theirs.cache_info() == (0, 0, 0, 0)
    for expected, arg in enumerate((1, 1, 1.0)):
        assert call(mode, ours, arg) == theirs(arg) == expected  # every call is a call
        assert info4(ours) == theirs.cache_info() == (0, expected + 1, 0, 0)


def test_the_wrapper_keeps_defaults_and_kwdefaults(clock: FakeClock) -> None:
    """Difference (wrapper defaults): ours carries the function's __defaults__ and
    __kwdefaults__ (as tenacity's wrappers do); cachetools' wrapper object has neither."""

    def fn(a: int = 1, *, b: int = 2) -> int:
        return a + b

    mine = cached(clock=clock)(fn)
    peers = cachetools.cached(cachetools.LRUCache(2))(fn)
    assert (mine.__defaults__, mine.__kwdefaults__) == ((1,), {"b": 2})
    assert not hasattr(peers, "__defaults__") and not hasattr(peers, "__kwdefaults__")
    assert mine() == peers() == 3


# ---- cachetools.func (tests/test_func.py) ---------------------------------------------------


FUNC = {
    "lru_cache": (cachetools.func.lru_cache, None),
    "ttl_cache": (cachetools.func.ttl_cache, 600.0),
}


@pytest.mark.parametrize("decorator", list(FUNC))
@pytest.mark.parametrize("typed", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_counts_like_cachetools_func(mode: str, typed: bool, decorator: str) -> None:
    """After test_func's test_decorator, test_decorator_typed and test_decorator_clear."""
    factory, ttl = FUNC[decorator]
    clock = FakeClock()
    ours = cached(ttl=ttl, maxsize=2, key=typedkey if typed else hashkey, clock=clock)(
        make(mode, lambda n: n)
    )
    options: dict[str, Any] = {"timer": clock.monotonic} if ttl else {}
    theirs = factory(maxsize=2, typed=typed, **options)(lambda n: n)
    assert info4(ours) == theirs.cache_info() == (0, 0, 2, 0)
    seen = []
    for arg in (1, 1, 1.0, 1.0):
        assert call(mode, ours, arg) == theirs(arg) == arg
        seen.append(info4(ours))
        assert seen[-1] == theirs.cache_info()
    if typed:
        assert seen == [(0, 1, 2, 1), (1, 1, 2, 1), (1, 2, 2, 2), (2, 2, 2, 2)]
    else:
        assert seen == [(0, 1, 2, 1), (1, 1, 2, 1), (2, 1, 2, 1), (3, 1, 2, 1)]
    ours.cache_clear()
    theirs.cache_clear()
    assert info4(ours) == theirs.cache_info() == (0, 0, 2, 0)
    assert call(mode, ours, 1) == theirs(1) == 1
    assert info4(ours) == theirs.cache_info() == (0, 1, 2, 1)


def test_maxsize_none_is_refused() -> None:
    """After test_func's test_decorator_unbound and test_cached's DictWrapperTest.

    Difference (unbounded): every store of ours is bounded, so maxsize=None is refused at
    decoration; cachetools' maxsize=None (or a plain dict) grows without a bound.
    """
    theirs = cachetools.func.lru_cache(maxsize=None)(lambda n: n)
    for n in range(2000):
        theirs(n)
    assert theirs.cache_info() == (0, 2000, None, 2000)
    with pytest.raises(InvalidUsage, match="maxsize=None"):
        cached(maxsize=None)  # type: ignore[arg-type]


def test_a_key_that_calls_the_cache_from_eq_does_not_deadlock() -> None:
    """After test_func's test_decorator_needs_rlock: the cache's lock is reentrant."""

    def check(fn: Callable[[Any], Any]) -> Any:
        class RecursiveEquals:
            def __init__(self, use_cache: bool) -> None:
                self.use_cache = use_cache

            def __hash__(self) -> int:
                return hash(self.use_cache)

            def __eq__(self, other: object) -> bool:
                if self.use_cache:
                    fn(self)  # while the cache's lock is held by the lookup
                return self.use_cache == getattr(other, "use_cache", None)

        fn(RecursiveEquals(False))
        fn(RecursiveEquals(True))
        return fn(RecursiveEquals(True)).use_cache

    results: list[Any] = []
    for fn in (cached()(lambda n: n), cachetools.func.lru_cache()(lambda n: n)):
        worker = threading.Thread(target=lambda fn=fn: results.append(check(fn)), daemon=True)
        worker.start()
        worker.join(WAIT_S)
        assert not worker.is_alive(), "deadlocked"
    assert results == [True, True]


# ---- LRU, TTL and TLRU semantics (tests/test_lru.py, test_ttl.py, test_tlru.py) -----------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_the_least_recently_used_value_is_evicted(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_lru, test_ttl_lru and test_ttu_lru: maxsize=2, LRU order."""
    ours, mine, theirs, peers, _store = side_by_side(kind, mode, clock, maxsize=2)
    for arg in (1, 2, 3, 2, 3, 2, 4, 2, 4, 5, 4, 5):  # 3 evicts 1, 4 evicts 3, 5 evicts 2
        call(mode, ours, arg)
        theirs(arg)
    assert mine.calls == peers.calls == [(1,), (2,), (3,), (4,), (5,)]
    for arg in (1, 2, 3):  # all gone
        call(mode, ours, arg)
        theirs(arg)
    assert mine.calls[5:] == peers.calls[5:] == [(1,), (2,), (3,)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_clear_resets_the_lru_order(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_lru_clear, test_ttl_clear and test_tlru_clear."""
    ours, mine, theirs, peers, store = side_by_side(kind, mode, clock, maxsize=2)
    for arg in (1, 2):
        call(mode, ours, arg)
        theirs(arg)
    ours.cache_clear()
    theirs.cache_clear()
    assert ours.cache_info().currsize == len(store) == 0
    for arg in (3, 4, 3, 5, 3, 5, 4):  # 5 evicts 4, the least recently used
        call(mode, ours, arg)
        theirs(arg)
    assert mine.calls == peers.calls == [(1,), (2,), (3,), (4,), (5,), (4,)]
    assert ours.cache_info().currsize == len(store) == 2


@pytest.mark.parametrize("kind", ["ttl", "tlru"])
@pytest.mark.parametrize("mode", MODES)
def test_expiry_still_works_after_clear(mode: str, kind: str, clock: FakeClock) -> None:
    """After cachetools' test_ttl_clear and test_tlru_clear (their last part)."""
    ours, mine, theirs, peers, store = side_by_side(kind, mode, clock, maxsize=2)
    ours.cache_clear()
    theirs.cache_clear()
    call(mode, ours, 42)
    theirs(42)
    clock.advance(TTL_S)
    assert ours.cache_info().currsize == len(store) == 0
    call(mode, ours, 42)
    theirs(42)
    assert mine.calls == peers.calls == [(42,), (42,)]


@pytest.mark.parametrize("mode", MODES)
def test_a_value_lives_ttl_seconds_on_the_clock(mode: str, clock: FakeClock) -> None:
    """After cachetools' test_ttl, test_ttl_timer and test_ttl_tuple_key: ttl=2, ticks of 1 s."""
    mine, peers = Counter(), Counter()
    ours = cached(ttl=2, maxsize=2, clock=clock)(make(mode, mine))
    store = cachetools.TTLCache(maxsize=2, ttl=2, timer=clock.monotonic)
    theirs = cachetools.cached(store)(peers)

    def both(*args: Any) -> None:
        call(mode, ours, *args)
        theirs(*args)

    def sizes() -> tuple[int, int]:
        return ours.cache_info().currsize, len(store)

    both(1)
    clock.advance(1)
    both(1)  # still fresh after 1 s
    both(2)
    assert sizes() == (2, 2)
    clock.advance(1)  # 1 is 2 s old: expired
    assert sizes() == (1, 1)
    both(2)
    both(3)
    clock.advance(1)  # 2 expires
    both(3)
    assert sizes() == (1, 1)
    clock.advance(1)  # 3 expires: nothing left
    assert sizes() == (0, 0)
    both(1, 2, 3)  # a key of several arguments expires alike
    clock.advance(2)
    assert sizes() == (0, 0)
    both(1, 2, 3)
    assert mine.calls == peers.calls == [(1,), (2,), (3,), (1, 2, 3), (1, 2, 3)]


# ---- per-item ttl (TLRU) --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_each_value_gets_its_own_lifetime(mode: str, clock: FakeClock) -> None:
    """After cachetools' test_ttu: a value v lives v + 1 s.

    Difference (per-item ttl): ours returns seconds from now, ``ttl(key, value) -> v + 1``;
    cachetools' ttu returns the absolute expiry time, ``ttu(key, value, now) -> now + v + 1``.
    """
    mine, peers = Echo(), Echo()
    ours = cached(ttl=lambda _key, value: value + 1, maxsize=6, clock=clock)(make(mode, mine))
    store = cachetools.TLRUCache(6, lambda _k, v, now: now + v + 1, timer=clock.monotonic)
    theirs = cachetools.cached(store)(peers)

    def both(value: int) -> None:
        assert call(mode, ours, value) == theirs(value) == value

    def sizes() -> tuple[int, int]:
        return ours.cache_info().currsize, len(store)

    both(1)  # lives until t=2
    clock.advance(1)
    both(1)
    both(2)  # until t=4
    assert sizes() == (2, 2)
    clock.advance(1)  # t=2: 1 is gone
    assert sizes() == (1, 1)
    both(2)
    both(3)  # until t=6
    clock.advance(1)  # t=3
    both(1)  # until t=5
    assert sizes() == (3, 3)
    clock.advance(1)  # t=4: 2 is gone
    assert sizes() == (2, 2)
    clock.advance(1)  # t=5: 1 is gone
    assert sizes() == (1, 1)
    clock.advance(1)  # t=6: 3 is gone
    assert sizes() == (0, 0)
    assert mine.calls == peers.calls == [(1,), (2,), (3,), (1,)]


@pytest.mark.parametrize("mode", MODES)
def test_a_lifetime_of_zero_or_less_is_not_stored(mode: str, clock: FakeClock) -> None:
    """After cachetools' test_ttu_expired: ttl = key, so keys 0 and -1 are never kept."""
    mine, peers = Counter(), Counter()
    ours = cached(ttl=lambda key, _value: key[0], maxsize=1, clock=clock)(make(mode, mine))
    store = cachetools.TLRUCache(1, lambda key, _v, now: now + key[0], timer=clock.monotonic)
    theirs = cachetools.cached(store)(peers)
    for arg in (1, 0, -1, 1, 0):
        call(mode, ours, arg)
        theirs(arg)
        assert ours.cache_info().currsize == len(store) == 1  # 1 stays, 0 and -1 never enter
    assert mine.calls == peers.calls == [(1,), (0,), (-1,), (0,)]


@pytest.mark.parametrize("mode", MODES)
def test_shorter_lifetimes_expire_first(mode: str, clock: FakeClock) -> None:
    """After cachetools' test_ttu_reverse_insert: values 3, 2, 1, 0 living v seconds."""
    ours = cached(ttl=lambda _key, value: value, maxsize=4, clock=clock)(make(mode, lambda v: v))
    store = cachetools.TLRUCache(4, lambda _k, v, now: now + v, timer=clock.monotonic)
    theirs = cachetools.cached(store)(lambda v: v)
    for value in (3, 2, 1, 0):
        assert call(mode, ours, value) == theirs(value) == value
    sizes = []
    for _ in range(4):
        sizes.append((ours.cache_info().currsize, len(store)))
        clock.advance(1)
    assert sizes == [(3, 3), (2, 2), (1, 1), (0, 0)]


# ---- keys (tests/test_keys.py) -------------------------------------------------------------


@pytest.mark.parametrize("key", [hashkey, typedkey], ids=["hashkey", "typedkey"])
@pytest.mark.parametrize("mode", MODES)
def test_which_calls_share_a_key(mode: str, key: Callable[..., Hashable], clock: FakeClock) -> None:
    """After cachetools' test_hashkey and test_typedkey, seen through the decorated function."""
    ours, mine, theirs, peers, _ = side_by_side("lru", mode, clock, maxsize=64, key=key)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        ((), {}),
        ((1, 2, 3), {}),
        ((1, 2, 3), {}),
        ((3, 2, 1), {}),
        ((1, 2, 3), {"x": None}),
        ((1, 2, 3), {"x": 0}),
        ((1, 2, 3), {"x": 0}),
        ((1, 2, 3), {"y": 0}),
        ((1.0, 2.0, 3.0), {}),
    ]
    for args, kwargs in calls:
        assert call(mode, ours, *args, **kwargs) == theirs(*args, **kwargs)
    assert mine.calls == peers.calls
    distinct = len(mine.calls)
    assert distinct == (7 if key is typedkey else 6)  # typed: 1.0 is not 1
    with pytest.raises(TypeError):
        call(mode, ours, {})
    with pytest.raises(TypeError):
        theirs({})


# ---- threads and single-flight (tests/test_threading.py) -----------------------------------


class CountingCondition(threading.Condition):
    """A Condition that counts the threads that started waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1  # called with the lock held
        return super().wait(timeout)


def stampede(
    fn: Callable[[], Any], count: int, all_waiting: Callable[[], bool], release: threading.Event
) -> list[Any]:
    """``count`` threads call ``fn``, which waits for ``release``, set once ``all_waiting()``
    holds (every other thread waits for the first call). Each thread's result or exception."""
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        try:
            results[i] = fn()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    wait_until(all_waiting, "every thread to wait for the first call")
    release.set()
    join_all(threads)
    return results


def test_concurrent_misses_make_one_call() -> None:
    """After cachetools' test_cached_stampede: 10 threads missing one key, one call.

    Difference (single-flight always): ours needs no condition=; cachetools.cached with a
    lock alone lets all 10 call. Difference (cache_info of joined calls): ours counts the 9
    threads that waited as misses (coalesced=9); cachetools counts them as hits.
    """
    entered: dict[str, list[int]] = {"ours": [], "condition": [], "lock": []}
    release = threading.Event()

    def slow(side: str) -> Callable[[], int]:
        def fn() -> int:
            entered[side].append(threading.get_ident())  # atomic, unlike += from threads
            assert release.wait(WAIT_S)
            return 42

        return fn

    ours = cached(ttl=60, maxsize=1, clock=FakeClock())(slow("ours"))
    assert stampede(ours, 10, lambda: ours.cache_info().misses == 10, release) == [42] * 10
    release.clear()
    cond = CountingCondition()
    theirs = cachetools.cached(cachetools.LRUCache(1), condition=cond, info=True)(slow("condition"))
    assert stampede(theirs, 10, lambda: cond.waits >= 9, release) == [42] * 10
    release.clear()
    locked = cachetools.cached(cachetools.LRUCache(1), lock=threading.Lock())(slow("lock"))
    assert stampede(locked, 10, lambda: len(entered["lock"]) == 10, release) == [42] * 10
    assert {side: len(threads) for side, threads in entered.items()} == {
        "ours": 1,
        "condition": 1,
        "lock": 10,
    }
    info = ours.cache_info()
    assert (info.hits, info.misses, info.coalesced) == (0, 10, 9)
    assert (theirs.cache_info().hits, theirs.cache_info().misses) == (9, 1)


def test_an_error_is_shared_by_the_callers_that_waited() -> None:
    """After cachetools' test_cached_stampede, with a failing function.

    Difference (single-flight errors): every waiting caller gets the one call's error;
    with cachetools' condition= each waiting thread calls again, one after another.
    """
    calls, release = {"ours": 0, "theirs": 0}, threading.Event()

    def failing(side: str) -> Callable[[], int]:
        def fn() -> int:
            assert release.wait(WAIT_S)
            calls[side] += 1
            raise ConnectionError(side)

        return fn

    ours = cached(ttl=60, maxsize=1, clock=FakeClock())(failing("ours"))
    mine = stampede(ours, 5, lambda: ours.cache_info().misses == 5, release)
    release.clear()
    cond = CountingCondition()
    theirs = cachetools.cached(cachetools.LRUCache(1), condition=cond)(failing("theirs"))
    peers = stampede(theirs, 5, lambda: cond.waits >= 4, release)
    assert calls == {"ours": 1, "theirs": 5}
    assert all(result is mine[0] for result in mine) and isinstance(mine[0], ConnectionError)
    assert len({id(result) for result in peers}) == 5


# ---- asyncio --------------------------------------------------------------------------------


def test_a_coroutine_functions_result_is_cached() -> None:
    """Difference (async def): ours caches the result; cachetools caches the coroutine object,
    so the second await of a cached key fails."""
    calls: list[int] = []

    async def fetch(user_id: int) -> dict[str, int]:
        calls.append(user_id)
        return {"id": user_id}

    ours = cached(ttl=60, clock=FakeClock())(fetch)
    theirs = cachetools.cached(cachetools.TTLCache(16, 60))(fetch)

    async def main() -> None:
        assert await ours(7) == await ours(7) == {"id": 7}
        assert await theirs(7) == {"id": 7}
        with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
            await theirs(7)

    asyncio.run(main())
    assert calls == [7, 7]  # once through ours, once through cachetools
