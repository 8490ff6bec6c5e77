"""Logs read on a ``dask.distributed`` cluster: one task per file or per byte range.

``plan`` splits the files a source names into :class:`LogTask`: a whole file (gzip
objects, which cannot be entered in the middle; small files; formats whose lines depend
on the lines before them) or byte ranges of a large uncompressed file in a format read
line by line (``"aws"``, ``"aws-json"``). A line belongs to the range its first byte is in
(:meth:`LogFile.open_lines`), so a line that straddles a boundary is read once. The format
of a split file is decided here first, from its first chunk as a serial read decides it,
and every range is read in it.

Each task (``read_task``, ``bill_task``) runs on a worker and returns a
:class:`TaskResult`: the rows read (or their billed histogram, small and exact), its
malformed lines with line numbers counted from the task's first line, and how many lines
it read. ``combine_frames`` and ``combine_bills`` put the results together here in task
order: line numbers become the file's (each range shifted by the lines of the ranges
before it), histograms are pooled, so tiers and free tiers apply once, on the pooled
usage: a bill equal to the serial one to the cent, the same rows, the same malformed lines.

>>> import tempfile, pathlib
>>> from costmodel.logs.sources import expand_sources
>>> log = pathlib.Path(tempfile.mkdtemp()) / "api.log"
>>> _ = log.write_text("REPORT RequestId: a\\tDuration: 1.5 ms\\tBilled Duration: 2 ms"
...                    "\\tMemory Size: 128 MB\\tMax Memory Used: 20 MB\\t\\n" * 4)
>>> tasks = plan(expand_sources(log), "auto", 200, 1 << 20)  # 4 lines of 103 bytes
>>> [(t.start, t.stop, t.format) for t in tasks]
[(0, 137, 'aws'), (137, 274, 'aws'), (274, 412, 'aws')]
>>> results = [read_task(t, TaskOptions()) for t in tasks]
>>> [r.lines for r in results]  # line 2 (bytes 103-205) straddles 137: read by the first
[2, 1, 1]
>>> combine_frames(tasks, results, 1000)["source_line"].tolist()
[1, 2, 3, 4]
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..cluster import client_for
from .bill import BilledHistogram, BillingRule, billed_counts
from .chunks import frames_of, read_state, stream_chunks
from .formats import MalformedLine, detect, empty_frame
from .sources import LogFile

__all__ = [
    "SPLIT_FORMATS",
    "LogTask",
    "TaskOptions",
    "TaskResult",
    "bill_task",
    "cluster_client",
    "combine_bills",
    "combine_frames",
    "plan",
    "read_task",
]

#: Formats whose reports are read line by line, each line on its own: a file in one of
#: them can be read in byte ranges.
SPLIT_FORMATS = ("aws", "aws-json")


def cluster_client(client: Any) -> Any:
    """The client to run on (see :func:`costmodel.cluster.client_for`), or None.

    With ``client=None`` there can be no active client unless ``distributed`` has been
    imported: a serial read then does not pay for importing it.
    """
    if client is None and "distributed" not in sys.modules:
        return None
    return client_for(client)


@dataclass(frozen=True, slots=True)
class LogTask:
    """One task's share of the logs: a whole file, or the lines starting in a byte range.

    Attributes:
        file: the file.
        format: ``"auto"`` or a format (always a format for a range).
        start: first byte of the range (0 for a whole file).
        stop: end of the range (exclusive); None for the whole file.
    """

    file: LogFile
    format: str
    start: int = 0
    stop: int | None = None


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """What every task of one read needs to know (plain values: they go to the workers)."""

    function: str | None = None
    chunk_chars: int = 8 << 20
    memory_mb: int | None = None
    listed: int = 1000
    """Malformed lines to keep per task (the first ones overall are among them)."""
    prefix: bool = False
    """Start each malformed reason with the file's name (several files were named)."""


@dataclass(slots=True)
class TaskResult:
    """What a task sends back: rows or their histogram, malformed lines, lines read."""

    lines: int
    malformed: list[MalformedLine]
    malformed_count: int
    frame: pd.DataFrame | None = None
    counts: dict[tuple[str, int, int, bool], int] = field(default_factory=dict)


def plan(files: list[LogFile], format: str, split_bytes: int, chunk_chars: int) -> list[LogTask]:
    """The tasks that read ``files``: in order, a large uncompressed file in byte ranges.

    A file is split when its size is known and above ``split_bytes``, it is not gzip, and
    its format (``format``, or what its first chunk of ``chunk_chars`` characters shows,
    as a serial read detects it) is one of :data:`SPLIT_FORMATS`; into
    ``ceil(size / split_bytes)`` ranges of equal size.
    """
    tasks: list[LogTask] = []
    for one in files:
        found = _split_format(one, format, split_bytes, chunk_chars)
        if found is None or one.size is None:
            tasks.append(LogTask(one, format))
            continue
        parts = math.ceil(one.size / split_bytes)
        bounds = [one.size * i // parts for i in range(parts + 1)]
        tasks += [LogTask(one, found, a, b) for a, b in itertools.pairwise(bounds)]
    return tasks


def _split_format(one: LogFile, format: str, split_bytes: int, chunk_chars: int) -> str | None:
    """The format to read ``one``'s ranges in, or None when it is read whole."""
    if one.size is None or one.size <= split_bytes:
        return None
    if format != "auto" and format not in SPLIT_FORMATS:
        return None
    if one.is_gzip():
        return None
    if format != "auto":
        return format
    with one.open_text() as stream:
        first = next(stream_chunks(stream, chunk_chars), None)
    found = None if first is None else detect(first[0], first_chunk=True)
    return found if found in SPLIT_FORMATS else None


class _Counted:
    """Chunks passed through, counting their lines (at the end, from the last chunk)."""

    def __init__(self, chunks: Iterator[tuple[str, int, int]]) -> None:
        self._chunks = chunks
        self._last: tuple[str, int] = ("", 1)

    def __iter__(self) -> Iterator[tuple[str, int, int]]:
        for chunk in self._chunks:
            self._last = (chunk[0], chunk[1])
            yield chunk

    @property
    def lines(self) -> int:
        text, first = self._last
        return first - 1 + text.count("\n")


def _task_frames(task: LogTask, options: TaskOptions) -> Iterator[tuple[pd.DataFrame, _Counted]]:
    one = task.file
    state = read_state(task.format, options.function or one.stem, one.name, options.memory_mb)
    opened = one.open_text() if task.stop is None else one.open_lines(task.start, task.stop)
    with opened as stream:
        counted = _Counted(stream_chunks(stream, options.chunk_chars))
        for frame in frames_of(iter(counted), state, None):
            yield frame, counted


def _malformed(frame: pd.DataFrame, task: LogTask, options: TaskOptions) -> list[MalformedLine]:
    listed: list[MalformedLine] = frame.attrs.get("malformed", [])
    if not options.prefix:
        return listed
    return [MalformedLine(m.line, f"{task.file.name}: {m.reason}") for m in listed]


def read_task(task: LogTask, options: TaskOptions) -> TaskResult:
    """Read one task's lines into a frame (line numbers from the task's first line)."""
    frames: list[pd.DataFrame] = []
    result = TaskResult(lines=0, malformed=[], malformed_count=0)
    for frame, counted in _task_frames(task, options):
        if len(frame):
            frames.append(frame)
        _note_malformed(result, frame, task, options)
        result.lines = counted.lines
    result.frame = pd.concat(frames, ignore_index=True) if frames else None
    return result


def bill_task(task: LogTask, options: TaskOptions, rule: BillingRule) -> TaskResult:
    """Reduce one task's lines to billed counts by (function, memory, billed ms, stated)."""
    counts = BilledHistogram()
    result = TaskResult(lines=0, malformed=[], malformed_count=0)
    for frame, counted in _task_frames(task, options):
        counts.add(billed_counts(frame, rule))
        _note_malformed(result, frame, task, options)
        result.lines = counted.lines
    result.counts = counts.counts
    return result


def _note_malformed(
    result: TaskResult, frame: pd.DataFrame, task: LogTask, options: TaskOptions
) -> None:
    result.malformed_count += int(frame.attrs.get("malformed_count", 0))
    room = options.listed - len(result.malformed)
    if room > 0:
        result.malformed += _malformed(frame, task, options)[:room]


def _shifts(tasks: list[LogTask], results: list[TaskResult]) -> list[int]:
    """Lines before each task's first line in its file (ranges follow one another)."""
    shifts: list[int] = []
    seen = 0
    for task, result in zip(tasks, results, strict=True):
        if task.stop is None or task.start == 0:  # a file's first task
            seen = 0
        shifts.append(seen)
        seen += result.lines
    return shifts


def combine_frames(tasks: list[LogTask], results: list[TaskResult], listed: int) -> pd.DataFrame:
    """The tasks' rows as one frame, as ``read_logs`` returns it, lines numbered per file."""
    frames: list[pd.DataFrame] = []
    malformed: list[MalformedLine] = []
    count = 0
    for shift, result in zip(_shifts(tasks, results), results, strict=True):
        if result.frame is not None:
            if shift:
                result.frame["source_line"] += shift
            frames.append(result.frame)
        count += result.malformed_count
        room = listed - len(malformed)
        if room > 0:
            malformed += [MalformedLine(m.line + shift, m.reason) for m in result.malformed[:room]]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    frame.attrs["malformed"] = malformed
    frame.attrs["malformed_count"] = count
    return frame


def combine_bills(
    tasks: list[LogTask], results: list[TaskResult], listed: int
) -> tuple[BilledHistogram, list[tuple[str, int, str]], int]:
    """The tasks' histograms pooled, their malformed lines as ``(file, line, reason)``."""
    counts = BilledHistogram()
    malformed: list[tuple[str, int, str]] = []
    count = 0
    for task, shift, result in zip(tasks, _shifts(tasks, results), results, strict=True):
        counts.merge(result.counts)
        count += result.malformed_count
        room = listed - len(malformed)
        if room > 0:
            malformed += [
                (task.file.name, m.line + shift, m.reason) for m in result.malformed[:room]
            ]
    return counts, malformed, count
