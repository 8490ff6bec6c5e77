"""Invocation reports read from real platform logs, as one DataFrame.

Formats (``format=``), each exactly as the platform writes it:

``"aws"``
    AWS Lambda plain-text ``REPORT`` lines, tab separated (older lines have a
    space before each tab), as Lambda prints them to CloudWatch Logs::

        REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\\tDuration: 12.34 ms\\t
        Billed Duration: 13 ms\\tMemory Size: 128 MB\\tMax Memory Used: 18 MB\\t
        Init Duration: 160.45 ms\\t

    ``Init Duration`` appears on cold starts; SnapStart functions add
    ``Restore Duration`` and ``Billed Restore Duration``
    (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-monitoring.html).
    Other lines (``START``, ``END``, ``INIT_START``, ``XRAY``, the function's own
    output) are skipped, not counted as malformed. A leading timestamp, as in a
    CloudWatch export to S3 (``2024-05-01T10:00:00.123Z REPORT ...``) or
    ``aws logs tail`` (``<time> <stream> REPORT ...``), becomes ``timestamp``.
``"aws-json"``
    The JSON log format's ``platform.report`` records (also the Telemetry API's),
    one JSON object per line: ``{"time": ..., "type": "platform.report", "record":
    {"requestId": ..., "metrics": {"durationMs": ..., "billedDurationMs": ...,
    "memorySizeMB": ..., "maxMemoryUsedMB": ..., "initDurationMs": ...},
    "status": "success"}}``
    (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html).
``"fc"``
    Alibaba Cloud Function Compute log lines: ``FC Invoke End RequestId: <id>``
    followed by ``Duration: 18.42 ms, Billed Duration: 19 ms, Memory Size: 128 MB,
    Max Memory Used: 34.80 MB`` (as ``s invoke`` and the console print them); the
    report takes the request id of the ``FC Invoke Start/End`` line before it.
``"fc-sls"``
    Function Compute request-level metric logs as delivered to Simple Log
    Service (SLS), one JSON object per line. Field names from the Function Compute
    guide "Request-level metric logs"
    (https://www.alibabacloud.com/help/en/functioncompute/fc/user-guide/request-level-metric-logs
    and, for FC 2.0's ``serviceName`` / ``initializationDurationMs``,
    https://help.aliyun.com/document_detail/191150.html): ``functionName``,
    ``requestId``, ``durationMs``, ``memoryMB``, ``memoryUsageMB``,
    ``invocationStartTimestamp`` (ms since the epoch), ``isColdStart``,
    ``initializationDurationMs``, ``serviceName``. Values may be numbers or
    strings (SLS stores strings). There is no billed duration in these records.
``"csv"``
    A plain CSV with a header. Required columns: ``duration_ms`` and ``memory_mb``.
    Optional: ``timestamp`` (ISO 8601 or epoch milliseconds), ``function``,
    ``request_id``, ``billed_duration_ms``, ``max_memory_used_mb``,
    ``init_duration_ms``, ``restore_duration_ms``, ``billed_restore_duration_ms``,
    ``status``. The SLS field names above are accepted as
    aliases, so an SLS CSV download reads as is. One record per line.
``"aws-events"``, ``"aws-insights-csv"``, ``"gcp-json"``
    The JSON of ``aws logs filter-log-events``, a CloudWatch Logs Insights CSV download
    and Google Cloud Logging entries (Cloud Run requests): read record by record, see
    ``costmodel.logs.records``. ``"gcp-json"`` needs ``memory_mb=``.
``"auto"`` (default)
    Decided from the content: the first signature found anywhere in the first chunk
    that has one (``REPORT RequestId:``, ``"platform.report"``, ``FC Invoke``/``Billed
    Duration: .. ms,``, ``"durationMs"``, or a CSV header naming ``duration_ms``/``durationMs``).
    A file's first chunk is checked first for a whole-file shape: a header of ``@`` fields
    (``"aws-insights-csv"``), JSON with ``"insertId"`` and ``"logName"`` (``"gcp-json"``) or
    with ``"message"`` and ``"ingestionTime"``/``"logStreamName"`` (``"aws-events"``).

A log can switch format mid-file (a CloudWatch log group set to JSON mid-month): the
reports in the other format of the same vendor (``"aws"`` and ``"aws-json"``, ``"fc"``
and ``"fc-sls"``) are read too, each row's ``format`` saying which it was. A report line
in another vendor's format is counted as malformed (``"line in format 'fc', file read
as 'aws'"``). CSV files are read as CSV only.

A line that looks like a report but does not parse (a ``REPORT RequestId:`` line
with a missing or unreadable field, a ``platform.report`` line that is not valid
JSON, a CSV row with a bad number, ...) is never silently dropped and never fatal:
``frame.attrs["malformed"]`` lists ``(line_number, reason)`` pairs (1-based line
numbers; the first ``max_malformed_listed``) and ``frame.attrs["malformed_count"]``
counts them all. Files may be gzip-compressed (whatever their name), as CloudWatch
exports are; a folder, a glob or an fsspec URL names several (``costmodel.logs.sources``),
each read and detected on its own.

Parsing is vectorized: one compiled regular expression runs over a whole chunk of
text (``re.findall``, a C loop) and pandas converts whole columns; there is no
per-line Python loop for the text formats. AWS ``REPORT`` lines in the usual layout
are read faster still, from the chunk's bytes with numpy (8 bytes at a time); the
regular expression defines the format and reads every other line that has the marker,
and both read the same values from any line.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import pandas as pd

from resilience._validate import Number, number

from ..billing.engine import FreeTier, free_tier_choice
from ..catalog.sheets import PriceSheet, price_sheet
from ..cluster import run_tasks
from ..errors import InvalidUsage
from .bill import (
    BilledHistogram,
    BillingRule,
    LogBill,
    bill_histogram,
    billed_counts,
    dask_counts,
    is_dask_frame,
)
from .chunks import frames_of, read_state, stream_chunks
from .formats import COLUMNS, MalformedLine, empty_frame
from .names import FORMAT_VENDORS, FORMATS
from .sources import LogFile, expand_sources, looks_like_path
from .tasks import (
    TaskOptions,
    bill_task,
    cluster_client,
    combine_bills,
    combine_frames,
    plan,
    read_task,
)

__all__ = [
    "COLUMNS",
    "FORMATS",
    "FORMAT_VENDORS",
    "LogBill",
    "LogFile",
    "LogSource",
    "MalformedLine",
    "bill_from_logs",
    "expand_paths",
    "iter_log_frames",
    "read_logs",
]

#: A path, folder, glob or URL (gzip is decompressed), a list of them, a ``LogFile``, or an
#: iterable of text lines.
LogSource = str | os.PathLike[str] | LogFile | Iterable[str | os.PathLike[str]]

R = TypeVar("R")
_DEFAULT_CHUNK_CHARS = 8 << 20  # about 8 MB of text per chunk
#: On a cluster, uncompressed files larger than this are read in ranges of about this size.
DEFAULT_SPLIT_BYTES = 128 << 20


def read_logs(
    source: LogSource,
    format: str = "auto",
    *,
    function: str | None = None,
    max_malformed_listed: int = 1000,
    memory_mb: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    client: Any = None,
    progress: bool = False,
    split_bytes: int = DEFAULT_SPLIT_BYTES,
) -> pd.DataFrame:
    """Read invocation reports from log files, folders, globs or URLs, or from lines of text.

    Files run on a ``dask.distributed`` cluster when there is one (``client=``, or the
    active client): one task per file, or per byte range of an uncompressed file larger
    than ``split_bytes`` in a line format (see ``costmodel.logs.tasks``). The frame is the
    one a serial read returns: the same rows in the same order, ``source_line`` the line
    in each file, the same malformed lines. The workers must reach the files (a shared
    folder, or URLs).

    Args:
        source: a path (``str`` or ``PathLike``; gzip files are decompressed whatever
            their name), a folder (every file under it, sorted), a glob
            (``"logs/*.gz"``, ``"**"`` for any depth), an fsspec URL
            (``"s3://bucket/prefix/*.gz"``: the ``s3`` extra), a list of any of these,
            or an iterable of lines (``list[str]``, an open text file). With several
            files, ``source_line`` is the line in each file and each malformed line's
            reason starts with its file. Each file's format is detected on its own.
        format: ``"auto"`` or one of ``FORMATS`` (see the module docstring).
        function: the function name for reports that carry none (AWS REPORT lines
            and ``platform.report`` records, FC text lines). Default: the file's
            name without extension, or ``"unknown"`` for lines.
        max_malformed_listed: how many malformed lines to list in
            ``attrs["malformed"]``; ``attrs["malformed_count"]`` counts them all.
        memory_mb: the memory size (MB, a whole number > 0) of logs that state none
            (``"gcp-json"``: Cloud Logging request logs); required for them.
        storage_options: options for fsspec URLs (``endpoint_url``, ``key``, ``secret``,
            ``anon``, ...); never shown in a message.
        client: a ``distributed.Client`` to read the files on; None (default): the
            active client if there is one, else here; False: here. Lines of text are
            always read here.
        progress: on a cluster, show Dask's progress display (a widget in a notebook, a
            bar in a terminal) while the tasks run.
        split_bytes: on a cluster, an uncompressed file larger than this (bytes, > 0) is
            read as ranges of about this size, one task each (default 128 MiB).

    Returns:
        One row per invocation with ``COLUMNS``: ``timestamp`` (UTC, NaT when the
        log has none), ``function``, ``request_id``, ``duration_ms``,
        ``billed_duration_ms`` (NaN when the log states none), ``memory_mb`` (int),
        ``max_memory_used_mb``, ``init_duration_ms``, ``restore_duration_ms``,
        ``billed_restore_duration_ms`` (NaN when absent), ``format`` and
        ``source_line`` (1-based). ``attrs["malformed"]`` is a list of
        ``MalformedLine(line, reason)``; ``attrs["malformed_count"]`` an int.

    Raises:
        InvalidUsage: ``format`` is unknown, ``source`` is neither paths nor lines, a glob
            matches nothing, ``memory_mb`` is missing for a format that needs it.
        InvalidFile: a CSV lacks a required column.
        FileNotFoundError: a path does not exist.

    Example:
        >>> frame = read_logs([
        ...     "START RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3 Version: $LATEST",
        ...     "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\\tDuration: 12.34 ms"
        ...     "\\tBilled Duration: 13 ms\\tMemory Size: 128 MB\\tMax Memory Used: 18 MB\\t",
        ...     "REPORT RequestId: 42\\tDuration: twelve ms",
        ... ], function="resize")
        >>> frame[["function", "duration_ms", "billed_duration_ms", "memory_mb"]]
          function  duration_ms  billed_duration_ms  memory_mb
        0   resize        12.34                13.0        128
        >>> frame.attrs["malformed"][0].line
        3
    """
    if not (isinstance(max_malformed_listed, int) and max_malformed_listed >= 0):
        raise InvalidUsage(
            f"max_malformed_listed={max_malformed_listed!r}: must be an integer >= 0"
        )
    cluster = _cluster_for(client, progress, split_bytes)
    files = None if cluster is None else _named_files(source, storage_options)
    if files is not None:
        options = _task_options(format, function, _DEFAULT_CHUNK_CHARS, memory_mb)
        options = replace(options, listed=max_malformed_listed, prefix=len(files) > 1)
        tasks = plan(files, format, split_bytes, _DEFAULT_CHUNK_CHARS)
        results = _on_cluster(read_task, [(t, options) for t in tasks], cluster, progress)
        return combine_frames(tasks, results, max_malformed_listed)
    frames: list[pd.DataFrame] = []
    malformed: list[MalformedLine] = []
    count = 0
    for frame in iter_log_frames(
        source, format, function=function, memory_mb=memory_mb, storage_options=storage_options
    ):
        if len(frame):
            frames.append(frame)
        chunk_bad: list[MalformedLine] = frame.attrs.get("malformed", [])
        count += int(frame.attrs.get("malformed_count", 0))
        room = max_malformed_listed - len(malformed)
        if room > 0:
            malformed.extend(chunk_bad[:room])
    result = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    result.attrs["malformed"] = malformed
    result.attrs["malformed_count"] = count
    return result


def _named_files(
    source: LogSource, storage_options: Mapping[str, Any] | None
) -> list[LogFile] | None:
    """The files ``source`` names, or None for lines of text. A list is taken as paths when
    an item is a path object or a one-line string that reads as a path, a glob or a URL
    (see :func:`looks_like_path`), so a list of paths is never read as text."""
    if isinstance(source, LogFile):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        return expand_sources(source, storage_options)
    if isinstance(source, (list, tuple)) and source and all(map(looks_like_path, source)):
        return expand_sources(source, storage_options)
    return None


def iter_log_frames(
    source: LogSource,
    format: str = "auto",
    *,
    function: str | None = None,
    chunk_chars: int = _DEFAULT_CHUNK_CHARS,
    progress: Callable[[int], object] | None = None,
    memory_mb: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read logs chunk by chunk, file by file: the streaming form of ``read_logs``.

    Memory stays bounded by ``chunk_chars`` whatever the size and number of the files
    (one file is open at a time).

    Args:
        source: as for ``read_logs``.
        format: as for ``read_logs``.
        function: as for ``read_logs``.
        chunk_chars: characters of text per chunk (whole lines; > 0).
        progress: called with the number of characters consumed after each chunk
            (for a progress bar).
        memory_mb: as for ``read_logs``.
        storage_options: as for ``read_logs``.

    Yields:
        Frames with ``COLUMNS`` (possibly empty); each has ``attrs["malformed"]``
        and ``attrs["malformed_count"]`` for its own chunk (reasons start with the file
        when there are several).

    Example:
        >>> lines = ["Duration: 18.42 ms, Billed Duration: 19 ms, Memory Size: 128 MB, "
        ...          "Max Memory Used: 34.80 MB"]
        >>> [len(f) for f in iter_log_frames(lines, "fc")]
        [1]
    """
    memory = _task_options(format, function, chunk_chars, memory_mb).memory_mb
    files = _named_files(source, storage_options)
    if files is None:
        state = read_state(format, function or "unknown", "<lines>", memory)
        yield from frames_of(_text_chunks(source, chunk_chars), state, progress)
        return
    for one in files:
        state = read_state(format, function or one.stem, one.name, memory)
        with one.open_text() as stream:
            frames = frames_of(stream_chunks(stream, chunk_chars), state, progress)
            if len(files) == 1:
                yield from frames
                continue
            for frame in frames:
                listed = frame.attrs["malformed"]
                frame.attrs["malformed"] = [
                    MalformedLine(m.line, f"{one.name}: {m.reason}") for m in listed
                ]
                yield frame


_MEMORY_MB = Number(low=0, low_open=True, integral=True, allowed="a whole number of MB > 0")
_SPLIT_BYTES = Number(low=0, low_open=True, integral=True, allowed="a whole number of bytes > 0")


def _cluster_for(client: Any, progress: object, split_bytes: object) -> Any:
    """The cluster's client to read on (None: here), once the cluster options are checked."""
    if not isinstance(progress, bool) and not callable(progress) and progress is not None:
        raise InvalidUsage(f"progress={progress!r}: must be True or False")
    number("split_bytes", split_bytes, _SPLIT_BYTES, error=InvalidUsage)
    return cluster_client(client)


def _on_cluster(
    fn: Callable[..., R], tasks: list[tuple[Any, ...]], cluster: Any, progress: bool
) -> list[R]:
    """``run_tasks`` on ``cluster``, under a key prefix of this call's own (two reads never
    share a task's key). The client is made current while they run, so Dask's progress
    display finds it (it looks for the current client)."""
    with cluster.as_current():
        return run_tasks(
            fn, tasks, client=cluster, progress=progress,
            name=f"{fn.__name__.removesuffix('_task')}-logs-{uuid.uuid4().hex[:8]}",
        )  # fmt: skip


def _task_options(
    format: str, function: str | None, chunk_chars: int, memory_mb: int | None
) -> TaskOptions:
    """The options every task of a distributed read gets, checked here before any runs."""
    if format != "auto" and format not in FORMATS:
        raise InvalidUsage(
            f"format={format!r}: must be 'auto' or one of {', '.join(map(repr, FORMATS))}"
        )
    if not (isinstance(chunk_chars, int) and chunk_chars > 0):
        raise InvalidUsage(f"chunk_chars={chunk_chars!r}: must be an integer > 0")
    memory = (
        None
        if memory_mb is None
        else int(number("memory_mb", memory_mb, _MEMORY_MB, error=InvalidUsage))
    )
    return TaskOptions(function=function, chunk_chars=chunk_chars, memory_mb=memory)


# ---------------------------------------------------------------- reading text


def _text_chunks(source: LogSource, chunk_chars: int) -> Iterator[tuple[str, int, int]]:
    """Yield (text of whole lines ending in newline, its first line number, chars read)."""
    if isinstance(source, (bytes, bytearray)) or not isinstance(source, Iterable):
        raise InvalidUsage(
            f"source={type(source).__name__}: must be a path (str or PathLike), a URL, a "
            "list of them, or an iterable of text lines"
        )
    yield from _line_chunks(source, chunk_chars)  # type: ignore[arg-type]  # checked per line


def _line_chunks(lines: Iterable[str], chunk_chars: int) -> Iterator[tuple[str, int, int]]:
    line = 1
    batch: list[str] = []
    size = 0
    for item in lines:
        if not isinstance(item, str):
            raise InvalidUsage(
                f"source: line {line + len(batch)} is a {type(item).__name__}, not a str"
            )
        item = item.rstrip("\r\n")
        batch.append(item)
        size += len(item) + 1
        if size >= chunk_chars:
            text = "\n".join(batch) + "\n"
            yield text, line, size
            line += len(batch)
            batch, size = [], 0
    if batch:
        yield "\n".join(batch) + "\n", line, size


# ---------------------------------------------------------------- bills


def bill_from_logs(
    source: pd.DataFrame | str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Any,
    *,
    provider: str | PriceSheet,
    format: str = "auto",
    billed_duration: str = "auto",
    init_billed: bool | str = "auto",
    package_type: str = "zip",
    free_tier: FreeTier = False,
    region: str | None = None,
    function: str | None = None,
    progress: Callable[[int], object] | bool | None = None,
    chunk_chars: int = _DEFAULT_CHUNK_CHARS,
    memory_mb: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    client: Any = None,
    split_bytes: int = DEFAULT_SPLIT_BYTES,
    **options: Any,
) -> LogBill:
    """Bill the invocations found in logs with a provider's rules.

    Invocations are grouped by function and memory size; each group's billed durations
    go to :func:`costmodel.estimate` (rounded up per invocation to the provider's step),
    and the groups' bills are added (pooled usage, tiers and free tier once).

    Which duration is billed (``billed_duration``):

    - ``"stated"``: the billed duration the log states (AWS ``Billed Duration``, which
      already includes SnapStart's ``Billed Restore Duration`` and the init AWS billed;
      FC ``Billed Duration``).
    - ``"measured"``: the measured ``duration_ms``, plus the ``init_duration_ms`` of a
      cold start where the INIT phase is billed (``init_billed``), rounded up to a whole
      ms (exact for every provider, as all bill in whole ms or coarser steps).
    - ``"auto"`` (default): ``"stated"`` for rows written by the provider's own platform
      (AWS logs billed on an ``aws`` sheet, FC logs on an ``alibaba`` sheet) when the log
      states it, ``"measured"`` otherwise (what these invocations would cost elsewhere).

    Given paths, the files are read chunk by chunk and only a histogram of whole-ms billed
    durations per group is kept (exact: durations are whole ms), so memory stays flat
    however large the logs; a pandas frame is reduced the same way, so both give the same
    bill. A Dask DataFrame is reduced partition by partition with Dask's scheduler.

    Paths run on a ``dask.distributed`` cluster when there is one (``client=``, or the
    active client): one task per file or byte range (as for ``read_logs``), each reduced
    to its histogram on its worker; the histograms are pooled here and billed once, so
    graduated tiers and the free tier apply to the pooled usage, never per task. The bill
    equals the serial one to the cent, with the same malformed lines (file and line).

    Args:
        source: a frame from ``read_logs`` (or any frame with ``duration_ms`` and
            ``memory_mb``; optional ``function``, ``billed_duration_ms``,
            ``billed_restore_duration_ms``, ``format``), a Dask DataFrame of the same, a
            path (a folder means every file in it), or a list of paths.
        provider: catalog key (``"aws-lambda"`` ...) or a ``PriceSheet``.
        format: log format for paths (see ``read_logs``).
        billed_duration: ``"auto"``, ``"stated"`` or ``"measured"`` (above).
        init_billed: for rows billed on their measured duration, whether a cold start's
            init is billed: ``True``, ``False`` or ``"auto"`` (default): on an AWS sheet
            by the rule of the row's day, as AWS Lambda bills the INIT phase of on-demand
            ZIP functions since 2025-08-01 (container images before too), so a cold start
            without a timestamp asks for the choice; on other sheets not billed.
        region: the provider's region (default: its sheet's own; an unknown one raises
            InvalidUsage listing the known ones).
        package_type: ``"zip"`` (default) or ``"image"`` (container image, or a custom
            runtime: INIT billed before 2025-08-01 too), for ``init_billed="auto"``.
        free_tier: the free offers to apply, ``"none"`` (default, as ``False``),
            ``"always"`` (as ``True``) or ``"legacy-12-month"`` (see
            :func:`costmodel.estimate`), once for the whole bill.
        function: function name for logs that carry none (default: the file name).
        progress: called with characters read after each chunk (paths read here);
            on a cluster, any value but None and False shows Dask's progress display.
        chunk_chars: characters of text read at a time from paths (> 0): bounds memory.
        memory_mb: the memory size (MB) of logs that state none (``"gcp-json"``).
        storage_options: options for fsspec URLs (see ``read_logs``); never shown.
        client: the cluster to read paths on (see ``read_logs``); False: here.
        split_bytes: see ``read_logs``.
        **options: provider options passed to ``estimate`` (``arch``, ``vcpu`` ...).

    Returns:
        A :class:`LogBill`: ``.bill``, ``.total``, ``.groups``, ``.malformed``.

    Raises:
        InvalidUsage: a bad option, a frame without the needed columns, no invocation
            found, ``billed_duration="stated"`` for rows that state none.
        UnknownProvider: unknown provider key.

    Example:
        >>> frame = read_logs([
        ...     "REPORT RequestId: a1\\tDuration: 12.34 ms\\tBilled Duration: 13 ms"
        ...     "\\tMemory Size: 1024 MB\\tMax Memory Used: 18 MB\\t",
        ... ] * 1000, function="resize")
        >>> result = bill_from_logs(frame, provider="aws-lambda")
        >>> result.groups[["function", "memory_mb", "invocations", "billed_duration_ms"]]
          function  memory_mb  invocations  billed_duration_ms
        0   resize       1024         1000             13000.0
        >>> round(result.total, 6)  # 1000 requests + 13 GB-s at $0.0000166667
        0.000417
    """
    sheet = provider if isinstance(provider, PriceSheet) else price_sheet(provider)
    sheet = sheet.in_region(region)
    rule = BillingRule(sheet.vendor, billed_duration, init_billed, package_type)
    free_tier = free_tier_choice(free_tier)
    counts = BilledHistogram()
    malformed: list[tuple[str, int, str]] = []
    malformed_count = 0
    if isinstance(source, pd.DataFrame):
        counts.add(billed_counts(source, rule))
        listed = source.attrs.get("malformed", [])
        malformed = [("<frame>", int(line), str(reason)) for line, reason in listed]
        malformed_count = int(source.attrs.get("malformed_count", len(listed)))
    elif is_dask_frame(source):
        counts.add(dask_counts(source, rule))
    elif (cluster := _cluster_for(client, progress, split_bytes)) is not None:
        task_options = _task_options(format, function, chunk_chars, memory_mb)
        files = expand_sources(source, storage_options)
        tasks = plan(files, format, split_bytes, chunk_chars)
        tasks_args = [(t, task_options, rule) for t in tasks]
        results = _on_cluster(bill_task, tasks_args, cluster, progress not in (None, False))
        counts, malformed, malformed_count = combine_bills(tasks, results, 1000)
    else:
        for one in expand_sources(source, storage_options):
            frames = iter_log_frames(
                one,
                format,
                function=function,
                chunk_chars=chunk_chars,
                progress=progress if callable(progress) else None,
                memory_mb=memory_mb,
                storage_options=storage_options,
            )
            for frame in frames:
                counts.add(billed_counts(frame, rule))
                listed = frame.attrs["malformed"]
                malformed_count += int(frame.attrs["malformed_count"])
                room = 1000 - len(malformed)
                malformed += [(one.name, m.line, m.reason) for m in listed[: max(room, 0)]]
    if counts.empty:
        raise InvalidUsage(
            "no invocation found to bill"
            + (f" ({malformed_count} malformed line(s))" if malformed_count else "")
        )
    return bill_histogram(counts, sheet, free_tier, options, malformed, malformed_count)


def expand_paths(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    storage_options: Mapping[str, Any] | None = None,
) -> list[LogFile]:
    """The files named by paths, folders, globs or URLs: see :func:`expand_sources`.

    Raises:
        InvalidUsage: ``source`` is not a path or a list of paths, or a glob matches nothing.
        FileNotFoundError: a path does not exist.
    """
    return expand_sources(source, storage_options)
