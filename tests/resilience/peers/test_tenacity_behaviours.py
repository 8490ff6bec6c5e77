"""tenacity's own tests (tests/test_tenacity.py, test_asyncio.py, test_issue_478.py), ported
to resilience.retry.

Each test runs tenacity next to ours on the same failing functions and compares what a
caller sees: how often the function is called, what is raised, the waits between
attempts, the statistics. tenacity sleeps through an injected ``sleep=`` that records
and returns at once; ours through a FakeClock. Where callwise differs on purpose the test
asserts both behaviours and names the difference (see DIFFERENCES.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
import tenacity
from hypothesis import given
from hypothesis import strategies as st
from support.modes import MODES, call, make

from resilience import CircuitOpenError, InvalidUsage, retry
from resilience.retry import Backoff
from resilience.testing import FakeClock


class FailsThenSucceeds:
    """Raises ``error`` the first ``count`` calls, then returns True (tenacity's
    NoIOErrorAfterCount, NoNameErrorAfterCount, NoCustomErrorAfterCount)."""

    def __init__(self, count: int, error: Callable[[str], BaseException] = OSError) -> None:
        self.count = count
        self.error = error
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        if self.calls <= self.count:
            raise self.error(f"failure {self.calls}")
        return True


class CustomError(Exception):
    """A user-defined exception (tenacity's CustomError)."""


class Sleeps:
    """tenacity's ``sleep=``: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def ours_retry(**options: Any) -> Any:
    """Our retry on a fresh FakeClock, without a budget unless given."""
    options.setdefault("clock", FakeClock())
    options.setdefault("budget", None)
    return retry(**options)


def attempt_state(attempt_number: int) -> tenacity.RetryCallState:
    """A tenacity call state after ``attempt_number`` attempts, for its wait strategies."""
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt_number
    return state


def raised(fn: Callable[[], Any]) -> BaseException | None:
    """The exception ``fn()`` raised, or None."""
    try:
        fn()
    except BaseException as exc:
        return exc
    return None


# ---- stop after attempts, reraise --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_stops_after_the_given_number_of_attempts(mode: str) -> None:
    """After tenacity's test_stop_after_attempt (and test_asyncio.py's): 3 attempts, no more.

    Difference (last error): ours raises the last attempt's error; tenacity a RetryError.
    """
    mine, peers = FailsThenSucceeds(5), FailsThenSucceeds(5)
    ours = ours_retry(attempts=3)(make(mode, mine))
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(3), sleep=Sleeps())(peers)
    error = raised(lambda: call(mode, ours))
    peer_error = raised(theirs)
    assert mine.calls == peers.calls == 3
    assert isinstance(error, OSError) and str(error) == "failure 3"
    assert isinstance(peer_error, tenacity.RetryError)
    assert peer_error.last_attempt.attempt_number == 3


@pytest.mark.parametrize("mode", MODES)
def test_the_last_error_is_reraised(mode: str) -> None:
    """After tenacity's test_reraise_by_default: with reraise=True both raise the KeyError."""
    mine, peers = FailsThenSucceeds(9, KeyError), FailsThenSucceeds(9, KeyError)
    ours = ours_retry(attempts=2)(make(mode, mine))
    theirs = tenacity.retry(
        wait=tenacity.wait_fixed(0.1),
        stop=tenacity.stop_after_attempt(2),
        reraise=True,
        sleep=Sleeps(),
    )(peers)
    with pytest.raises(KeyError, match="failure 2"):
        call(mode, ours)
    with pytest.raises(KeyError, match="failure 2"):
        theirs()
    assert mine.calls == peers.calls == 2


def test_the_last_error_is_raised_without_a_retry_error() -> None:
    """After tenacity's test_reraise_from_retry_error.

    Difference (last error): tenacity raises RetryError, whose reraise() gives the KeyError;
    ours raises the KeyError itself.
    """
    mine, peers = FailsThenSucceeds(9, KeyError), FailsThenSucceeds(9, KeyError)
    ours = ours_retry(attempts=2)(mine)
    theirs = tenacity.retry(
        wait=tenacity.wait_fixed(0.1), stop=tenacity.stop_after_attempt(2), sleep=Sleeps()
    )(peers)
    with pytest.raises(tenacity.RetryError) as info:
        theirs()
    with pytest.raises(KeyError, match="failure 2"):
        info.value.reraise()
    with pytest.raises(KeyError, match="failure 2"):
        ours()
    assert mine.calls == peers.calls == 2


# ---- what is retried ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("retried", "error", "retries"),
    [
        (OSError, OSError, True),
        (OSError, NameError, False),
        (CustomError, CustomError, True),
        (CustomError, NameError, False),
    ],
    ids=["io-retried", "io-not-name", "custom-retried", "custom-not-name"],
)
def test_only_the_named_exception_types_are_retried(
    mode: str, retried: type[Exception], error: type[Exception], retries: bool
) -> None:
    """After tenacity's test_retry_if_exception_of_type: others are raised at the first try."""
    mine, peers = FailsThenSucceeds(5, error), FailsThenSucceeds(5, error)
    ours = ours_retry(attempts=6, on=retried)(make(mode, mine))
    theirs = tenacity.retry(retry=tenacity.retry_if_exception_type(retried), sleep=Sleeps())(peers)
    if retries:
        assert call(mode, ours) is True and theirs() is True
        assert mine.calls == peers.calls == 6
    else:
        with pytest.raises(error):
            call(mode, ours)
        with pytest.raises(error):
            theirs()
        assert mine.calls == peers.calls == 1


@pytest.mark.parametrize("bare", [True, False], ids=["@retry", "@retry()"])
def test_by_default_any_exception_is_retried(bare: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """After tenacity's test_defaults: ``@retry`` and ``@retry()`` retry NameError, CustomError."""
    waits = Sleeps()
    monkeypatch.setattr(time, "sleep", waits)  # both libraries' default sleep
    for error in (NameError, CustomError):
        for decorator in (retry, tenacity.retry):
            thing = FailsThenSucceeds(2, error)
            decorated = decorator(thing) if bare else decorator()(thing)
            assert decorated() is True and thing.calls == 3


def test_the_defaults_are_finite(monkeypatch: pytest.MonkeyPatch) -> None:
    """After tenacity's test_defaults and test_never_stop / test_no_sleep.

    Difference (finite by default): tenacity retries forever without waiting; ours makes 3
    attempts with a full-jitter backoff from 0.1 s, and raises the last error.
    """
    waits = Sleeps()
    monkeypatch.setattr(time, "sleep", waits)
    theirs_thing, ours_thing = FailsThenSucceeds(5, NameError), FailsThenSucceeds(5, NameError)
    assert tenacity.retry(theirs_thing)() is True
    assert theirs_thing.calls == 6 and waits.waits == [0] * 5
    waits.waits.clear()
    with pytest.raises(NameError, match="failure 3"):
        retry(ours_thing)()
    assert ours_thing.calls == 3
    assert len(waits.waits) == 2 and 0 <= waits.waits[0] <= 0.1 and 0 <= waits.waits[1] <= 0.2


def test_an_open_breaker_and_bad_usage_are_never_retried() -> None:
    """Difference (never retried): tenacity's default retries every Exception; ours never
    retries CircuitOpenError or InvalidUsage, and refuses on= naming an interrupt."""
    for error in (CircuitOpenError("svc", 5.0), InvalidUsage("bad option")):
        mine = FailsThenSucceeds(99, lambda _message, error=error: error)
        peers = FailsThenSucceeds(99, lambda _message, error=error: error)
        with pytest.raises(type(error)):
            ours_retry(attempts=3)(mine)()
        theirs = tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True, sleep=Sleeps())
        with pytest.raises(type(error)):
            theirs(peers)()
        assert (mine.calls, peers.calls) == (1, 3)
    with pytest.raises(InvalidUsage, match="never retried"):
        retry(on=KeyboardInterrupt)
    interrupted = FailsThenSucceeds(1, lambda _message: KeyboardInterrupt())
    theirs = tenacity.retry(
        retry=tenacity.retry_if_exception_type(KeyboardInterrupt), sleep=Sleeps()
    )(interrupted)
    assert theirs() is True and interrupted.calls == 2


# ---- waits between attempts ----------------------------------------------------------------


def waits_of(mode: str, attempts: int, **options: Any) -> list[float]:
    """The waits our retry makes for a function that always fails."""
    clock = FakeClock()
    ours = ours_retry(attempts=attempts, clock=clock, **options)(
        make(mode, FailsThenSucceeds(attempts))
    )
    with pytest.raises(OSError):
        call(mode, ours)
    return clock.sleeps


def tenacity_waits(attempts: int, wait: Any) -> list[float]:
    """The waits tenacity makes with ``wait`` for a function that always fails."""
    sleeps = Sleeps()
    theirs = tenacity.retry(
        stop=tenacity.stop_after_attempt(attempts), wait=wait, reraise=True, sleep=sleeps
    )(FailsThenSucceeds(attempts))
    with pytest.raises(OSError):
        theirs()
    return sleeps.waits


@pytest.mark.parametrize("mode", MODES)
def test_the_backoff_doubles_from_its_first_wait(mode: str) -> None:
    """After tenacity's test_exponential: waits 1, 2, 4, ... 128 s (jitter="none")."""
    mine = waits_of(mode, 9, backoff_s=1, max_backoff_s=1e6, jitter="none")
    assert mine == tenacity_waits(9, tenacity.wait_exponential()) == [1, 2, 4, 8, 16, 32, 64, 128]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("multiplier", "max_s", "expected"),
    [
        (1, 40, [1, 2, 4, 8, 16, 32, 40, 40]),
        (1, 50, [1, 2, 4, 8, 16, 32, 50, 50]),
        (1e300, 1e-100, [1e-100] * 8),
    ],
    ids=["max-40", "max-50-multiplier-1", "max-below-multiplier"],
)
def test_the_backoff_is_capped(
    mode: str, multiplier: float, max_s: float, expected: list[float]
) -> None:
    """After tenacity's test_exponential_with_max_wait,
    test_exponential_with_max_wait_and_multiplier and
    test_exponential_caps_when_max_multiplier_ratio_underflows: max caps every wait."""
    mine = waits_of(mode, 9, backoff_s=multiplier, max_backoff_s=max_s, jitter="none")
    theirs = tenacity_waits(9, tenacity.wait_exponential(multiplier=multiplier, max=max_s))
    assert mine == theirs == expected


@given(
    backoff_s=st.floats(0, 1e3),
    max_backoff_s=st.floats(0, 1e4),
    retry_number=st.integers(1, 80),
    uniform=st.floats(0, 1, exclude_max=True),
)
def test_backoff_caps_match_tenacitys_for_any_options(
    backoff_s: float, max_backoff_s: float, retry_number: int, uniform: float
) -> None:
    """After tenacity's wait_exponential and wait_random_exponential tests, as a property.

    jitter="none" waits what wait_exponential(multiplier, max) waits; "full" draws from
    [0, that), as wait_random_exponential does.
    """
    cap = tenacity.wait_exponential(multiplier=backoff_s, max=max_backoff_s)(
        attempt_state(retry_number)
    )
    none = Backoff(backoff_s, max_backoff_s, "none").delay_s(retry_number, uniform)
    full = Backoff(backoff_s, max_backoff_s, "full").delay_s(retry_number, uniform)
    assert none == pytest.approx(cap, rel=1e-12)
    assert full == pytest.approx(cap * uniform, rel=1e-12) and 0 <= full <= none


@pytest.mark.parametrize("mode", MODES)
def test_full_jitter_waits_what_wait_random_exponential_waits(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After tenacity's test_wait_random_exponential: same draws, same waits, within the caps."""
    monkeypatch.setattr(tenacity.wait, "random", random.Random(7))
    theirs = tenacity_waits(10, tenacity.wait_random_exponential(multiplier=0.5, max=60))
    mine = waits_of(mode, 10, backoff_s=0.5, max_backoff_s=60, rng=random.Random(7))
    assert mine == theirs
    caps = [0.5, 1, 2, 4, 8, 16, 32, 60, 60]
    assert all(0 <= wait <= cap for wait, cap in zip(mine, caps, strict=True))
    monkeypatch.setattr(tenacity.wait, "random", random.Random(1))
    theirs = tenacity_waits(10, tenacity.wait_random_exponential(multiplier=10, max=5))
    mine = waits_of(mode, 10, backoff_s=10, max_backoff_s=5, rng=random.Random(1))
    assert mine == theirs and all(0 <= wait <= 5 for wait in mine)


def test_full_jitter_waits_half_the_cap_on_average(monkeypatch: pytest.MonkeyPatch) -> None:
    """After tenacity's test_wait_random_exponential_statistically: the means of 4000 draws."""
    monkeypatch.setattr(tenacity.wait, "random", random.Random(3))
    theirs = tenacity.wait_random_exponential(0.5, 60.0)
    ours, draw = Backoff(0.5, 60.0, "full"), random.Random(3).random
    expected = [0.25, 0.5, 1, 2, 4, 8, 16, 30, 30]
    for retry_number, mean in enumerate(expected, start=1):
        state = attempt_state(retry_number)
        peer_mean = sum(theirs(state) for _ in range(4000)) / 4000
        our_mean = sum(ours.delay_s(retry_number, draw()) for _ in range(4000)) / 4000
        assert our_mean == pytest.approx(peer_mean, rel=1e-9)
        assert abs(our_mean - mean) <= 0.08 * mean


class Flaky:
    """A class with a retried method (tenacity's TestMockingSleep)."""

    def __init__(self, decorator: Callable[[Callable[..., Any]], Any]) -> None:
        self.calls = 0
        self.decorated = decorator(type(self).fail).__get__(self)

    def fail(self) -> None:
        self.calls += 1
        raise NotImplementedError


def test_waits_go_through_the_injected_sleep() -> None:
    """After tenacity's TestMockingSleep.test_decorated: 5 attempts of a method, 4 sleeps."""
    clock, sleeps = FakeClock(), Sleeps()
    mine = Flaky(ours_retry(attempts=5, backoff_s=0.1, jitter="none", clock=clock))
    peers = Flaky(
        tenacity.retry(
            wait=tenacity.wait_fixed(0.1), stop=tenacity.stop_after_attempt(5), sleep=sleeps
        )
    )
    with pytest.raises(NotImplementedError):
        mine.decorated()
    with pytest.raises(tenacity.RetryError):
        peers.decorated()
    assert mine.calls == peers.calls == 5
    assert len(clock.sleeps) == len(sleeps.waits) == 4


# ---- statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_statistics_count_the_attempts(mode: str) -> None:
    """After tenacity's test_stats and test_stats_failing: 1 attempt, then 2.

    Difference (statistics): ours are totals over every call (calls, attempts, retries,
    gave_up, ...); tenacity's describe the last call (attempt_number).
    """
    ok = ours_retry(attempts=2)(make(mode, lambda: 42))
    theirs_ok = tenacity.retry(stop=tenacity.stop_after_attempt(2))(lambda: 42)
    assert (ok.statistics.calls, ok.statistics.attempts) == (0, 0)
    assert theirs_ok.statistics == {}
    assert call(mode, ok) == theirs_ok() == 42
    assert ok.statistics.attempts == theirs_ok.statistics["attempt_number"] == 1

    failing = ours_retry(attempts=2)(make(mode, FailsThenSucceeds(99, ValueError)))
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(2), sleep=Sleeps())(
        FailsThenSucceeds(99, ValueError)
    )
    with contextlib.suppress(ValueError):
        call(mode, failing)
    with contextlib.suppress(tenacity.RetryError):
        theirs()
    assert failing.statistics.attempts == theirs.statistics["attempt_number"] == 2
    assert (failing.statistics.retries, failing.statistics.gave_up) == (1, 1)
    with contextlib.suppress(ValueError):
        call(mode, failing)
    with contextlib.suppress(tenacity.RetryError):
        theirs()
    assert failing.statistics.attempts == 4  # both calls
    assert theirs.statistics["attempt_number"] == 2  # the last call only


def test_the_retry_objects_statistics_are_the_functions() -> None:
    """After tenacity's test_retry_object_statistics_synced: fn.retry.statistics."""
    ours = ours_retry(attempts=3)(lambda: 42)
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(3))(lambda: 42)
    ours()
    theirs()
    assert ours.retry.statistics is ours.statistics
    assert theirs.retry.statistics["attempt_number"] == theirs.statistics["attempt_number"] == 1


@pytest.mark.parametrize("mode", MODES)
def test_statistics_move_while_the_call_runs(mode: str) -> None:
    """After tenacity's test_retry_object_statistics_during_execution: attempts 1, 2, 3."""
    mine: list[int] = []
    peers: list[int] = []

    def body() -> int:
        mine.append(ours.retry.statistics.attempts)
        if len(mine) < 3:
            raise ValueError("retry")
        return 42

    ours = ours_retry(attempts=3, on=ValueError)(make(mode, body))

    @tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        retry=tenacity.retry_if_exception_type(ValueError),
        reraise=True,
        sleep=Sleeps(),
    )
    def theirs() -> int:
        peers.append(theirs.retry.statistics["attempt_number"])
        if len(peers) < 3:
            raise ValueError("retry")
        return 42

    assert call(mode, ours) == theirs() == 42
    assert mine == peers == [1, 2, 3]


@pytest.mark.parametrize("mode", MODES)
def test_statistics_are_visible_through_an_outer_decorator(mode: str) -> None:
    """After tenacity's test_statistics_visible_through_outer_decorator (and test_asyncio.py's)."""

    def outer(fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                return await fn(*args, **kwargs)

            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return wrapper

    ours = outer(ours_retry(attempts=3)(make(mode, lambda: "ok")))
    theirs = outer(tenacity.retry(stop=tenacity.stop_after_attempt(3))(make(mode, lambda: "ok")))
    assert call(mode, ours) == call(mode, theirs) == "ok"
    assert ours.statistics is ours.__wrapped__.statistics
    assert theirs.statistics is theirs.__wrapped__.statistics
    assert ours.statistics.attempts == theirs.statistics["attempt_number"] == 1


# ---- the wrapper ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_wrapper_keeps_defaults_and_kwdefaults(kind: str) -> None:
    """After tenacity's test_retry_preserves_argument_defaults (and test_asyncio.py's)."""

    def with_defaults(a: int = 1) -> int:
        return a

    def with_kwdefaults(*, a: int = 1) -> int:
        return a

    async def awith_defaults(a: int = 1) -> int:
        return a

    async def awith_kwdefaults(*, a: int = 1) -> int:
        return a

    functions = (with_defaults, with_kwdefaults)
    if kind == "async":
        functions = (awith_defaults, awith_kwdefaults)
        retrying: Any = tenacity.AsyncRetrying(stop=tenacity.stop_after_attempt(3))
    else:
        retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(3))
    defaults, kwdefaults = functions
    for wrap in (ours_retry(attempts=3), retrying.wraps):
        assert wrap(defaults).__defaults__ == defaults.__defaults__ == (1,)
        assert wrap(kwdefaults).__kwdefaults__ == kwdefaults.__kwdefaults__ == {"a": 1}


def test_a_callable_object_can_be_retried() -> None:
    """After tenacity's test_retry_function_object: an instance with __call__ is wrapped."""

    class Hello:
        def __call__(self) -> str:
            return "Hello"

    theirs = tenacity.Retrying(stop=tenacity.stop_after_attempt(3)).wraps(Hello())
    assert ours_retry(attempts=3)(Hello())() == theirs() == "Hello"


def test_a_coroutine_function_stays_a_coroutine_function() -> None:
    """After tenacity's test_iscoroutinefunction and test_retry_attributes (.retry)."""

    async def fetch() -> int:
        return 1

    for decorated in (ours_retry()(fetch), tenacity.retry(fetch)):
        assert inspect.iscoroutinefunction(decorated)
        assert asyncio.iscoroutinefunction(decorated)
        assert hasattr(decorated, "retry")


# ---- asyncio and re-entrancy ---------------------------------------------------------------


def test_a_coroutine_is_retried_until_it_succeeds() -> None:
    """After tenacity's test_retry (test_asyncio.py): 5 failures, then success on attempt 6."""
    mine, peers = FailsThenSucceeds(5), FailsThenSucceeds(5)

    async def body(thing: FailsThenSucceeds) -> bool:
        await asyncio.sleep(0)
        return thing()

    ours = ours_retry(attempts=6)(body)
    theirs = tenacity.retry(sleep=_no_sleep)(body)

    async def main() -> None:
        assert await ours(mine) is True and await theirs(peers) is True

    asyncio.run(main())
    assert mine.calls == peers.calls == 6


async def _no_sleep(seconds: float) -> None:
    """tenacity's async ``sleep=``: yield to the loop once, wait for nothing."""
    await asyncio.sleep(0)


def test_interleaved_coroutines_count_their_own_attempts() -> None:
    """After tenacity's test_attempt_number_is_correct_for_interleaved_coroutines."""

    def run(decorator: Callable[[Any], Any]) -> list[tuple[str, int]]:
        attempts: list[tuple[str, int]] = []

        async def body(name: str, thing: FailsThenSucceeds) -> bool:
            await asyncio.sleep(0)
            attempts.append((name, thing.calls + 1))
            return thing()

        decorated = decorator(body)

        async def main() -> None:
            assert await asyncio.gather(
                decorated("one", FailsThenSucceeds(3)), decorated("two", FailsThenSucceeds(3))
            ) == [True, True]

        asyncio.run(main())
        return attempts

    mine = run(ours_retry(attempts=4, backoff_s=0))
    peers = run(tenacity.retry(sleep=_no_sleep))
    for attempts in (mine, peers):
        assert attempts[::2] == [("one", 1), ("one", 2), ("one", 3), ("one", 4)]
        assert attempts[1::2] == [("two", 1), ("two", 2), ("two", 3), ("two", 4)]


def nested_calls(mode: str, decorator: Callable[[Any], Any]) -> list[str]:
    """What happens when a failing call of a decorated function first calls it again."""
    results: list[str] = []

    def outcome(subject: str) -> None:
        if subject == "Error":
            results.append(f"{subject} is not working")
            raise Exception(f"{subject} is not working")
        results.append(f"{subject} is working")

    def work(subject: str) -> None:
        if subject == "Error":
            decorated("Fix")
        outcome(subject)

    async def awork(subject: str) -> None:
        if subject == "Error":
            await decorated("Fix")
        outcome(subject)

    decorated = decorator(work if mode == "sync" else awork)
    with pytest.raises(Exception, match="Error is not working"):
        call(mode, decorated, "Error")
    return results


@pytest.mark.parametrize("mode", MODES)
def test_a_nested_call_of_the_same_function_keeps_its_own_attempts(mode: str) -> None:
    """After tenacity's test_issue and test_async (test_issue_478.py): a call inside a call."""
    sleep: Any = Sleeps() if mode == "sync" else _no_sleep
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(2), reraise=True, sleep=sleep)
    expected = ["Fix is working", "Error is not working"] * 2
    assert nested_calls(mode, ours_retry(attempts=2)) == nested_calls(mode, theirs) == expected


# ---- deliberate differences that tenacity's suite does not test ---------------------------


def test_a_spent_budget_reraises_at_once() -> None:
    """Difference (retry budget): ours caps retries at 10 + 20% of the calls over 10 s;
    tenacity retries every call as often as its stop allows."""
    mine, peers = FailsThenSucceeds(10**6), FailsThenSucceeds(10**6)
    ours = retry(attempts=3, clock=FakeClock())(mine)  # the default budget
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(3), sleep=Sleeps())(peers)
    for _ in range(20):
        with pytest.raises(OSError):
            ours()
        with pytest.raises(tenacity.RetryError):
            theirs()
    stats = ours.statistics
    assert peers.calls == 60
    assert mine.calls == stats.attempts == 20 + stats.retries
    assert stats.retries <= 10 + 0.2 * 20 and stats.budget_refusals > 0


def test_a_first_try_that_succeeds_never_starts_tenacity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Difference (first try plain): tenacity's machinery starts only after a failure."""
    begun: list[object] = []
    original = tenacity.BaseRetrying.begin

    def begin(self: tenacity.BaseRetrying) -> None:
        begun.append(self)
        original(self)

    monkeypatch.setattr(tenacity.BaseRetrying, "begin", begin)
    ours = ours_retry(attempts=3)(lambda: "ok")
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(3))(lambda: "ok")
    assert [ours() for _ in range(5)] == ["ok"] * 5
    assert begun == []
    assert [theirs() for _ in range(5)] == ["ok"] * 5
    assert len(begun) == 5
