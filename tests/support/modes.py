"""One test body run as a plain function or as an ``async def``: the ``mode`` of many tests.

Tests parametrized over :data:`MODES` build the function under test with :func:`make`
(or :func:`make_without_yield`) and run it with :func:`call`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

MODES = ["sync", "async"]


def make(mode: str, body: Callable[..., Any]) -> Callable[..., Any]:
    """A plain or async function that runs ``body``; the async one yields to the loop first."""
    if mode == "sync":

        def fn(*args: Any) -> Any:
            return body(*args)

        return fn

    async def afn(*args: Any) -> Any:
        await asyncio.sleep(0)
        return body(*args)

    return afn


def make_without_yield(mode: str, body: Callable[..., Any]) -> Callable[..., Any]:
    """A plain or ``async def`` function that runs ``body`` (the async one never awaits)."""
    if mode == "sync":

        def plain(*args: Any, **kwargs: Any) -> Any:
            return body(*args, **kwargs)

        return plain

    async def coroutine(*args: Any, **kwargs: Any) -> Any:
        return body(*args, **kwargs)

    return coroutine


def call(mode: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` and return its result, running the coroutine for async functions."""
    if mode == "sync":
        return fn(*args, **kwargs)
    return asyncio.run(fn(*args, **kwargs))
