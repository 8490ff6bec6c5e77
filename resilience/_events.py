"""One place where every part of callwise reports a resilience event.

Parts call :func:`emit` with an event name from :data:`EVENTS` and a few bounded
attributes (policy and function names, an outcome, an error type: never arguments or
ids). Nothing listens by default, and then :func:`emit` costs one global lookup and one
comparison: a part that wants to skip building its attributes checks :func:`listening`
first. :mod:`resilience.telemetry` subscribes a listener that turns events into
OpenTelemetry metrics and span events; tests subscribe their own.

A listener must not raise: an error in one is logged and swallowed, so observability
never breaks the call it observes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._observe import logger, switches

__all__ = ["EVENTS", "Listener", "emit", "listening", "subscribe", "unsubscribe"]

log = logger("resilience.events")

#: The closed set of event names (``event.name`` in telemetry).
EVENTS: frozenset[str] = frozenset(
    {
        "retry",
        "fallback",
        "timeout",
        "breaker.opened",
        "breaker.half_opened",
        "breaker.closed",
        "breaker.rejected",
        "bulkhead.rejected",
        "rate_limit.rejected",
        "rate_limit.waited",
        "adaptive_limit.changed",
        "hedge.launched",
        "chaos.injected",
        "cache.hit",
        "cache.miss",
        "cache.stale",
        "probe.unreachable",
        "probe.recovered",
    }
)

Listener = Callable[[str, Mapping[str, Any]], None]

_listeners: tuple[Listener, ...] = ()


def listening() -> bool:
    """Whether anyone listens (so a part may skip building an event's attributes)."""
    return bool(_listeners)


def emit(event: str, attributes: Mapping[str, Any]) -> None:
    """Tell every listener that ``event`` happened, with ``attributes``."""
    for listener in _listeners:
        try:
            listener(event, attributes)
        except Exception:  # observability never breaks the call it observes
            log.exception("a resilience event listener failed on %s", event)


def subscribe(listener: Listener) -> None:
    """Add ``listener`` (called as ``listener(event, attributes)``); idempotent."""
    global _listeners
    if listener not in _listeners:
        _listeners = (*_listeners, listener)
        switches.listening = True


def unsubscribe(listener: Listener) -> None:
    """Remove ``listener``; a listener not subscribed is ignored."""
    global _listeners
    _listeners = tuple(x for x in _listeners if x is not listener)
    switches.listening = bool(_listeners)
