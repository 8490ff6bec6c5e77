"""The states of a circuit breaker and the stays in them.

:class:`BreakerState` names a state. A :class:`Phase` is one stay in one state: the
breaker makes a new one on every transition, so a call can tell whether the breaker is
still in the phase that admitted it. A :class:`Transition` is what the breaker reports
(to the log, its listeners and a shared storage) after it changed state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "BreakerState", "Phase", "Transition"]


class BreakerState(enum.StrEnum):
    """The state of a breaker; equal to its string (``BreakerState.OPEN == "open"``).

    ``.name`` is the same string, as on pybreaker's state objects, so listeners written
    for pybreaker can compare ``new_state.name`` with ``pybreaker.STATE_OPEN``.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"

    @property
    def name(self) -> str:
        return self.value


CLOSED: Final = BreakerState.CLOSED
OPEN: Final = BreakerState.OPEN
HALF_OPEN: Final = BreakerState.HALF_OPEN


class Phase:
    """One stay in one state. A new object per transition, so a call can tell whether
    the breaker is still in the phase that admitted it (outcomes of calls admitted in an
    earlier phase update the counters but never the state)."""

    __slots__ = ("fast", "probe_successes", "probes", "state", "until")

    def __init__(self, state: BreakerState, *, fast: bool = False, until: float = 0.0) -> None:
        self.state = state
        self.fast = fast  # closed and nothing to check before a call
        self.until = until  # open: clock time when probes may start
        self.probes = 0  # half-open: probes in flight
        self.probe_successes = 0  # half-open: probes that succeeded


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of state, reported outside the breaker's lock."""

    old: BreakerState
    new: BreakerState
    reason: str
    publish: bool  # tell the shared storage (False when the storage told us)
    open_for_s: float = 0.0  # into open: seconds until probes may start
