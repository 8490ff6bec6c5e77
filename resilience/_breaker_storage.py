"""Sharing a breaker's state through a pybreaker storage, and surviving its outages.

:class:`SharedState` keeps one :class:`~resilience.CircuitBreaker` in step with a
``pybreaker.CircuitMemoryStorage`` or ``pybreaker.CircuitRedisStorage``: it reads the
shared state before calls and writes the breaker's own transitions. When the storage
fails (pybreaker's Redis storage logs its errors instead of raising them, which
:class:`StorageErrorTrap` notices) the breaker runs on its local state and the storage
is tried again every ``storage_retry_s``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from ._breaker_config import BreakerConfig
from ._breaker_states import CLOSED, HALF_OPEN, OPEN, BreakerState, Phase
from ._observe import logger as logger_named
from ._observe import names
from .clock import Clock
from .errors import InvalidUsage

__all__ = ["SharedState", "SharingBreaker", "StorageErrorTrap", "check_storage", "remaining_s"]

logger = logger_named("resilience.breaker")

_STORAGE_ATTRIBUTES: Final = ("state", "opened_at", "reset_counter", "reset_success_counter")


def check_storage(storage: Any) -> Any:
    """``storage`` if its type has what breakers use of a pybreaker storage."""
    missing = [a for a in _STORAGE_ATTRIBUTES if not hasattr(type(storage), a)]
    if missing:
        raise InvalidUsage(
            f"storage={storage!r}: lacks {', '.join(missing)}; give a pybreaker storage, "
            "e.g. pybreaker.CircuitRedisStorage('closed', redis.Redis(...), namespace=...)"
        )
    return storage


class StorageErrorTrap(logging.Filter):
    """Notices the errors pybreaker's Redis storage logs (instead of raising) while a
    breaker of ours is using it, in the same thread, and keeps them from the log: the
    breaker reports the outage itself, once. Records from anyone else pass unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        local = self.local
        if getattr(local, "watching", False) and record.exc_info:
            local.error = record.exc_info[1] or RuntimeError(record.getMessage())
            return False
        return True


_trap = StorageErrorTrap()
_trap_lock = threading.Lock()
_trapped: set[int] = set()
_FAILED: Final = object()


def _install_trap(storage: Any) -> None:
    """Put the trap on the logger the storage reports its errors to (once per logger)."""
    storage_logger = getattr(storage, "logger", None)
    if isinstance(storage_logger, logging.Logger):
        with _trap_lock:
            if id(storage_logger) not in _trapped:
                storage_logger.addFilter(_trap)
                _trapped.add(id(storage_logger))


class SharingBreaker(Protocol):
    """What :class:`SharedState` needs of the breaker it keeps in step.

    :class:`~resilience.CircuitBreaker` implements it; the storage never touches the
    breaker's private state.
    """

    @property
    def name(self) -> str:
        """The breaker's name, for log lines."""
        ...

    @property
    def clock(self) -> Clock:
        """The clock the breaker measures time on."""
        ...

    @property
    def config(self) -> BreakerConfig:
        """The breaker's options (reset timeout, sync interval, storage retry)."""
        ...

    def current_phase(self) -> Phase:
        """The breaker's state and, when open, until when (on its clock)."""
        ...

    def follow_shared(self, state: BreakerState, *, open_for_s: float | None = None) -> None:
        """Move to ``state``, published by another breaker sharing the storage."""
        ...

    def adopt_shared(self, open_for_s: float) -> None:
        """Start open for ``open_for_s`` (the shared state when it was built): no trip."""
        ...


class SharedState:
    """Keeps one breaker in step with a pybreaker storage, and survives its outages.

    Adopt (once, when the breaker is built): a shared ``open`` starts the breaker open for
    what is left of the shared open period, a shared ``half-open`` starts it open until the
    shared state changes (another process holds the probes; at most one reset timeout, so
    that a prober that died does not hold the circuit open for good). Adopting is not a
    trip: no listener hears it, ``trips`` stays 0, one info line is logged.

    Pull: read the shared ``state``; when it changed since we last saw it, follow it
    (another process tripped: open for what is left of its reset timeout, from the
    shared ``opened_at``; another process recovered or closed: close; half-open: keep
    our own state, we will follow the probes' verdict). A shared ``closed`` with no
    ``opened_at`` while we are open or half-open is a lost key (a Redis that restarted
    empty reads as closed), not a recovery: we keep our state and publish it again.

    Publish: after each of our own transitions write ``opened_at`` and ``state`` and
    reset the counters, as pybreaker does.
    """

    def __init__(self, breaker: SharingBreaker, storage: Any) -> None:
        self.breaker = breaker
        self.storage = storage
        self.seen: object = None  # the shared state we last read or wrote
        self.next_pull = float("-inf")
        self.down = False
        self.dirty = False  # a transition of ours has not reached the storage yet
        self.retry_at = 0.0
        self.lock = threading.Lock()  # guards the down flag
        self.publish_lock = threading.Lock()  # writes leave in the order of transitions
        _install_trap(storage)

    def io(self, operation: Callable[[], Any]) -> Any:
        """Run one storage operation; _FAILED (and note the outage) when it fails."""
        local = _trap.local
        local.watching, local.error = True, None
        try:
            value = operation()
            error = local.error
        except Exception as exc:
            error = exc
        finally:
            local.watching = False
        if error is None:
            return value
        with self.lock:
            first = not self.down
            self.down = True
            self.retry_at = self.breaker.clock.monotonic() + self.breaker.config.storage_retry_s
        if first:
            logger.warning(
                "circuit %r: shared state storage %s failed (%s: %s); using local state "
                "only, trying the storage again every %g s",
                self.breaker.name,
                type(self.storage).__name__,
                type(error).__name__,
                error,
                self.breaker.config.storage_retry_s,
                extra=names(self.breaker.name),
            )
        return _FAILED

    def adopt(self) -> None:
        """Take over the shared state when the breaker is built (no trip, no listener)."""
        breaker = self.breaker
        remote = self.io(lambda: self.storage.state)
        if remote is _FAILED or remote not in ("open", "half-open"):
            self.seen = None if remote is _FAILED else remote
            return
        reset_s = breaker.config.reset_timeout_s
        if remote == "open":
            opened_at = self.io(lambda: self.storage.opened_at)
            if opened_at is _FAILED:
                return
            open_for_s = remaining_s(opened_at, reset_s)
            what = f"open for {open_for_s:g} s more"
        else:
            open_for_s = reset_s
            what = f"half-open elsewhere: rejecting until it changes (at most {reset_s:g} s)"
        self.seen = remote
        breaker.adopt_shared(open_for_s)
        logger.info(
            "circuit %r: adopted the shared state, %s",
            breaker.name,
            what,
            extra=names(breaker.name),
        )

    def maybe_pull(self) -> None:
        """Pull, unless the last pull was less than ``sync_interval_s`` ago."""
        now = self.breaker.clock.monotonic()
        if now >= self.next_pull:
            self.next_pull = now + self.breaker.config.sync_interval_s
            self.pull(now)

    def pull(self, now: float) -> None:
        """Follow the shared state if it changed (``now``: the time on the breaker's clock)."""
        was_down = self.down
        if was_down and now < self.retry_at:
            return
        remote = self.io(lambda: self.storage.state)
        if remote is _FAILED:
            return
        breaker = self.breaker
        if was_down:
            with self.lock:
                recovered, self.down = self.down, False
            if recovered:
                logger.info(
                    "circuit %r: shared state storage answers again",
                    breaker.name,
                    extra=names(breaker.name),
                )
            if self.dirty:
                self.publish()  # our state changed while it was away: tell the others
                return
            self.seen = None
        if remote == self.seen:
            return
        self.seen = remote
        if remote == "open":
            if breaker.current_phase().state is OPEN:
                return
            opened_at = self.io(lambda: self.storage.opened_at)
            if opened_at is _FAILED:
                return
            breaker.follow_shared(
                OPEN, open_for_s=remaining_s(opened_at, breaker.config.reset_timeout_s)
            )
        elif remote == "closed":
            if breaker.current_phase().state is not CLOSED and self._key_lost():
                return
            breaker.follow_shared(CLOSED)

    def _key_lost(self) -> bool:
        """True (and our state published again) when the shared state was lost.

        pybreaker's storages read a missing key as ``closed`` (and write it back); every
        open state written by a breaker carries ``opened_at``. A ``closed`` without it
        while we are not closed is a store that lost its keys, not a recovery.
        """
        opened_at = self.io(lambda: self.storage.opened_at)
        if opened_at is _FAILED or opened_at is not None:
            return opened_at is _FAILED
        logger.warning(
            "circuit %r: the shared state was lost (the storage reads closed with no open "
            "time); keeping the local %s state and publishing it again",
            self.breaker.name,
            self.breaker.current_phase().state.value,
            extra=names(self.breaker.name),
        )
        self.publish()
        return True

    def publish(self) -> None:
        """Write the breaker's current state to the storage (after one of our transitions)."""
        breaker, storage = self.breaker, self.storage
        with self.publish_lock:
            if self.down:
                self.dirty = True  # published when the storage answers again
                return
            phase = breaker.current_phase()
            state = phase.state
            if state is OPEN:
                opened_s = phase.until - breaker.config.reset_timeout_s  # on the clock
                open_s = breaker.clock.monotonic() - opened_s
                opened_at = datetime.now(UTC) - timedelta(seconds=max(0.0, open_s))

                def write() -> None:
                    storage.opened_at = opened_at
                    storage.state = state.value
                    storage.reset_success_counter()

            elif state is HALF_OPEN:

                def write() -> None:
                    storage.state = state.value
                    storage.reset_success_counter()

            else:

                def write() -> None:
                    storage.state = state.value
                    storage.reset_counter()
                    storage.reset_success_counter()

            self.seen = state.value
            self.dirty = self.io(write) is _FAILED


def remaining_s(opened_at: Any, reset_timeout_s: float) -> float:
    """Seconds left of an open period that started at ``opened_at`` (wall clock, UTC).

    As in pybreaker, an open state without a time has run out. pybreaker's Redis
    storage keeps whole seconds, so a shared open period may end up to 1 s early.
    """
    if not isinstance(opened_at, datetime):
        return 0.0
    if opened_at.tzinfo is None:
        opened_at = opened_at.replace(tzinfo=UTC)
    elapsed_s = (datetime.now(UTC) - opened_at).total_seconds()
    return float(min(reset_timeout_s, max(0.0, reset_timeout_s - elapsed_s)))
