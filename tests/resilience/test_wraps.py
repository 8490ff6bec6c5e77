"""Every decorator's wrapper looks like the function it wraps, defaults included.

tenacity's wrappers copy ``__defaults__`` and ``__kwdefaults__`` (tenacity/__init__.py,
``wraps``); ours do too, so code reading a decorated function's defaults sees the originals.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import tenacity

from resilience import (
    CircuitBreaker,
    Ledger,
    Policy,
    bulkhead,
    cached,
    circuit_breaker,
    fallback,
    retry,
    timeout,
)
from resilience.testing import FakeClock

DECORATORS: dict[str, Callable[[FakeClock], Callable[[Any], Any]]] = {
    "breaker": lambda clock: CircuitBreaker(clock=clock),
    "breaker with ledger": lambda clock: circuit_breaker(clock=clock, ledger=Ledger()),
    "fallback": lambda clock: fallback(None),
    "retry": lambda clock: retry(clock=clock),
    "timeout": lambda clock: timeout(5, clock=clock),
    "bulkhead": lambda clock: bulkhead(2, clock=clock),
    "cache": lambda clock: cached(ttl=60, clock=clock),
    "policy": lambda clock: Policy(retry=retry(clock=clock), clock=clock),
}


def lookup(key: str, region: str = "eu", *, fresh: bool = False) -> str:
    """Find a key."""
    return f"{key}-{region}-{fresh}"


async def alookup(key: str, region: str = "eu", *, fresh: bool = False) -> str:
    """Find a key."""
    return f"{key}-{region}-{fresh}"


@pytest.mark.parametrize("fn", [lookup, alookup], ids=["sync", "async"])
@pytest.mark.parametrize("make", DECORATORS.values(), ids=DECORATORS.keys())
def test_defaults_name_and_signature_are_kept(
    make: Callable[[FakeClock], Callable[[Any], Any]], fn: Callable[..., Any], clock: FakeClock
) -> None:
    """__defaults__, __kwdefaults__, name, doc and signature are the wrapped function's."""
    wrapped = make(clock)(fn)
    assert wrapped.__defaults__ == ("eu",)
    assert wrapped.__kwdefaults__ == {"fresh": False}
    assert (wrapped.__name__, wrapped.__doc__) == (fn.__name__, "Find a key.")
    assert inspect.signature(wrapped) == inspect.signature(fn)


def test_tenacity_keeps_them_too() -> None:
    """The peer's behaviour this matches."""
    wrapped = tenacity.retry(lookup)
    assert wrapped.__defaults__ == ("eu",) and wrapped.__kwdefaults__ == {"fresh": False}
