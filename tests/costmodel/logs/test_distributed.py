"""Logs read and billed on a real dask.distributed LocalCluster equal the serial results.

The cluster (fixture ``dask_client``: 2 worker processes) reads the same fixture logs as
the serial path: frames equal, bills equal to the cent (``==`` on the totals and every
line), malformed lines equal (file, line, reason). Byte ranges are checked at every
boundary of a file with awkward lines (CRLF, a line longer than a range, a truncated last
line, malformed and foreign lines), through the task functions themselves.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.paths import LOG_FIXTURES

from costmodel import InvalidUsage, bill_from_logs, read_logs
from costmodel.logs.sources import expand_sources
from costmodel.logs.tasks import TaskOptions, combine_frames, plan, read_task

# Every line format and record format the reader knows, with SnapStart, INIT, XRAY,
# Status, timeouts, JSON platform.report and a CSV; the folder holds no other files.
FIXTURES = [
    "aws_text.log",
    "aws_json.log",
    "aws_snapstart.log",
    "aws_export.log",
    "fc_text.log",
    "fc_sls.jsonl",
    "invocations.csv",
    "real/init_text.log",
    "real/snapstart_text.log",
    "real/snapstart_json.log",
    "real/xray_text.log",
    "real/timeouts_text.log",
    "real/json_status.log",
    "real/other_variants.log",
    "exports/filter-log-events-page1.json",
    "exports/insights-messages.csv",
]

REPORT = (
    "REPORT RequestId: {rid}\tDuration: {d} ms\tBilled Duration: {b} ms\t"
    "Memory Size: {m} MB\tMax Memory Used: 60 MB\t"
)


def _awkward_log(path: Path) -> None:
    """A text log that is hard to cut: CRLF lines, START/END lines, INIT and SnapStart
    tails, a malformed report, an FC line (foreign), a 3 kB line, no final newline."""
    lines = []
    for i in range(60):
        tail = "Init Duration: 210.31 ms\t" if i % 7 == 0 else ""
        if i % 11 == 3:
            tail = "Restore Duration: 301.52 ms\tBilled Restore Duration: 302 ms\t"
        lines.append(f"START RequestId: r{i} Version: $LATEST")
        lines.append(REPORT.format(rid=f"r{i}", d=f"{10 + i}.{i % 10}5", b=11 + i, m=128) + tail)
        if i % 13 == 5:
            lines.append("REPORT RequestId: bad\tDuration: twelve ms")
        if i == 30:
            lines.append("x" * 3000)
            lines.append("Duration: 1.00 ms, Billed Duration: 1 ms, Memory Size: 128 MB, ")
    text = "\r\n".join(lines[:80]) + "\r\n" + "\n".join(lines[80:])
    path.write_bytes(text.encode())  # the last line ends without a newline


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A folder with the fixture logs of every format, two gzip copies and the awkward log."""
    folder = tmp_path / "logs"
    for name in FIXTURES:
        target = folder / name.replace("/", "-")
        target.parent.mkdir(exist_ok=True)
        shutil.copy(LOG_FIXTURES / name, target)
    for name in ("aws_text.log", "real/snapstart_text.log"):
        packed = folder / f"{Path(name).stem}-packed.gz"
        packed.write_bytes(gzip.compress((LOG_FIXTURES / name).read_bytes()))
    _awkward_log(folder / "awkward.log")
    return folder


def _assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs["malformed"] == want.attrs["malformed"]
    assert got.attrs["malformed_count"] == want.attrs["malformed_count"]


def test_read_logs_on_the_cluster_equals_the_serial_read(logs: Path, dask_client: Any) -> None:
    """Every file, split in ranges of 2 kB where it can be: the same frame, row for row."""
    serial = read_logs(logs, client=False)
    assert serial.attrs["malformed_count"] >= 5 and serial["format"].nunique() >= 4
    split = read_logs(logs, client=dask_client, split_bytes=2000)
    _assert_same_frame(split, serial)
    whole = read_logs(logs, client=dask_client)
    _assert_same_frame(whole, serial)


@pytest.mark.parametrize(
    "options",
    [
        {"provider": "aws-lambda", "free_tier": True},
        {"provider": "aws-lambda", "billed_duration": "measured", "init_billed": True},
        {"provider": "gcp-cloud-run-functions", "init_billed": True},
    ],
)
def test_bill_on_the_cluster_equals_the_serial_bill_to_the_cent(
    logs: Path, dask_client: Any, options: dict[str, Any]
) -> None:
    """Tiers and the free tier apply once to the pooled usage: the same bill exactly."""
    serial = bill_from_logs(logs, client=False, **options)
    split = bill_from_logs(logs, client=dask_client, split_bytes=1500, **options)
    assert split.total == serial.total
    pd.testing.assert_frame_equal(split.lines, serial.lines)
    pd.testing.assert_frame_equal(split.groups, serial.groups)
    assert split.malformed == serial.malformed and serial.malformed_count >= 5
    assert split.malformed_count == serial.malformed_count


def test_the_free_tier_is_applied_once_not_per_task(tmp_path: Path, dask_client: Any) -> None:
    """Sixteen files over the free tier: one pooled bill, not sixteen free allowances."""
    line = REPORT.format(rid="a", d="900000.00", b=900000, m=10240) + "\n"
    for i in range(16):
        (tmp_path / f"f{i:02d}.log").write_text(line * 10)
    serial = bill_from_logs(tmp_path, provider="aws-lambda", free_tier=True, client=False)
    pooled = bill_from_logs(tmp_path, provider="aws-lambda", free_tier=True, client=dask_client)
    one = bill_from_logs(tmp_path / "f00.log", provider="aws-lambda", free_tier=True)
    assert pooled.total == serial.total > 16 * one.total


def test_ranges_at_every_awkward_boundary_read_each_line_once(tmp_path: Path) -> None:
    """Cut the awkward log in ranges of many sizes (1 byte to more than the file): the
    combined rows, line numbers and malformed lines equal one serial read."""
    path = tmp_path / "awkward.log"
    _awkward_log(path)
    want = read_logs(path, client=False)
    files = expand_sources(path)
    size = path.stat().st_size
    for split in (1, 2, 3, 50, 97, 128, 1000, 2999, 3001, size - 1, size):
        tasks = plan(files, "auto", split, 1 << 20)
        if split < size:
            assert len(tasks) == -(-size // split) and all(t.format == "aws" for t in tasks)
        else:  # not larger than a range: the whole file, its format detected as it is read
            assert [(t.stop, t.format) for t in tasks] == [(None, "auto")]
        results = [read_task(task, TaskOptions()) for task in tasks]
        _assert_same_frame(combine_frames(tasks, results, 1000), want)
        assert sum(r.lines for r in results) == 60 * 2 + 5 + 2  # START+REPORT, bad, long+FC


def test_small_chunks_inside_ranges_change_nothing(tmp_path: Path) -> None:
    """Ranges read in chunks smaller than a line still number every line of the file."""
    path = tmp_path / "awkward.log"
    _awkward_log(path)
    tasks = plan(expand_sources(path), "aws", 700, 64)
    results = [read_task(task, TaskOptions(chunk_chars=64)) for task in tasks]
    _assert_same_frame(combine_frames(tasks, results, 1000), read_logs(path, client=False))


def test_gzip_and_record_files_are_one_task_each(logs: Path) -> None:
    """A gzip file cannot be entered midway, nor a JSON document or a CSV: one task each;
    text files in line formats are split."""
    tasks = plan(expand_sources(logs), "auto", 100, 1 << 20)
    per_file: dict[str, int] = {}
    for task in tasks:
        per_file[Path(task.file.path).name] = per_file.get(Path(task.file.path).name, 0) + 1
    for name in (
        "aws_text-packed.gz",
        "snapstart_text-packed.gz",
        "invocations.csv",
        "fc_text.log",
        "exports-filter-log-events-page1.json",
    ):
        assert per_file[name] == 1, name
    for name in ("aws_text.log", "aws_json.log", "awkward.log", "real-snapstart_json.log"):
        assert per_file[name] > 1, name


def test_cluster_options_are_checked_before_any_task(logs: Path, dask_client: Any) -> None:
    """A bad split size, client or progress fails at once, naming the parameter."""
    with pytest.raises(InvalidUsage, match=r"split_bytes=0: .*whole number of bytes > 0"):
        read_logs(logs, client=dask_client, split_bytes=0)
    with pytest.raises(InvalidUsage, match=r"client='tcp://x': must be a dask.distributed"):
        bill_from_logs(logs, provider="aws-lambda", client="tcp://x")
    with pytest.raises(InvalidUsage, match=r"progress='yes'"):
        read_logs(logs, client=dask_client, progress="yes")  # type: ignore[arg-type]


def test_an_active_client_is_used_and_false_forces_local(logs: Path, dask_client: Any) -> None:
    """With the client made current, read_logs runs its tasks there (they show in the
    scheduler's task log); ``client=False`` stays here."""
    before = len(dask_client.run_on_scheduler(_read_logs_tasks_seen))
    with dask_client.as_current():
        frame = read_logs(logs / "aws_text.log")
        assert len(dask_client.run_on_scheduler(_read_logs_tasks_seen)) == before + 1
        local = read_logs(logs / "aws_text.log", client=False)
        assert len(dask_client.run_on_scheduler(_read_logs_tasks_seen)) == before + 1
    _assert_same_frame(frame, local)


def _read_logs_tasks_seen(dask_scheduler: Any) -> list[str]:
    """Keys of read_logs tasks the scheduler has run (its transition log)."""
    return sorted(
        {str(entry[0]) for entry in dask_scheduler.transition_log if "read-logs-" in str(entry[0])}
    )


def test_progress_shows_dask_s_progress_bar(
    logs: Path, dask_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """progress=True draws Dask's own text progress bar while the tasks run (a terminal)."""
    frame = read_logs(logs, client=dask_client, progress=True, split_bytes=2000)
    shown = capsys.readouterr()
    assert "100% Completed" in shown.out + shown.err
    _assert_same_frame(frame, read_logs(logs, client=False))
