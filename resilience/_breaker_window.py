"""The count-based sliding window behind the circuit breaker's rate rules.

It holds the outcomes of the last ``size`` calls, as resilience4j's COUNT_BASED window
does, and keeps running totals so that adding an outcome and reading a rate cost O(1).
Not thread-safe on its own: the breaker updates it under its lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._breaker_config import BreakerConfig

__all__ = ["FAILURE", "SLOW", "OutcomeWindow", "rate_verdict"]

FAILURE = 1
"""Outcome bit: the call failed."""
SLOW = 2
"""Outcome bit: the call took longer than the slow-call threshold."""


class OutcomeWindow:
    """The outcomes of the last ``size`` calls (a ring buffer with running totals).

    Example:
        >>> window = OutcomeWindow(3)
        >>> for outcome in (FAILURE, 0, FAILURE | SLOW, 0):
        ...     window.add(outcome)
        >>> window.count, window.failures, window.slow
        (3, 1, 1)
    """

    __slots__ = ("_codes", "_next", "count", "failures", "size", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self._codes = bytearray(size)
        self._next = 0
        self.count = 0
        """Outcomes held (at most ``size``)."""
        self.failures = 0
        """Failed calls among them."""
        self.slow = 0
        """Slow calls among them (failed or not)."""

    def add(self, code: int) -> None:
        """Record one call's outcome (``0``, ``FAILURE``, ``SLOW`` or both), evicting the oldest."""
        position = self._next
        if self.count == self.size:
            old = self._codes[position]
            self.failures -= old & FAILURE
            self.slow -= old >> 1
        else:
            self.count += 1
        self._codes[position] = code
        self.failures += code & FAILURE
        self.slow += code >> 1
        self._next = position + 1 if position + 1 < self.size else 0

    def clear(self) -> None:
        """Forget every outcome."""
        self._codes = bytearray(self.size)
        self._next = self.count = self.failures = self.slow = 0


def rate_verdict(window: OutcomeWindow, config: BreakerConfig) -> str:
    """Why the rate rules trip the breaker, or "" (the window holds >= ``min_calls`` calls)."""
    count = window.count
    threshold = config.failure_rate_threshold
    if threshold is not None and window.failures / count >= threshold:
        return (
            f"failure rate {window.failures / count:.0%} >= {threshold:.0%} "
            f"over the last {count} calls"
        )
    threshold = config.slow_call_rate_threshold
    if threshold is not None and window.slow / count >= threshold:
        return (
            f"slow-call rate {window.slow / count:.0%} >= {threshold:.0%} "
            f"over the last {count} calls (slow: > {config.slow_call_s:g} s)"
        )
    return ""
