"""The log formats: detection, one parser per format, and the frame they all return.

The formats are described in ``costmodel.logs.reader``. Each parser reads one chunk of whole
lines (text ending in a newline) and returns a frame with exactly ``COLUMNS``, with
``attrs["malformed"]`` (``MalformedLine`` list) and ``attrs["malformed_count"]``. The
text formats run one compiled regular expression over the whole chunk (``re.findall``,
a C loop) and convert whole columns; AWS ``REPORT`` lines in the usual layout are read
faster still by ``_aws_report_bytes``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..errors import InvalidFile
from .aws_report_fast import constant_strings, merge_strings, split_reports
from .names import FORMAT_VENDORS

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

#: Text that only lines of each format carry: a chunk without it has none of them.
_MARKERS: dict[str, tuple[str, ...]] = {
    "aws": ("REPORT RequestId:",),
    "aws-json": ('"platform.report"',),
    "fc": ("FC Invoke ", ", Billed Duration: "),
    "fc-sls": ('"memoryMB"',),
}

_FLOAT_COLUMNS = (
    "duration_ms",
    "billed_duration_ms",
    "max_memory_used_mb",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
)


class MalformedLine(NamedTuple):
    """A line that looks like a report but does not parse."""

    line: int
    """1-based line number in the source."""
    reason: str
    """What is wrong with it."""


@dataclass(slots=True)
class ReadState:
    """What one chunk passes to the next."""

    format: str | None
    function: str
    path: str = "<lines>"
    last_request_id: str = ""
    csv_header: list[str] | None = None
    csv_columns: dict[str, int] = field(default_factory=dict)
    memory_mb: int | None = None
    """The memory size (MB) of formats that state none (``gcp-json``)."""


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
    # X-Ray tracing: its ids on the same line (real CloudWatch lines put them there)
    r"(?:\s+XRAY TraceId: \S+\s+SegmentId: \S+\s+Sampled: (?:true|false))?"
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
_CSV_TEXT = ("function", "request_id", "status")  # taken as they are
_CSV_WHOLE = ("memory_mb",)  # whole numbers
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


# ---------------------------------------------------------------- detection


def detect(text: str, *, first_chunk: bool) -> str | None:
    """The format of the first report marker anywhere in the chunk (``str.find``: cheap)."""
    if first_chunk:
        document = _detect_document(text)
        if document is not None:
            return document
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


def _detect_document(text: str) -> str | None:
    """The format of a file whose first chunk shows it whole: a CSV header, a JSON
    document of log events (``aws logs``) or of Cloud Logging entries (``gcloud``)."""
    start = text.lstrip("\ufeff \t\r\n")
    first = start.split("\n", 1)[0]
    if first.startswith(("@", '"@')) and "," in first:
        return "aws-insights-csv"
    named = "duration_ms" in first or "durationMs" in first
    if named and "," in first and not first.startswith("{"):
        return "csv"
    if not start.startswith(("{", "[")):
        return None
    if '"insertId"' in text and '"logName"' in text:
        return "gcp-json"
    if '"message"' in text and ('"ingestionTime"' in text or '"logStreamName"' in text):
        return "aws-events"
    return None


def read_chunk(text: str, first_line: int, state: ReadState) -> pd.DataFrame:
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
    same_vendor, foreign = _read_other_formats(text, first_line, state)
    if not same_vendor and not foreign:
        return frame
    frames = [frame, *same_vendor]
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.sort_values("source_line", kind="stable", ignore_index=True)
    read = set(rows["source_line"].tolist())
    return with_malformed(rows, _malformed_lines(frames, foreign, read, own))


def _read_other_formats(
    text: str, first_line: int, state: ReadState
) -> tuple[list[pd.DataFrame], dict[str, pd.DataFrame]]:
    """The chunk read in every other format whose markers occur in it: the frames of the
    file's vendor's formats, and ``{format: frame}`` of other vendors'."""
    assert state.format is not None
    own = state.format
    same_vendor: list[pd.DataFrame] = []
    foreign: dict[str, pd.DataFrame] = {}
    for fmt, markers in _MARKERS.items():
        if fmt == own or not any(_has(text, marker) for marker in markers):
            continue
        other = _PARSERS[fmt](text, first_line, state)
        if FORMAT_VENDORS[fmt] == FORMAT_VENDORS[own]:
            same_vendor.append(other)
        else:
            foreign[fmt] = other
    return same_vendor, foreign


def _malformed_lines(
    frames: list[pd.DataFrame], foreign: dict[str, pd.DataFrame], read: set[int], own: str
) -> list[MalformedLine]:
    """The chunk's malformed lines, sorted, one reason per line by precedence: read by the
    file's formats (not malformed), read by another vendor's format, malformed in the
    file's formats, malformed in another vendor's format."""
    elsewhere: dict[int, str] = {}
    for fmt, other in foreign.items():
        _note_elsewhere(elsewhere, other["source_line"].tolist(), fmt, own, skip=read)
    malformed = [m for part in frames for m in part.attrs["malformed"] if m.line not in elsewhere]
    listed = {m.line for m in malformed} | read
    for fmt, other in foreign.items():
        lines = [m.line for m in other.attrs["malformed"]]
        _note_elsewhere(elsewhere, lines, fmt, own, skip=listed)
    malformed += [MalformedLine(line, reason) for line, reason in elsewhere.items()]
    return sorted(malformed)


def _note_elsewhere(
    elsewhere: dict[int, str], lines: list[int], fmt: str, own: str, *, skip: set[int]
) -> None:
    """Note each of ``lines`` not in ``skip`` (nor noted yet) as a line in format ``fmt``."""
    for line in lines:
        if line not in skip:
            elsewhere.setdefault(line, f"line in format {fmt!r}, file read as {own!r}")


def _has(text: str, marker: str) -> bool:
    """``marker in text``, ruled out first by its first character where that is absent.

    One character is found with ``memchr``: about 20x faster than the marker over a
    chunk of Lambda REPORT lines, which have no ``"``, ``,`` or ``F``.
    """
    return marker[0] in text and marker in text


# ---------------------------------------------------------------- frames


def empty_frame() -> pd.DataFrame:
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
            if value is None or isinstance(value, str):
                value = constant_strings("" if value is None else value, n)
            data[name] = pd.Series(value, index=index, dtype="str")
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
    if isinstance(series.dtype, pd.DatetimeTZDtype) and series.dtype.unit != "ns":
        # A year outside 1677-2262 parses at a coarser unit; like any bad time it is NaT.
        lowest, highest = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
        series = series.where(series.isna() | series.between(lowest, highest))
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


def with_malformed(frame: pd.DataFrame, malformed: list[MalformedLine]) -> pd.DataFrame:
    """``frame`` with its malformed lines in ``attrs`` (listed and counted)."""
    frame.attrs["malformed"] = malformed
    frame.attrs["malformed_count"] = len(malformed)
    return frame


def _missing_fields(line: str, fields: tuple[tuple[str, str], ...], kind: str) -> str:
    missing = [name for name, pattern in fields if not re.search(pattern, line)]
    if missing:
        return f"{kind}: missing or unreadable {', '.join(repr(m) for m in missing)}"
    return f"{kind}: unexpected text or a non-numeric value"


# ---------------------------------------------------------------- AWS text


def _parse_aws(text: str, first_line: int, state: ReadState) -> pd.DataFrame:
    """REPORT lines of one chunk: a vectorized byte-level reader, the regex for the rest.

    Lines without ``REPORT RequestId:`` cannot be reports (nor malformed ones) and are
    never looked at again. Lines in the common layout (see ``_aws_report_bytes``) are
    read with numpy over the chunk's bytes; the few others (SnapStart, ``Status``, two
    markers on a line, malformed reports ...) go through ``_AWS_LINE``, which defines
    the format. Both give the same values for a line they both read.
    """
    reports = split_reports(text)
    if reports is None:
        return with_malformed(empty_frame(), [])
    fast, fast_lines, slow_lines = reports.fast, reports.fast_lines, reports.slow_lines
    slow = _slow_reports(reports.slow_texts, slow_lines, first_line)
    timestamps: np.ndarray | None = None
    if reports.prefixes or slow.timestamps is not None:
        timestamps = np.full(len(fast_lines), "", dtype=object)
        for row, prefix in reports.prefixes.items():
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
            "request_id": merge_strings(fast.request_ids, slow.request_ids, order),
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
    return with_malformed(frame, slow.malformed)


_TS_BEFORE_REPORT = re.compile(rf"{_TS}[ \t]")


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


def _parse_fc(text: str, first_line: int, state: ReadState) -> pd.DataFrame:
    table = np.array(_FC_LINE.findall(text)[:-1], dtype=object)
    if len(table) == 0:
        return with_malformed(empty_frame(), [])
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
    return with_malformed(frame, malformed)


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


def _parse_aws_json(text: str, first_line: int, state: ReadState) -> pd.DataFrame:
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
    return with_malformed(rows_frame(rows, "aws-json"), malformed)


def _parse_sls(text: str, first_line: int, state: ReadState) -> pd.DataFrame:
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
    return with_malformed(rows_frame(rows, "fc-sls"), malformed)


def _whole(name: str, value: float) -> None:
    if value != math.floor(value):
        raise ValueError(f"{name}={value!r} is not a whole number of MB")


def rows_frame(rows: list[dict[str, Any]], fmt: str) -> pd.DataFrame:
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


def _parse_csv(text: str, first_line: int, state: ReadState) -> pd.DataFrame:
    reader = csv.reader(io.StringIO(text))
    line = first_line
    if state.csv_header is None:
        line = _read_csv_header(reader, line, state)
        if state.csv_header is None:
            return with_malformed(empty_frame(), [])
    width = len(state.csv_header)
    good, lines, malformed = _csv_rows(reader, line, width)
    table = pd.DataFrame(good, columns=range(width), dtype=object)
    columns, bad, reasons = _csv_columns(table, state.csv_columns)
    for i in np.flatnonzero(bad):
        malformed.append(MalformedLine(lines[i], f"CSV row: unreadable {', '.join(reasons[i])}"))
    malformed.sort()
    return with_malformed(_csv_frame(columns, ~bad, lines, state.function), malformed)


def _read_csv_header(reader: Iterator[list[str]], line: int, state: ReadState) -> int:
    """Read the header (the first row with text) into ``state``; the next row's line number.

    ``state.csv_header`` stays None when the chunk has no such row.

    Raises:
        InvalidFile: a required column is missing.
    """
    first, line = _first_row_with_text(reader, line)
    if first is None:
        return line
    header = [_CSV_ALIASES.get(h.strip(), h.strip()) for h in first]
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
    return line + 1


def _first_row_with_text(reader: Iterator[list[str]], line: int) -> tuple[list[str] | None, int]:
    """The first row with text (None at the end), and its line number."""
    row = next(reader, None)
    while row is not None and not any(cell.strip() for cell in row):
        line += 1
        row = next(reader, None)
    return row, line


def _csv_rows(
    reader: Iterator[list[str]], line: int, width: int
) -> tuple[list[list[str]], list[int], list[MalformedLine]]:
    """The rows with ``width`` fields and their line numbers; other rows with text are
    malformed (blank rows are skipped)."""
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
    return good, lines, malformed


def _csv_columns(
    table: pd.DataFrame, positions: dict[str, int]
) -> tuple[dict[str, Any], np.ndarray, list[list[str]]]:
    """Each known column of ``table`` converted (see :func:`_csv_column`), which rows have
    an unreadable value, and the ``name='value'`` of each row's unreadable values."""
    columns: dict[str, Any] = {}
    bad = np.zeros(len(table), dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(len(table))]
    for name, index in positions.items():
        raw = table[index].str.strip() if len(table) else table[index]
        columns[name], wrong = _csv_column(name, raw)
        if wrong is None:
            continue
        for i in np.flatnonzero(wrong):
            reasons[i].append(f"{name}={raw.iloc[i]!r}")
        bad |= wrong
    return columns, bad, reasons


def _csv_column(name: str, raw: pd.Series) -> tuple[Any, np.ndarray | None]:
    """A column's values and which are unreadable (None for a text column: none are).

    Times are ISO 8601 or epoch milliseconds; numbers are >= 0, required ones present
    (:data:`_CSV_REQUIRED`) and whole ones integral (:data:`_CSV_WHOLE`).
    """
    if name in _CSV_TEXT:
        return raw.to_numpy(dtype=object), None
    if name == "timestamp":
        parsed = _csv_timestamps(raw)
        return parsed, (parsed.isna() & (raw != "")).to_numpy()
    values = _numbers(raw)
    present = (raw != "").to_numpy()
    wrong = present & ~((values >= 0) & np.isfinite(values))  # inf is no duration or size
    if name in _CSV_REQUIRED:
        wrong |= ~present
    if name in _CSV_WHOLE:
        wrong |= present & (values != np.floor(values))
    return values, wrong


def _csv_frame(
    columns: dict[str, Any], keep: np.ndarray, lines: list[int], function: str
) -> pd.DataFrame:
    """The frame of the rows to ``keep``: the function name where the row has none, no
    timestamps when none was readable."""
    selected = {name: value[keep] for name, value in columns.items()}
    if "function" not in selected:
        selected["function"] = function
    else:
        selected["function"] = [v or function for v in selected["function"]]
    if "timestamp" in selected and selected["timestamp"].isna().all():
        selected["timestamp"] = None
    selected["format"] = "csv"
    selected["source_line"] = np.asarray(lines, dtype=np.int64)[keep]
    return _assemble(int(keep.sum()), selected)


def _csv_timestamps(raw: pd.Series) -> pd.Series:
    text = raw.replace("", None)
    numeric = pd.to_numeric(text, errors="coerce")
    if len(text) and numeric.notna().sum() == text.notna().sum():  # epoch milliseconds
        return pd.to_datetime(numeric, unit="ms", utc=True, errors="coerce")
    return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")


_PARSERS: dict[str, Callable[[str, int, ReadState], pd.DataFrame]] = {
    "aws": _parse_aws,
    "aws-json": _parse_aws_json,
    "fc": _parse_fc,
    "fc-sls": _parse_sls,
    "csv": _parse_csv,
}
