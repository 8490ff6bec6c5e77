"""Shared fixtures. No test sleeps for real: time-aware objects get a FakeClock."""

from __future__ import annotations

import pytest

from resilience.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts at 1000 s and only moves when told to or slept on."""
    return FakeClock(start=1000.0)
