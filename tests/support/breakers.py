"""Breaker test helpers shared by the in-process and the shared-state (Redis) tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pybreaker
import pytest

from resilience import CircuitBreaker
from resilience.testing import FakeClock


class Backend:
    """A stand-in for a remote function: counts calls, can fail and can take time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls = 0
        self.error: BaseException | None = None
        self.duration_s = 0.0

    def __call__(self, value: str = "ok") -> str:
        self.calls += 1
        self.clock.advance(self.duration_s)
        if self.error is not None:
            raise self.error
        return value


def guarded(breaker: CircuitBreaker, fn: Callable[..., Any], mode: str) -> Callable[..., Any]:
    """``fn`` called through ``breaker`` in ``mode``, as a plain callable."""
    if mode == "sync":
        return breaker(fn)
    if mode == "call":
        return lambda *a, **k: breaker.call(fn, *a, **k)

    async def coroutine_fn(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    if mode == "async":
        wrapped = breaker(coroutine_fn)
        return lambda *a, **k: asyncio.run(wrapped(*a, **k))
    return lambda *a, **k: asyncio.run(breaker.call_async(coroutine_fn, *a, **k))


def fail(call: Callable[..., Any], times: int = 1) -> None:
    """Call ``call`` ``times`` times, each expected to raise the backend's ConnectionError."""
    for _ in range(times):
        with pytest.raises(ConnectionError):
            call()


class Recorder(pybreaker.CircuitBreakerListener):
    """A listener written for pybreaker: records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        self.events.append(("before_call", cb.name, args, kwargs))

    def success(self, cb: Any) -> None:
        self.events.append(("success", cb.name))

    def failure(self, cb: Any, exc: BaseException) -> None:
        self.events.append(("failure", type(exc).__name__))

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self.events.append(("state_change", old_state.name, new_state.name, cb.current_state))
