"""pybreaker's own tests (tests/pybreaker_test.py, 1.4.1), ported to resilience.CircuitBreaker.

Each test runs pybreaker next to ours on the same calls and compares what a caller sees.
pybreaker's reset timeout runs on the wall clock, which :func:`support.peers.drive_pybreaker`
ties to the test's FakeClock, so nothing sleeps. Ours runs in four modes (a decorated
plain function, a decorated coroutine function, ``call`` and ``call_async``); pybreaker
runs plain calls (its ``call_async`` is for Tornado). Where callwise differs on purpose
the test asserts both behaviours and names the difference (see DIFFERENCES.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

import pybreaker
import pytest
from support.breakers import guarded
from support.peers import WallClock, drive_pybreaker, run_threads

from resilience import BreakerState, CircuitBreaker, CircuitOpenError
from resilience.testing import FakeClock

MODES = ["sync", "async", "call", "call_async"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def wall(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> WallClock:
    """pybreaker's wall clock, on the same fake seconds as ``clock``."""
    return drive_pybreaker(clock, monkeypatch)


def pair(
    clock: FakeClock, *, reset_timeout_s: float = 60, **options: Any
) -> tuple[CircuitBreaker, pybreaker.CircuitBreaker]:
    """Ours and pybreaker's breaker built with the same options."""
    ours = CircuitBreaker(reset_timeout_s=reset_timeout_s, clock=clock, **options)
    theirs = pybreaker.CircuitBreaker(reset_timeout=reset_timeout_s, **options)
    return ours, theirs


def raising(error: type[BaseException] | BaseException) -> Callable[..., NoReturn]:
    def fn(*args: Any, **kwargs: Any) -> NoReturn:
        raise error

    return fn


def outcome(call: Callable[[], Any]) -> str:
    """``"ok"``, or the name of the exception one call raised."""
    try:
        call()
    except Exception as exc:
        return type(exc).__name__
    return "ok"


def states(ours: CircuitBreaker, theirs: pybreaker.CircuitBreaker) -> tuple[Any, ...]:
    """Both breakers' (state, fail_counter), ours first."""
    return (ours.current_state, ours.fail_counter), (theirs.current_state, theirs.fail_counter)


class Events(pybreaker.CircuitBreakerListener):
    """A pybreaker listener that writes what it hears as text, as pybreaker's tests do.

    Thread-safe (each event is one ``list.append``), so that it counts right with ours,
    which calls listeners from several threads at once.
    """

    def __init__(self) -> None:
        self.heard: list[str] = []
        self.state_types: list[type] = []

    @property
    def out(self) -> str:
        return "".join(self.heard)

    @property
    def successes(self) -> int:
        return self.heard.count("success")

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        self.heard.append("-")

    def success(self, cb: Any) -> None:
        self.heard.append("success")

    def failure(self, cb: Any, exc: BaseException) -> None:
        self.heard.append("failure")

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self.heard.append(f"{old_state.name}->{new_state.name},")
        self.state_types.append(type(new_state))


# ---- closed state: counting -----------------------------------------------------------


def test_a_success_keeps_it_closed(mode: str, clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_successful_call: the result comes back, nothing is counted."""
    ours, theirs = pair(clock)
    assert guarded(ours, lambda: True, mode)() is True
    assert theirs.call(lambda: True) is True
    assert states(ours, theirs) == (("closed", 0), ("closed", 0))


def test_one_failure_is_counted_and_keeps_it_closed(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_one_failed_call: the error passes through and counts once."""
    ours, theirs = pair(clock)
    err = raising(NotImplementedError)
    assert outcome(guarded(ours, err, mode)) == outcome(lambda: theirs.call(err))
    assert states(ours, theirs) == (("closed", 1), ("closed", 1))


def test_a_success_after_a_failure_resets_the_count(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_one_successful_call_after_failed_call: a success resets to 0."""
    ours, theirs = pair(clock)
    err, suc = raising(NotImplementedError), lambda: True
    seen = []
    for fn in (err, suc):
        outcome(guarded(ours, fn, mode))
        outcome(lambda fn=fn: theirs.call(fn))
        seen.append(states(ours, theirs))
    assert seen == [(("closed", 1), ("closed", 1)), (("closed", 0), ("closed", 0))]


def test_the_call_that_trips_raises_its_own_error(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_several_failed_calls_setting_absent and
    test_throw_new_error_on_trip_true: fail_max failures open it.

    Difference (trip error): the tripping call raises the function's own error; pybreaker
    raises CircuitBreakerError.
    """
    ours, theirs = pair(clock, fail_max=3)
    err = raising(NotImplementedError)
    mine = [outcome(guarded(ours, err, mode)) for _ in range(3)]
    peers = [outcome(lambda: theirs.call(err)) for _ in range(3)]
    assert mine == ["NotImplementedError"] * 3
    assert peers == ["NotImplementedError", "NotImplementedError", "CircuitBreakerError"]
    assert states(ours, theirs) == (("open", 3), ("open", 3))


def test_trips_like_pybreaker_told_not_to_throw_a_new_error(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_throw_new_error_on_trip_false: the same errors, then rejections.

    Difference (rejection error): the rejection is CircuitOpenError, not a CircuitBreakerError.
    """
    ours = CircuitBreaker(fail_max=3, clock=clock)
    theirs = pybreaker.CircuitBreaker(fail_max=3, throw_new_error_on_trip=False)
    err = raising(NotImplementedError)
    mine = [outcome(guarded(ours, err, mode)) for _ in range(4)]
    peers = [outcome(lambda: theirs.call(err)) for _ in range(4)]
    assert mine[:3] == peers[:3] == ["NotImplementedError"] * 3
    assert (mine[3], peers[3]) == ("CircuitOpenError", "CircuitBreakerError")
    assert not issubclass(CircuitOpenError, pybreaker.CircuitBreakerError)
    assert states(ours, theirs) == (("open", 3), ("open", 3))


def test_the_tripping_error_shows_in_the_traceback(clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_traceback_in_circuitbreaker_error: the caller sees the cause."""
    ours, theirs = pair(clock, fail_max=3)
    err = raising(NotImplementedError)
    texts = []
    for breaker in (ours, theirs):
        for _ in range(2):
            with contextlib.suppress(NotImplementedError):
                breaker.call(err)
        try:
            breaker.call(err)
        except Exception:
            texts.append(traceback.format_exc())
    assert all("NotImplementedError" in text for text in texts)
    assert states(ours, theirs) == (("open", 3), ("open", 3))


# ---- reset timeout and half-open probes -------------------------------------------------


def test_a_failed_probe_after_the_timeout_opens_it_again(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_failed_call_after_timeout: the failed probe counts (4) and reopens."""
    ours, theirs = pair(clock, fail_max=3, reset_timeout_s=30)
    err = raising(NotImplementedError)
    for _ in range(3):
        outcome(guarded(ours, err, mode))
        outcome(lambda: theirs.call(err))
    clock.advance(30)
    mine, peer = outcome(guarded(ours, err, mode)), outcome(lambda: theirs.call(err))
    assert (mine, peer) == ("NotImplementedError", "CircuitBreakerError")  # trip error
    assert states(ours, theirs) == (("open", 4), ("open", 4))


def test_a_successful_probe_closes_it_and_calls_the_function_once(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_successful_after_timeout: rejected while open, one probe closes."""
    ours, theirs = pair(clock, fail_max=3, reset_timeout_s=30)
    err = raising(NotImplementedError)
    calls = {"ours": 0, "theirs": 0}

    def suc(side: str) -> Callable[[], bool]:
        def fn() -> bool:
            calls[side] += 1
            return True

        return fn

    mine_suc, their_suc = guarded(ours, suc("ours"), mode), suc("theirs")
    for _ in range(3):
        outcome(guarded(ours, err, mode))
        outcome(lambda: theirs.call(err))
    assert (outcome(mine_suc), outcome(lambda: theirs.call(their_suc))) == (
        "CircuitOpenError",
        "CircuitBreakerError",
    )
    clock.advance(29.999)
    assert outcome(mine_suc) == "CircuitOpenError"
    assert outcome(lambda: theirs.call(their_suc)) == "CircuitBreakerError"
    assert calls == {"ours": 0, "theirs": 0}
    clock.advance(0.001)
    assert mine_suc() is True and theirs.call(their_suc) is True
    assert states(ours, theirs) == (("closed", 0), ("closed", 0))
    assert calls == {"ours": 1, "theirs": 1}


def test_a_failed_probe_reopens_a_half_open_breaker(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_failed_call_when_halfopen: a failed probe counts 1 and reopens."""
    ours, theirs = pair(clock, reset_timeout_s=30)
    for breaker in (ours, theirs):
        breaker.open()  # half_open() is pybreaker's only: both get there by the timeout
    clock.advance(30)
    assert states(ours, theirs) == (("open", 0), ("open", 0))
    err = raising(NotImplementedError)
    assert outcome(guarded(ours, err, mode)) == "NotImplementedError"
    assert outcome(lambda: theirs.call(err)) == "CircuitBreakerError"  # trip error
    assert states(ours, theirs) == (("open", 1), ("open", 1))


def test_a_successful_probe_closes_a_half_open_breaker(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_successful_call_when_halfopen: the probe's success closes it."""
    ours, theirs = pair(clock, reset_timeout_s=30)
    for breaker in (ours, theirs):
        breaker.open()
    clock.advance(30)
    assert guarded(ours, lambda: True, mode)() is True and theirs.call(lambda: True) is True
    assert states(ours, theirs) == (("closed", 0), ("closed", 0))


def test_close_resets_the_count_and_closes(mode: str, clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_close: close() by hand admits calls again, from a count of 0."""
    ours, theirs = pair(clock, fail_max=3)
    err = raising(NotImplementedError)
    for _ in range(4):
        outcome(guarded(ours, err, mode))
        outcome(lambda: theirs.call(err))
    assert states(ours, theirs) == (("open", 3), ("open", 3))
    ours.close()
    theirs.close()
    assert states(ours, theirs) == (("closed", 0), ("closed", 0))


def test_one_probe_success_closes_it_by_default(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_success_threshold_default_behavior: success_threshold is 1."""
    ours, theirs = pair(clock, fail_max=3, reset_timeout_s=10)
    err = raising(NotImplementedError)
    for _ in range(3):
        outcome(guarded(ours, err, mode))
        outcome(lambda: theirs.call(err))
    clock.advance(10)
    assert guarded(ours, lambda: True, mode)() is True and theirs.call(lambda: True) is True
    assert (ours.current_state, ours.success_counter) == ("closed", 0)
    assert (theirs.current_state, theirs.success_counter) == ("closed", 0)


def test_success_threshold_probes_must_succeed_to_close(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_success_threshold_multiple_successes_required: 3 probes close it."""
    ours, theirs = pair(clock, fail_max=3, reset_timeout_s=10, success_threshold=3)
    err = raising(NotImplementedError)
    for _ in range(3):
        outcome(guarded(ours, err, mode))
        outcome(lambda: theirs.call(err))
    clock.advance(10)
    seen = []
    for _ in range(3):
        guarded(ours, lambda: True, mode)()
        theirs.call(lambda: True)
        seen.append(((ours.current_state, ours.success_counter), theirs.current_state))
        assert ours.success_counter == theirs.success_counter
    assert seen == [
        (("half-open", 1), "half-open"),
        (("half-open", 2), "half-open"),
        (("closed", 0), "closed"),
    ]


def test_a_failed_probe_forgets_the_probe_successes(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_success_threshold_failure_resets_counter: 2 successes, then reopen."""
    ours, theirs = pair(clock, fail_max=3, reset_timeout_s=10, success_threshold=3)
    err = raising(NotImplementedError)
    for _ in range(3):
        outcome(guarded(ours, err, mode))
        outcome(lambda: theirs.call(err))
    clock.advance(10)
    for _ in range(2):
        guarded(ours, lambda: True, mode)()
        theirs.call(lambda: True)
    assert ours.success_counter == theirs.success_counter == 2
    assert outcome(guarded(ours, err, mode)) == "NotImplementedError"
    assert outcome(lambda: theirs.call(err)) == "CircuitBreakerError"  # trip error
    assert (ours.current_state, ours.success_counter) == ("open", 0)
    assert (theirs.current_state, theirs.success_counter) == ("open", 0)


# ---- listeners --------------------------------------------------------------------------


def test_listeners_hear_each_transition(clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_transition_events: closed->open->half-open->closed, by name.

    Difference (listener states): ours passes BreakerState members, pybreaker its state objects.
    """
    mine, peers = Events(), Events()
    ours, theirs = pair(clock, reset_timeout_s=10, listeners=())
    ours.add_listener(mine)
    theirs.add_listener(peers)
    for breaker in (ours, theirs):
        breaker.open()
    assert (ours.current_state, theirs.current_state) == ("open", "open")
    clock.advance(10)
    ours.call(lambda: True)
    theirs.call(lambda: True)
    expected = "closed->open,open->half-open,-half-open->closed,success"
    assert mine.out == peers.out == expected
    assert mine.state_types == [BreakerState] * 3
    assert all(issubclass(kind, pybreaker.CircuitBreakerState) for kind in peers.state_types)


def test_listeners_hear_each_call_success_and_failure(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_call_events: before_call, then success or failure, in order."""
    mine, peers = Events(), Events()
    ours = CircuitBreaker(listeners=[mine], clock=clock)
    theirs = pybreaker.CircuitBreaker(listeners=[peers])
    assert guarded(ours, lambda: True, mode)() is True and theirs.call(lambda: True) is True
    err = raising(NotImplementedError)
    assert outcome(guarded(ours, err, mode)) == outcome(lambda: theirs.call(err))
    assert mine.out == peers.out == "-success-failure"


def test_listeners_can_be_added_and_removed_later(clock: FakeClock) -> None:
    """After pybreaker's test_add_listener, test_add_listeners and test_remove_listener."""
    ours, theirs = CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()
    first, second, third = (pybreaker.CircuitBreakerListener() for _ in range(3))
    for breaker in (ours, theirs):
        assert tuple(breaker.listeners) == ()
        breaker.add_listener(first)
        assert tuple(breaker.listeners) == (first,)
        breaker.add_listeners(second, third)
        assert tuple(breaker.listeners) == (first, second, third)
        breaker.remove_listener(first)
        assert tuple(breaker.listeners) == (second, third)


# ---- exclude ------------------------------------------------------------------------------


class TaggedError(Exception):
    """An error whose ``value`` an exclude predicate looks at (pybreaker's TestException)."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


def counts_after(
    ours: CircuitBreaker, theirs: pybreaker.CircuitBreaker, errors: list[BaseException], mode: str
) -> tuple[list[int], list[int]]:
    """Raise each error through both breakers; each one's fail_counter after each call."""
    mine, peers = [], []
    for error in errors:
        assert outcome(guarded(ours, raising(error), mode)) == type(error).__name__
        assert outcome(lambda error=error: theirs.call(raising(error))) == type(error).__name__
        mine.append(ours.fail_counter)
        peers.append(theirs.fail_counter)
    return mine, peers


def test_excluded_classes_and_their_subclasses_never_count(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_excluded_exceptions: LookupError and KeyError are not failures.

    Difference (excluded errors): pybreaker counts them as successes (the count drops to 0).
    """
    mine, peers = Events(), Events()
    ours = CircuitBreaker(exclude=[LookupError], listeners=[mine], clock=clock)
    theirs = pybreaker.CircuitBreaker(exclude=[LookupError], listeners=[peers])
    errors = [NotImplementedError(), LookupError(), NotImplementedError(), KeyError("k")]
    assert counts_after(ours, theirs, errors, mode) == ([1, 1, 2, 2], [1, 0, 1, 0])
    assert ours.stats.ignored == 2
    assert mine.out == "-failure--failure-"  # told nothing about excluded errors
    assert peers.out == "-failure-success-failure-success"


def test_exclude_predicates_pick_errors_by_their_content(
    mode: str, clock: FakeClock, wall: WallClock
) -> None:
    """After pybreaker's test_excluded_callable_exceptions: a predicate returning True excludes.

    Difference (excluded errors): pybreaker counts an excluded error as a success.
    """

    def good(exc: BaseException) -> bool:
        return isinstance(exc, TaggedError) and exc.value == "good"

    ours, theirs = (
        CircuitBreaker(exclude=[good], clock=clock),
        pybreaker.CircuitBreaker(exclude=[good]),
    )
    errors = [TaggedError("bad"), TaggedError("good"), NotImplementedError()]
    assert counts_after(ours, theirs, errors, mode) == ([1, 1, 2], [1, 0, 1])


def test_exclude_mixes_predicates_and_classes(mode: str, clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_excluded_callable_and_types_exceptions: both kinds in one list.

    Difference (excluded errors): pybreaker counts an excluded error as a success.
    """

    def good(exc: BaseException) -> bool:
        return isinstance(exc, TaggedError) and exc.value == "good"

    rules: list[Any] = [good, LookupError]
    ours, theirs = (
        CircuitBreaker(exclude=rules, clock=clock),
        pybreaker.CircuitBreaker(exclude=rules),
    )
    errors = [TaggedError("bad"), TaggedError("good"), NotImplementedError(), LookupError()]
    assert counts_after(ours, theirs, errors, mode) == ([1, 1, 2, 2], [1, 0, 1, 0])


# ---- configuration and calling ------------------------------------------------------------


def test_the_defaults_are_pybreakers(clock: FakeClock) -> None:
    """After pybreaker's test_default_params: 5 failures, 60 s, nothing excluded, no listener."""
    ours, theirs = CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()
    assert (ours.fail_counter, ours.current_state) == (theirs.fail_counter, theirs.current_state)
    assert (ours.config.fail_max, ours.config.reset_timeout_s) == (
        theirs.fail_max,
        theirs.reset_timeout,
    )
    assert (ours.config.exclude, ours.config.exclude_if) == ((), ())
    assert tuple(theirs.excluded_exceptions) == ()
    assert ours.listeners == tuple(theirs.listeners) == ()
    assert ours.config.success_threshold == theirs.success_threshold == 1


@pytest.mark.parametrize(
    ("options", "ours_field", "theirs_field"),
    [
        ({"reset_timeout_s": 30}, "reset_timeout_s", "reset_timeout"),
        ({"fail_max": 10}, "fail_max", "fail_max"),
        ({"success_threshold": 5}, "success_threshold", "success_threshold"),
    ],
)
def test_custom_options_are_kept(
    clock: FakeClock, options: dict[str, Any], ours_field: str, theirs_field: str
) -> None:
    """After pybreaker's test_new_with_custom_reset_timeout, test_new_with_custom_fail_max
    and test_success_threshold_property: the options given are the options used."""
    ours, theirs = pair(clock, **options)
    assert getattr(ours.config, ours_field) == getattr(theirs, theirs_field)
    assert ours.fail_counter == theirs.fail_counter == 0


def test_custom_excluded_exceptions_are_kept(clock: FakeClock) -> None:
    """After pybreaker's test_new_with_custom_excluded_exceptions: exclude=[Exception]."""
    ours, theirs = pair(clock, exclude=[Exception])
    assert ours.config.exclude == tuple(theirs.excluded_exceptions) == (Exception,)


def test_the_name_is_kept(clock: FakeClock) -> None:
    """After pybreaker's test_name: the name given is the breaker's name."""
    ours, theirs = pair(clock, name="test_breaker")
    assert ours.name == theirs.name == "test_breaker"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [((), {}, True), ((42, "abc"), {}, [42, "abc"]), ((), {"a": 1, "b": 2}, {"a": 1, "b": 2})],
    ids=["no-args", "args", "kwargs"],
)
def test_call_passes_arguments_through(
    mode: str,
    clock: FakeClock,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expected: Any,
) -> None:
    """After pybreaker's test_call_with_no_args, test_call_with_args, test_call_with_kwargs
    and (ours on asyncio, theirs on Tornado) test_call_async_with_no_args,
    test_call_async_with_args and test_call_async_with_kwargs."""

    def fn(*args: Any, **kwargs: Any) -> Any:
        return list(args) if args else kwargs or True

    ours, theirs = CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()
    assert guarded(ours, fn, mode)(*args, **kwargs) == expected
    assert theirs.call(fn, *args, **kwargs) == expected


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_decorator_keeps_name_and_docstring_and_counts(clock: FakeClock, kind: str) -> None:
    """After pybreaker's test_decorator and test_decorator_call_future (ours on async def)."""
    ours, theirs = CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()

    def suc(value: Any) -> Any:
        """Docstring"""
        return value

    def err(value: Any) -> Any:
        """Docstring"""
        raise NotImplementedError

    async def asuc(value: Any) -> Any:
        """Docstring"""
        return value

    async def aerr(value: Any) -> Any:
        """Docstring"""
        raise NotImplementedError

    functions = (suc, err) if kind == "sync" else (asuc, aerr)
    mine_suc, mine_err = (ours(fn) for fn in functions)
    their_suc, their_err = theirs(suc), theirs(err)
    for wrapper in (mine_suc, mine_err, their_suc, their_err):
        assert wrapper.__doc__ == "Docstring"
    assert (mine_suc.__name__, mine_err.__name__) == (functions[0].__name__, functions[1].__name__)
    assert (their_suc.__name__, their_err.__name__) == ("suc", "err")
    assert outcome(lambda: run(mine_err, True)) == outcome(lambda: their_err(True))
    assert ours.fail_counter == theirs.fail_counter == 1
    assert run(mine_suc, True) is True and their_suc(True) is True
    assert ours.fail_counter == theirs.fail_counter == 0


def run(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``; when it returns a coroutine, run it to its result."""
    result = fn(*args)
    return asyncio.run(result) if inspect.iscoroutine(result) else result


# ---- generators and context managers ------------------------------------------------------


def test_a_generator_counts_when_it_fails_or_is_exhausted(clock: FakeClock) -> None:
    """After pybreaker's test_generator: a failure while iterating counts, exhaustion succeeds."""
    for breaker in (CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()):

        @breaker
        def suc(value: Any) -> Iterator[Any]:
            """Docstring"""
            yield value

        @breaker
        def err(value: Any) -> Iterator[Any]:
            """Docstring"""
            sent = yield value
            raise NotImplementedError(sent)

        good, bad = suc(True), err(True)
        next(bad)
        with pytest.raises(NotImplementedError):
            bad.send(True)
        assert breaker.fail_counter == 1
        assert next(good) is True
        with pytest.raises(StopIteration):
            next(good)
        assert breaker.fail_counter == 0


def test_a_contextmanager_over_a_guarded_generator_translates_errors(clock: FakeClock) -> None:
    """After pybreaker's test_contextmanager: the error the generator turns it into is raised."""
    for breaker in (CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()):

        @contextlib.contextmanager
        @breaker
        def session() -> Iterator[None]:
            try:
                yield
            except NotImplementedError:
                raise ValueError("translated") from None

        with pytest.raises(ValueError, match="translated"), session():
            raise NotImplementedError
        assert breaker.fail_counter == 1
        with session():
            pass
        assert breaker.fail_counter == 0


def test_a_generator_is_admitted_at_its_first_next(clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_generator, on an open breaker.

    Difference (generator admission): ours decides at the first next(), so an unstarted
    generator holds no probe slot and @contextmanager works; pybreaker rejects at creation.
    """
    ours, theirs = pair(clock)
    for breaker in (ours, theirs):
        breaker.open()

    def items() -> Iterator[int]:
        yield from range(3)

    mine = ours(items)()  # created: nothing decided yet
    with pytest.raises(CircuitOpenError):
        next(mine)
    with pytest.raises(pybreaker.CircuitBreakerError):
        theirs(items)()


def test_closing_a_generator_early_is_no_verdict(clock: FakeClock) -> None:
    """After pybreaker's test_generator, closed before the end.

    Difference (cancellation): GeneratorExit is no failure for ours; pybreaker counts it.
    """
    ours, theirs = CircuitBreaker(clock=clock), pybreaker.CircuitBreaker()
    for breaker in (ours, theirs):

        @breaker
        def items() -> Iterator[int]:
            yield from range(3)

        started = items()
        assert next(started) == 0
        started.close()
    assert (ours.fail_counter, theirs.fail_counter) == (0, 1)
    assert ours.stats.ignored == 1


def test_the_wrapper_keeps_defaults_and_kwdefaults(clock: FakeClock) -> None:
    """Difference (wrapper defaults): ours carries the function's __defaults__ and
    __kwdefaults__ (as tenacity's wrappers do); pybreaker's wrapper has its own (None)."""

    def fn(a: int = 1, *, b: int = 2) -> int:
        return a + b

    mine, peers = CircuitBreaker(clock=clock)(fn), pybreaker.CircuitBreaker()(fn)
    assert (mine.__defaults__, mine.__kwdefaults__) == ((1,), {"b": 2})
    assert (peers.__defaults__, peers.__kwdefaults__) == (None, None)


# ---- storage (memory) -------------------------------------------------------------------


@pytest.mark.parametrize("state", [pybreaker.STATE_OPEN, pybreaker.STATE_CLOSED])
def test_the_initial_state_is_read_from_the_storage(clock: FakeClock, state: str) -> None:
    """After pybreaker's test_default_state: a breaker starts in its storage's state."""
    ours = CircuitBreaker(storage=pybreaker.CircuitMemoryStorage(state), clock=clock)
    theirs = pybreaker.CircuitBreaker(state_storage=pybreaker.CircuitMemoryStorage(state))
    assert ours.state.name == theirs.state.name == state


def test_a_half_open_storage_is_adopted_as_open(clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_default_state (half-open).

    Difference (shared half-open): ours rejects while another process probes (at most one
    reset timeout); pybreaker starts half-open and lets its next call probe too.
    """
    ours = CircuitBreaker(
        storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_HALF_OPEN),
        reset_timeout_s=30,
        clock=clock,
    )
    theirs = pybreaker.CircuitBreaker(
        state_storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_HALF_OPEN)
    )
    assert (ours.state.name, theirs.state.name) == ("open", "half-open")
    assert outcome(lambda: ours.call(lambda: True)) == "CircuitOpenError"
    assert theirs.call(lambda: True) is True and theirs.current_state == "closed"
    clock.advance(30)
    assert ours.call(lambda: True) is True and ours.current_state == "closed"


def test_a_breaker_built_on_an_open_storage_tells_no_listener(clock: FakeClock) -> None:
    """After pybreaker's test_notify_not_called_on_init: adopting a state is no transition."""
    mine, peers = Events(), Events()
    CircuitBreaker(
        storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_OPEN), listeners=[mine], clock=clock
    )
    pybreaker.CircuitBreaker(
        state_storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_OPEN), listeners=[peers]
    )
    assert mine.out == peers.out == ""


@pytest.mark.parametrize(
    "state", [pybreaker.STATE_OPEN, pybreaker.STATE_CLOSED, pybreaker.STATE_HALF_OPEN]
)
def test_the_storage_fail_counter_is_not_adopted(clock: FakeClock, state: str) -> None:
    """After pybreaker's test_failure_count_not_reset_during_creation.

    Difference (shared failure count): failures are counted per process, so ours starts at
    0; pybreaker reads the storage's counter (1).
    """
    mine, peers = pybreaker.CircuitMemoryStorage(state), pybreaker.CircuitMemoryStorage(state)
    mine.increment_counter()
    peers.increment_counter()
    ours = CircuitBreaker(storage=mine, clock=clock)
    theirs = pybreaker.CircuitBreaker(state_storage=peers)
    assert (ours.fail_counter, theirs.fail_counter) == (0, 1)
    assert mine.counter == 1  # ours leaves the shared counter alone


@pytest.mark.parametrize(
    "state", [pybreaker.STATE_OPEN, pybreaker.STATE_CLOSED, pybreaker.STATE_HALF_OPEN]
)
def test_building_a_breaker_leaves_the_storage_opened_at_alone(
    clock: FakeClock, state: str
) -> None:
    """After pybreaker's test_state_opened_at_not_reset_during_creation."""
    for build in (
        lambda storage: CircuitBreaker(storage=storage, clock=clock),
        lambda storage: pybreaker.CircuitBreaker(state_storage=storage),
    ):
        storage = pybreaker.CircuitMemoryStorage(state)
        opened_at = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
        storage.opened_at = opened_at
        build(storage)
        assert storage.opened_at == opened_at and storage.state == state


# ---- threads ------------------------------------------------------------------------------


def test_failures_from_threads_are_all_counted(clock: FakeClock) -> None:
    """After pybreaker's test_fail_thread_safety: 3 threads x 500 failures count 1500."""

    class SpecificError(Exception):
        pass

    for breaker in (
        CircuitBreaker(fail_max=3000, reset_timeout_s=1, clock=clock),
        pybreaker.CircuitBreaker(fail_max=3000, reset_timeout=1),
    ):
        err = breaker(raising(SpecificError))

        def trigger(err: Callable[[], Any] = err) -> None:
            for _ in range(500):
                with contextlib.suppress(SpecificError):
                    err()

        run_threads(trigger, 3)
        assert breaker.fail_counter == 1500


def test_successes_from_threads_all_reach_the_listener(clock: FakeClock) -> None:
    """After pybreaker's test_success_thread_safety: 3 threads x 500 successes, 1500 heard."""
    for make in (
        lambda listener: CircuitBreaker(fail_max=3000, listeners=[listener], clock=clock),
        lambda listener: pybreaker.CircuitBreaker(fail_max=3000, listeners=[listener]),
    ):
        listener = Events()
        suc = make(listener)(lambda: True)

        def trigger(suc: Callable[[], Any] = suc) -> None:
            for _ in range(500):
                suc()

        run_threads(trigger, 3)
        assert listener.successes == 1500


def test_calls_through_one_breaker_run_at_the_same_time(clock: FakeClock) -> None:
    """After pybreaker's test_success_thread_safety (its listener relies on pybreaker's lock).

    Difference (no lock across the call): ours lets 4 threads be inside the guarded
    function (and the listeners) at once; pybreaker holds its lock while the function runs,
    so a listener written for pybreaker that is not thread-safe may lose updates with ours.
    """
    ours = CircuitBreaker(clock=clock)
    inside = threading.Barrier(4)
    run_threads(ours(lambda: inside.wait(20)), 4)  # all 4 inside at once, or it breaks
    assert ours.stats.successes == 4

    theirs = pybreaker.CircuitBreaker()
    held: list[bool] = []

    def peek() -> None:
        # pybreaker's own lock (a private attribute): is it held while the function runs?
        probe = threading.Thread(target=lambda: held.append(not _try_lock(theirs._lock)))
        probe.start()
        probe.join(20)

    theirs.call(peek)
    assert held == [True]


def _try_lock(lock: Any) -> bool:
    """Take and release ``lock`` if it is free; False when another thread holds it."""
    if lock.acquire(blocking=False):
        lock.release()
        return True
    return False


def test_only_one_thread_moves_it_to_half_open(clock: FakeClock, wall: WallClock) -> None:
    """After pybreaker's test_half_open_thread_safety: 5 threads when a probe is due, 1 move."""
    for make in (
        lambda listener: CircuitBreaker(
            fail_max=1, reset_timeout_s=0.01, listeners=[listener], clock=clock
        ),
        lambda listener: pybreaker.CircuitBreaker(
            fail_max=1, reset_timeout=0.01, listeners=[listener]
        ),
    ):
        listener = Events()
        breaker = make(listener)
        breaker.open()
        clock.advance(0.01)
        err = breaker(raising(Exception))

        def trigger(err: Callable[[], Any] = err) -> None:
            with contextlib.suppress(Exception):
                err()

        run_threads(trigger, 5)
        assert listener.out.count("->half-open") == 1
        assert breaker.current_state == "open"


def test_threads_never_count_more_failures_than_fail_max(clock: FakeClock) -> None:
    """After pybreaker's test_fail_max_thread_safety: 3 threads x 2000 failures stop at 3000."""
    for breaker in (
        CircuitBreaker(fail_max=3000, reset_timeout_s=1, clock=clock),
        pybreaker.CircuitBreaker(fail_max=3000, reset_timeout=1),
    ):
        err = breaker(raising(Exception))

        def trigger(err: Callable[[], Any] = err) -> None:
            for _ in range(2000):
                with contextlib.suppress(Exception):
                    err()

        run_threads(trigger, 3)
        assert breaker.fail_counter == 3000


# ---- deliberate differences that pybreaker's suite does not test --------------------------


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_is_no_failure(
    mode: str, clock: FakeClock, wall: WallClock, interrupt: type[BaseException]
) -> None:
    """Difference (cancellation): ours never counts a BaseException; pybreaker trips on it."""
    ours, theirs = pair(clock, fail_max=2)
    for _ in range(3):
        with pytest.raises(interrupt):
            guarded(ours, raising(interrupt), mode)()
    seen = []
    for _ in range(3):
        try:
            theirs.call(raising(interrupt))
        except BaseException as exc:
            seen.append(type(exc))
    assert seen == [interrupt, pybreaker.CircuitBreakerError, pybreaker.CircuitBreakerError]
    assert states(ours, theirs) == (("closed", 0), ("open", 2))
    assert ours.stats.ignored == 3


def test_the_reset_timeout_runs_on_the_monotonic_clock(clock: FakeClock, wall: WallClock) -> None:
    """Difference (monotonic time): a wall-clock jump lets pybreaker probe early, not ours."""
    ours, theirs = pair(clock, reset_timeout_s=60)
    for breaker in (ours, theirs):
        breaker.open()
    wall.jump(3600)  # an NTP step forward: the wall clock moves, the monotonic one does not
    assert outcome(lambda: ours.call(lambda: True)) == "CircuitOpenError"
    assert theirs.call(lambda: True) is True and theirs.current_state == "closed"
    clock.advance(60)
    assert ours.call(lambda: True) is True


class BrokenStorage(pybreaker.CircuitMemoryStorage):
    """A memory storage that fails while ``broken`` is set (a shared store that went away)."""

    def __init__(self) -> None:
        super().__init__(pybreaker.STATE_CLOSED)
        self.broken = False

    @property
    def state(self) -> str:
        if self.broken:
            raise ConnectionError("storage unreachable")
        return str(pybreaker.CircuitMemoryStorage.state.fget(self))

    @state.setter
    def state(self, state: str) -> None:
        if self.broken:
            raise ConnectionError("storage unreachable")
        pybreaker.CircuitMemoryStorage.state.fset(self, state)


def test_a_storage_outage_is_survived(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """Difference (storage outage): ours runs on local state and warns once; pybreaker fails."""
    mine, peers = BrokenStorage(), BrokenStorage()
    ours = CircuitBreaker(storage=mine, fail_max=2, clock=clock)
    theirs = pybreaker.CircuitBreaker(state_storage=peers, fail_max=2)
    mine.broken = peers.broken = True
    with caplog.at_level(logging.WARNING, logger="resilience.breaker"):
        assert [ours.call(lambda: True) for _ in range(3)] == [True] * 3
        assert [outcome(lambda: theirs.call(lambda: True)) for _ in range(3)] == [
            "ConnectionError"
        ] * 3
    assert sum("storage" in r.getMessage() for r in caplog.records) == 1
    for _ in range(2):
        outcome(lambda: ours.call(raising(NotImplementedError)))
    assert ours.current_state == "open"  # the local state still trips
