"""Run a coroutine on resilience's virtual-time loop and say how much virtual time passed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from resilience.virtual_time import run

T = TypeVar("T")


def run_virtual(coro: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """Run ``coro`` on a fresh virtual-time loop (starting at 0 s): its result and the end time."""

    async def timed() -> tuple[T, float]:
        result = await coro
        return result, asyncio.get_running_loop().time()

    return run(timed())
