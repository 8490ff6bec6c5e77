"""A minimal virtual-time asyncio loop for tests: timers fire without real waiting.

When nothing is ready the loop jumps its clock to the next timer instead of sleeping,
so ``asyncio.timeout(5)`` around ``asyncio.sleep(60)`` fails at virtual time 5 at once.
Cross-thread wake-ups (``call_soon_threadsafe``) still work: with no timer pending the
loop waits for them on its real selector.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            return super().select(None)  # type: ignore[no-any-return]
        events = super().select(0)
        if not events and timeout > 0:
            self.now += timeout
        return events  # type: ignore[no-any-return]


class VirtualLoop(asyncio.SelectorEventLoop):
    """A selector loop whose ``time()`` is virtual and jumps to the next timer."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def run_virtual(coro: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """Run ``coro`` on a fresh virtual loop; its result and the virtual seconds it took."""
    loop = VirtualLoop()
    try:
        result = loop.run_until_complete(coro)
        return result, loop.time()
    finally:
        loop.close()
