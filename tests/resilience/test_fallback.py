"""resilience.fallback: values, handlers, exception selection, chaining, sync and async."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.modes import MODES, call
from support.modes import make_without_yield as make

from resilience import (
    BulkheadFull,
    CircuitOpenError,
    InvalidUsage,
    TimeoutExceeded,
    cached,
    fallback,
)
from resilience._validate import is_async
from resilience.fallback import DEFAULT_ON, Fallback
from resilience.testing import FakeClock


def raiser(exc: BaseException) -> Callable[..., Any]:
    def body(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return body


@pytest.mark.parametrize("mode", MODES)
def test_value_served_on_error_and_result_passes_otherwise(mode: str) -> None:
    """A failing call returns the value; a succeeding one returns its own result."""
    failing = fallback("cached page")(make(mode, raiser(ConnectionError("down"))))
    working = fallback("cached page")(make(mode, lambda x: x * 2))
    assert call(mode, failing) == "cached page"
    assert call(mode, working, 21) == 42


@pytest.mark.parametrize("mode", MODES)
def test_none_is_a_valid_fallback_value(mode: str) -> None:
    """fallback(None) serves None rather than complaining that nothing was given."""
    guarded = fallback(None)(make(mode, raiser(OSError())))
    assert call(mode, guarded) is None


@pytest.mark.parametrize("mode", MODES)
def test_handler_gets_exception_args_and_kwargs(mode: str) -> None:
    """A handler is called as handler(exc, *args, **kwargs) and its result returned."""
    error = TimeoutExceeded(2.0, "price")
    seen: list[tuple[Any, ...]] = []

    def handler(exc: Exception, *args: Any, **kwargs: Any) -> str:
        seen.append((exc, args, kwargs))
        return f"default for {args[0]}"

    guarded = fallback(handler)(make(mode, raiser(error)))
    assert call(mode, guarded, "apple", region="eu") == "default for apple"
    assert seen == [(error, ("apple",), {"region": "eu"})]


@pytest.mark.parametrize("mode", MODES)
def test_explicit_value_keyword_returns_a_callable_as_is(mode: str) -> None:
    """value= returns a callable unchanged; handler= calls it."""
    as_value = fallback(value=len)(make(mode, raiser(ValueError())))
    as_handler = fallback(handler=lambda exc: type(exc).__name__)(make(mode, raiser(ValueError())))
    assert call(mode, as_value) is len
    assert call(mode, as_handler) == "ValueError"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "error",
    [
        CircuitOpenError("payments", 3.0),
        TimeoutExceeded(1.5),
        BulkheadFull("payments", 4),
        RuntimeError("anything"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_default_on_degrades_on_rejections_timeouts_and_any_exception(
    mode: str, error: Exception
) -> None:
    """The default on= covers breaker open, timeout, bulkhead full and any Exception."""
    guarded = fallback("degraded")(make(mode, raiser(error)))
    assert call(mode, guarded) == "degraded"
    assert set(DEFAULT_ON) == {CircuitOpenError, TimeoutExceeded, BulkheadFull, Exception}


@pytest.mark.parametrize("mode", MODES)
def test_exceptions_outside_on_pass_through_unchanged(mode: str) -> None:
    """An exception not selected by on= is the very object the function raised."""
    error = KeyError("missing")
    guarded = fallback("x", on=(CircuitOpenError, TimeoutExceeded))(make(mode, raiser(error)))
    with pytest.raises(KeyError) as caught:
        call(mode, guarded)
    assert caught.value is error


def test_keyboard_interrupt_is_never_caught() -> None:
    """BaseExceptions that are not Exceptions (KeyboardInterrupt) pass through."""
    guarded = fallback("x")(raiser(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        guarded()


async def test_cancellation_is_never_turned_into_a_fallback() -> None:
    """Cancelling a guarded coroutine cancels it; the fallback does not answer."""
    started = asyncio.Event()
    served: list[Exception] = []

    @fallback("x", on_fallback=served.append)
    async def slow() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert served == []


@pytest.mark.parametrize("mode", MODES)
def test_stacked_fallbacks_degrade_in_grades(mode: str) -> None:
    """The inner fallback serves its own errors; what it cannot serve reaches the outer."""
    inner_only = CircuitOpenError("db", 5.0)
    other = TimeoutExceeded(1.0)

    def build(error: Exception) -> Callable[..., Any]:
        graded = fallback("from replica", on=CircuitOpenError)(make(mode, raiser(error)))
        return fallback("static page")(graded)

    assert call(mode, build(inner_only)) == "from replica"
    assert call(mode, build(other)) == "static page"


@pytest.mark.parametrize("mode", MODES)
def test_outer_fallback_catches_what_the_inner_handler_raises(mode: str) -> None:
    """A handler that fails hands its exception (chained to the original) outward."""
    original = ConnectionError("primary down")
    chain: list[Exception] = []

    def replica(exc: Exception) -> str:
        raise ConnectionError("replica down too")

    def last_resort(exc: Exception) -> str:
        chain.extend([exc, exc.__context__])  # type: ignore[list-item]
        return "static"

    guarded = fallback(last_resort)(fallback(replica)(make(mode, raiser(original))))
    assert call(mode, guarded) == "static"
    assert str(chain[0]) == "replica down too"
    assert chain[1] is original


@pytest.mark.parametrize("mode", MODES)
def test_failing_handler_without_outer_fallback_propagates(mode: str) -> None:
    """The handler's own exception reaches the caller; nothing is swallowed."""

    def handler(exc: Exception) -> str:
        raise LookupError("no default either")

    guarded = fallback(handler)(make(mode, raiser(ValueError("bad"))))
    with pytest.raises(LookupError, match="no default either") as caught:
        call(mode, guarded)
    assert isinstance(caught.value.__context__, ValueError)


async def test_async_handler_is_awaited() -> None:
    """An async handler on an async function is awaited."""

    async def handler(exc: Exception, item: str) -> str:
        await asyncio.sleep(0)
        return f"async default for {item}"

    guarded = fallback(handler)(make("async", raiser(OSError())))
    assert await guarded("pear") == "async default for pear"


async def test_sync_handler_on_async_function() -> None:
    """A plain handler works on an async function."""
    guarded = fallback(lambda exc, item: item.upper())(make("async", raiser(OSError())))
    assert await guarded("pear") == "PEAR"


def test_async_handler_on_sync_function_is_refused() -> None:
    """An async handler cannot serve a plain function: InvalidUsage at decoration."""

    async def handler(exc: Exception) -> str:
        return "x"

    with pytest.raises(InvalidUsage, match=r"handler=.*handler.*async"):
        fallback(handler)(lambda: 1)


@pytest.mark.parametrize("mode", MODES)
def test_triggering_exception_is_logged_at_debug_with_traceback(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The exception behind a fallback is logged on resilience.fallback with exc_info."""
    error = CircuitOpenError("search", 2.0)
    guarded = fallback([])(make(mode, raiser(error)))
    with caplog.at_level(logging.DEBUG, logger="resilience.fallback"):
        assert call(mode, guarded) == []
    [record] = [r for r in caplog.records if r.name == "resilience.fallback"]
    assert record.levelno == logging.DEBUG
    assert record.exc_info is not None and record.exc_info[1] is error
    assert "resilience.errors.CircuitOpenError" in record.getMessage()


@pytest.mark.parametrize("mode", MODES)
def test_on_fallback_hook_reports_only_served_fallbacks(mode: str) -> None:
    """on_fallback(exc) runs when the fallback served, not on success or handler failure."""
    served: list[Exception] = []
    error = BulkheadFull("api", 2)
    ok = fallback(0, on_fallback=served.append)(make(mode, lambda: 1))
    degraded = fallback(0, on_fallback=served.append)(make(mode, raiser(error)))
    broken = fallback(raiser(RuntimeError("handler")), on_fallback=served.append)(
        make(mode, raiser(error))
    )
    assert call(mode, ok) == 1
    assert call(mode, degraded) == 0
    with pytest.raises(RuntimeError):
        call(mode, broken)
    assert served == [error]


@pytest.mark.parametrize("mode", MODES)
def test_wrapper_keeps_signature_name_and_kind(mode: str) -> None:
    """functools.wraps: same signature, name and __wrapped__; async stays async."""

    def price(item: str, *, quantity: int = 1) -> float:
        return 1.0

    async def aprice(item: str, *, quantity: int = 1) -> float:
        return 1.0

    fn = price if mode == "sync" else aprice
    guarded = fallback(0.0)(fn)
    assert inspect.signature(guarded) == inspect.signature(fn)
    assert guarded.__name__ == fn.__name__
    assert guarded.__wrapped__ is fn  # type: ignore[attr-defined]
    assert is_async(guarded) == (mode == "async")


@pytest.mark.parametrize("mode", MODES)
def test_fallback_over_cache_serves_when_cache_cannot(mode: str, clock: FakeClock) -> None:
    """Policy order (fallback outside cache): cached values first, fallback on a cold error."""
    calls: list[str] = []

    def body(item: str) -> str:
        calls.append(item)
        if item == "bad":
            raise ConnectionError(item)
        return item.upper()

    guarded = fallback("n/a")(cached(ttl=60, clock=clock)(make(mode, body)))
    assert [call(mode, guarded, "ok"), call(mode, guarded, "ok")] == ["OK", "OK"]
    assert call(mode, guarded, "bad") == "n/a"
    assert calls == ["ok", "bad"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"fallback\(\) got nothing: give exactly one"),
        ({"args": (1,), "value": 2}, "got a positional argument and value="),
        ({"value": 1, "handler": len}, "got value= and handler="),
        ({"handler": 5}, r"handler=5: must be callable"),
        ({"args": (0,), "on": [ValueError, "x"]}, "'x' is not an exception class"),
        ({"args": (0,), "on": int}, "is not an exception class"),
        ({"args": (0,), "on": KeyboardInterrupt}, "KeyboardInterrupt is a BaseException"),
        ({"args": (0,), "on": asyncio.CancelledError}, "CancelledError is a BaseException"),
        ({"args": (0,), "on": ()}, "at least one exception class"),
        ({"args": (0,), "on_fallback": 3}, "on_fallback=3: must be a plain"),
    ],
)
def test_bad_input_fails_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """Each bad parameter raises InvalidUsage naming it, its value and what is allowed."""
    options = {k: v for k, v in kwargs.items() if k != "args"}  # the parameter stays intact
    with pytest.raises(InvalidUsage, match=message):
        fallback(*kwargs.get("args", ()), **options)


def test_decorating_a_non_callable_is_refused() -> None:
    """Applying a Fallback to something that cannot be called raises InvalidUsage."""
    with pytest.raises(InvalidUsage, match="fn=3"):
        fallback(0)(3)  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    """The Fallback configuration cannot be changed after construction."""
    config = fallback(1, on=ValueError)
    assert isinstance(config, Fallback) and config.on == (ValueError,)
    with pytest.raises(AttributeError):
        config.value = 2  # type: ignore[misc]


_ERRORS = st.sampled_from(
    [ValueError, KeyError, OSError, ConnectionError, TimeoutExceeded, ZeroDivisionError]
)


@given(
    value=st.one_of(st.integers(), st.text(), st.none()),
    error=st.one_of(st.none(), _ERRORS),
    argument=st.integers(),
)
def test_property_fallback_answers_exactly_when_the_call_fails(
    value: object, error: type[Exception] | None, argument: int
) -> None:
    """For any value: a success is returned unchanged, any Exception yields the value."""

    def body(x: int) -> int:
        if error is not None:
            raise error(1.0) if error is TimeoutExceeded else error("boom")
        return x + 1

    expected = value if error is not None else argument + 1
    assert fallback(value=value)(body)(argument) == expected

    async def main() -> object:
        return await fallback(value=value)(make("async", body))(argument)

    assert asyncio.run(main()) == expected
