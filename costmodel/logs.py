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
``"auto"`` (default)
    Decided from the content: the first signature found anywhere in the first chunk
    that has one (``REPORT RequestId:``, ``"platform.report"``, ``FC Invoke``/``Billed
    Duration: .. ms,``, ``"durationMs"``, or a CSV header naming ``duration_ms``/``durationMs``).

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
counts them all. Files may be gzip-compressed (``.gz``), as CloudWatch exports are.

Parsing is vectorized: one compiled regular expression runs over a whole chunk of
text (``re.findall``, a C loop) and pandas converts whole columns; there is no
per-line Python loop for the text formats. AWS ``REPORT`` lines in the usual layout
are read faster still, from the chunk's bytes with numpy (8 bytes at a time); the
regular expression defines the format and reads every other line that has the marker,
and both read the same values from any line.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .billing import Bill, estimate
from .errors import InvalidFile, InvalidUsage
from .pricing import PriceSheet, price_sheet

try:  # pandas' str dtype is Arrow-backed when pyarrow is installed (pandas >= 3)
    _ARROW: Any = importlib.import_module("pyarrow")
    if not isinstance(pd.array([], dtype="str"), pd.arrays.ArrowStringArray):
        _ARROW = None
except ImportError:
    _ARROW = None

__all__ = [
    "COLUMNS",
    "FORMATS",
    "FORMAT_VENDORS",
    "LogBill",
    "LogSource",
    "MalformedLine",
    "bill_from_logs",
    "expand_paths",
    "iter_log_frames",
    "read_logs",
]

#: Columns of the frame ``read_logs`` returns, in order.
COLUMNS: tuple[str, ...] = (
    "timestamp",
    "function",
    "request_id",
    "duration_ms",
    "billed_duration_ms",
    "memory_mb",
    "max_memory_used_mb",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
    "status",
    "format",
    "source_line",
)

#: Formats ``read_logs`` understands (plus ``"auto"``).
FORMATS: tuple[str, ...] = ("aws", "aws-json", "fc", "fc-sls", "csv")

#: The vendor whose platform writes each log format (its stated billed duration is
#: that vendor's own billing).
FORMAT_VENDORS: dict[str, str] = {
    "aws": "aws",
    "aws-json": "aws",
    "fc": "alibaba",
    "fc-sls": "alibaba",
}

#: Text that only lines of each format carry: a chunk without it has none of them.
_MARKERS: dict[str, tuple[str, ...]] = {
    "aws": ("REPORT RequestId:",),
    "aws-json": ('"platform.report"',),
    "fc": ("FC Invoke ", ", Billed Duration: "),
    "fc-sls": ('"memoryMB"',),
}

#: A path (str or PathLike; ``.gz`` is decompressed) or an iterable of text lines.
LogSource = str | os.PathLike[str] | Iterable[str]

_FLOAT_COLUMNS = (
    "duration_ms",
    "billed_duration_ms",
    "max_memory_used_mb",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
)
_DEFAULT_CHUNK_CHARS = 8 << 20  # about 8 MB of text per chunk


class MalformedLine(NamedTuple):
    """A line that looks like a report but does not parse."""

    line: int
    """1-based line number in the source."""
    reason: str
    """What is wrong with it."""


# ---------------------------------------------------------------- regular expressions

_NUM = r"\d+(?:\.\d+)?"
_TS = r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)"

# One alternative per kind of line; ``findall`` then yields exactly one tuple per line.
_AWS_REPORT = (
    rf"(?:{_TS}[ \t])?[^\n]*?REPORT RequestId: (?P<rid>\S+)"
    rf"\s+Duration: (?P<d>{_NUM}) ms"
    rf"\s+Billed Duration: (?P<b>\d+) ms"
    rf"\s+Memory Size: (?P<m>\d+) MB"
    rf"\s+Max Memory Used: (?P<x>\d+) MB"
    # cold starts only: parsed apart, on the few lines that have them
    rf"(?P<tail>(?:\s+(?:(?:Init|Restore|Billed Restore) Duration: {_NUM} ms"
    r"|Status: \S+|Error ?Type: \S+))*)"
    r"[ \t]*"
)
_AWS_LINE = re.compile(
    rf"^(?:{_AWS_REPORT}|[^\n]*?(?P<bad>REPORT RequestId:)[^\n]*|[^\n]*)$", re.MULTILINE
)
_AWS_GROUPS = ("ts", "rid", "d", "b", "m", "x", "tail", "bad")
_AWS_TAIL = re.compile(rf"(Init|Restore|Billed Restore) Duration: ({_NUM}) ms|Status: (\S+)")
_TAIL_KEYS = {
    "Init": "init_duration_ms",
    "Restore": "restore_duration_ms",
    "Billed Restore": "billed_restore_duration_ms",
}
_AWS_FIELDS = (
    ("RequestId", r"REPORT RequestId: \S"),
    ("Duration", rf"(?<!Billed )(?<!Init )(?<!Restore )Duration: {_NUM} ms"),
    ("Billed Duration", r"Billed Duration: \d+ ms"),
    ("Memory Size", r"Memory Size: \d+ MB"),
    ("Max Memory Used", r"Max Memory Used: \d+ MB"),
)

_FC_REPORT = (
    rf"(?:{_TS}[ \t])?[^\n]*?Duration: (?P<d>{_NUM}) ms, Billed Duration: (?P<b>\d+) ms, "
    rf"Memory Size: (?P<m>\d+) MB, Max Memory Used: (?P<x>{_NUM}) MB[ \t]*"
)
_FC_LINE = re.compile(
    rf"^(?:{_FC_REPORT}"
    r"|[^\n]*?FC Invoke (?:Start|End) RequestId: (?P<rid>[^\s,]+)[^\n]*"
    r"|[^\n]*?(?P<bad>Billed Duration:)[^\n]*"
    r"|[^\n]*)$",
    re.MULTILINE,
)
_FC_GROUPS = ("ts", "d", "b", "m", "x", "rid", "bad")
_FC_FIELDS = (
    ("Duration", rf"^[^\n]*?Duration: {_NUM} ms,"),
    ("Billed Duration", r"Billed Duration: \d+ ms,"),
    ("Memory Size", r"Memory Size: \d+ MB,"),
    ("Max Memory Used", rf"Max Memory Used: {_NUM} MB"),
)

_AWS_JSON_LINE = re.compile(r'^(?:[^\n{]*(\{[^\n]*"platform\.report"[^\n]*)|[^\n]*)$', re.MULTILINE)
_SLS_LINE = re.compile(r'^(?:[^\n{]*(\{[^\n]*"durationMs"[^\n]*)|[^\n]*)$', re.MULTILINE)

_CSV_ALIASES = {
    "durationMs": "duration_ms",
    "memoryMB": "memory_mb",
    "memoryUsageMB": "max_memory_used_mb",
    "functionName": "function",
    "requestId": "request_id",
    "initializationDurationMs": "init_duration_ms",
    "billedDurationMs": "billed_duration_ms",
    "invocationStartTimestamp": "timestamp",
}
_CSV_REQUIRED = ("duration_ms", "memory_mb")
_CSV_OPTIONAL = (
    "timestamp",
    "function",
    "request_id",
    "billed_duration_ms",
    "max_memory_used_mb",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
    "status",
)


# ---------------------------------------------------------------- public API


def read_logs(
    source: LogSource,
    format: str = "auto",
    *,
    function: str | None = None,
    max_malformed_listed: int = 1000,
) -> pd.DataFrame:
    """Read invocation reports from a log file or from lines of log text.

    Args:
        source: a path (``str`` or ``PathLike``; ``.gz`` files are decompressed) or
            an iterable of lines (``list[str]``, an open text file).
        format: ``"auto"`` or one of ``FORMATS``: ``"aws"``, ``"aws-json"``,
            ``"fc"``, ``"fc-sls"``, ``"csv"`` (see the module docstring).
        function: the function name for reports that carry none (AWS REPORT lines
            and ``platform.report`` records, FC text lines). Default: the file's
            name without extension, or ``"unknown"`` for lines.
        max_malformed_listed: how many malformed lines to list in
            ``attrs["malformed"]``; ``attrs["malformed_count"]`` counts them all.

    Returns:
        One row per invocation with ``COLUMNS``: ``timestamp`` (UTC, NaT when the
        log has none), ``function``, ``request_id``, ``duration_ms``,
        ``billed_duration_ms`` (NaN when the log states none), ``memory_mb`` (int),
        ``max_memory_used_mb``, ``init_duration_ms``, ``restore_duration_ms``,
        ``billed_restore_duration_ms`` (NaN when absent), ``format`` and
        ``source_line`` (1-based). ``attrs["malformed"]`` is a list of
        ``MalformedLine(line, reason)``; ``attrs["malformed_count"]`` an int.

    Raises:
        InvalidUsage: ``format`` is unknown or ``source`` is neither a path nor lines.
        InvalidFile: a CSV lacks a required column.
        FileNotFoundError: the path does not exist.

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
    frames: list[pd.DataFrame] = []
    malformed: list[MalformedLine] = []
    count = 0
    for frame in iter_log_frames(source, format, function=function):
        if len(frame):
            frames.append(frame)
        chunk_bad: list[MalformedLine] = frame.attrs.get("malformed", [])
        count += int(frame.attrs.get("malformed_count", 0))
        room = max_malformed_listed - len(malformed)
        if room > 0:
            malformed.extend(chunk_bad[:room])
    result = pd.concat(frames, ignore_index=True) if frames else _empty_frame()
    result.attrs["malformed"] = malformed
    result.attrs["malformed_count"] = count
    return result


def iter_log_frames(
    source: LogSource,
    format: str = "auto",
    *,
    function: str | None = None,
    chunk_chars: int = _DEFAULT_CHUNK_CHARS,
    progress: Callable[[int], object] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a log chunk by chunk: the streaming form of ``read_logs``.

    Memory stays bounded by ``chunk_chars`` whatever the size of the file.

    Args:
        source: as for ``read_logs``.
        format: as for ``read_logs``.
        function: as for ``read_logs``.
        chunk_chars: characters of text per chunk (whole lines; > 0).
        progress: called with the number of characters consumed after each chunk
            (for a progress bar).

    Yields:
        Frames with ``COLUMNS`` (possibly empty); each has ``attrs["malformed"]``
        and ``attrs["malformed_count"]`` for its own chunk.

    Example:
        >>> lines = ["Duration: 18.42 ms, Billed Duration: 19 ms, Memory Size: 128 MB, "
        ...          "Max Memory Used: 34.80 MB"]
        >>> [len(f) for f in iter_log_frames(lines, "fc")]
        [1]
    """
    if format != "auto" and format not in FORMATS:
        raise InvalidUsage(
            f"format={format!r}: must be 'auto' or one of {', '.join(map(repr, FORMATS))}"
        )
    if not (isinstance(chunk_chars, int) and chunk_chars > 0):
        raise InvalidUsage(f"chunk_chars={chunk_chars!r}: must be an integer > 0")
    name = function if function is not None else _default_function(source)
    state = _State(format=None if format == "auto" else format, function=name)
    state.path = str(source) if isinstance(source, (str, os.PathLike)) else "<lines>"
    for text, first_line, consumed in _text_chunks(source, chunk_chars):
        if state.format is None:
            state.format = _detect(text, first_chunk=first_line == 1)
        if state.format is None:
            frame = _empty_frame()
            frame.attrs["malformed"], frame.attrs["malformed_count"] = [], 0
        else:
            frame = _read_chunk(text, first_line, state)
        if progress is not None:
            progress(consumed)
        yield frame


# ---------------------------------------------------------------- reading text


@dataclass(slots=True)
class _State:
    """What one chunk passes to the next."""

    format: str | None
    function: str
    path: str = "<lines>"
    last_request_id: str = ""
    last_timestamp: str = ""
    csv_header: list[str] | None = None
    csv_columns: dict[str, int] = field(default_factory=dict)


def _default_function(source: LogSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        name = Path(source).name
        for suffix in (".gz", ".log", ".txt", ".json", ".jsonl", ".ndjson", ".csv"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        return name or "unknown"
    return "unknown"


def _open_text(path: str | os.PathLike[str]) -> IO[str]:
    if str(path).lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _text_chunks(source: LogSource, chunk_chars: int) -> Iterator[tuple[str, int, int]]:
    """Yield (text of whole lines ending in newline, its first line number, chars read)."""
    if isinstance(source, (str, os.PathLike)):
        with _open_text(source) as stream:
            yield from _stream_chunks(stream, chunk_chars)
        return
    if isinstance(source, (bytes, bytearray)) or not isinstance(source, Iterable):
        raise InvalidUsage(
            f"source={type(source).__name__}: must be a path (str or PathLike) "
            "or an iterable of text lines"
        )
    yield from _line_chunks(source, chunk_chars)


def _stream_chunks(stream: IO[str], chunk_chars: int) -> Iterator[tuple[str, int, int]]:
    line = 1
    rest = ""
    while True:
        block = stream.read(chunk_chars)
        if not block:
            break
        text = rest + block
        cut = text.rfind("\n") + 1
        if cut == 0:
            rest = text
            continue
        text, rest = text[:cut], text[cut:]
        yield text, line, len(text)
        line += text.count("\n")
    if rest:
        yield rest + "\n", line, len(rest)


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


def _detect(text: str, *, first_chunk: bool) -> str | None:
    """The format of the first report marker anywhere in the chunk (``str.find``: cheap)."""
    if first_chunk:
        first = text.lstrip("\ufeff").split("\n", 1)[0]
        named = "duration_ms" in first or "durationMs" in first
        if named and "," in first and not first.lstrip().startswith("{"):
            return "csv"
    found = {
        "aws": text.find("REPORT RequestId:"),
        "aws-json": text.find('"platform.report"'),
        "fc": min(
            (at for at in (text.find("FC Invoke "), text.find(", Billed Duration: ")) if at >= 0),
            default=-1,
        ),
        "fc-sls": text.find('"durationMs"') if '"memoryMB"' in text else -1,
    }
    hits = {fmt: at for fmt, at in found.items() if at >= 0}
    if "aws-json" in hits:  # platform.report records also carry "durationMs"
        hits.pop("fc-sls", None)
    return min(hits, key=hits.__getitem__) if hits else None


def _read_chunk(text: str, first_line: int, state: _State) -> pd.DataFrame:
    """The chunk read in the file's format and, where their markers occur, the others.

    Reports in the other format of the same vendor (Lambda text and JSON, FC text and
    SLS records) are read too: a log group can switch format mid-file. A line that another
    vendor's format reads (as a report or a malformed one) and the file's formats do not
    is counted as malformed, naming both formats.
    """
    assert state.format is not None
    own = state.format
    frame = _PARSERS[own](text, first_line, state)
    if own == "csv":
        return frame
    others = [
        fmt
        for fmt, markers in _MARKERS.items()
        if fmt != own and any(marker in text for marker in markers)
    ]
    if not others:
        return frame
    frames, foreign = [frame], {}
    for fmt in others:
        other = _PARSERS[fmt](text, first_line, state)
        if FORMAT_VENDORS[fmt] == FORMAT_VENDORS[own]:
            frames.append(other)
        else:
            foreign[fmt] = other
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.sort_values("source_line", kind="stable", ignore_index=True)
    read = set(rows["source_line"].tolist())
    malformed = [m for part in frames for m in part.attrs["malformed"]]
    # precedence per line: read by the file's formats, read by another vendor's format,
    # malformed in the file's formats, malformed in another vendor's format
    elsewhere: dict[int, str] = {}
    for fmt, other in foreign.items():
        for line in other["source_line"].tolist():
            if line not in read:
                elsewhere.setdefault(line, f"line in format {fmt!r}, file read as {own!r}")
    malformed = [m for m in malformed if m.line not in elsewhere]
    listed = {m.line for m in malformed} | read
    for fmt, other in foreign.items():
        for m in other.attrs["malformed"]:
            if m.line not in listed:
                elsewhere.setdefault(m.line, f"line in format {fmt!r}, file read as {own!r}")
    malformed += [MalformedLine(line, reason) for line, reason in elsewhere.items()]
    return _finish(rows, sorted(malformed))


# ---------------------------------------------------------------- frames


def _empty_frame() -> pd.DataFrame:
    return _assemble(0, {})


def _assemble(n: int, columns: dict[str, Any]) -> pd.DataFrame:
    """A frame with exactly ``COLUMNS`` and their dtypes; absent columns are missing.

    A ``str`` given for a text column is broadcast to every row.
    """
    index = pd.RangeIndex(n)
    data: dict[str, Any] = {}
    for name in COLUMNS:
        value = columns.get(name)
        if name == "timestamp":
            data[name] = _timestamps(value, n)
        elif name in ("function", "request_id", "status", "format"):
            data[name] = pd.Series("" if value is None else value, index=index, dtype="str")
        elif name in ("memory_mb", "source_line"):
            data[name] = np.asarray(value if value is not None else np.zeros(n), dtype=np.int64)
        else:
            data[name] = (
                np.full(n, np.nan) if value is None else np.asarray(value, dtype=np.float64)
            )
    return pd.DataFrame(data, index=index, columns=list(COLUMNS))


def _timestamps(value: Any, n: int) -> pd.Series:
    if value is None:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    series = value if isinstance(value, pd.Series) else pd.Series(value)
    if series.dtype.kind != "M":
        series = pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    return series.astype("datetime64[ns, UTC]").reset_index(drop=True)


def _numbers(values: Any) -> np.ndarray:
    """Decimal strings (``""`` meaning absent) to float64 (NaN), in one pass.

    Strings that are not numbers also become NaN (callers that must know check).
    """
    array = np.array(values, dtype=object)
    if array.size == 0:
        return np.empty(0)
    empty = array == ""
    if empty.all():
        return np.full(array.size, np.nan)
    array[empty] = "nan"
    try:
        return array.astype(np.float64)
    except ValueError:
        return pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )


def _finish(frame: pd.DataFrame, malformed: list[MalformedLine]) -> pd.DataFrame:
    frame.attrs["malformed"] = malformed
    frame.attrs["malformed_count"] = len(malformed)
    return frame


def _missing_fields(line: str, fields: tuple[tuple[str, str], ...], kind: str) -> str:
    missing = [name for name, pattern in fields if not re.search(pattern, line)]
    if missing:
        return f"{kind}: missing or unreadable {', '.join(repr(m) for m in missing)}"
    return f"{kind}: unexpected text or a non-numeric value"


# ---------------------------------------------------------------- AWS text


def _parse_aws(text: str, first_line: int, state: _State) -> pd.DataFrame:
    """REPORT lines of one chunk: a vectorized byte-level reader, the regex for the rest.

    Lines without ``REPORT RequestId:`` cannot be reports (nor malformed ones) and are
    never looked at again. Lines in the common layout (see ``_fast_reports``) are read
    with numpy over the chunk's bytes; the few others (SnapStart, ``Status``, two markers
    on a line, malformed reports ...) go through ``_AWS_LINE``, which defines the
    format. Both give the same values for a line they both read.
    """
    data = text.encode("utf-8", "surrogatepass")  # round-trips any str exactly
    chunk = _Bytes(data)
    raw = chunk.raw[: len(data)]
    ends = np.flatnonzero(raw == _NEWLINE)  # chunks end with a newline: one per line
    marks = _find_marks(chunk, len(data))
    if len(marks) == 0:
        return _finish(_empty_frame(), [])
    line_of = np.searchsorted(ends, marks)
    first = np.empty(len(marks), dtype=bool)
    first[0] = True
    np.not_equal(line_of[1:], line_of[:-1], out=first[1:])
    single = np.append(first[1:], True)[first]  # the line has one marker only
    lines, at = line_of[first], marks[first]
    starts = np.where(lines > 0, ends[lines - 1] + 1, 0)
    stops = ends[lines]
    fast = _fast_reports(chunk, at, single)
    ok = fast.ok
    slow_lines = lines[~ok]
    slow_text = [data[int(starts[i]) : int(stops[i])] for i in np.flatnonzero(~ok)]
    slow = _slow_reports(
        [line.decode("utf-8", "surrogatepass") for line in slow_text],
        slow_lines,
        first_line,
    )
    fast_lines = lines[ok]
    prefixed = ok & (at > starts)
    timestamps: np.ndarray | None = None
    if prefixed.any() or slow.timestamps is not None:
        timestamps = np.full(len(fast_lines), "", dtype=object)
        for row, i in zip(np.flatnonzero(prefixed[ok]), np.flatnonzero(prefixed), strict=True):
            prefix = data[int(starts[i]) : int(at[i])].decode("utf-8", "surrogatepass")
            found = _TS_BEFORE_REPORT.match(prefix)
            timestamps[row] = found[1] if found else ""
    if len(slow_lines) == 0:
        order = None
    else:
        order = np.argsort(np.concatenate([fast_lines, slow.lines]), kind="stable")

    def merged(fast_values: np.ndarray, slow_values: np.ndarray) -> np.ndarray:
        if order is None:
            return fast_values
        return np.concatenate([fast_values, slow_values])[order]

    source = merged(fast_lines, slow.lines)
    nan = np.full(len(fast_lines), np.nan)
    frame = _assemble(
        len(source),
        {
            "timestamp": (
                None
                if timestamps is None
                else _prefix_timestamps(
                    merged(
                        timestamps,
                        slow.timestamps
                        if slow.timestamps is not None
                        else np.full(len(slow.lines), "", dtype=object),
                    )
                )
            ),
            "function": state.function,
            "request_id": _merge_strings(fast.request_ids, slow.request_ids, order),
            "duration_ms": merged(fast.duration_ms, slow.columns["duration_ms"]),
            "billed_duration_ms": merged(fast.billed_ms, slow.columns["billed_duration_ms"]),
            "memory_mb": merged(fast.memory_mb, slow.columns["memory_mb"]),
            "max_memory_used_mb": merged(fast.max_used_mb, slow.columns["max_memory_used_mb"]),
            "init_duration_ms": merged(fast.init_ms, slow.columns["init_duration_ms"]),
            "restore_duration_ms": merged(nan, slow.columns["restore_duration_ms"]),
            "billed_restore_duration_ms": merged(nan, slow.columns["billed_restore_duration_ms"]),
            "status": (
                None
                if slow.status is None
                else merged(np.full(len(fast_lines), "", dtype=object), slow.status)
            ),
            "format": "aws",
            "source_line": source + first_line,
        },
    )
    return _finish(frame, slow.malformed)


_NEWLINE, _TAB, _SPACE, _DOT = 10, 9, 32, 46
_MARK = b"REPORT RequestId:"
_TS_BEFORE_REPORT = re.compile(rf"{_TS}[ \t]")
# What comes before each number of a REPORT line (decimals allowed or not): its tab,
# label, and the unit of the number before; older lines put a space before each tab.
_LAYOUT = (
    (b"\tDuration: ", True),
    (b" ms\tBilled Duration: ", False),
    (b" ms\tMemory Size: ", False),
    (b" MB\tMax Memory Used: ", False),
)
_OLDER_LAYOUT = tuple((literal.replace(b"\t", b" \t"), decimal) for literal, decimal in _LAYOUT)
_INIT_LABEL = b"\tInit Duration: "
_NUMBER_BYTES = 16  # digits and dot; at most 15 digits: below 2**53, exact as doubles
_ID_BYTES = 48  # request ids up to 47 bytes (AWS's are 36) take the fast path
_PAD = bytes(_ID_BYTES + 16)
_POW10 = 10.0 ** np.arange(_NUMBER_BYTES)
_WEIGHTS = 10 ** np.arange(_NUMBER_BYTES - 1, -1, -1, dtype=np.int64)


class _Bytes:
    """A chunk's bytes with the views the fast reader gathers from (out of range clips)."""

    def __init__(self, data: bytes) -> None:
        padded = data + _PAD
        self.raw = np.frombuffer(padded, dtype=np.uint8)
        # every unaligned 8-byte word, and every 16- / _ID_BYTES-byte window
        self.words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
        self.rows16 = sliding_window_view(self.raw, _NUMBER_BYTES)
        self.rows_id = sliding_window_view(self.raw, _ID_BYTES)
        self.last = len(self.rows_id) - 1  # the highest offset every view has

    def at(self, offsets: np.ndarray) -> np.ndarray:
        """Offsets clipped into range (rows that go past the end have failed anyway).

        Indexing, not ``np.take``: take would copy these strided views whole.
        """
        clipped: np.ndarray = np.clip(offsets, 0, self.last)
        return clipped

    def byte(self, at: np.ndarray) -> np.ndarray:
        result: np.ndarray = self.raw[self.at(at)]
        return result

    def literal(self, at: np.ndarray, literal: bytes) -> np.ndarray:
        """Whether ``literal`` is at each offset, compared 8 bytes at a time."""
        ok = np.ones(len(at), dtype=bool)
        for i in range(0, len(literal), 8):
            piece = literal[i : i + 8]
            got = self.words[self.at(at + i)]
            if len(piece) < 8:
                got = got & np.uint64((1 << (8 * len(piece))) - 1)
            ok &= got == np.uint64(int.from_bytes(piece, "little"))
        return ok

    def line_ends(self, at: np.ndarray) -> np.ndarray:
        """Whether only an optional tab, space, or space and tab precede a newline at ``at``."""
        word = self.words[self.at(at)]
        b0, b1, b2 = word & 0xFF, (word >> 8) & 0xFF, (word >> 16) & 0xFF
        blank = (b0 == _TAB) | (b0 == _SPACE)
        result: np.ndarray = (
            (b0 == _NEWLINE)
            | (blank & (b1 == _NEWLINE))
            | ((b0 == _SPACE) & (b1 == _TAB) & (b2 == _NEWLINE))
        )
        return result

    def numbers(
        self, start: np.ndarray, *, decimal: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, length, ok) of ``\\d+`` (or ``\\d+(\\.\\d+)?``) starting at each offset.

        Numbers of up to 7 bytes are read 8 bytes at a time (SWAR: bit tricks on one
        64-bit word per row); longer ones by ``_long_numbers``. Either way the digits form
        one integer below 2**53, divided by a power of ten: both exact doubles, so the
        quotient is correctly rounded, the same as ``float(text)``.
        """
        word = self.words[self.at(start)]
        value = word ^ _byte_mask(0x30)  # digits become 0..9
        stops = (((value & _LOW7) + _byte_mask(0x80 - 10)) | value) & _HIGH  # byte >= 10
        dots = _zero_bytes(word ^ _byte_mask(_DOT)) if decimal else None
        if dots is not None:
            stops &= ~dots
        length = _first_byte(stops)  # -1: 8 bytes of digits (and dots) or more
        ok = length >= 1
        length_bytes = _KEEP[np.clip(length, 0, 8)]
        value &= length_bytes
        digits = length
        fraction = np.zeros(len(start), dtype=np.int64)
        if dots is not None:
            dots &= length_bytes
            has_dot = dots != 0
            at_dot = _first_byte(dots)
            ok &= (dots & (dots - np.uint64(1))) == 0  # at most one
            ok &= ~has_dot | ((at_dot >= 1) & (at_dot <= length - 2))
            below = _KEEP[np.clip(at_dot, 0, 8)]
            value = np.where(has_dot, (value & below) | ((value >> np.uint64(8)) & ~below), value)
            digits = length - has_dot
            fraction = np.where(has_dot, length - 1 - at_dot, 0)
        # right-align the digits, then combine them pairwise (8 digits at most)
        value <<= (np.uint64(8) * (8 - np.clip(digits, 1, 8))).astype(np.uint64)
        value = (value * np.uint64(10) + (value >> np.uint64(8))) & _byte_mask(0xFF, 2)
        value = (value * np.uint64(100) + (value >> np.uint64(16))) & _byte_mask(0xFFFF, 4)
        value = (value * np.uint64(10000) + (value >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
        result = value.astype(np.float64) / _POW10[fraction]
        long = length < 0
        if long.any():
            rows = np.flatnonzero(long)
            result[rows], length[rows], ok[rows] = self._long_numbers(start[rows], decimal=decimal)
        return result, length, ok

    def _long_numbers(
        self, start: np.ndarray, *, decimal: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``numbers`` for the rare numbers of 8 bytes or more, through 16-byte windows."""
        window = self.rows16[self.at(start)]
        digit = (window - 48) < 10  # uint8 wraps: only '0'..'9' are below 10
        dot = window == _DOT
        length = np.argmin(digit | dot if decimal else digit, axis=1)
        ok = length >= 1  # 0: no digit, or too long for the window
        columns = np.arange(_NUMBER_BYTES)
        scale: np.ndarray = np.ones(len(start))
        if decimal:
            dot &= columns < length[:, None]
            dots = dot.sum(axis=1)
            dot_at = dot.argmax(axis=1)
            ok &= (dots == 0) | ((dots == 1) & (dot_at >= 1) & (dot_at <= length - 2))
            scale = _POW10[np.where(dots == 1, length - 1 - dot_at, 0)]
        # the number again, right-aligned, to weigh each digit by its column
        right = self.rows16[self.at(start + length - _NUMBER_BYTES)]
        inside = columns >= (_NUMBER_BYTES - length)[:, None]
        digits = np.where(inside & ((right - 48) < 10), right.astype(np.int64) - 48, 0)
        total = digits @ _WEIGHTS
        if decimal:  # digits left of the dot were weighed one column too high
            below = total % scale.astype(np.int64)
            total = np.where(scale > 1, (total - below) // 10 + below, total)
        return total / scale, length, ok


def _byte_mask(byte: int, width: int = 1) -> np.uint64:
    """``byte`` repeated in every ``width``-byte lane of a 64-bit word."""
    return np.uint64(int.from_bytes(byte.to_bytes(width, "little") * (8 // width), "little"))


_LOW7, _HIGH = _byte_mask(0x7F), _byte_mask(0x80)
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


def _zero_bytes(word: np.ndarray) -> np.ndarray:
    """The high bit of every byte of ``word`` that is zero (exact, no false positives)."""
    result: np.ndarray = ~(((word & _LOW7) + _LOW7) | word) & _HIGH
    return result


def _first_byte(flags: np.ndarray) -> np.ndarray:
    """Index of the lowest byte with its high bit set in ``flags``; -1 where none is."""
    lowest = flags & (~flags + np.uint64(1))  # 2**(8k + 7), or 0
    exponent = np.frexp(lowest.astype(np.float64))[1]  # 8k + 8, or 0
    result: np.ndarray = exponent // 8 - 1
    return result


def _find_marks(chunk: _Bytes, size: int) -> np.ndarray:
    """Sorted offsets of every ``REPORT RequestId:`` in the first ``size`` bytes."""
    rare = _MARK.index(b"q")  # the marker's rarest byte, then the whole marker
    found = np.flatnonzero(chunk.raw[:size] == ord("q")) - rare
    marks: np.ndarray = found[(found >= 0) & chunk.literal(found, _MARK)]
    return marks


@dataclass(slots=True)
class _FastReports:
    ok: np.ndarray
    request_ids: Any
    duration_ms: np.ndarray
    billed_ms: np.ndarray
    memory_mb: np.ndarray
    max_used_mb: np.ndarray
    init_ms: np.ndarray


def _fast_reports(chunk: _Bytes, at: np.ndarray, candidates: np.ndarray) -> _FastReports:
    """Read REPORT lines in the common layout from the chunk's bytes, all at once.

    ``at`` is the offset of each line's ``REPORT RequestId:``. The layout: ``REPORT
    RequestId: <printable ASCII id>``, then ``Duration``, ``Billed Duration``, ``Memory
    Size``, ``Max Memory Used`` and optionally ``Init Duration``, each after a tab (or,
    on the whole line, a space and a tab, as older lines have), then an optional tab or
    space before the newline. Lines with anything else fail ``ok``; every other line's
    values equal what ``_AWS_LINE`` reads from it.
    """
    cursor = at + len(_MARK)
    ok = candidates & (chunk.byte(cursor) == _SPACE)
    cursor = cursor + 1
    window = chunk.rows_id[chunk.at(cursor)]
    id_length = np.argmin((window > _SPACE) & (window < 127), axis=1)
    ok &= id_length >= 1  # 0: no id, or too long for the window
    cursor = cursor + id_length
    older = chunk.byte(cursor) == _SPACE
    values = np.full((len(_LAYOUT), len(at)), np.nan)
    for layout, rows in ((_LAYOUT, ~older), (_OLDER_LAYOUT, older)):
        rows = np.flatnonzero(rows & ok)
        if len(rows) == 0:
            continue
        where = cursor[rows]
        good = np.ones(len(rows), dtype=bool)
        for k, (literal, decimal) in enumerate(layout):
            good &= chunk.literal(where, literal)
            where = where + len(literal)
            values[k, rows], length, readable = chunk.numbers(where, decimal=decimal)
            good &= readable
            where = where + length
        good &= chunk.literal(where, b" MB")
        ok[rows] = good
        cursor[rows] = where + len(b" MB")
    # then the end of the line, or Init Duration and the end of the line
    at_end = chunk.line_ends(cursor)
    init_ms = np.full(len(at), np.nan)
    cursor = cursor + (chunk.byte(cursor) == _SPACE)
    rows = np.flatnonzero(ok & ~at_end & chunk.literal(cursor, _INIT_LABEL))
    if len(rows):
        where = cursor[rows] + len(_INIT_LABEL)
        value, length, readable = chunk.numbers(where, decimal=True)
        where = where + length
        readable &= chunk.literal(where, b" ms") & chunk.line_ends(where + len(b" ms"))
        init_ms[rows[readable]] = value[readable]
        at_end[rows[readable]] = True
    ok &= at_end
    return _FastReports(
        ok=ok,
        request_ids=_ascii_strings(window[ok], id_length[ok]),
        duration_ms=values[0, ok],
        billed_ms=values[1, ok],
        memory_mb=values[2, ok].astype(np.int64),
        max_used_mb=values[3, ok],
        init_ms=init_ms[ok],
    )


def _ascii_strings(window: np.ndarray, length: np.ndarray) -> Any:
    """The ASCII strings ``window[i, :length[i]]``: a pyarrow array built from the bytes
    when pandas' ``str`` is Arrow-backed (no Python object per string), else an object array.
    """
    offsets = np.zeros(len(length) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    data = window[np.arange(window.shape[1]) < length[:, None]]
    if _ARROW is not None:
        return _ARROW.LargeStringArray.from_buffers(
            len(length), _ARROW.py_buffer(offsets), _ARROW.py_buffer(data)
        )
    text = data.tobytes().decode("ascii")
    return np.array([text[a:b] for a, b in itertools.pairwise(offsets.tolist())], dtype=object)


def _merge_strings(fast: Any, slow: list[str], order: np.ndarray | None) -> Any:
    """The fast rows' strings (from ``_ascii_strings``) and the slow rows', in line order,
    as pandas' ``str`` array or an object array."""
    if _ARROW is None:
        if order is None:
            return fast
        return np.concatenate([fast, np.array(slow, dtype=object)])[order]
    if order is not None:
        both = _ARROW.concat_arrays([fast, _ARROW.array(slow, type=_ARROW.large_string())])
        fast = both.take(_ARROW.array(order))
    return pd.array(fast, dtype="str")


@dataclass(slots=True)
class _SlowReports:
    lines: np.ndarray
    timestamps: np.ndarray | None
    request_ids: list[str]
    columns: dict[str, np.ndarray]
    status: np.ndarray | None
    malformed: list[MalformedLine]


def _slow_reports(texts: list[str], lines: np.ndarray, first_line: int) -> _SlowReports:
    """Lines with ``REPORT RequestId:`` outside the fast layout, read with ``_AWS_LINE``."""
    n = len(texts)
    found = _AWS_LINE.findall("".join(text + "\n" for text in texts))[:-1]
    table = np.array(found, dtype=object)
    table = table.reshape(n, len(_AWS_GROUPS))
    column = {name: table[:, i] for i, name in enumerate(_AWS_GROUPS)}
    bad = np.flatnonzero(column["bad"] != "")
    malformed = [
        MalformedLine(
            first_line + int(lines[i]),
            _missing_fields(texts[i], _AWS_FIELDS, "Lambda REPORT line"),
        )
        for i in bad
    ]
    ok = column["rid"] != ""
    good = {name: values[ok] for name, values in column.items()}
    tail = _tail_columns(good["tail"])
    status = tail.pop("status")
    timestamps = good["ts"]
    return _SlowReports(
        lines=lines[ok],
        timestamps=timestamps if (timestamps != "").any() else None,
        request_ids=[str(value) for value in good["rid"]],
        columns={
            "duration_ms": good["d"].astype(np.float64),
            "billed_duration_ms": good["b"].astype(np.float64),
            "memory_mb": good["m"].astype(np.int64),
            "max_memory_used_mb": good["x"].astype(np.float64),
            **tail,
        },
        status=status if (status != "").any() else None,
        malformed=malformed,
    )


def _tail_columns(tail: np.ndarray) -> dict[str, Any]:
    """Init / Restore / Billed Restore Duration (ms) and Status, from the lines with them."""
    out: dict[str, Any] = {name: np.full(len(tail), np.nan) for name in _TAIL_KEYS.values()}
    status = np.full(len(tail), "", dtype=object)
    for index in np.flatnonzero(tail != ""):
        for part in _AWS_TAIL.finditer(tail[index]):
            if part[3]:
                status[index] = part[3]
            else:
                out[_TAIL_KEYS[part[1]]][index] = float(part[2])
    out["status"] = status
    return out


def _prefix_timestamps(values: np.ndarray) -> pd.Series | None:
    present = values != ""
    if not present.any():
        return None
    text = pd.Series(values, dtype=object).where(present, None)
    return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")


def _bad_lines(
    text: str,
    first_line: int,
    flags: np.ndarray,
    fields: tuple[tuple[str, str], ...],
    kind: str,
) -> list[MalformedLine]:
    where = np.flatnonzero(flags)
    if len(where) == 0:
        return []
    split = text.split("\n")
    return [
        MalformedLine(first_line + int(i), _missing_fields(split[int(i)], fields, kind))
        for i in where
    ]


# ---------------------------------------------------------------- Alibaba FC text


def _parse_fc(text: str, first_line: int, state: _State) -> pd.DataFrame:
    table = np.array(_FC_LINE.findall(text)[:-1], dtype=object)
    if len(table) == 0:
        return _finish(_empty_frame(), [])
    column = {name: table[:, i] for i, name in enumerate(_FC_GROUPS)}
    # the report line carries no request id: take the latest FC Invoke Start/End line's
    rid = pd.Series(column["rid"], dtype=object).where(column["rid"] != "", None)
    if rid.iloc[0] is None and state.last_request_id:
        rid.iloc[0] = state.last_request_id
    rid = rid.ffill()
    if rid.iloc[-1] is not None:
        state.last_request_id = str(rid.iloc[-1])
    ok = column["d"] != ""
    malformed = _bad_lines(
        text, first_line, column["bad"] != "", _FC_FIELDS, "Function Compute report line"
    )
    good = column if ok.all() else {name: values[ok] for name, values in column.items()}
    n = len(good["d"])
    frame = _assemble(
        n,
        {
            "timestamp": _prefix_timestamps(good["ts"]),
            "function": state.function,
            "request_id": rid[ok].fillna("").to_numpy(dtype=object),
            "duration_ms": good["d"].astype(np.float64),
            "billed_duration_ms": good["b"].astype(np.float64),
            "memory_mb": good["m"].astype(np.int64),
            "max_memory_used_mb": good["x"].astype(np.float64),
            "format": "fc",
            "source_line": np.flatnonzero(ok) + first_line,
        },
    )
    return _finish(frame, malformed)


# ---------------------------------------------------------------- JSON lines


def _json_candidates(
    pattern: re.Pattern[str], text: str, first_line: int, kind: str
) -> tuple[list[int], list[dict[str, Any]], list[MalformedLine]]:
    found = pattern.findall(text)[:-1]  # chunks end with a newline
    numbers: list[int] = []
    records: list[dict[str, Any]] = []
    malformed: list[MalformedLine] = []
    for index, candidate in enumerate(found):
        if not candidate:
            continue
        try:
            record = json.loads(candidate)
        except ValueError as exc:
            malformed.append(MalformedLine(first_line + index, f"{kind}: invalid JSON ({exc})"))
            continue
        if not isinstance(record, dict):
            malformed.append(MalformedLine(first_line + index, f"{kind}: not a JSON object"))
            continue
        numbers.append(first_line + index)
        records.append(record)
    return numbers, records, malformed


def _field_number(value: Any, name: str, required: bool) -> float:
    """A JSON number or numeric string as float; NaN when absent and optional."""
    if value is None or value == "":
        if required:
            raise ValueError(f"missing {name}")
        return math.nan
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}={value!r} is not a finite number >= 0")
    return number


_REPORT_METRICS = (  # platform.report record.metrics key, our column, required
    ("durationMs", "duration_ms", True),
    ("billedDurationMs", "billed_duration_ms", False),
    ("memorySizeMB", "memory_mb", True),
    ("maxMemoryUsedMB", "max_memory_used_mb", False),
    ("initDurationMs", "init_duration_ms", False),
    ("restoreDurationMs", "restore_duration_ms", False),
)


def _parse_aws_json(text: str, first_line: int, state: _State) -> pd.DataFrame:
    numbers, records, malformed = _json_candidates(
        _AWS_JSON_LINE, text, first_line, "platform.report record"
    )
    rows: list[dict[str, Any]] = []
    for line, event in zip(numbers, records, strict=True):
        if event.get("type") != "platform.report":
            continue  # the marker was inside some other record's text
        record = event.get("record")
        metrics = record.get("metrics") if isinstance(record, dict) else None
        if not isinstance(record, dict) or not isinstance(metrics, dict):
            malformed.append(MalformedLine(line, "platform.report record: no record.metrics"))
            continue
        row: dict[str, Any] = {
            "source_line": line,
            "timestamp": event.get("time"),
            "function": state.function,
            "request_id": str(record.get("requestId", "")),
            "status": str(record.get("status", "")),
        }
        try:
            for key, name, required in _REPORT_METRICS:
                row[name] = _field_number(metrics.get(key), f"metrics.{key}", required)
            _whole("metrics.memorySizeMB", row["memory_mb"])
        except ValueError as exc:
            malformed.append(MalformedLine(line, f"platform.report record: {exc}"))
            continue
        rows.append(row)
    return _finish(_rows_frame(rows, "aws-json"), malformed)


def _parse_sls(text: str, first_line: int, state: _State) -> pd.DataFrame:
    numbers, records, malformed = _json_candidates(
        _SLS_LINE, text, first_line, "request metric record"
    )
    rows: list[dict[str, Any]] = []
    for line, record in zip(numbers, records, strict=True):
        name = str(record.get("functionName") or state.function)
        if record.get("serviceName"):  # FC 2.0: functions live in services
            name = f"{record['serviceName']}/{name}"
        error = str(record.get("hasFunctionError", "")).lower() == "true"
        row: dict[str, Any] = {
            "source_line": line,
            "function": name,
            "request_id": str(record.get("requestId", "")),
            "status": "error" if error else "success",
        }
        try:
            row["duration_ms"] = _field_number(record.get("durationMs"), "durationMs", True)
            row["memory_mb"] = _field_number(record.get("memoryMB"), "memoryMB", True)
            _whole("memoryMB", row["memory_mb"])
            row["max_memory_used_mb"] = _field_number(
                record.get("memoryUsageMB"), "memoryUsageMB", False
            )
            row["init_duration_ms"] = _field_number(
                record.get("initializationDurationMs"), "initializationDurationMs", False
            )
            start_ms = _field_number(
                record.get("invocationStartTimestamp"), "invocationStartTimestamp", False
            )
            epoch_s = _field_number(record.get("__time__"), "__time__", False)
        except ValueError as exc:
            malformed.append(MalformedLine(line, f"request metric record: {exc}"))
            continue
        if not math.isnan(start_ms):
            row["timestamp"] = pd.Timestamp(int(start_ms), unit="ms", tz="UTC")
        elif not math.isnan(epoch_s):
            row["timestamp"] = pd.Timestamp(int(epoch_s), unit="s", tz="UTC")
        rows.append(row)
    return _finish(_rows_frame(rows, "fc-sls"), malformed)


def _whole(name: str, value: float) -> None:
    if value != math.floor(value):
        raise ValueError(f"{name}={value!r} is not a whole number of MB")


def _rows_frame(rows: list[dict[str, Any]], fmt: str) -> pd.DataFrame:
    """The frame for a list of row dicts (JSON records: few enough to build per row)."""
    n = len(rows)
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        if name == "format":
            columns[name] = fmt
            continue
        values = [row.get(name) for row in rows]
        if name == "timestamp" and all(value is None for value in values):
            continue
        if name in _FLOAT_COLUMNS:
            values = [math.nan if value is None else value for value in values]
        columns[name] = values
    return _assemble(n, columns)


# ---------------------------------------------------------------- CSV


def _parse_csv(text: str, first_line: int, state: _State) -> pd.DataFrame:
    reader = csv.reader(io.StringIO(text))
    line = first_line
    if state.csv_header is None:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            line += 1
            header = next(reader, None)
        if header is None:
            return _finish(_empty_frame(), [])
        header = [_CSV_ALIASES.get(h.strip(), h.strip()) for h in header]
        if header:
            header[0] = header[0].lstrip("\ufeff")
        missing = [name for name in _CSV_REQUIRED if name not in header]
        if missing:
            raise InvalidFile(
                state.path,
                missing[0],
                f"required CSV column missing (required: {', '.join(_CSV_REQUIRED)}; "
                f"optional: {', '.join(_CSV_OPTIONAL)}; found: {', '.join(header)})",
            )
        state.csv_header = header
        state.csv_columns = {
            name: header.index(name) for name in (*_CSV_REQUIRED, *_CSV_OPTIONAL) if name in header
        }
        line += 1
    width = len(state.csv_header)
    good: list[list[str]] = []
    lines: list[int] = []
    malformed: list[MalformedLine] = []
    for row in reader:
        if len(row) == width:
            good.append(row)
            lines.append(line)
        elif any(cell.strip() for cell in row):
            malformed.append(
                MalformedLine(line, f"CSV row has {len(row)} fields, the header {width}")
            )
        line += 1
    table = pd.DataFrame(good, columns=range(width), dtype=object)
    columns: dict[str, Any] = {}
    bad = np.zeros(len(table), dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(len(table))]
    for name, index in state.csv_columns.items():
        raw = table[index].str.strip() if len(table) else table[index]
        if name in ("function", "request_id", "status"):
            columns[name] = raw.to_numpy(dtype=object)
            continue
        if name == "timestamp":
            parsed = _csv_timestamps(raw)
            wrong = (parsed.isna() & (raw != "")).to_numpy()
            columns[name] = parsed
        else:
            values = _numbers(raw)
            present = (raw != "").to_numpy()
            wrong = present & ~(values >= 0)
            if name in _CSV_REQUIRED:
                wrong |= ~present
            if name == "memory_mb":
                wrong |= present & (values != np.floor(values))
            columns[name] = values
        for i in np.flatnonzero(wrong):
            reasons[i].append(f"{name}={raw.iloc[i]!r}")
        bad |= wrong
    for i in np.flatnonzero(bad):
        malformed.append(MalformedLine(lines[i], f"CSV row: unreadable {', '.join(reasons[i])}"))
    keep = ~bad
    n = int(keep.sum())
    selected = {name: value[keep] for name, value in columns.items()}
    if "function" not in selected:
        selected["function"] = state.function
    else:
        selected["function"] = [v or state.function for v in selected["function"]]
    if "timestamp" in selected and selected["timestamp"].isna().all():
        selected["timestamp"] = None
    selected["format"] = "csv"
    selected["source_line"] = np.asarray(lines, dtype=np.int64)[keep]
    malformed.sort()
    return _finish(_assemble(n, selected), malformed)


def _csv_timestamps(raw: pd.Series) -> pd.Series:
    text = raw.replace("", None)
    numeric = pd.to_numeric(text, errors="coerce")
    if len(text) and numeric.notna().sum() == text.notna().sum():  # epoch milliseconds
        return pd.to_datetime(numeric, unit="ms", utc=True, errors="coerce")
    return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")


_PARSERS: dict[str, Callable[[str, int, _State], pd.DataFrame]] = {
    "aws": _parse_aws,
    "aws-json": _parse_aws_json,
    "fc": _parse_fc,
    "fc-sls": _parse_sls,
    "csv": _parse_csv,
}


# ---------------------------------------------------------------- bills from logs

_BILLED_CHOICES = ("auto", "stated", "measured")
_BATCH_SAMPLES = 1 << 18  # samples handed to estimate() at once: bounds memory
_GROUP_KEYS = ("function", "memory_mb")


@dataclass(frozen=True, slots=True, eq=False)
class LogBill:
    """What a set of logs costs.

    Attributes:
        bill: the whole bill: every group's usage pooled, so graduated tiers and the free
            tier apply once.
        groups: one row per function and memory size: ``function``, ``memory_mb``,
            ``invocations``, ``billed_duration_ms`` (summed, after the provider's rounding),
            ``gb_seconds``, ``stated_share`` (share of invocations billed on the duration
            the log states) and ``cost`` (the group priced alone, free tier as asked; with
            tiers or a free tier the groups may not add up to ``total``).
        malformed: the malformed lines found while reading (first ones, with line
            numbers; see ``read_logs``), as ``(source, line, reason)``.
        malformed_count: how many malformed lines there were in all.
    """

    bill: Bill
    groups: pd.DataFrame = field(repr=False)
    malformed: tuple[tuple[str, int, str], ...] = field(repr=False)
    malformed_count: int

    @property
    def total(self) -> float:
        """Total cost in ``currency``."""
        return self.bill.total

    @property
    def currency(self) -> str:
        """ISO currency of the amounts."""
        return self.bill.currency

    @property
    def lines(self) -> pd.DataFrame:
        """The bill's lines (item, quantity, unit, unit_price, cost ...)."""
        return self.bill.lines

    @property
    def invocations(self) -> int:
        """Invocations billed."""
        return int(self.groups["invocations"].sum())

    def __repr__(self) -> str:
        return (
            f"LogBill(provider={self.bill.provider!r}, invocations={self.invocations}, "
            f"total={self.total:.2f} {self.currency}, malformed={self.malformed_count})"
        )


def bill_from_logs(
    source: pd.DataFrame | str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Any,
    *,
    provider: str | PriceSheet,
    format: str = "auto",
    billed_duration: str = "auto",
    free_tier: bool = False,
    function: str | None = None,
    progress: Callable[[int], object] | None = None,
    chunk_chars: int = _DEFAULT_CHUNK_CHARS,
    **options: Any,
) -> LogBill:
    """Bill the invocations found in logs with a provider's rules.

    Invocations are grouped by function and memory size; each group's billed durations
    go to :func:`costmodel.estimate` (rounded up per invocation to the provider's step),
    and the groups' bills are added (pooled usage, tiers and free tier once).

    Which duration is billed (``billed_duration``):

    - ``"stated"``: the billed duration the log states (AWS ``Billed Duration`` plus
      SnapStart's ``Billed Restore Duration``, FC ``Billed Duration``), which already
      includes what the platform bills beyond the handler (e.g. Lambda's billed init).
    - ``"measured"``: the measured ``duration_ms``, rounded up to a whole ms (exact for
      every provider, as all bill in whole ms or coarser steps).
    - ``"auto"`` (default): ``"stated"`` for rows written by the provider's own platform
      (AWS logs billed on an ``aws`` sheet, FC logs on an ``alibaba`` sheet) when the log
      states it, ``"measured"`` otherwise (what these invocations would cost elsewhere).

    Given paths, the files are read chunk by chunk and only a histogram of whole-ms billed
    durations per group is kept (exact: durations are whole ms), so memory stays flat
    however large the logs; a pandas frame is reduced the same way, so both give the same
    bill. A Dask DataFrame is reduced partition by partition with Dask's scheduler.

    Args:
        source: a frame from ``read_logs`` (or any frame with ``duration_ms`` and
            ``memory_mb``; optional ``function``, ``billed_duration_ms``,
            ``billed_restore_duration_ms``, ``format``), a Dask DataFrame of the same, a
            path (a folder means every file in it), or a list of paths.
        provider: catalog key (``"aws-lambda"`` ...) or a ``PriceSheet``.
        format: log format for paths (see ``read_logs``).
        billed_duration: ``"auto"``, ``"stated"`` or ``"measured"`` (above).
        free_tier: apply the provider's monthly free tier, once for the whole bill.
        function: function name for logs that carry none (default: the file name).
        progress: called with characters read after each chunk (paths only).
        chunk_chars: characters of text read at a time from paths (> 0): bounds memory.
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
    if billed_duration not in _BILLED_CHOICES:
        raise InvalidUsage(
            f"billed_duration={billed_duration!r}: must be one of "
            f"{', '.join(map(repr, _BILLED_CHOICES))}"
        )
    if not isinstance(free_tier, bool):
        raise InvalidUsage(f"free_tier={free_tier!r}: must be True or False")
    counts = _Histogram()
    malformed: list[tuple[str, int, str]] = []
    malformed_count = 0
    if isinstance(source, pd.DataFrame):
        counts.add(_billed_counts(source, sheet.vendor, billed_duration))
        listed = source.attrs.get("malformed", [])
        malformed = [("<frame>", int(line), str(reason)) for line, reason in listed]
        malformed_count = int(source.attrs.get("malformed_count", len(listed)))
    elif _is_dask_frame(source):
        counts.add(_dask_counts(source, sheet.vendor, billed_duration))
    else:
        for path in expand_paths(source):
            frames = iter_log_frames(
                path, format, function=function, chunk_chars=chunk_chars, progress=progress
            )
            for frame in frames:
                counts.add(_billed_counts(frame, sheet.vendor, billed_duration))
                listed = frame.attrs["malformed"]
                malformed_count += int(frame.attrs["malformed_count"])
                room = 1000 - len(malformed)
                malformed += [(str(path), m.line, m.reason) for m in listed[: max(room, 0)]]
    if counts.empty:
        raise InvalidUsage(
            "no invocation found to bill"
            + (f" ({malformed_count} malformed line(s))" if malformed_count else "")
        )
    return _bill_histogram(counts, sheet, free_tier, options, malformed, malformed_count)


def expand_paths(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Path]:
    """Files named by a path, a folder (its files, sorted, hidden ones skipped) or a list.

    Raises:
        InvalidUsage: ``source`` is not a path or a list of paths.
        FileNotFoundError: a path does not exist.
    """
    if isinstance(source, (str, os.PathLike)):
        items: list[str | os.PathLike[str]] = [source]
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, bytearray)):
        items = list(source)
    else:
        raise InvalidUsage(
            f"source={type(source).__name__}: must be a DataFrame, a path or a list of paths"
        )
    files: list[Path] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise InvalidUsage(f"source: {item!r:.60} is not a path")
        path = Path(item)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return files


class _Histogram:
    """Invocation counts by (function, memory_mb, billed ms, stated): exact and small."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, int, bool], int] = {}

    @property
    def empty(self) -> bool:
        return not self.counts

    def add(self, counts: pd.Series) -> None:
        for index, value in counts.items():
            parts: tuple[Any, ...] = tuple(index)  # type: ignore[arg-type]
            key = (str(parts[0]), int(parts[1]), int(parts[2]), bool(parts[3]))
            self.counts[key] = self.counts.get(key, 0) + int(value)

    def groups(self) -> Iterator[tuple[str, int, np.ndarray, np.ndarray, int]]:
        """(function, memory_mb, billed ms values, counts, stated invocations), sorted."""
        by_group: dict[tuple[str, int], dict[int, int]] = {}
        stated: dict[tuple[str, int], int] = {}
        for (name, memory, billed_ms, is_stated), count in self.counts.items():
            values = by_group.setdefault((name, memory), {})
            values[billed_ms] = values.get(billed_ms, 0) + count
            if is_stated:
                stated[(name, memory)] = stated.get((name, memory), 0) + count
        for name, memory in sorted(by_group):
            values = by_group[(name, memory)]
            keys = np.array(sorted(values), dtype=np.int64)
            counts = np.array([values[int(k)] for k in keys], dtype=np.int64)
            yield name, memory, keys, counts, stated.get((name, memory), 0)


def _billed_counts(frame: pd.DataFrame, vendor: str, billed_duration: str) -> pd.Series:
    """Counts by (function, memory_mb, billed ms, stated) for the rows of one frame."""
    missing = [c for c in ("duration_ms", "memory_mb") if c not in frame.columns]
    if missing:
        raise InvalidUsage(
            f"frame: missing column(s) {', '.join(missing)}; needs duration_ms and memory_mb "
            f"(optional: function, billed_duration_ms, billed_restore_duration_ms, format)"
        )
    n = len(frame)
    if n == 0:
        return pd.Series([], dtype=np.int64)
    duration = pd.to_numeric(frame["duration_ms"], errors="coerce").to_numpy(dtype=np.float64)
    memory = pd.to_numeric(frame["memory_mb"], errors="coerce").to_numpy(dtype=np.float64)
    for name, values in (("duration_ms", duration), ("memory_mb", memory)):
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            shown = frame[name].iloc[index]
            shown = shown.item() if isinstance(shown, np.generic) else shown
            raise InvalidUsage(
                f"frame: {name}={shown!r} in row {frame.index[index]!r}: "
                "must be a finite number >= 0"
            )
    fractional = memory != np.floor(memory)
    if fractional.any():
        index = int(np.flatnonzero(fractional)[0])
        raise InvalidUsage(
            f"frame: memory_mb={float(memory[index])!r} in row {frame.index[index]!r}: "
            f"must be a whole number of MB ({int(fractional.sum())} row(s) are not)"
        )
    measured = np.ceil(duration - 1e-9).clip(min=0)
    stated_ms = np.full(n, np.nan)
    if "billed_duration_ms" in frame.columns:
        stated_ms = pd.to_numeric(frame["billed_duration_ms"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        if "billed_restore_duration_ms" in frame.columns:
            restore = pd.to_numeric(frame["billed_restore_duration_ms"], errors="coerce")
            stated_ms = stated_ms + restore.fillna(0).to_numpy(dtype=np.float64)
    if billed_duration == "measured":
        use_stated = np.zeros(n, dtype=bool)
    elif billed_duration == "stated":
        use_stated = np.ones(n, dtype=bool)
        lacking = np.isnan(stated_ms)
        if lacking.any():
            raise InvalidUsage(
                f"billed_duration='stated': {int(lacking.sum())} row(s) state no billed "
                f"duration (first: row {frame.index[int(np.flatnonzero(lacking)[0])]!r}); "
                "use 'auto' or 'measured'"
            )
    else:
        own = np.zeros(n, dtype=bool)
        if "format" in frame.columns:
            formats = frame["format"].astype(str).to_numpy(dtype=object)
            own_formats = [f for f, v in FORMAT_VENDORS.items() if v == vendor]
            own = np.isin(formats, own_formats)
        use_stated = own & ~np.isnan(stated_ms)
    billed = np.where(use_stated, np.ceil(np.nan_to_num(stated_ms) - 1e-9), measured)
    functions = (
        frame["function"].astype(str).to_numpy(dtype=object)
        if "function" in frame.columns
        else np.full(n, "unknown", dtype=object)
    )
    keys = pd.DataFrame(
        {
            "function": functions,
            "memory_mb": memory.astype(np.int64),
            "billed_ms": billed.astype(np.int64),
            "stated": use_stated,
        }
    )
    return keys.groupby(["function", "memory_mb", "billed_ms", "stated"], sort=False).size()


def _is_dask_frame(value: object) -> bool:
    module = type(value).__module__
    return module.startswith("dask") and hasattr(value, "map_partitions")


def _dask_counts(frame: Any, vendor: str, billed_duration: str) -> pd.Series:
    """Reduce a Dask DataFrame partition by partition, then sum the small results."""

    def partition(part: pd.DataFrame) -> pd.DataFrame:
        counts = _billed_counts(part, vendor, billed_duration)
        return counts.rename("count").reset_index()

    meta = pd.DataFrame(
        {
            "function": pd.Series([], dtype=object),
            "memory_mb": pd.Series([], dtype=np.int64),
            "billed_ms": pd.Series([], dtype=np.int64),
            "stated": pd.Series([], dtype=bool),
            "count": pd.Series([], dtype=np.int64),
        }
    )
    parts = frame.map_partitions(partition, meta=meta).compute()
    if len(parts) == 0:
        return pd.Series([], dtype=np.int64)
    keys = ["function", "memory_mb", "billed_ms", "stated"]
    summed: pd.Series = parts.groupby(keys, sort=False)["count"].sum()
    return summed


def _batches(keys: np.ndarray, counts: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Samples expanded from a histogram, at most ``size`` at a time (in sorted order)."""
    buffer: list[np.ndarray] = []
    held = 0
    for value, count in zip(keys.tolist(), counts.tolist(), strict=True):
        while count > 0:
            take = min(count, size - held)
            buffer.append(np.full(take, float(value)))
            held += take
            count -= take
            if held == size:
                yield np.concatenate(buffer)
                buffer, held = [], 0
    if held:
        yield np.concatenate(buffer)


def _bill_histogram(
    counts: _Histogram,
    sheet: PriceSheet,
    free_tier: bool,
    options: dict[str, Any],
    malformed: list[tuple[str, int, str]],
    malformed_count: int,
) -> LogBill:
    rows = []
    total: Bill | None = None
    for name, memory, keys, group_counts, stated in counts.groups():
        group: Bill | None = None
        for samples in _batches(keys, group_counts, _BATCH_SAMPLES):
            part = estimate(
                sheet, duration_ms=samples, memory_mb=memory, free_tier=free_tier, **options
            )
            group = part if group is None else group + part
        assert group is not None
        total = group if total is None else total + group
        invocations = int(group_counts.sum())
        rows.append(
            {
                "function": name,
                "memory_mb": memory,
                "invocations": invocations,
                "billed_duration_ms": float(group.usage.get("billed_duration_ms", 0.0)),
                "gb_seconds": float(group.usage.get("gb_seconds", 0.0)),
                "stated_share": stated / invocations,
                "cost": group.total,
            }
        )
    assert total is not None
    groups = pd.DataFrame(rows).astype({"function": "str", "memory_mb": np.int64})
    return LogBill(total, groups, tuple(malformed), malformed_count)
