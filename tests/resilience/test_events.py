"""The event hub every part reports into (resilience/_events.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from resilience import _events


def test_listeners_get_events_until_unsubscribed() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def listener(event: str, attributes: Mapping[str, Any]) -> None:
        seen.append((event, dict(attributes)))

    assert not _events.listening()
    _events.subscribe(listener)
    _events.subscribe(listener)  # idempotent
    try:
        assert _events.listening()
        _events.emit("retry", {"callwise.policy": "p"})
    finally:
        _events.unsubscribe(listener)
    _events.emit("retry", {"callwise.policy": "p"})
    assert seen == [("retry", {"callwise.policy": "p"})]
    assert not _events.listening()


def test_a_failing_listener_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: str, attributes: Mapping[str, Any]) -> None:
        raise RuntimeError("boom")

    _events.subscribe(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="resilience.events"):
            _events.emit("fallback", {})
    finally:
        _events.unsubscribe(broken)
    assert "fallback" in caplog.text


def test_the_event_names_are_the_documented_closed_set() -> None:
    named = {"hedge.launched", "chaos.injected", "probe.unreachable", "cache.stale"}
    assert named <= _events.EVENTS
    assert all(name == name.lower() and " " not in name for name in _events.EVENTS)
