"""Real REPORT lines and platform.report records, copied from public sources.

Every line in ``tests/fixtures/logs/real/`` is cited (repository, path and commit, or the
page) in that folder's README.md. Each file must parse with every report read and nothing
counted malformed; the SnapStart lines must bill what they state.
"""

from __future__ import annotations

import math

import pytest
from support.paths import LOG_FIXTURES

from costmodel import bill_from_logs, read_logs

REAL = LOG_FIXTURES / "real"
FILES = sorted(path.name for path in REAL.glob("*.log"))


def _reports(name: str) -> int:
    text = (REAL / name).read_text()
    return text.count("REPORT RequestId") + text.count('"platform.report"')


@pytest.mark.parametrize("name", FILES)
def test_every_real_report_parses(name: str) -> None:
    """Each REPORT line (X-Ray ids, Init/Restore durations, timeouts included) and each
    platform.report record is one row; no valid line is counted malformed."""
    frame = read_logs(REAL / name)
    assert frame.attrs["malformed_count"] == 0, frame.attrs["malformed"]
    assert len(frame) == _reports(name) > 0


def test_real_snapstart_lines_state_the_restore_inside_the_billed_duration() -> None:
    """In all five real SnapStart lines Billed Duration = ceil(Duration) + Billed Restore
    Duration (2338.66 -> 2339 + 182 = 2521; 306.34 -> 307 + 303 = 610; 127.10 -> 128 + 26 =
    154; 149.53 -> 150 + 163 = 313; 98.35 -> 99 + 76 = 175): the restore is inside."""
    frame = read_logs(REAL / "snapstart_text.log")
    columns = ("duration_ms", "billed_restore_duration_ms", "billed_duration_ms")
    rows = list(zip(*(frame[c] for c in columns), strict=True))
    assert [(math.ceil(d) + r, b) for d, r, b in rows] == [
        (2521, 2521), (610, 610), (154, 154), (313, 313), (175, 175),
    ]  # fmt: skip


def test_real_snapstart_lines_bill_the_restore_once() -> None:
    """Billed as stated: 2521 + 610 + 154 + 313 + 175 = 3,773 ms, not 3,773 + the 750 ms of
    billed restores again (the bill is grouped by function and memory size)."""
    result = bill_from_logs(REAL / "snapstart_text.log", provider="aws-lambda")
    assert result.groups["billed_duration_ms"].sum() == 2521 + 610 + 154 + 313 + 175


def test_real_xray_lines_keep_their_durations() -> None:
    """An X-Ray line is a report like any other: its durations and memory are read."""
    frame = read_logs(REAL / "xray_text.log")
    assert frame["duration_ms"].notna().all() and (frame["memory_mb"] > 0).all()
    assert frame["billed_duration_ms"].notna().all()
